"""Commissions (call-off competitions among the members of one service category),
their evaluation criteria, documents, amendment history, invitations and clarification
questions.

State comes from timestamps in ONE place: `Commission.state_at(now)` (and the `state`
property, which reads the server's clock). Nothing stores a state column.

    draft -> open -> closed -> opened -> in_evaluation -> moderated -> award_proposed
          -> standstill -> awarded -> in_delivery -> completed
    cancelled from any state before awarded.

The evaluation and award work package (issue 6) sets the later timestamps
(`evaluation_started_at` ... `completed_at`); the bids work package sets `bids_opened_at`.

Access is decided here too: `Commission.can_view(user)` and friends. Routes answer 404
when `can_view` is False (a supplier not invited cannot tell the commission exists).
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
    select,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import db
from portal.models.base import UTCDateTime, utcnow
from portal.models.document import Document, register_download_rule

SCORE_SCALE = (0, 1, 2, 3, 4)

DEFAULT_SCORE_GUIDANCE = {
    0: "Unacceptable: the response does not address the requirement, or gives no "
    "evidence.",
    1: "Poor: the response addresses the requirement only in part, with significant "
    "weaknesses or little evidence.",
    2: "Satisfactory: the response meets the requirement with some minor weaknesses.",
    3: "Good: the response meets the requirement fully, with clear evidence.",
    4: "Excellent: the response meets the requirement fully and gives confidence through "
    "strong, relevant evidence and added value.",
}


class CommissionState(enum.StrEnum):
    DRAFT = "draft"
    OPEN = "open"
    CLOSED = "closed"  # submission deadline passed, bids still sealed
    OPENED = "opened"  # bids unsealed
    IN_EVALUATION = "in_evaluation"
    MODERATED = "moderated"
    AWARD_PROPOSED = "award_proposed"
    STANDSTILL = "standstill"
    AWARDED = "awarded"
    IN_DELIVERY = "in_delivery"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


STATE_LABELS = {
    CommissionState.DRAFT: "Draft",
    CommissionState.OPEN: "Open",
    CommissionState.CLOSED: "Closed",
    CommissionState.OPENED: "Bids opened",
    CommissionState.IN_EVALUATION: "In evaluation",
    CommissionState.MODERATED: "Moderated",
    CommissionState.AWARD_PROPOSED: "Award proposed",
    CommissionState.STANDSTILL: "Standstill",
    CommissionState.AWARDED: "Awarded",
    CommissionState.IN_DELIVERY: "In delivery",
    CommissionState.COMPLETED: "Completed",
    CommissionState.CANCELLED: "Cancelled",
}

# GOV.UK tag colours by state
STATE_TAG_CLASSES = {
    CommissionState.DRAFT: "govuk-tag--grey",
    CommissionState.OPEN: "govuk-tag--green",
    CommissionState.CLOSED: "govuk-tag--yellow",
    CommissionState.OPENED: "govuk-tag--blue",
    CommissionState.CANCELLED: "govuk-tag--red",
}

# Later timestamps, newest state first: the first one set decides the state (after
# `cancelled`, which wins over everything).
_LATER_STATES = (
    ("completed_at", CommissionState.COMPLETED),
    ("delivery_started_at", CommissionState.IN_DELIVERY),
    ("awarded_at", CommissionState.AWARDED),
    ("standstill_started_at", CommissionState.STANDSTILL),
    ("award_proposed_at", CommissionState.AWARD_PROPOSED),
    ("moderated_at", CommissionState.MODERATED),
    ("evaluation_started_at", CommissionState.IN_EVALUATION),
    ("bids_opened_at", CommissionState.OPENED),
)

# States from which a commission can no longer be cancelled
NOT_CANCELLABLE = (
    CommissionState.AWARDED,
    CommissionState.IN_DELIVERY,
    CommissionState.COMPLETED,
    CommissionState.CANCELLED,
)


class CommissionReferenceCounter(db.Model):
    """One row per year; the row is locked while the next reference is taken
    (`services.commissions.next_reference`)."""

    __tablename__ = "commission_reference_counters"

    year: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    last_number: Mapped[int] = mapped_column(default=0)


class Commission(db.Model):
    __tablename__ = "commissions"
    __table_args__ = (
        CheckConstraint("price_weight between 0 and 100", name="price_weight_range"),
        CheckConstraint(
            "max_budget_pence is null or max_budget_pence > 0", name="budget_positive"
        ),
        CheckConstraint(
            "clarification_deadline is null or submission_deadline is null "
            "or clarification_deadline < submission_deadline",
            name="clarification_before_submission",
        ),
        CheckConstraint(
            "published_at is null or submission_deadline is not null",
            name="published_has_deadline",
        ),
        Index("ix_commissions_published_deadline", "published_at", "submission_deadline"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(20), unique=True)
    category_id: Mapped[int] = mapped_column(ForeignKey("service_categories.id"), index=True)
    # The buyer: the Panel (null), or a local safeguarding partnership.
    buyer_partnership_id: Mapped[int | None] = mapped_column(ForeignKey("partnerships.id"))

    title: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(Text, default="")
    specification: Mapped[str] = mapped_column(Text, default="")  # Markdown
    deliverables: Mapped[str] = mapped_column(Text, default="")  # Markdown
    timescale: Mapped[str] = mapped_column(Text, default="")
    max_budget_pence: Mapped[int | None] = mapped_column(BigInteger)
    price_weight: Mapped[int] = mapped_column(default=0)

    clarification_deadline: Mapped[datetime | None] = mapped_column(UTCDateTime)
    submission_deadline: Mapped[datetime | None] = mapped_column(UTCDateTime)

    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    published_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancelled_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    cancellation_reason: Mapped[str | None] = mapped_column(Text)
    # `flask commissions close-due` sets this once it has told the bidders.
    closed_notice_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    # Set by the bids work package when a commissioner opens (unseals) the bids.
    bids_opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    bids_opened_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # Set by the evaluation and award work package (issue 6).
    evaluation_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    moderated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    award_proposed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    standstill_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    awarded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    delivery_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The second envelope (issue 6): opened by a commissioner once moderation is complete.
    # Not a state of its own: the commission stays "moderated" until an award is proposed.
    price_opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    price_opened_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    # selectin, not joined: a joined eager load would put an outer join into every
    # SELECT ... FOR UPDATE on commissions, which PostgreSQL refuses.
    category = relationship("ServiceCategory", lazy="selectin")
    buyer_partnership = relationship("Partnership")
    created_by = relationship("User", foreign_keys=[created_by_id])
    published_by = relationship("User", foreign_keys=[published_by_id])
    cancelled_by = relationship("User", foreign_keys=[cancelled_by_id])
    criteria = relationship(
        "EvaluationCriterion",
        back_populates="commission",
        cascade="all, delete-orphan",
        order_by="EvaluationCriterion.position",
        lazy="selectin",
    )
    documents = relationship(
        "CommissionDocument",
        back_populates="commission",
        cascade="all, delete-orphan",
        order_by="CommissionDocument.id",
    )
    versions = relationship(
        "CommissionVersion",
        back_populates="commission",
        cascade="all, delete-orphan",
        order_by="CommissionVersion.number",
    )
    invitations = relationship(
        "Invitation", back_populates="commission", cascade="all, delete-orphan"
    )
    questions = relationship(
        "ClarificationQuestion",
        back_populates="commission",
        cascade="all, delete-orphan",
        order_by="ClarificationQuestion.id",
    )

    # --- state -------------------------------------------------------------------------

    def state_at(self, now: datetime) -> CommissionState:
        """The one place a commission's state is decided, from its timestamps."""
        if self.cancelled_at is not None:
            return CommissionState.CANCELLED
        if self.published_at is None:
            return CommissionState.DRAFT
        for attribute, state in _LATER_STATES:
            if getattr(self, attribute) is not None:
                return state
        if self.submission_deadline is not None and now < self.submission_deadline:
            return CommissionState.OPEN
        return CommissionState.CLOSED

    @property
    def state(self) -> CommissionState:
        return self.state_at(utcnow())

    @property
    def state_label(self) -> str:
        return STATE_LABELS[self.state]

    @property
    def state_tag_class(self) -> str:
        return STATE_TAG_CLASSES.get(self.state, "govuk-tag--purple")

    @property
    def is_draft(self) -> bool:
        return self.published_at is None and self.cancelled_at is None

    @property
    def is_published(self) -> bool:
        return self.published_at is not None

    def is_open_at(self, now: datetime) -> bool:
        """Bids may be submitted (and amended) now. The bids package must still re-check
        this inside the transaction that holds the commission row lock."""
        return self.state_at(now) == CommissionState.OPEN

    def accepts_questions_at(self, now: datetime) -> bool:
        return (
            self.state_at(now) == CommissionState.OPEN
            and self.clarification_deadline is not None
            and now < self.clarification_deadline
        )

    def deadline_passed_at(self, now: datetime) -> bool:
        return self.submission_deadline is not None and now >= self.submission_deadline

    # --- totals ------------------------------------------------------------------------

    @property
    def quality_weight(self) -> int:
        return sum(c.weight for c in self.criteria)

    @property
    def total_weight(self) -> int:
        return self.quality_weight + (self.price_weight or 0)

    @property
    def weights_valid(self) -> bool:
        return self.total_weight == 100 and bool(self.criteria)

    @property
    def version_number(self) -> int:
        return self.versions[-1].number if self.versions else 0

    # --- access (the one place) --------------------------------------------------------

    def invitation_for(self, organisation_id: int | None) -> Invitation | None:
        if organisation_id is None or self.id is None:
            return None
        return db.session.scalar(
            select(Invitation).where(
                Invitation.commission_id == self.id,
                Invitation.organisation_id == organisation_id,
            )
        )

    def is_invited(self, organisation_id: int | None) -> bool:
        return self.invitation_for(organisation_id) is not None

    def _supplier_org_id(self, user) -> int | None:
        if user is None or not getattr(user, "is_authenticated", False):
            return None
        if not user.is_active:
            return None
        membership = getattr(user, "membership", None)
        return membership.organisation_id if membership is not None else None

    def can_manage(self, user) -> bool:
        """Commissioners run every commission (drafts included)."""
        return bool(
            user is not None
            and getattr(user, "is_authenticated", False)
            and user.is_active
            and user.is_commissioner
        )

    def can_view(self, user) -> bool:
        """Commissioners see all; an invited supplier organisation sees it once it is
        published; an evaluator assigned to it once its evaluation has started; nobody
        else (partnership members)."""
        if self.can_manage(user):
            return True
        return self.is_supplier_viewer(user) or self.is_assigned_evaluator(user)

    def is_assigned_evaluator(self, user) -> bool:
        """A current member of the evaluation panel (staff role 'evaluator'), once the
        bids are opened and the evaluation has started (issue 6)."""
        from portal.models.evaluation import evaluator_assignment

        return evaluator_assignment(self, user) is not None

    @property
    def price_envelope_open(self) -> bool:
        return self.price_opened_at is not None

    def is_supplier_viewer(self, user) -> bool:
        if self.published_at is None:
            return False
        return self.is_invited(self._supplier_org_id(user))

    def can_edit(self, user) -> bool:
        return self.can_manage(user) and self.state == CommissionState.DRAFT

    def can_amend(self, user) -> bool:
        return self.can_manage(user) and self.state == CommissionState.OPEN

    def can_cancel(self, user) -> bool:
        return self.can_manage(user) and self.state not in NOT_CANCELLABLE

    def can_ask_question(self, user) -> bool:
        return self.is_supplier_viewer(user) and self.accepts_questions_at(utcnow())

    def __repr__(self) -> str:
        return f"<Commission {self.reference}>"


