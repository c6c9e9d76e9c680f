"""Evaluation of the bids of an opened commission (issue 6).

    bids opened -> the commissioner assigns evaluators (EVALUATORS_MIN or more) and a
    moderator, and starts the evaluation (Commission.evaluation_started_at)
    -> each evaluator declares, per bid, a conflict of interest or none
       (ConflictDeclaration; a conflict hides that bid from them)
    -> scores every bid they may see on every quality criterion (Score, 0-4 with a
       justification; drafts until they submit: EvaluatorSubmission locks them)
    -> the moderator records a consensus score and rationale per bid per criterion
       (ConsensusScore) and completes moderation (Commission.moderated_at)
    -> the commissioner opens the price envelope (Commission.price_opened_at), notes a
       decision on every possibly abnormally low bid (AbnormallyLowDecision)
    -> ranking (portal/services/ranking.py `rank_bids`).

The access rules for evaluators live with the objects they guard:
`Commission.is_assigned_evaluator` / `Commission.can_view` and `Bid.is_unsealed_for_staff`
/ `Bid.can_view_commercial` call the helpers at the bottom of this module.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    select,
    text,
)
from sqlalchemy.orm import Mapped, lazyload, mapped_column, relationship

from portal.extensions import db
from portal.models.base import UTCDateTime, utcnow
from portal.models.memo import remembered


class EvaluatorAssignment(db.Model):
    """A person (staff role 'evaluator') on a commission's evaluation panel. A removed
    assignment keeps its row (and its declarations) with `removed_at` set; at most one
    current moderator per commission (partial unique index)."""

    __tablename__ = "evaluator_assignments"
    __table_args__ = (
        UniqueConstraint("commission_id", "user_id", name="uq_evaluator_assignments_user"),
        Index(
            "uq_evaluator_assignments_moderator",
            "commission_id",
            unique=True,
            sqlite_where=text("is_moderator = 1 AND removed_at IS NULL"),
            postgresql_where=text("is_moderator AND removed_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    commission_id: Mapped[int] = mapped_column(
        ForeignKey("commissions.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    is_moderator: Mapped[bool] = mapped_column(Boolean, default=False)
    assigned_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    assigned_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # Set when this person was added to replace another (for example one who declared
    # a conflict).
    replaces_id: Mapped[int | None] = mapped_column(ForeignKey("evaluator_assignments.id"))
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    removed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    commission = relationship("Commission", backref="evaluator_assignments")
    user = relationship("User", foreign_keys=[user_id], lazy="joined")
    assigned_by = relationship("User", foreign_keys=[assigned_by_id])
    replaces = relationship("EvaluatorAssignment", remote_side=[id])
    declarations = relationship(
        "ConflictDeclaration", back_populates="assignment", cascade="all, delete-orphan"
    )
    scores = relationship("Score", back_populates="assignment", cascade="all, delete-orphan")
    submission = relationship(
        "EvaluatorSubmission",
        back_populates="assignment",
        uselist=False,
        cascade="all, delete-orphan",
    )

    @property
    def is_current(self) -> bool:
        return self.removed_at is None

    @property
    def has_submitted(self) -> bool:
        return self.submission is not None

    def declaration_for(self, bid_id: int) -> ConflictDeclaration | None:
        for declaration in self.declarations:
            if declaration.bid_id == bid_id:
                return declaration
        return None


class ConflictDeclaration(db.Model):
    """An evaluator's declaration for one bidder: no conflict, or a conflict described.
    Final once made (every declaration is an audit event). `potential` keeps what the
    service detected and showed for confirmation."""

    __tablename__ = "conflict_declarations"
    __table_args__ = (
        UniqueConstraint("assignment_id", "bid_id", name="uq_conflict_declarations_bid"),
        CheckConstraint(
            "has_conflict = false or length(description) > 0",
            name="conflict_described",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    assignment_id: Mapped[int] = mapped_column(
        ForeignKey("evaluator_assignments.id", ondelete="CASCADE"), index=True
    )
    bid_id: Mapped[int] = mapped_column(ForeignKey("bids.id", ondelete="CASCADE"), index=True)
    has_conflict: Mapped[bool] = mapped_column(Boolean, default=False)
    description: Mapped[str] = mapped_column(Text, default="")
    potential: Mapped[list] = mapped_column(db.JSON, default=list)
    declared_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    assignment = relationship("EvaluatorAssignment", back_populates="declarations")
    bid = relationship("Bid")


class ScoreStatus(enum.StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"


class Score(db.Model):
    """One evaluator's score for one bid on one quality criterion (0-4, justified)."""

    __tablename__ = "evaluation_scores"
    __table_args__ = (
        UniqueConstraint(
            "assignment_id", "bid_id", "criterion_id", name="uq_evaluation_scores_cell"
        ),
        CheckConstraint("score between 0 and 4", name="score_scale"),
        CheckConstraint("status in ('draft', 'submitted')", name="status_known"),
        CheckConstraint("length(justification) > 0", name="justified"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    assignment_id: Mapped[int] = mapped_column(
        ForeignKey("evaluator_assignments.id", ondelete="CASCADE"), index=True
    )
    bid_id: Mapped[int] = mapped_column(ForeignKey("bids.id", ondelete="CASCADE"), index=True)
    criterion_id: Mapped[int] = mapped_column(
        ForeignKey("evaluation_criteria.id", ondelete="CASCADE"), index=True
    )
    score: Mapped[int] = mapped_column()
    justification: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default=ScoreStatus.DRAFT)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    assignment = relationship("EvaluatorAssignment", back_populates="scores")
    bid = relationship("Bid")
    criterion = relationship("EvaluationCriterion")


class EvaluatorSubmission(db.Model):
    """An evaluator submitted all their scores for the commission: they are locked."""

    __tablename__ = "evaluator_submissions"

    id: Mapped[int] = mapped_column(primary_key=True)
    assignment_id: Mapped[int] = mapped_column(
        ForeignKey("evaluator_assignments.id", ondelete="CASCADE"), unique=True
    )
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    assignment = relationship("EvaluatorAssignment", back_populates="submission")


class ConsensusScore(db.Model):
    """The moderated score for one bid on one criterion, with the rationale."""

    __tablename__ = "consensus_scores"
    __table_args__ = (
        UniqueConstraint("bid_id", "criterion_id", name="uq_consensus_scores_cell"),
        CheckConstraint("score between 0 and 4", name="score_scale"),
        CheckConstraint("length(rationale) > 0", name="rationale_given"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    commission_id: Mapped[int] = mapped_column(
        ForeignKey("commissions.id", ondelete="CASCADE"), index=True
    )
    bid_id: Mapped[int] = mapped_column(ForeignKey("bids.id", ondelete="CASCADE"), index=True)
    criterion_id: Mapped[int] = mapped_column(
        ForeignKey("evaluation_criteria.id", ondelete="CASCADE"), index=True
    )
    score: Mapped[int] = mapped_column()
    rationale: Mapped[str] = mapped_column(Text)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    bid = relationship("Bid")
    criterion = relationship("EvaluationCriterion")
    recorded_by = relationship("User")


class AbnormallyLowOutcome(enum.StrEnum):
    ACCEPTED = "accepted"  # the price is explained and sustainable: the bid stays in
    REJECTED = "rejected"  # the bid is excluded from the ranking


ABNORMALLY_LOW_LABELS = {
    AbnormallyLowOutcome.ACCEPTED: "Price accepted: the bid stays in the ranking",
    AbnormallyLowOutcome.REJECTED: "Bid rejected as abnormally low",
}


class AbnormallyLowDecision(db.Model):
    """The commissioner's decision on a bid flagged as possibly abnormally low."""

    __tablename__ = "abnormally_low_decisions"
    __table_args__ = (
        CheckConstraint("outcome in ('accepted', 'rejected')", name="outcome_known"),
        CheckConstraint("length(reason) > 0", name="reason_given"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    bid_id: Mapped[int] = mapped_column(ForeignKey("bids.id", ondelete="CASCADE"), unique=True)
    outcome: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(Text)
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    bid = relationship("Bid")
    decided_by = relationship("User")

    @property
    def outcome_label(self) -> str:
        return ABNORMALLY_LOW_LABELS.get(self.outcome, self.outcome)


# --- helpers for the access predicates on Commission and Bid ------------------------------


def current_assignment(commission_id: int | None, user) -> EvaluatorAssignment | None:
    """The user's current (not removed) assignment to the commission, if any. Pages ask
    once per bid they show: the answer is remembered for the transaction."""
    if commission_id is None or user is None or getattr(user, "id", None) is None:
        return None
    return remembered("current_assignment", (commission_id, user.id), lambda: db.session.scalar(
        select(EvaluatorAssignment).where(
            EvaluatorAssignment.commission_id == commission_id,
            EvaluatorAssignment.user_id == user.id,
            EvaluatorAssignment.removed_at.is_(None),
        )
        # `user` is already loaded: joining it again would reload its roles and
        # membership on every check.
        .options(lazyload(EvaluatorAssignment.user))
    ))


def evaluator_assignment(commission, user) -> EvaluatorAssignment | None:
    """The assignment that lets `user` act as an evaluator on `commission` now: an active
    user holding the evaluator role, currently assigned, on a commission whose bids are
    opened and whose evaluation has started."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return None
    if not getattr(user, "is_evaluator", False):
        return None
    if commission.bids_opened_at is None or commission.evaluation_started_at is None:
        return None
    if commission.cancelled_at is not None:
        return None
    return current_assignment(commission.id, user)


def declaration_of(assignment: EvaluatorAssignment, bid_id: int) -> ConflictDeclaration | None:
    # From the assignment's collection (one query for all its bids, then the identity
    # map) rather than a query per bid: pages that check every bid stay bounded.
    return next((d for d in assignment.declarations if d.bid_id == bid_id), None)
