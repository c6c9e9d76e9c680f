"""The one way to write an audit event.

Every service calls `record()` inside the transaction that makes the change it records,
so the event and the change commit or roll back together.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from flask import has_request_context, request
from sqlalchemy import select

from portal.extensions import db
from portal.models.audit import AuditEvent, AuditHead
from portal.models.base import utcnow


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def event_payload(event: AuditEvent) -> dict[str, Any]:
    """The fields that the hash covers: everything but the hash itself."""
    return {
        "sequence": event.sequence,
        "occurred_at": event.occurred_at.isoformat(timespec="microseconds"),
        "actor_id": event.actor_id,
        "actor_label": event.actor_label,
        "action": event.action,
        "object_type": event.object_type,
        "object_id": event.object_id,
        "data": event.data,
        "ip_address": event.ip_address,
        "previous_hash": event.previous_hash,
    }


def compute_hash(event: AuditEvent) -> str:
    digest = hashlib.sha256()
    digest.update(event.previous_hash.encode("ascii"))
    digest.update(canonical_json(event_payload(event)).encode("utf-8"))
    return digest.hexdigest()


def _request_ip() -> str | None:
    # The audit trail is infrastructure, not a use case: it may read the request
    # so that services never have to.
    if has_request_context():
        return request.remote_addr
    return None


def _lock_head() -> AuditHead:
    head = db.session.execute(
        select(AuditHead).where(AuditHead.id == 1).with_for_update()
    ).scalar_one_or_none()
    if head is None:
        raise RuntimeError("audit_head row missing: run `flask db upgrade`")
    return head


def record(
    action: str,
    *,
    actor: Any = None,
    obj: Any = None,
    object_type: str | None = None,
    object_id: Any = None,
    data: dict[str, Any] | None = None,
    ip_address: str | None = None,
) -> AuditEvent:
    """Append an event to the chain in the current transaction (no commit here)."""
    if obj is not None:
        object_type = object_type or type(obj).__tablename__
        if object_id is None:
            db.session.flush()
            object_id = obj.id
    actor_id = getattr(actor, "id", None)
    actor_label = getattr(actor, "email", None) if actor is not None else None

    head = _lock_head()
    event = AuditEvent(
        sequence=head.last_sequence + 1,
        occurred_at=utcnow(),
        actor_id=actor_id,
        actor_label=actor_label,
        action=action,
        object_type=object_type,
        object_id=None if object_id is None else str(object_id),
        # Round-trip so what is stored is exactly what was hashed.
        data=json.loads(canonical_json(data or {})),
        ip_address=ip_address or _request_ip(),
        previous_hash=head.last_hash,
    )
    event.hash = compute_hash(event)
    head.last_sequence = event.sequence
    head.last_hash = event.hash
    db.session.add(event)
    return event
