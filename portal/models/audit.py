"""The append-only, hash-chained audit trail."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import db
from portal.models.base import UTCDateTime, utcnow

GENESIS_HASH = "0" * 64


class AuditHead(db.Model):
    """One row holding the tip of the chain.

    Appending locks this row (SELECT ... FOR UPDATE on PostgreSQL; on SQLite every
    transaction is IMMEDIATE), so two writers can never both extend the same tip.
    """

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(primary_key=True)
    last_sequence: Mapped[int] = mapped_column(default=0)
    last_hash: Mapped[str] = mapped_column(String(64), default=GENESIS_HASH)


class AuditEvent(db.Model):
    """One entry in the append-only chain. Written only by portal.audit.record().

    `hash` = SHA-256(previous_hash + canonical JSON of every column but `id` and `hash`),
    so changing any of them, deleting an event or putting one in out of place is caught
    by `flask audit verify` (portal.audit.verify_chain). Never update or delete rows.
    """

    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_events_object", "object_type", "object_id"),
        Index("ix_audit_events_occurred_at", "occurred_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Position in the chain; unique so a fork cannot be stored.
    sequence: Mapped[int] = mapped_column(unique=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Hashed, so a user who acted cannot be deleted (the foreign key refuses it): an
    # account is erased by anonymising its users row, and the chain still verifies.
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    # Who acted as they were then (their e-mail), or a label such as "cli" for the system.
    actor_label: Mapped[str | None] = mapped_column(String(320))
    action: Mapped[str] = mapped_column(String(100), index=True)
    object_type: Mapped[str | None] = mapped_column(String(60))
    object_id: Mapped[str | None] = mapped_column(String(64))
    data: Mapped[dict] = mapped_column(JSON, default=dict)
    ip_address: Mapped[str | None] = mapped_column(String(64))
    previous_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)

    actor = relationship("User", lazy="joined")


def ensure_audit_head() -> None:
    """Create the chain's head row if this database has none (the migration seeds it)."""
    if db.session.get(AuditHead, 1) is None:
        db.session.add(AuditHead(id=1, last_sequence=0, last_hash=GENESIS_HASH))
        db.session.flush()
