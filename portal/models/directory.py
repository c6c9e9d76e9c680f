"""The partnership directory: the search index, shortlists and enquiries.

Who may do what is decided here, once per object:

- `can_search_directory(user)`: approved partnership members, commissioners and admins.
- `Shortlist.can_view` / `can_edit`: the partnership member who made it, only.
- `Enquiry.can_view` / `can_reply`: the partnership member who sent it and members of the
  reviewer's organisation. Nobody else, staff included.
- `Enquiry.can_block`: members of the reviewer's organisation.

The search index (`DirectorySearchDocument`) holds normalised text only: names,
professional background, expertise, published review titles and profile text. Nothing from
ReviewerSensitiveData is ever copied into it. Whether a reviewer may appear (consent,
active membership, not removed) is decided at query time by joins, never by a flag in the
index, so withdrawing consent or losing membership removes a reviewer at once.

PostgreSQL: `search_vector` is a TSVECTOR with a GIN index, written with the row.
SQLite: the column stays NULL and an FTS5 virtual table (`directory_search_fts`, external
content over this table) is kept in step by triggers. Both are created by DDL listeners
after `create_all` (see portal/search/schema.py) and by migration 0005.
"""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import (
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import TSVECTOR
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import db
from portal.models.base import UTCDateTime, utcnow

SEARCH_TABLE = "directory_search_documents"
FTS_TABLE = "directory_search_fts"


def can_search_directory(user) -> bool:
    """The directory is for approved partnership members and panel staff who run the
    pool (commissioners and admins)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    if user.is_approved_partnership_member:
        return True
    return bool(user.is_commissioner or user.is_admin)


def directory_staff(user) -> bool:
    """Staff who search the directory (they also need their second factor)."""
    return bool(
        getattr(user, "is_authenticated", False)
        and not user.is_approved_partnership_member
        and (user.is_commissioner or user.is_admin)
    )


class DirectorySearchDocument(db.Model):
    """One row per reviewer profile: the text the directory searches, normalised into
    lower-case word tokens separated by spaces (the same tokeniser for both engines)."""

    __tablename__ = SEARCH_TABLE
    __table_args__ = (
        Index(
            "ix_directory_search_documents_vector",
            "search_vector",
            postgresql_using="gin",
        ),
    )

    reviewer_id: Mapped[int] = mapped_column(
        ForeignKey("reviewer_profiles.id", ondelete="CASCADE"), primary_key=True
    )
    # Weight A: the reviewer's name.
    name_text: Mapped[str] = mapped_column(Text, default="")
    # Weight B: expertise tags and published review titles.
    expertise_text: Mapped[str] = mapped_column(Text, default="")
    # Weight C: professional background, profile summary, organisation name.
    body_text: Mapped[str] = mapped_column(Text, default="")
    # PostgreSQL only (NULL on SQLite, where FTS5 indexes the three columns above).
    search_vector: Mapped[str | None] = mapped_column(
        Text().with_variant(TSVECTOR(), "postgresql")
    )
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


# --- Shortlists ---------------------------------------------------------------------------


class Shortlist(db.Model):
    __tablename__ = "directory_shortlists"
    __table_args__ = (
        UniqueConstraint("owner_id", "name", name="uq_directory_shortlists_owner_name"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    partnership_id: Mapped[int] = mapped_column(ForeignKey("partnerships.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    owner = relationship("User")
    entries = relationship(
        "ShortlistEntry",
        back_populates="shortlist",
        cascade="all, delete-orphan",
        order_by="ShortlistEntry.id",
    )

    def can_view(self, user) -> bool:
        return bool(
            user is not None
            and getattr(user, "is_authenticated", False)
            and user.is_approved_partnership_member
            and user.id == self.owner_id
        )

    can_edit = can_view


class ShortlistEntry(db.Model):
    __tablename__ = "directory_shortlist_entries"
    __table_args__ = (
        UniqueConstraint("shortlist_id", "reviewer_id", name="uq_directory_shortlist_entry"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    shortlist_id: Mapped[int] = mapped_column(
        ForeignKey("directory_shortlists.id", ondelete="CASCADE"), index=True
    )
    reviewer_id: Mapped[int] = mapped_column(
        ForeignKey("reviewer_profiles.id", ondelete="CASCADE"), index=True
    )
    note: Mapped[str | None] = mapped_column(String(500))
    added_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    shortlist = relationship("Shortlist", back_populates="entries")
    reviewer = relationship("ReviewerProfile")


# --- Enquiries ----------------------------------------------------------------------------


class EnquiryStatus(enum.StrEnum):
    OPEN = "open"  # waiting for the reviewer's organisation
    ANSWERED = "answered"  # the reviewer's side has replied
    CLOSED = "closed"


ENQUIRY_STATUS_LABELS = {
    EnquiryStatus.OPEN: "Waiting for a reply",
    EnquiryStatus.ANSWERED: "Replied",
    EnquiryStatus.CLOSED: "Closed",
}


class Enquiry(db.Model):
    """A partnership member's enquiry to a reviewer about a prospective review."""

    __tablename__ = "directory_enquiries"
    __table_args__ = (
        CheckConstraint("status in ('open', 'answered', 'closed')", name="status_known"),
        CheckConstraint("expected_weeks between 1 and 104", name="expected_weeks_range"),
        # The rate limit counts a sender's enquiries over a rolling 24 hours.
        Index("ix_directory_enquiries_sender_created", "sender_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    sender_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    partnership_id: Mapped[int] = mapped_column(ForeignKey("partnerships.id"), index=True)
    reviewer_id: Mapped[int] = mapped_column(
        ForeignKey("reviewer_profiles.id", ondelete="CASCADE"), index=True
    )
    # The reviewer's organisation when the enquiry was sent: who sees and answers it.
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), index=True
    )
    subject: Mapped[str] = mapped_column(String(150))
    expected_start: Mapped[date] = mapped_column(Date)
    expected_weeks: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20), default=EnquiryStatus.OPEN)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_message_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    sender = relationship("User", foreign_keys=[sender_id])
    partnership = relationship("Partnership")
    reviewer = relationship("ReviewerProfile")
    organisation = relationship("Organisation")
    messages = relationship(
        "EnquiryMessage",
        back_populates="enquiry",
        cascade="all, delete-orphan",
        order_by="EnquiryMessage.id",
    )

    @property
    def reference(self) -> str:
        return f"ENQ-{self.id:06d}"

    @property
    def status_label(self) -> str:
        return ENQUIRY_STATUS_LABELS[EnquiryStatus(self.status)]

    def is_sender(self, user) -> bool:
        return bool(
            user is not None and getattr(user, "is_authenticated", False)
            and user.id == self.sender_id
        )

    def is_reviewer_side(self, user) -> bool:
        membership = getattr(user, "membership", None) if user is not None else None
        return bool(
            getattr(user, "is_authenticated", False)
            and membership is not None
            and membership.organisation_id == self.organisation_id
        )

    def can_view(self, user) -> bool:
        """The two parties: the sender, and members of the reviewer's organisation."""
        return self.is_sender(user) or self.is_reviewer_side(user)

    def can_reply(self, user) -> bool:
        return self.status != EnquiryStatus.CLOSED and self.can_view(user)

    def can_block(self, user) -> bool:
        return self.is_reviewer_side(user)


