"""Bids: one per organisation per commission, and the seal around them.

    draft -> submitted -> (edited before the deadline: back to draft, must be submitted
                           again; the submitted version stays in the history)
          -> needs_reconfirmation (the commission changed materially) -> submitted
          -> withdrawn (before the deadline; may be reopened as a draft while open)

After the submission deadline nothing changes: the bid is frozen and read-only.

Every submission stores a `BidVersion` (the canonical JSON content, its SHA-256 and the
SHA-256 of each document) and a `BidReceipt` for the bidder. The panel only ever sees the
latest submitted version, and only once the commission's bids are opened.

Access is decided here, in ONE place: `Bid.can_view(user)`, `Bid.can_edit(user)` and
friends, and the download rule for the "bids" document area at the bottom. Before the
commission is opened (`Commission.bids_opened_at`) no panel role (commissioner,
evaluator, admin) can see that a bid exists, what it says or any of its documents.
"""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    select,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import db
from portal.models.base import UTCDateTime, utcnow
from portal.models.document import Document, register_download_rule

DOCUMENT_AREA = "bids"


class BidStatus(enum.StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    NEEDS_RECONFIRMATION = "needs_reconfirmation"
    WITHDRAWN = "withdrawn"


STATUS_LABELS = {
    BidStatus.DRAFT: "Not submitted",
    BidStatus.SUBMITTED: "Submitted",
    BidStatus.NEEDS_RECONFIRMATION: "Needs re-confirmation",
    BidStatus.WITHDRAWN: "Withdrawn",
}

STATUS_TAG_CLASSES = {
    BidStatus.DRAFT: "govuk-tag--grey",
    BidStatus.SUBMITTED: "govuk-tag--green",
    BidStatus.NEEDS_RECONFIRMATION: "govuk-tag--orange",
    BidStatus.WITHDRAWN: "govuk-tag--red",
}

# Bids that were submitted and not withdrawn: what the panel sees once the bids are
# opened, and what "how many bids" counts while they are sealed.
SUBMITTED_STATUSES = (BidStatus.SUBMITTED, BidStatus.NEEDS_RECONFIRMATION)


class ConflictsAnswer(enum.StrEnum):
    NONE = "none"
    DECLARED = "declared"


def _active(user) -> bool:
    return bool(
        user is not None and getattr(user, "is_authenticated", False) and user.is_active
    )


def _organisation_id(user) -> int | None:
    membership = getattr(user, "membership", None) if _active(user) else None
    return membership.organisation_id if membership is not None else None


class Bid(db.Model):
    __tablename__ = "bids"
    __table_args__ = (
        UniqueConstraint("commission_id", "organisation_id", name="uq_bids_commission_org"),
        CheckConstraint(
            "status in ('draft', 'submitted', 'needs_reconfirmation', 'withdrawn')",
            name="status_known",
        ),
        CheckConstraint(
            "conflicts_answer is null or conflicts_answer in ('none', 'declared')",
            name="conflicts_answer_known",
        ),
        CheckConstraint(
            "status = 'draft' or status = 'withdrawn' or submitted_at is not null",
            name="submitted_has_time",
        ),
        Index("ix_bids_commission_status", "commission_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    commission_id: Mapped[int] = mapped_column(
        ForeignKey("commissions.id", ondelete="CASCADE"), index=True
    )
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[str] = mapped_column(String(30), default=BidStatus.DRAFT)

    understanding: Mapped[str] = mapped_column(Text, default="")
    methodology: Mapped[str] = mapped_column(Text, default="")
    conflicts_answer: Mapped[str | None] = mapped_column(String(10))
    conflicts_statement: Mapped[str] = mapped_column(Text, default="")
    # The bidder looked at the price (team cost and expenses) and said it is right; any
    # change to the team or the expenses asks them to look again.
    price_confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    declaration_accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    declaration_accepted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    # The latest submission (kept while the bid is being edited again, so the bidder can
    # see when they last submitted).
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    withdrawn_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reconfirmation_requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    commission = relationship("Commission", backref="bids")
    organisation = relationship("Organisation")
    created_by = relationship("User", foreign_keys=[created_by_id])
    submitted_by = relationship("User", foreign_keys=[submitted_by_id])
    team = relationship(
        "BidTeamMember",
        back_populates="bid",
        cascade="all, delete-orphan",
        order_by="BidTeamMember.id",
        lazy="selectin",
    )
    milestones = relationship(
        "BidMilestone",
        back_populates="bid",
        cascade="all, delete-orphan",
        order_by="(BidMilestone.due_date, BidMilestone.id)",
        lazy="selectin",
    )
    expenses = relationship(
        "BidExpense",
        back_populates="bid",
        cascade="all, delete-orphan",
        order_by="BidExpense.id",
        lazy="selectin",
    )
    documents = relationship(
        "BidDocument",
        back_populates="bid",
        cascade="all, delete-orphan",
        order_by="BidDocument.id",
    )
    versions = relationship(
        "BidVersion",
        back_populates="bid",
        cascade="all, delete-orphan",
        order_by="BidVersion.number",
    )

    # --- derived -----------------------------------------------------------------------

    @property
    def status_label(self) -> str:
        return STATUS_LABELS.get(self.status, self.status)

    @property
    def status_tag_class(self) -> str:
        return STATUS_TAG_CLASSES.get(self.status, "govuk-tag--grey")

    @property
    def current_documents(self) -> list[BidDocument]:
        return [d for d in self.documents if d.removed_at is None]

    @property
    def team_cost_pence(self) -> int:
        return sum(member.cost_pence for member in self.team)

    @property
    def expenses_pence(self) -> int:
        return sum(expense.amount_pence for expense in self.expenses)

    @property
    def total_price_pence(self) -> int:
        """The bid's price, always computed here on the server from its rows."""
        return self.team_cost_pence + self.expenses_pence

    @property
    def latest_version(self) -> BidVersion | None:
        return self.versions[-1] if self.versions else None

    @property
    def is_submitted(self) -> bool:
        return self.status in SUBMITTED_STATUSES

    # --- access (the one place) --------------------------------------------------------

    def is_bidder(self, user) -> bool:
        """A member of the bidding organisation (any role)."""
        org_id = _organisation_id(user)
        return org_id is not None and org_id == self.organisation_id

    def is_unsealed_for_staff(self, user) -> bool:
        """The commission's staff, once the bids are opened, for a bid that was
        submitted: commissioners, and evaluators assigned to the commission who have
        declared no conflict of interest with this bidder (issue 6). A commissioner who
        sits on the commission's panel is held to the declaration as well: otherwise the
        commissioner's pages would show them a bid their conflict hides."""
        from portal.models.evaluation import current_assignment

        if not _active(user) or self.commission.bids_opened_at is None:
            return False
        if self.status not in SUBMITTED_STATUSES or not self.versions:
            return False
        if user.is_commissioner:
            on_panel = current_assignment(self.commission_id, user)
            return on_panel is None or self._declared_no_conflict(on_panel)
        return self.evaluator_declared_no_conflict(user)

    def evaluator_declared_no_conflict(self, user) -> bool:
        from portal.models.evaluation import evaluator_assignment

        assignment = evaluator_assignment(self.commission, user)
        return assignment is not None and self._declared_no_conflict(assignment)

    def _declared_no_conflict(self, assignment) -> bool:
        from portal.models.evaluation import declaration_of

        declaration = declaration_of(assignment, self.id)
        return declaration is not None and not declaration.has_conflict

    def can_view(self, user) -> bool:
        """Bidders see their own bid (and its history) at any time; the panel only a
        submitted bid of an opened commission. Everyone else: 404."""
        return self.is_bidder(user) or self.is_unsealed_for_staff(user)

    def can_view_commercial(self, user) -> bool:
        """Price, day rates, expenses and documents marked commercial (the second
        envelope). A quality evaluator of the commission (even one who is also a
        commissioner) sees none of it until a commissioner opens the price envelope."""
        if not self.can_view(user):
            return False
        if self.is_bidder(user):
            return True
        if self.commission.price_opened_at is not None:
            return True
        from portal.models.evaluation import current_assignment

        return current_assignment(self.commission_id, user) is None

    def is_open_for_bids(self, now: datetime | None = None) -> bool:
        return self.commission.is_open_at(now or utcnow())

    def can_edit(self, user, now: datetime | None = None) -> bool:
        """Change the bid's sections: a draft, by its bidder, while bidding is open. The
        service checks again inside the transaction that locks the commission row."""
        return (
            self.is_bidder(user)
            and self.status == BidStatus.DRAFT
            and self.is_open_for_bids(now)
        )

    def can_submit(self, user, now: datetime | None = None) -> bool:
        return (
            self.is_bidder(user)
            and self.status in (BidStatus.DRAFT, BidStatus.NEEDS_RECONFIRMATION)
            and self.is_open_for_bids(now)
        )

    def can_reopen(self, user, now: datetime | None = None) -> bool:
        """Take a submitted (or withdrawn) bid back to draft to change it."""
        return (
            self.is_bidder(user)
            and self.status != BidStatus.DRAFT
            and self.is_open_for_bids(now)
        )

    def can_withdraw(self, user, now: datetime | None = None) -> bool:
        return (
            self.is_bidder(user)
            and self.status != BidStatus.WITHDRAWN
            and self.is_open_for_bids(now)
        )

    def __repr__(self) -> str:
        return f"<Bid {self.id} commission={self.commission_id} org={self.organisation_id}>"


class BidTeamMember(db.Model):
    """A reviewer profile of the bidding organisation, with a role and days. The day
    rate is copied from the profile when the member is added (so a later change to the
    profile does not change a bid silently) unless the bidder gives another."""

    __tablename__ = "bid_team_members"
    __table_args__ = (
        UniqueConstraint("bid_id", "profile_id", name="uq_bid_team_members_profile"),
        CheckConstraint("days between 1 and 1000", name="days_range"),
        CheckConstraint("day_rate_pence between 0 and 1000000", name="day_rate_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    bid_id: Mapped[int] = mapped_column(ForeignKey("bids.id", ondelete="CASCADE"), index=True)
    profile_id: Mapped[int] = mapped_column(ForeignKey("reviewer_profiles.id"), index=True)
    role: Mapped[str] = mapped_column(String(200))
    days: Mapped[int] = mapped_column()
    day_rate_pence: Mapped[int] = mapped_column(BigInteger)
    rate_from_profile: Mapped[bool] = mapped_column(Boolean, default=True)

    bid = relationship("Bid", back_populates="team")
    profile = relationship("ReviewerProfile", lazy="joined")

    @property
    def cost_pence(self) -> int:
        return self.days * self.day_rate_pence


class BidMilestone(db.Model):
    __tablename__ = "bid_milestones"

    id: Mapped[int] = mapped_column(primary_key=True)
    bid_id: Mapped[int] = mapped_column(ForeignKey("bids.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    due_date: Mapped[date] = mapped_column(Date)

    bid = relationship("Bid", back_populates="milestones")


class BidExpense(db.Model):
    __tablename__ = "bid_expenses"
    __table_args__ = (CheckConstraint("amount_pence > 0", name="amount_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    bid_id: Mapped[int] = mapped_column(ForeignKey("bids.id", ondelete="CASCADE"), index=True)
    description: Mapped[str] = mapped_column(String(200))
    amount_pence: Mapped[int] = mapped_column(BigInteger)

    bid = relationship("Bid", back_populates="expenses")


class BidDocument(db.Model):
    """A document of a bid. `commercial` puts it in the price envelope (issue 6).
    Removed documents keep their row: earlier versions still name them."""

    __tablename__ = "bid_documents"

    id: Mapped[int] = mapped_column(primary_key=True)
    bid_id: Mapped[int] = mapped_column(ForeignKey("bids.id", ondelete="CASCADE"), index=True)
    document_id: Mapped[str] = mapped_column(ForeignKey("documents.id"), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    commercial: Mapped[bool] = mapped_column(Boolean, default=False)
    added_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    added_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    bid = relationship("Bid", back_populates="documents")
    document = relationship("Document", lazy="joined")


class BidVersion(db.Model):
    """One submitted version of a bid, kept whole: the canonical JSON `content` (which
    names every document by id and SHA-256) and `content_sha256` over it."""

    __tablename__ = "bid_versions"
    __table_args__ = (UniqueConstraint("bid_id", "number", name="uq_bid_versions_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    bid_id: Mapped[int] = mapped_column(ForeignKey("bids.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column()
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    content: Mapped[dict] = mapped_column(JSON)
    content_sha256: Mapped[str] = mapped_column(String(64))
    total_price_pence: Mapped[int] = mapped_column(BigInteger)
    commission_version: Mapped[int] = mapped_column(default=0)

    bid = relationship("Bid", back_populates="versions")
    submitted_by = relationship("User")
    receipt = relationship(
        "BidReceipt", back_populates="version", uselist=False, cascade="all, delete-orphan"
    )

    @property
    def document_ids(self) -> set[str]:
        return {d["document_id"] for d in (self.content or {}).get("documents", [])}


class BidReceipt(db.Model):
    """What the bidder is given for a submission: when (server clock) and the digests."""

    __tablename__ = "bid_receipts"

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(40), unique=True)
    version_id: Mapped[int] = mapped_column(
        ForeignKey("bid_versions.id", ondelete="CASCADE"), unique=True
    )
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime)
    content_sha256: Mapped[str] = mapped_column(String(64))
    # [{"title", "original_name", "sha256", "size", "commercial"}]
    document_digests: Mapped[list] = mapped_column(JSON, default=list)

    version = relationship("BidVersion", back_populates="receipt")


# --- downloads ----------------------------------------------------------------------------


def _bid_document_rule(document: Document, user) -> bool:
    """Bidders: every document ever added to their own bid. Panel roles: only a document
    of the latest submitted version of a bid they may see, that is, never before the
    commission's bids are opened (no presigned URL is ever made for them)."""
    link = db.session.scalar(select(BidDocument).where(BidDocument.document_id == document.id))
    if link is None:
        # Uploaded and not attached (a refused save): only the uploader.
        return document.uploaded_by_id is not None and document.uploaded_by_id == user.id
    bid = link.bid
    if bid.is_bidder(user):
        return True
    if not bid.is_unsealed_for_staff(user):
        return False
    version = bid.latest_version
    if version is None or document.id not in version.document_ids:
        return False
    return not link.commercial or bid.can_view_commercial(user)


register_download_rule(DOCUMENT_AREA, _bid_document_rule)
