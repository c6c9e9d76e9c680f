"""The award of a commission, the outcome letters to its bidders, and the OCDS releases
published as open data (issue 6).

    proposed (commissioner) -> approved (a different admin: standstill starts, letters
    go out) -> confirmed (commissioner, after the standstill: the contract, delivery
    starts)
    proposed -> returned (admin, with a reason: the commissioner may propose again)
    approved -> withdrawn (commissioner, with a reason: bidders told; may propose again)
    no_suitable_bid (commissioner, with a reason: the commission closes, letters to all)

Exactly one LIVE award per commission (any status but withdrawn or returned): a partial
unique index enforces it in the database (SQLite and PostgreSQL), and the services also
lock the commission row first, so a double click or two admins at once end with one
award and one set of letters.

Access lives here: `Award.can_approve(user)` (four eyes: an admin who did not propose
it), `OutcomeLetter.can_view(user)` (the recipient organisation's members only).
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import db
from portal.models.base import UTCDateTime, utcnow


class AwardStatus(enum.StrEnum):
    PROPOSED = "proposed"
    APPROVED = "approved"  # the standstill runs (or has run) until confirmation
    CONFIRMED = "confirmed"  # the contract
    WITHDRAWN = "withdrawn"
    RETURNED = "returned"
    NO_SUITABLE_BID = "no_suitable_bid"  # closed without an award


AWARD_STATUS_LABELS = {
    AwardStatus.PROPOSED: "Proposed, awaiting approval",
    AwardStatus.APPROVED: "Approved: standstill",
    AwardStatus.CONFIRMED: "Confirmed: contract",
    AwardStatus.WITHDRAWN: "Withdrawn",
    AwardStatus.RETURNED: "Returned to the commissioner",
    AwardStatus.NO_SUITABLE_BID: "Closed: no suitable bid",
}

AWARD_STATUS_TAGS = {
    AwardStatus.PROPOSED: "govuk-tag--yellow",
    AwardStatus.APPROVED: "govuk-tag--blue",
    AwardStatus.CONFIRMED: "govuk-tag--green",
    AwardStatus.WITHDRAWN: "govuk-tag--red",
    AwardStatus.RETURNED: "govuk-tag--grey",
    AwardStatus.NO_SUITABLE_BID: "govuk-tag--red",
}

# Statuses that no longer hold the commission's one award.
ENDED_STATUSES = (AwardStatus.WITHDRAWN, AwardStatus.RETURNED)
_LIVE_WHERE = "status NOT IN ('withdrawn', 'returned')"


def _active(user) -> bool:
    return bool(
        user is not None and getattr(user, "is_authenticated", False) and user.is_active
    )


class Award(db.Model):
    __tablename__ = "awards"
    __table_args__ = (
        CheckConstraint(
            "status in ('proposed', 'approved', 'confirmed', 'withdrawn', 'returned', "
            "'no_suitable_bid')",
            name="status_known",
        ),
        # An award names a bid; closing with no suitable bid names none.
        CheckConstraint(
            "(status = 'no_suitable_bid' AND bid_id IS NULL) OR "
            "(status <> 'no_suitable_bid' AND bid_id IS NOT NULL)",
            name="bid_matches_status",
        ),
        CheckConstraint(
            "status NOT IN ('approved', 'confirmed') OR "
            "(approved_at IS NOT NULL AND standstill_ends_at IS NOT NULL)",
            name="approved_has_standstill",
        ),
        CheckConstraint(
            "approved_by_id IS NULL OR approved_by_id <> proposed_by_id",
            name="four_eyes",
        ),
        # The one live award per commission.
        Index(
            "uq_awards_live_per_commission",
            "commission_id",
            unique=True,
            sqlite_where=text(_LIVE_WHERE),
            postgresql_where=text(_LIVE_WHERE),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    commission_id: Mapped[int] = mapped_column(
        ForeignKey("commissions.id", ondelete="CASCADE"), index=True
    )
    bid_id: Mapped[int | None] = mapped_column(ForeignKey("bids.id", ondelete="CASCADE"))
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))
    status: Mapped[str] = mapped_column(String(20), default=AwardStatus.PROPOSED)

    # The proposal: the ranking as the commissioner saw it, the position of the bid
    # chosen, and the reason when it is not the top-ranked bid.
    ranked_position: Mapped[int | None] = mapped_column()
    top_ranked: Mapped[bool] = mapped_column(default=True)
    reason: Mapped[str] = mapped_column(Text, default="")
    value_pence: Mapped[int | None] = mapped_column(BigInteger)
    ranking: Mapped[dict] = mapped_column(JSON, default=dict)

    proposed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    proposed_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    standstill_rule: Mapped[str | None] = mapped_column(String(20))
    standstill_days: Mapped[int | None] = mapped_column()
    standstill_ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    returned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    returned_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    return_reason: Mapped[str | None] = mapped_column(Text)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    confirmed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    withdrawn_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    withdrawal_reason: Mapped[str | None] = mapped_column(Text)

    commission = relationship("Commission", backref="awards")
    bid = relationship("Bid")
    organisation = relationship("Organisation")
    proposed_by = relationship("User", foreign_keys=[proposed_by_id])
    approved_by = relationship("User", foreign_keys=[approved_by_id])
    returned_by = relationship("User", foreign_keys=[returned_by_id])
    confirmed_by = relationship("User", foreign_keys=[confirmed_by_id])
    withdrawn_by = relationship("User", foreign_keys=[withdrawn_by_id])
    letters = relationship(
        "OutcomeLetter",
        back_populates="award",
        cascade="all, delete-orphan",
        order_by="OutcomeLetter.id",
    )

    @property
    def status_label(self) -> str:
        return AWARD_STATUS_LABELS.get(self.status, self.status)

    @property
    def status_tag_class(self) -> str:
        return AWARD_STATUS_TAGS.get(self.status, "govuk-tag--grey")

    @property
    def is_live(self) -> bool:
        return self.status not in ENDED_STATUSES

    def in_standstill_at(self, now: datetime) -> bool:
        return (
            self.status == AwardStatus.APPROVED
            and self.standstill_ends_at is not None
            and now < self.standstill_ends_at
        )

    def can_be_confirmed_at(self, now: datetime) -> bool:
        return (
            self.status == AwardStatus.APPROVED
            and self.standstill_ends_at is not None
            and now >= self.standstill_ends_at
        )

    # --- access (the one place) --------------------------------------------------------

    def can_manage(self, user) -> bool:
        """Commissioners run the award of every commission."""
        return _active(user) and bool(user.is_commissioner)

    def can_review(self, user) -> bool:
        """Admins see proposals (to approve or return them)."""
        return _active(user) and bool(user.is_admin)

    def can_approve(self, user) -> bool:
        """Four eyes: an admin who is not the person who proposed it, while proposed."""
        return (
            self.can_review(user)
            and user.id != self.proposed_by_id
            and self.status == AwardStatus.PROPOSED
        )

    def __repr__(self) -> str:
        return f"<Award {self.id} {self.status}>"


class LetterKind(enum.StrEnum):
    SUCCESSFUL = "successful"
    UNSUCCESSFUL = "unsuccessful"
    NO_SUITABLE_BID = "no_suitable_bid"


LETTER_KIND_LABELS = {
    LetterKind.SUCCESSFUL: "Successful",
    LetterKind.UNSUCCESSFUL: "Unsuccessful",
    LetterKind.NO_SUITABLE_BID: "No award made",
}


class OutcomeLetter(db.Model):
    """The letter to one bidder about one award (or about closing with no suitable bid).
    `content` is everything the letter says, fixed when it is written: the page and the
    e-mail both render it, so they always agree. It holds the recipient's own scores and
    the winner's, never another bidder's."""

    __tablename__ = "outcome_letters"
    __table_args__ = (
        UniqueConstraint("award_id", "organisation_id", name="uq_outcome_letters_recipient"),
        CheckConstraint(
            "kind in ('successful', 'unsuccessful', 'no_suitable_bid')", name="kind_known"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    award_id: Mapped[int] = mapped_column(
        ForeignKey("awards.id", ondelete="CASCADE"), index=True
    )
    commission_id: Mapped[int] = mapped_column(
        ForeignKey("commissions.id", ondelete="CASCADE"), index=True
    )
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), index=True
    )
    bid_id: Mapped[int | None] = mapped_column(ForeignKey("bids.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))
    content: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    emails_queued: Mapped[int] = mapped_column(default=0)

    award = relationship("Award", back_populates="letters")
    commission = relationship("Commission")
    organisation = relationship("Organisation")

    @property
    def kind_label(self) -> str:
        return LETTER_KIND_LABELS.get(self.kind, self.kind)

    def can_view(self, user) -> bool:
        """Only members of the organisation it is addressed to. Anyone else: 404."""
        if not _active(user):
            return False
        membership = getattr(user, "membership", None)
        return membership is not None and membership.organisation_id == self.organisation_id


class OcdsRelease(db.Model):
    """One OCDS 1.1 release, written in the transaction of the event it reports
    (publication, amendment, cancellation, award approval, confirmation...). `data` is the
    release exactly as published; the feed (/api/ocds/releases) serves these rows in
    order and never rebuilds them."""

    __tablename__ = "ocds_releases"
    __table_args__ = (
        UniqueConstraint("commission_id", "sequence", name="uq_ocds_releases_sequence"),
        Index("ix_ocds_releases_ocid", "ocid", "sequence"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    commission_id: Mapped[int] = mapped_column(
        ForeignKey("commissions.id", ondelete="CASCADE"), index=True
    )
    ocid: Mapped[str] = mapped_column(String(100))
    sequence: Mapped[int] = mapped_column()
    release_id: Mapped[str] = mapped_column(String(150), unique=True)
    tag: Mapped[str] = mapped_column(String(30))
    date: Mapped[datetime] = mapped_column(UTCDateTime)
    data: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