class EnquiryMessage(db.Model):
    __tablename__ = "directory_enquiry_messages"
    __table_args__ = (
        CheckConstraint("side in ('partnership', 'reviewer')", name="side_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    enquiry_id: Mapped[int] = mapped_column(
        ForeignKey("directory_enquiries.id", ondelete="CASCADE"), index=True
    )
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    side: Mapped[str] = mapped_column(String(20))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    enquiry = relationship("Enquiry", back_populates="messages")
    author = relationship("User")


class EnquiryBlock(db.Model):
    """A reviewer organisation refuses further enquiries from a partnership."""

    __tablename__ = "directory_enquiry_blocks"
    __table_args__ = (
        UniqueConstraint(
            "organisation_id", "partnership_id", name="uq_directory_enquiry_blocks_pair"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), index=True
    )
    partnership_id: Mapped[int] = mapped_column(
        ForeignKey("partnerships.id", ondelete="CASCADE"), index=True
    )
    blocked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    partnership = relationship("Partnership")


# The engine-specific schema (FTS5 on SQLite) and the listener that keeps the index in
# step on every flush. Imported last: it needs the classes above.
from flask_sqlalchemy.session import Session as _FlaskSession  # noqa: E402

from portal.search import schema as _search_schema  # noqa: E402

_search_schema.install_session_listener(_FlaskSession)