class EvaluationCriterion(db.Model):
    """A quality criterion, scored 0-4 with the guidance for each score."""

    __tablename__ = "evaluation_criteria"
    __table_args__ = (
        CheckConstraint("weight between 1 and 100", name="weight_range"),
        UniqueConstraint("commission_id", "position", name="uq_evaluation_criteria_position"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    commission_id: Mapped[int] = mapped_column(
        ForeignKey("commissions.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(default=1)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    weight: Mapped[int] = mapped_column()
    guidance_0: Mapped[str] = mapped_column(Text, default="")
    guidance_1: Mapped[str] = mapped_column(Text, default="")
    guidance_2: Mapped[str] = mapped_column(Text, default="")
    guidance_3: Mapped[str] = mapped_column(Text, default="")
    guidance_4: Mapped[str] = mapped_column(Text, default="")

    commission = relationship("Commission", back_populates="criteria")

    def guidance_for(self, score: int) -> str:
        if score not in SCORE_SCALE:
            raise ValueError(f"score {score!r} is outside the 0-4 scale")
        return getattr(self, f"guidance_{score}")

    @property
    def guidance(self) -> list[tuple[int, str]]:
        return [(score, self.guidance_for(score)) for score in SCORE_SCALE]

    def snapshot(self) -> dict:
        return {
            "name": self.name,
            "description": self.description,
            "weight": self.weight,
            "guidance": [self.guidance_for(s) for s in SCORE_SCALE],
        }


class CommissionDocument(db.Model):
    """A document attached to a commission (the specification pack). Invitees can
    download it once the commission is published; removed documents stay listed in the
    amendment history but are no longer offered."""

    __tablename__ = "commission_documents"

    id: Mapped[int] = mapped_column(primary_key=True)
    commission_id: Mapped[int] = mapped_column(
        ForeignKey("commissions.id", ondelete="CASCADE"), index=True
    )
    document_id: Mapped[str] = mapped_column(ForeignKey("documents.id"), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    added_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    added_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    commission = relationship("Commission", back_populates="documents")
    document = relationship("Document", lazy="joined")


DOCUMENT_AREA = "commissions"


def _commission_document_rule(document: Document, user) -> bool:
    link = db.session.scalar(
        select(CommissionDocument).where(CommissionDocument.document_id == document.id)
    )
    if link is None:
        return bool(user.is_commissioner)  # uploaded, not attached (yet)
    if link.commission.can_manage(user):
        return True
    return link.removed_at is None and link.commission.is_supplier_viewer(user)


register_download_rule(DOCUMENT_AREA, _commission_document_rule)


class VersionKind(enum.StrEnum):
    PUBLISHED = "published"
    DEADLINE_EXTENDED = "deadline_extended"
    MATERIAL_CHANGE = "material_change"
    CANCELLED = "cancelled"


VERSION_KIND_LABELS = {
    VersionKind.PUBLISHED: "Published",
    VersionKind.DEADLINE_EXTENDED: "Deadline extended",
    VersionKind.MATERIAL_CHANGE: "Specification or criteria changed",
    VersionKind.CANCELLED: "Cancelled",
}


class CommissionVersion(db.Model):
    """The amendment history: version 1 is publication; every later change adds one,
    with what changed (`changes`: field -> {"old", "new"}) and a note for invitees.
    `snapshot` is the whole published content at that version."""

    __tablename__ = "commission_versions"
    __table_args__ = (
        UniqueConstraint("commission_id", "number", name="uq_commission_versions_number"),
        CheckConstraint(
            "kind in ('published', 'deadline_extended', 'material_change', 'cancelled')",
            name="kind_known",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    commission_id: Mapped[int] = mapped_column(
        ForeignKey("commissions.id", ondelete="CASCADE"), index=True
    )
    number: Mapped[int] = mapped_column()
    kind: Mapped[str] = mapped_column(String(30))
    note: Mapped[str] = mapped_column(Text, default="")
    changes: Mapped[dict] = mapped_column(JSON, default=dict)
    snapshot: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    commission = relationship("Commission", back_populates="versions")
    created_by = relationship("User")

    @property
    def kind_label(self) -> str:
        return VERSION_KIND_LABELS.get(self.kind, self.kind)


class Invitation(db.Model):
    """An organisation invited to bid for a commission (one per organisation)."""

    __tablename__ = "commission_invitations"
    __table_args__ = (
        UniqueConstraint(
            "commission_id", "organisation_id", name="uq_commission_invitations_org"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    commission_id: Mapped[int] = mapped_column(
        ForeignKey("commissions.id", ondelete="CASCADE"), index=True
    )
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), index=True
    )
    membership_id: Mapped[int | None] = mapped_column(
        ForeignKey("pool_memberships.id", ondelete="SET NULL")
    )
    invited_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    commission = relationship("Commission", back_populates="invitations")
    organisation = relationship("Organisation")


class QuestionStatus(enum.StrEnum):
    AWAITING = "awaiting"
    PUBLIC = "public"  # answered and published to every invitee (without the asker)
    PRIVATE = "private"  # answered to the asking organisation only


QUESTION_STATUS_LABELS = {
    QuestionStatus.AWAITING: "Awaiting an answer",
    QuestionStatus.PUBLIC: "Answered publicly",
    QuestionStatus.PRIVATE: "Answered privately",
}


class ClarificationQuestion(db.Model):
    __tablename__ = "clarification_questions"
    __table_args__ = (
        CheckConstraint(
            "status in ('awaiting', 'public', 'private')", name="status_known"
        ),
        CheckConstraint(
            "status = 'awaiting' or (answer is not null and answered_at is not null)",
            name="answered_has_answer",
        ),
        CheckConstraint(
            "status <> 'public' or published_question is not null",
            name="public_has_published_text",
        ),
        Index("ix_clarification_questions_commission_status", "commission_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    commission_id: Mapped[int] = mapped_column(
        ForeignKey("commissions.id", ondelete="CASCADE"), index=True
    )
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), index=True
    )
    asked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    question: Mapped[str] = mapped_column(Text)  # as asked: only the asker and staff
    asked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    status: Mapped[str] = mapped_column(String(20), default=QuestionStatus.AWAITING)
    # The question as published to every invitee, edited so it does not identify the asker.
    published_question: Mapped[str | None] = mapped_column(Text)
    answer: Mapped[str | None] = mapped_column(Text)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    answered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    commission = relationship("Commission", back_populates="questions")
    organisation = relationship("Organisation")
    asked_by = relationship("User", foreign_keys=[asked_by_id])
    answered_by = relationship("User", foreign_keys=[answered_by_id])

    @property
    def status_label(self) -> str:
        return QUESTION_STATUS_LABELS.get(self.status, self.status)

    @property
    def is_answered(self) -> bool:
        return self.status != QuestionStatus.AWAITING

    def is_asked_by(self, user) -> bool:
        membership = getattr(user, "membership", None) if user is not None else None
        return membership is not None and membership.organisation_id == self.organisation_id

    def can_view(self, user) -> bool:
        """Commissioners see every question; a supplier sees their own organisation's
        questions (as asked) and the published ones (as published)."""
        if self.commission.can_manage(user):
            return True
        if not self.commission.is_supplier_viewer(user):
            return False
        return self.is_asked_by(user) or self.status == QuestionStatus.PUBLIC

    def can_answer(self, user) -> bool:
        return self.commission.can_manage(user) and self.status == QuestionStatus.AWAITING
