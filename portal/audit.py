"""The audit trail: the one way to write an audit event, and the chain's verifier.

Every service calls `record()` inside the transaction that makes the change it records,
so the event and the change commit or roll back together.

Each event stores the hash of the event before it and its own hash, SHA-256 over that
previous hash and a canonical JSON of the event's fields. `verify_chain()` walks the chain
in order and names the first event that was edited, deleted or inserted out of order.
Appends are serialised: the chain's head row is locked (SELECT ... FOR UPDATE on
PostgreSQL; on SQLite every transaction is BEGIN IMMEDIATE, see portal/database.py), so
two transactions can never extend the same tip, and `sequence` and `hash` are unique so
a fork could not be stored anyway.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import has_request_context, request
from sqlalchemy import ColumnElement, Select, String, and_, cast, func, not_, or_, select
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import raiseload

from portal.extensions import db
from portal.models.audit import GENESIS_HASH, AuditEvent, AuditHead
from portal.models.base import utcnow

# ---------------------------------------------------------------------------------------
# Hashing
# ---------------------------------------------------------------------------------------


def canonical_json(value: Any) -> str:
    """One spelling for every value: sorted keys, no spaces, UTF-8, no NaN/Infinity."""
    return json.dumps(
        value,
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        allow_nan=False,
        default=str,
    )


def event_payload(event: Any) -> dict[str, Any]:
    """The fields that the hash covers: everything but the row id and the hash itself.

    `event` is an AuditEvent or any row with the same attributes (the verifier streams
    plain rows)."""
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


def compute_hash(event: Any) -> str:
    digest = hashlib.sha256()
    digest.update(event.previous_hash.encode("ascii"))
    digest.update(canonical_json(event_payload(event)).encode("utf-8"))
    return digest.hexdigest()


# ---------------------------------------------------------------------------------------
# Appending
# ---------------------------------------------------------------------------------------


def _request_ip() -> str | None:
    # The audit trail is infrastructure, not a use case: it may read the request
    # so that services never have to. Behind a proxy, PROXY_FIX_COUNT makes this the
    # client's address.
    if has_request_context():
        return request.remote_addr
    return None


def _lock_head() -> AuditHead:
    session = db.session
    existing = session.identity_map.get(session.identity_key(AuditHead, 1))
    if existing is not None and session.is_modified(existing):
        # This transaction already appended, so it already holds the lock, and the
        # object carries the newest tip (which may not be flushed yet).
        return existing
    # populate_existing: a head loaded earlier in this transaction without the lock may
    # be stale; the locked read is the truth.
    head = session.execute(
        select(AuditHead)
        .where(AuditHead.id == 1)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()
    if head is None:
        raise RuntimeError("audit_head row missing: run `flask db upgrade`")
    return head


def _previous_time(head: AuditHead) -> datetime | None:
    """When the event at the tip was written (None for an empty chain)."""
    if head.last_sequence == 0:
        return None
    for pending in db.session.new:
        if isinstance(pending, AuditEvent) and pending.sequence == head.last_sequence:
            return pending.occurred_at
    return db.session.execute(
        select(AuditEvent.occurred_at).where(AuditEvent.sequence == head.last_sequence)
    ).scalar_one_or_none()


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
    """Append an event to the chain in the current transaction (no commit here).

    action: a dotted name, e.g. "user.role_granted".
    actor: the User who acted (None for the system; a string labels a non-user actor
        such as "cli").
    obj / object_type / object_id: what it happened to (obj gives both).
    data: what changed, JSON-serialisable (values that are not are stored as text).
    """
    if not action or len(action) > 100:
        raise ValueError("audit action must be 1 to 100 characters")
    if obj is not None:
        object_type = object_type or type(obj).__tablename__
        if object_id is None:
            if getattr(obj, "id", None) is None:
                db.session.flush()
            object_id = obj.id
    if isinstance(actor, str):
        actor_id, actor_label = None, actor
    else:
        actor_id = getattr(actor, "id", None)
        actor_label = getattr(actor, "email", None) if actor is not None else None
    # Round-trip so what is stored is exactly what was hashed.
    stored_data = json.loads(canonical_json(data or {}))

    head = _lock_head()
    occurred_at = utcnow()
    previous_time = _previous_time(head)
    if previous_time is not None and previous_time > occurred_at:
        # Clocks of different app servers disagree a little; the chain's time never
        # goes backwards, so the verifier can treat a backwards step as tampering.
        occurred_at = previous_time
    event = AuditEvent(
        sequence=head.last_sequence + 1,
        occurred_at=occurred_at,
        actor_id=actor_id,
        actor_label=actor_label,
        action=action,
        object_type=object_type,
        object_id=None if object_id is None else str(object_id),
        data=stored_data,
        ip_address=ip_address or _request_ip(),
        previous_hash=head.last_hash,
    )
    event.hash = compute_hash(event)
    head.last_sequence = event.sequence
    head.last_hash = event.hash
    db.session.add(event)
    return event


# ---------------------------------------------------------------------------------------
# Verifying
# ---------------------------------------------------------------------------------------

# What can be wrong with the chain.
EDITED = "edited"  # contents no longer match the event's hash
MISSING = "missing"  # a sequence number is absent (deleted), in the middle or at the end
OUT_OF_ORDER = "out of order"  # linked, numbered or timed out of place (inserted/swapped)
HEAD_MISMATCH = "head mismatch"  # the head row disagrees with the last event
REWRITTEN = "rewritten"  # an event's hash differs from one recorded outside the database


@dataclass(frozen=True)
class ChainProblem:
    kind: str
    sequence: int | None  # the first bad position in the chain
    event_id: int | None  # its row id (None when the event is missing)
    message: str

    def describe(self) -> str:
        where = f"sequence {self.sequence}" if self.sequence is not None else "the head"
        if self.event_id is not None:
            where += f" (event id {self.event_id})"
        return f"{where}: {self.kind}: {self.message}"


@dataclass(frozen=True)
class ChainReport:
    events_checked: int
    head_sequence: int | None
    head_hash: str | None
    problem: ChainProblem | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None


_VERIFY_COLUMNS = (
    AuditEvent.id,
    AuditEvent.sequence,
    AuditEvent.occurred_at,
    AuditEvent.actor_id,
    AuditEvent.actor_label,
    AuditEvent.action,
    AuditEvent.object_type,
    AuditEvent.object_id,
    AuditEvent.data,
    AuditEvent.ip_address,
    AuditEvent.previous_hash,
    AuditEvent.hash,
)


def _check_event(row: Any, prev: Any, head_sequence: int) -> ChainProblem | None:
    """Check one event against the one before it in sequence order (None at the start)."""
    expected_sequence = 1 if prev is None else prev.sequence + 1
    expected_previous_hash = GENESIS_HASH if prev is None else prev.hash

    if row.sequence > head_sequence:
        return ChainProblem(
            OUT_OF_ORDER,
            row.sequence,
            row.id,
            f"the event is beyond the chain's head (which ends at sequence {head_sequence}):"
            " it was inserted without going through the audit trail, or the head was"
            " moved back",
        )
    if row.sequence > expected_sequence:
        missing = (
            f"sequence {expected_sequence}"
            if row.sequence == expected_sequence + 1
            else f"sequences {expected_sequence} to {row.sequence - 1}"
        )
        after = "the start" if prev is None else f"sequence {prev.sequence} (id {prev.id})"
        return ChainProblem(
            MISSING,
            expected_sequence,
            None,
            f"{missing} deleted: the chain jumps from {after}"
            f" to sequence {row.sequence} (id {row.id})",
        )
    if row.sequence < expected_sequence:
        return ChainProblem(
            OUT_OF_ORDER,
            row.sequence,
            row.id,
            "the chain starts at sequence 1: a forged event"
            if prev is None
            else f"sequence {row.sequence} repeats or goes backwards after sequence"
            f" {prev.sequence}: a forged or duplicated event",
        )
    if prev is not None and row.id < prev.id:
        # Appends are serialised, so row ids rise with the sequence. An event whose id is
        # higher than the next one's was written later than it: put in out of place.
        return ChainProblem(
            OUT_OF_ORDER,
            prev.sequence,
            prev.id,
            f"the event was written after the event that follows it (sequence"
            f" {row.sequence} has the lower id {row.id}): inserted or swapped out of order",
        )
    if compute_hash(row) != row.hash:
        return ChainProblem(
            EDITED,
            row.sequence,
            row.id,
            "the event's contents no longer match its hash: it was changed after it was written",
        )
    if row.previous_hash != expected_previous_hash:
        before = "the genesis hash" if prev is None else f"the hash of sequence {prev.sequence}"
        return ChainProblem(
            OUT_OF_ORDER,
            row.sequence,
            row.id,
            f"its previous_hash does not match {before}: this event was inserted out of"
            " order, or the event before it was replaced and re-hashed",
        )
    if prev is not None and row.occurred_at < prev.occurred_at:
        return ChainProblem(
            OUT_OF_ORDER,
            row.sequence,
            row.id,
            f"it is dated {row.occurred_at.isoformat()}, before the event ahead of it"
            f" ({prev.occurred_at.isoformat()}): inserted out of order",
        )
    return None


def _walk(
    connection: Connection, batch_size: int, anchors: dict[int, str] | None = None
) -> ChainReport:
    anchors = dict(anchors or {})
    head = connection.execute(
        select(AuditHead.last_sequence, AuditHead.last_hash).where(AuditHead.id == 1)
    ).one_or_none()
    if head is None:
        return ChainReport(
            0, None, None, ChainProblem(HEAD_MISMATCH, None, None, "the head row is missing")
        )
    rows = connection.execute(
        select(*_VERIFY_COLUMNS)
        .order_by(AuditEvent.sequence)
        .execution_options(yield_per=batch_size)
    )
    prev = None
    checked = 0
    try:
        for row in rows:
            problem = _check_event(row, prev, head.last_sequence)
            if problem is None and anchors.get(row.sequence, row.hash) != row.hash:
                problem = ChainProblem(
                    REWRITTEN,
                    row.sequence,
                    row.id,
                    f"its hash is {row.hash}, not {anchors[row.sequence]} as recorded earlier:"
                    " the chain was rewritten (and re-hashed) at or before this event",
                )
            if problem is not None:
                return ChainReport(checked, head.last_sequence, head.last_hash, problem)
            prev = row
            checked += 1
    finally:
        rows.close()

    last_sequence = 0 if prev is None else prev.sequence
    last_hash = GENESIS_HASH if prev is None else prev.hash
    problem = None
    beyond_end = [seq for seq in anchors if seq > max(last_sequence, head.last_sequence)]
    if beyond_end:
        problem = ChainProblem(
            REWRITTEN,
            last_sequence + 1,
            None,
            f"sequence {max(beyond_end)} was recorded earlier but the chain now ends at"
            f" sequence {last_sequence}: events from sequence {last_sequence + 1} on were"
            " deleted and the head moved back",
        )
    elif last_sequence < head.last_sequence:
        missing = (
            f"sequence {head.last_sequence}"
            if head.last_sequence == last_sequence + 1
            else f"sequences {last_sequence + 1} to {head.last_sequence}"
        )
        problem = ChainProblem(
            MISSING,
            last_sequence + 1,
            None,
            f"{missing} deleted from the end: the head records sequence"
            f" {head.last_sequence} but the last event is sequence {last_sequence}",
        )
    elif last_hash != head.last_hash:
        problem = ChainProblem(
            HEAD_MISMATCH,
            last_sequence,
            None if prev is None else prev.id,
            f"the head records hash {head.last_hash} for the last event but its hash is"
            f" {last_hash}: the last event was replaced",
        )
    return ChainReport(checked, head.last_sequence, head.last_hash, problem)


def verify_chain(
    batch_size: int = 1000,
    *,
    anchors: dict[int, str] | None = None,
    connection: Connection | None = None,
) -> ChainReport:
    """Walk every event in sequence order and report the first broken one.

    Rows are streamed `batch_size` at a time (a server-side cursor on PostgreSQL), and
    only the previous row is kept, so memory stays flat on millions of events.

    `anchors` maps sequence numbers to hashes recorded outside the database by earlier
    runs (the "Head:" line of `flask audit verify`). The chain alone cannot show that an
    intruder rewrote and re-hashed every event from some point on, and moved the head;
    an anchor can.

    The walk reads one consistent snapshot: on PostgreSQL a REPEATABLE READ, read-only
    transaction on its own connection, so concurrent appends are neither missed nor
    mistaken for forgeries; on SQLite the session's transaction, which holds the write
    lock (BEGIN IMMEDIATE) while it runs.
    """
    if connection is not None:
        return _walk(connection, batch_size, anchors)
    engine = db.engine
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            conn.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
            with conn.begin():
                return _walk(conn, batch_size, anchors)
    return _walk(db.session.connection(), batch_size, anchors)


# ---------------------------------------------------------------------------------------
# Searching (the admin page and its CSV export)
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AuditFilters:
    actor_email: str | None = None  # part of the actor's e-mail, any case
    action: str | None = None  # an action name, or the start of one ("user.")
    object_type: str | None = None
    object_id: str | None = None
    occurred_from: datetime | None = None  # inclusive, aware UTC
    occurred_before: datetime | None = None  # exclusive, aware UTC
    # Sealed bids: hide what would tell the panel who bid before the bids are opened.
    hide_sealed: bool = True


def sealed_bid_events() -> ColumnElement[bool]:
    """Events that would tell the panel who bid before a commission's bids are opened:
    events on a bid of an unopened commission, and uploads of bid documents not yet
    opened. The rule of portal.services.bids.is_sealed_audit_event, in SQL so that a page
    of events stays one query and counts stay right (tests/test_audit_sealed.py checks
    the two agree)."""
    from portal.models.bids import DOCUMENT_AREA, Bid, BidDocument
    from portal.models.commissions import Commission

    unopened_bids = (
        select(cast(Bid.id, String))
        .join(Commission, Commission.id == Bid.commission_id)
        .where(Commission.bids_opened_at.is_(None))
    )
    opened_documents = (
        select(BidDocument.document_id)
        .join(Bid, Bid.id == BidDocument.bid_id)
        .join(Commission, Commission.id == Bid.commission_id)
        .where(Commission.bids_opened_at.is_not(None))
    )
    # Every part is NULL-safe, so NOT(...) never drops an unrelated event.
    on_sealed_bid = and_(
        AuditEvent.object_type.is_not(None),
        AuditEvent.object_id.is_not(None),
        AuditEvent.object_type == "bids",
        AuditEvent.object_id.in_(unopened_bids),
    )
    sealed_upload = and_(
        AuditEvent.object_type.is_not(None),
        AuditEvent.object_id.is_not(None),
        AuditEvent.object_type == "documents",
        func.coalesce(AuditEvent.data["area"].as_string(), "") == DOCUMENT_AREA,
        AuditEvent.object_id.not_in(opened_documents),
    )
    return or_(on_sealed_bid, sealed_upload)


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _apply_filters(stmt: Select, filters: AuditFilters) -> Select:
    if filters.hide_sealed:
        stmt = stmt.where(not_(sealed_bid_events()))
    if filters.actor_email:
        pattern = f"%{_like_escape(filters.actor_email.lower())}%"
        stmt = stmt.where(func.lower(AuditEvent.actor_label).like(pattern, escape="\\"))
    if filters.action:
        stmt = stmt.where(AuditEvent.action.like(f"{_like_escape(filters.action)}%", escape="\\"))
    if filters.object_type:
        stmt = stmt.where(AuditEvent.object_type == filters.object_type)
    if filters.object_id:
        stmt = stmt.where(AuditEvent.object_id == filters.object_id)
    if filters.occurred_from:
        stmt = stmt.where(AuditEvent.occurred_at >= filters.occurred_from)
    if filters.occurred_before:
        stmt = stmt.where(AuditEvent.occurred_at < filters.occurred_before)
    return stmt


def count_events(filters: AuditFilters) -> int:
    stmt = _apply_filters(select(func.count()).select_from(AuditEvent), filters)
    return db.session.execute(stmt).scalar_one()


def _events_query(filters: AuditFilters) -> Select:
    # Newest first. The actor is shown from actor_label (the e-mail at the time), so the
    # User is never loaded: one query per page whatever its size.
    return _apply_filters(select(AuditEvent), filters).order_by(AuditEvent.sequence.desc())


def events_page(filters: AuditFilters, page: int, per_page: int) -> list[AuditEvent]:
    stmt = (
        _events_query(filters)
        .options(raiseload(AuditEvent.actor))
        .limit(per_page)
        .offset((page - 1) * per_page)
    )
    return list(db.session.execute(stmt).scalars())


def iter_events(filters: AuditFilters, engine: Engine, batch_size: int = 500) -> Iterator[Any]:
    """Every matching event, newest first, streamed as plain rows (for exports).

    Runs on its own connection, so it needs no Flask context: a streamed response body is
    read after the request's context (and its session) has gone. Nothing is read until
    the first row is asked for."""
    stmt = _apply_filters(select(*_VERIFY_COLUMNS), filters).order_by(AuditEvent.sequence.desc())
    with engine.connect() as conn, conn.begin():
        result = conn.execute(stmt.execution_options(yield_per=batch_size))
        try:
            yield from result
        finally:
            result.close()
