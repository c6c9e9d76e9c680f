"""Evaluation: the panel, conflict-of-interest declarations, independent scoring,
moderation, the price envelope and abnormally low prices (issue 6).

One function per use case. Each takes the acting user, checks the rule on the server,
writes the audit event and queues mail, flushes, and never commits. Changes that move
the evaluation on lock the commission row first (`lock_commission`), so two people
acting at once cannot both pass a check that only one of them should.

The rules:
- A commissioner sets up the panel of an opened commission: EVALUATORS_MIN (default 2)
  or more people holding the evaluator role, one of them the moderator; then starts the
  evaluation (`Commission.evaluation_started_at`). Evaluators can be added (for example
  to replace one with a conflict) or removed (before they submit) until moderation ends.
- Before an evaluator sees a bid they declare for its bidder: no conflict, or a conflict
  with a description. A conflict hides the bid (404) and refuses scores for it (403).
- Scores 0-4 per quality criterion, each with a justification of at least
  SCORE_JUSTIFICATION_MIN (default 50) characters; saved as drafts, locked on submission.
- Independence: nobody sees an evaluator's scores before that evaluator submits; an
  evaluator sees the others' only once they have submitted their own; the commissioner
  sees scores only once every evaluator has submitted.
- Moderation (the moderator, once every evaluator has submitted and every bid has
  EVALUATORS_MIN evaluators without a conflict): a consensus score and rationale per bid
  per criterion, then "complete" (`Commission.moderated_at`).
- The price envelope (`Commission.price_opened_at`): a commissioner opens it after
  moderation. Until then quality evaluators see no price, day rate, expense or commercial
  document anywhere (`Bid.can_view_commercial`).
- Abnormally low prices (portal/services/ranking.py flags them): the commissioner notes
  a decision on each (accept, or reject and exclude from the ranking).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from portal import audit
from portal.extensions import db
from portal.mail import queue_email
from portal.models.accounts import User, UserRole
from portal.models.base import utcnow
from portal.models.bids import Bid
from portal.models.commissions import Commission, CommissionState, EvaluationCriterion
from portal.models.evaluation import (
    AbnormallyLowDecision,
    AbnormallyLowOutcome,
    ConflictDeclaration,
    ConsensusScore,
    EvaluatorAssignment,
    EvaluatorSubmission,
    Score,
    ScoreStatus,
    evaluator_assignment,
)
from portal.models.memo import remembered
from portal.services import conflicts
from portal.services.bids import link, lock_commission
from portal.services.ranking import rank_bids, submitted_bids

DESCRIPTION_MAX = 2_000
JUSTIFICATION_MAX = 5_000
RATIONALE_MAX = 5_000
REASON_MAX = 2_000
SPREAD_FLAG = 2


class EvaluationError(Exception):
    """A refused action; `message` is shown to the person (GOV.UK error style).
    `errors` may carry several (field, message) pairs."""

    status = 400

    def __init__(self, message: str, field: str | None = None,
                 errors: list[tuple[str | None, str]] | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
        self.errors = errors or [(field, message)]


class EvaluationForbidden(EvaluationError):
    """Not allowed at all (for example scoring a bid with a declared conflict): 403."""

    status = 403


def _refuse(errors: list[tuple[str | None, str]]) -> None:
    if errors:
        field_name, message = errors[0]
        raise EvaluationError(message, field_name, errors)


def _clean(text: str | None) -> str:
    return (text or "").replace("\r\n", "\n").strip()


# Independent scoring and moderation need at least two people, whatever the setting.
EVALUATORS_FLOOR = 2


def evaluators_min() -> int:
    return max(EVALUATORS_FLOOR, int(current_app.config.get("EVALUATORS_MIN", 2)))


def justification_min() -> int:
    return int(current_app.config.get("SCORE_JUSTIFICATION_MIN", 50))


def _locked(commission: Commission) -> Commission:
    locked = lock_commission(commission.id)
    if locked is None:
        raise EvaluationError("This commission no longer exists")
    return locked


# --- the panel (commissioner) ------------------------------------------------------------


def assignments(commission: Commission, *, include_removed: bool = False
                ) -> list[EvaluatorAssignment]:
    query = select(EvaluatorAssignment).where(
        EvaluatorAssignment.commission_id == commission.id)
    if not include_removed:
        query = query.where(EvaluatorAssignment.removed_at.is_(None))
    # Whether each has submitted: asked of every evaluator on the panel pages.
    query = query.options(selectinload(EvaluatorAssignment.submission))
    return list(remembered("assignments", (commission.id, include_removed),
                           lambda: list(db.session.scalars(
                               query.order_by(EvaluatorAssignment.id)))))


def moderator_of(commission: Commission) -> EvaluatorAssignment | None:
    return next((a for a in assignments(commission) if a.is_moderator), None)


def eligible_evaluators(commission: Commission) -> list[User]:
    """Active people holding the evaluator role who are not on the panel now."""
    on_panel = {a.user_id for a in assignments(commission)}
    users = db.session.scalars(
        select(User)
        .join(UserRole, UserRole.user_id == User.id)
        .where(UserRole.role == "evaluator", User.deactivated_at.is_(None))
        .order_by(User.name, User.id)
    ).unique().all()
    return [u for u in users if u.id not in on_panel]


def panel_editable(commission: Commission) -> bool:
    state = commission.state
    return state in (CommissionState.OPENED, CommissionState.IN_EVALUATION)


def _require_panel_editable(actor: User, commission: Commission) -> None:
    if not commission.can_manage(actor):
        raise EvaluationForbidden("You cannot change the panel for this commission")
    if not panel_editable(commission):
        raise EvaluationError("The evaluation panel can no longer be changed")


def assign_evaluator(actor: User, commission: Commission, user_id: int | None, *,
                     moderator: bool = False, replaces_id: int | None = None
                     ) -> EvaluatorAssignment:
    commission = _locked(commission)
    _require_panel_editable(actor, commission)
    user = db.session.get(User, user_id) if user_id else None
    if user is None or not user.is_active or not user.is_evaluator:
        raise EvaluationError("Select a person with the evaluator role", "user_id")
    replaces = None
    if replaces_id:
        replaces = db.session.get(EvaluatorAssignment, replaces_id)
        if replaces is None or replaces.commission_id != commission.id:
            raise EvaluationError("Select the evaluator being replaced", "replaces_id")
    existing = db.session.scalar(select(EvaluatorAssignment).where(
        EvaluatorAssignment.commission_id == commission.id,
        EvaluatorAssignment.user_id == user.id))
    if existing is not None and existing.removed_at is None:
        raise EvaluationError(f"{user.name} is already on the panel", "user_id")
    if moderator:
        _clear_moderator(commission)
    now = utcnow()
    if existing is not None:  # back on the panel after being removed
        assignment = existing
        assignment.removed_at = None
        assignment.removed_by_id = None
        assignment.assigned_at = now
        assignment.assigned_by_id = actor.id
        assignment.is_moderator = moderator
        assignment.replaces_id = replaces.id if replaces else None
    else:
        assignment = EvaluatorAssignment(
            commission_id=commission.id, user_id=user.id, is_moderator=moderator,
            assigned_at=now, assigned_by_id=actor.id,
            replaces_id=replaces.id if replaces else None)
        db.session.add(assignment)
    db.session.flush()
    audit.record("evaluation.evaluator_assigned", actor=actor, obj=commission,
                 data={"assignment_id": assignment.id, "user_id": user.id,
                       "moderator": moderator,
                       "replaces_assignment_id": replaces.id if replaces else None})
    if commission.evaluation_started_at is not None:
        _tell_evaluator(assignment)
    return assignment


def _clear_moderator(commission: Commission) -> None:
    for other in assignments(commission):
        if other.is_moderator:
            other.is_moderator = False
    db.session.flush()


def _panel_assignment(commission: Commission, assignment_id: int) -> EvaluatorAssignment:
    assignment = db.session.get(EvaluatorAssignment, assignment_id)
    if (assignment is None or assignment.commission_id != commission.id
            or assignment.removed_at is not None):
        raise EvaluationError("That evaluator is not on the panel")
    return assignment


def set_moderator(actor: User, commission: Commission, assignment_id: int) -> None:
    commission = _locked(commission)
    _require_panel_editable(actor, commission)
    assignment = _panel_assignment(commission, assignment_id)
    if assignment.is_moderator:
        return
    _clear_moderator(commission)
    assignment.is_moderator = True
    db.session.flush()
    audit.record("evaluation.moderator_chosen", actor=actor, obj=commission,
                 data={"assignment_id": assignment.id, "user_id": assignment.user_id})


def remove_evaluator(actor: User, commission: Commission, assignment_id: int) -> None:
    commission = _locked(commission)
    _require_panel_editable(actor, commission)
    assignment = _panel_assignment(commission, assignment_id)
    if assignment.has_submitted:
        raise EvaluationError(
            f"{assignment.user.name} has submitted their scores and cannot be removed")
    if assignment.is_moderator and commission.evaluation_started_at is not None:
        raise EvaluationError("Choose another moderator before removing this one")
    assignment.removed_at = utcnow()
    assignment.removed_by_id = actor.id
    assignment.is_moderator = False
    db.session.flush()
    audit.record("evaluation.evaluator_removed", actor=actor, obj=commission,
                 data={"assignment_id": assignment.id, "user_id": assignment.user_id})


def start_problems(commission: Commission) -> list[tuple[str | None, str]]:
    problems: list[tuple[str | None, str]] = []
    if commission.state != CommissionState.OPENED:
        problems.append((None, "The evaluation can only start once the bids are opened"))
        return problems
    panel = assignments(commission)
    minimum = evaluators_min()
    if len(panel) < minimum:
        problems.append(("user_id", f"Assign at least {minimum} evaluators"))
    if not any(a.is_moderator for a in panel):
        problems.append(("moderator", "Choose a moderator"))
    if not submitted_bids(commission):
        problems.append((None, "There are no submitted bids to evaluate"))
    return problems


def start_evaluation(actor: User, commission: Commission) -> None:
    commission = _locked(commission)
    if not commission.can_manage(actor):
        raise EvaluationForbidden("You cannot start this evaluation")
    _refuse(start_problems(commission))
    commission.evaluation_started_at = utcnow()
    db.session.flush()
    panel = assignments(commission)
    audit.record("evaluation.started", actor=actor, obj=commission,
                 data={"evaluators": [a.user_id for a in panel],
                       "moderator": next(a.user_id for a in panel if a.is_moderator)})
    for assignment in panel:
        _tell_evaluator(assignment)


def _tell_evaluator(assignment: EvaluatorAssignment) -> None:
    commission = assignment.commission
    if not assignment.user.is_active:
        return
    queue_email(
        assignment.user.email,
        f"Evaluate bids: {commission.title} ({commission.reference})",
        "evaluation_assigned",
        commission=commission,
        user=assignment.user,
        moderator=assignment.is_moderator,
        link=link("evaluation.commission", commission_id=commission.id),
    )


# --- declarations ------------------------------------------------------------------------


def require_assignment(actor: User, commission: Commission) -> EvaluatorAssignment:
    assignment = evaluator_assignment(commission, actor)
    if assignment is None:
        raise EvaluationForbidden("You are not evaluating this commission")
    return assignment


def evaluation_bid(commission: Commission, bid_id: int) -> Bid | None:
    """A submitted bid of this commission (what the panel evaluates), or None."""
    bid = db.session.get(Bid, bid_id)
    if bid is None or bid.commission_id != commission.id:
        return None
    if not bid.is_submitted or bid.latest_version is None:
        return None
    return bid


def _panel_declarations(commission_id: int) -> dict[int, dict[int, ConflictDeclaration]]:
    """{assignment id: {bid id: declaration}} for the whole panel, read once per
    transaction: pages ask per evaluator and per bid."""
    def load():
        found: dict[int, dict[int, ConflictDeclaration]] = {}
        for declaration in db.session.scalars(
                select(ConflictDeclaration)
                .join(EvaluatorAssignment,
                      EvaluatorAssignment.id == ConflictDeclaration.assignment_id)
                .where(EvaluatorAssignment.commission_id == commission_id)):
            found.setdefault(declaration.assignment_id, {})[declaration.bid_id] = declaration
        return found
    return remembered("panel_declarations", commission_id, load)


def declaration_for(assignment: EvaluatorAssignment, bid: Bid) -> ConflictDeclaration | None:
    return _panel_declarations(assignment.commission_id).get(assignment.id, {}).get(bid.id)


def declare(actor: User, commission: Commission, bid: Bid, has_conflict: bool | None,
            description: str) -> ConflictDeclaration:
    commission = _locked(commission)
    assignment = require_assignment(actor, commission)
    if commission.moderated_at is not None:
        raise EvaluationError("Moderation is complete: declarations are closed")
    if declaration_for(assignment, bid) is not None:
        raise EvaluationError("You have already made a declaration for this bidder")
    description = _clean(description)
    if has_conflict is None:
        _refuse([("has_conflict", "Select whether you have a conflict of interest with "
                  "this bidder")])
    if has_conflict and not description:
        _refuse([("description", "Describe the conflict of interest")])
    if len(description) > DESCRIPTION_MAX:
        _refuse([("description", f"The description must be {DESCRIPTION_MAX:,} "
                  "characters or fewer")])
    potential = conflicts.potential_conflicts(actor, bid.organisation, commission)
    declaration = ConflictDeclaration(
        assignment=assignment, bid_id=bid.id, has_conflict=bool(has_conflict),
        description=description if has_conflict else "", potential=potential,
        declared_at=utcnow())
    db.session.add(declaration)
    db.session.flush()
    audit.record("evaluation.conflict_declared", actor=actor, obj=declaration,
                 data={"commission_id": commission.id, "bid_id": bid.id,
                       "organisation_id": bid.organisation_id,
                       "has_conflict": bool(has_conflict),
                       "description": declaration.description,
                       "potential": potential})
    if has_conflict:
        for email in _commissioner_emails(commission):
            queue_email(
                email,
                f"Conflict of interest declared: {commission.reference}",
                "evaluation_conflict",
                commission=commission,
                evaluator=actor,
                organisation=bid.organisation,
                link=link("evaluation.panel", commission_id=commission.id),
            )
    return declaration


def _commissioner_emails(commission: Commission) -> list[str]:
    """The commissioners who opened the bids and started the work (the commission's
    owners in practice); falls back to the creator."""
    ids = []
    for user_id in (commission.bids_opened_by_id, commission.created_by_id):
        if user_id and user_id not in ids:
            ids.append(user_id)
    emails = []
    for user_id in ids:
        user = db.session.get(User, user_id)
        if user is not None and user.is_active and user.is_commissioner:
            emails.append(user.email)
    return emails


# --- scoring -----------------------------------------------------------------------------


@dataclass
class ScoreInput:
    criterion_id: int
    score: str | None
    justification: str | None


def _parse_score(text: str | None) -> int | None:
    text = (text or "").strip()
    if text in ("0", "1", "2", "3", "4"):
        return int(text)
    return None


def scoring_allowed(assignment: EvaluatorAssignment, bid: Bid) -> None:
    """Raise unless the evaluator may change scores for this bid now (403 for a
    conflict or a missing declaration, 400 when locked)."""
    declaration = declaration_for(assignment, bid)
    if declaration is None:
        raise EvaluationForbidden("Declare whether you have a conflict of interest with "
                                  "this bidder before you score the bid")
    if declaration.has_conflict:
        raise EvaluationForbidden("You declared a conflict of interest with this bidder: "
                                  "you cannot score their bid")
    if assignment.has_submitted:
        raise EvaluationForbidden("You have submitted your scores: they can no longer "
                                  "be changed")


def _panel_scores(commission_id: int) -> dict[int, dict[tuple[int, int], Score]]:
    """{assignment id: {(bid id, criterion id): score}} for the whole panel, read once per
    transaction: pages ask per evaluator."""
    def load():
        found: dict[int, dict[tuple[int, int], Score]] = {}
        for score in db.session.scalars(
                select(Score)
                .join(EvaluatorAssignment, EvaluatorAssignment.id == Score.assignment_id)
                .where(EvaluatorAssignment.commission_id == commission_id)):
            found.setdefault(score.assignment_id, {})[(score.bid_id, score.criterion_id)] = score
        return found
    return remembered("panel_scores", commission_id, load)


def scores_of(assignment: EvaluatorAssignment, bid: Bid | None = None) -> dict:
    """{(bid_id, criterion_id): Score} for the assignment (for one bid when given)."""
    scores = _panel_scores(assignment.commission_id).get(assignment.id, {})
    return {key: score for key, score in scores.items() if bid is None or key[0] == bid.id}


def save_scores(actor: User, commission: Commission, bid: Bid,
                entries: list[ScoreInput]) -> list[Score]:
    """Save the evaluator's scores for every quality criterion of one bid, as a draft.
    Every criterion needs a score on the 0-4 scale and a justification of at least
    SCORE_JUSTIFICATION_MIN characters; otherwise nothing is saved."""
    commission = _locked(commission)
    assignment = require_assignment(actor, commission)
    if commission.moderated_at is not None:
        raise EvaluationError("Moderation is complete: scores can no longer be changed")
    scoring_allowed(assignment, bid)
    by_id = {e.criterion_id: e for e in entries}
    minimum = justification_min()
    errors: list[tuple[str | None, str]] = []
    parsed: list[tuple[EvaluationCriterion, int, str]] = []
    for criterion in commission.criteria:
        entry = by_id.get(criterion.id) or ScoreInput(criterion.id, None, None)
        score = _parse_score(entry.score)
        justification = _clean(entry.justification)
        if score is None:
            errors.append((f"score_{criterion.id}",
                           f"Choose a score from 0 to 4 for {criterion.name}"))
        if not justification:
            errors.append((f"justification_{criterion.id}",
                           f"Enter a justification for your score for {criterion.name}"))
        elif len(justification) < minimum:
            errors.append((f"justification_{criterion.id}",
                           f"The justification for {criterion.name} must be at least "
                           f"{minimum} characters"))
        elif len(justification) > JUSTIFICATION_MAX:
            errors.append((f"justification_{criterion.id}",
                           f"The justification for {criterion.name} must be "
                           f"{JUSTIFICATION_MAX:,} characters or fewer"))
        if score is not None and justification:
            parsed.append((criterion, score, justification))
    _refuse(errors)
    existing = scores_of(assignment, bid)
    saved = []
    for criterion, score, justification in parsed:
        row = existing.get((bid.id, criterion.id))
        if row is None:
            row = Score(assignment_id=assignment.id, bid_id=bid.id,
                        criterion_id=criterion.id, score=score,
                        justification=justification, status=ScoreStatus.DRAFT)
            db.session.add(row)
        else:
            row.score = score
            row.justification = justification
        saved.append(row)
    db.session.flush()
    # The scores themselves stay out of the audit data until submission (independence).
    audit.record("evaluation.scores_saved", actor=actor, obj=bid,
                 data={"commission_id": commission.id, "assignment_id": assignment.id,
                       "criteria": [c.id for c, _, _ in parsed]})
    return saved


@dataclass
class BidTask:
    """One bid on the evaluator's list."""

    bid: Bid
    declaration: ConflictDeclaration | None
    scored: int
    criteria: int

    @property
    def status(self) -> str:
        if self.declaration is None:
            return "Declare conflicts of interest"
        if self.declaration.has_conflict:
            return "Conflict declared"
        if self.scored == 0:
            return "Not scored"
        if self.scored < self.criteria:
            return f"Scored {self.scored} of {self.criteria} criteria"
        return "Scored"

    @property
    def done(self) -> bool:
        return self.declaration is not None and (
            self.declaration.has_conflict or self.scored >= self.criteria)


def tasks(assignment: EvaluatorAssignment) -> list[BidTask]:
    commission = assignment.commission
    criteria_ids = {c.id for c in commission.criteria}
    scores = scores_of(assignment)
    declarations = _panel_declarations(commission.id).get(assignment.id, {})
    result = []
    for bid in submitted_bids(commission):
        scored = sum(1 for cid in criteria_ids if (bid.id, cid) in scores)
        result.append(BidTask(bid, declarations.get(bid.id), scored, len(criteria_ids)))
    return result


def submission_problems(assignment: EvaluatorAssignment) -> list[tuple[str | None, str]]:
    problems: list[tuple[str | None, str]] = []
    for task in tasks(assignment):
        name = task.bid.organisation.display_name
        if task.declaration is None:
            problems.append((None, f"Declare whether you have a conflict of interest with "
                             f"{name}"))
        elif not task.done:
            problems.append((None, f"Score the bid from {name} on every criterion"))
    return problems


def submit_scores(actor: User, commission: Commission) -> EvaluatorSubmission:
    commission = _locked(commission)
    assignment = require_assignment(actor, commission)
    if assignment.has_submitted:
        raise EvaluationError("You have already submitted your scores")
    _refuse(submission_problems(assignment))
    now = utcnow()
    submission = EvaluatorSubmission(assignment=assignment, submitted_at=now)
    db.session.add(submission)
    rows = list(scores_of(assignment).values())
    for row in rows:
        row.status = ScoreStatus.SUBMITTED
    db.session.flush()
    audit.record("evaluation.scores_submitted", actor=actor, obj=commission,
                 data={"assignment_id": assignment.id,
                       "scores": sorted([[r.bid_id, r.criterion_id, r.score] for r in rows])})
    db.session.refresh(assignment)
    if all_submitted(commission):
        moderator = moderator_of(commission)
        if moderator is not None and moderator.user.is_active:
            queue_email(
                moderator.user.email,
                f"Ready to moderate: {commission.title} ({commission.reference})",
                "evaluation_ready_to_moderate",
                commission=commission,
                user=moderator.user,
                link=link("evaluation.moderation", commission_id=commission.id),
            )
    return submission


# --- independence: who may see which scores ---------------------------------------------


def all_submitted(commission: Commission) -> bool:
    panel = assignments(commission)
    return bool(panel) and all(a.has_submitted for a in panel)


def can_see_panel_scores(actor: User, commission: Commission) -> bool:
    """The commissioner once every evaluator has submitted; an evaluator once they have
    submitted their own."""
    assignment = evaluator_assignment(commission, actor)
    if assignment is not None:
        return assignment.has_submitted
    if commission.can_manage(actor):
        return commission.evaluation_started_at is not None and all_submitted(commission)
    return False


def visible_scores(actor: User, commission: Commission) -> list[Score]:
    """Every score `actor` may see now: their own (drafts too), and the others' submitted
    scores once allowed, never for a bid they may not see."""
    assignment = evaluator_assignment(commission, actor)
    panel = {a.id: a for a in assignments(commission)}
    rows = db.session.scalars(
        select(Score).where(Score.assignment_id.in_(list(panel) or [0]))
        .options(selectinload(Score.bid).selectinload(Bid.versions),
                 selectinload(Score.bid).selectinload(Bid.organisation))
        .order_by(Score.bid_id, Score.criterion_id, Score.assignment_id)
    ).all()
    see_others = can_see_panel_scores(actor, commission)
    visible = []
    bids_ok: dict[int, bool] = {}
    for row in rows:
        own = assignment is not None and row.assignment_id == assignment.id
        if not own and not (see_others and row.status == ScoreStatus.SUBMITTED):
            continue
        if row.bid_id not in bids_ok:
            bids_ok[row.bid_id] = row.bid.can_view(actor)
        if bids_ok[row.bid_id]:
            visible.append(row)
    return visible


# --- progress (commissioner) -------------------------------------------------------------


@dataclass
class ProgressCell:
    status: str
    conflict: bool = False


@dataclass
class ProgressRow:
    assignment: EvaluatorAssignment
    cells: list[ProgressCell]
    submitted: bool
    declared: int
    conflicts: int


def progress(commission: Commission) -> tuple[list[Bid], list[ProgressRow]]:
    """Who has declared and scored what: statuses only, never scores."""
    bids = submitted_bids(commission)
    rows = []
    for assignment in assignments(commission):
        by_bid = {t.bid.id: t for t in tasks(assignment)}
        cells = []
        for bid in bids:
            task = by_bid.get(bid.id)
            status = task.status if task else "Not started"
            if assignment.has_submitted and task and task.done and not (
                    task.declaration and task.declaration.has_conflict):
                status = "Submitted"
            cells.append(ProgressCell(status, bool(task and task.declaration
                                                   and task.declaration.has_conflict)))
        declared = sum(1 for t in by_bid.values() if t.declaration is not None)
        conflicts_count = sum(1 for t in by_bid.values()
                              if t.declaration is not None and t.declaration.has_conflict)
        rows.append(ProgressRow(assignment, cells, assignment.has_submitted, declared,
                                conflicts_count))
    return bids, rows


def declared_conflicts(commission: Commission) -> list[ConflictDeclaration]:
    return list(db.session.scalars(
        select(ConflictDeclaration)
        .join(EvaluatorAssignment, EvaluatorAssignment.id == ConflictDeclaration.assignment_id)
        .where(EvaluatorAssignment.commission_id == commission.id,
               ConflictDeclaration.has_conflict.is_(True))
        .order_by(ConflictDeclaration.id)
    ))


def panel_potential_conflicts(commission: Commission) -> dict[int, list[tuple[Bid, list[str]]]]:
    """For the commissioner setting up the panel: {assignment id: [(bid, reasons)]}."""
    result: dict[int, list[tuple[Bid, list[str]]]] = {}
    if commission.bids_opened_at is None:
        return result
    bids = submitted_bids(commission)
    panel = assignments(commission)
    found = conflicts.potential_conflicts_for(
        [a.user for a in panel], [bid.organisation for bid in bids], commission)
    for assignment in panel:
        result[assignment.id] = [
            (bid, reasons) for bid in bids
            if (reasons := found[(assignment.user_id, bid.organisation_id)])
        ]
    return result


# --- moderation --------------------------------------------------------------------------


def evaluators_without_conflict(commission: Commission, bid: Bid) -> list[EvaluatorAssignment]:
    result = []
    for assignment in assignments(commission):
        declaration = declaration_for(assignment, bid)
        if declaration is not None and not declaration.has_conflict:
            result.append(assignment)
    return result


def moderation_problems(commission: Commission) -> list[tuple[str | None, str]]:
    problems: list[tuple[str | None, str]] = []
    if commission.evaluation_started_at is None:
        return [(None, "The evaluation has not started")]
    if commission.moderated_at is not None:
        return [(None, "Moderation is complete")]
    panel = assignments(commission)
    waiting = [a for a in panel if not a.has_submitted]
    if waiting:
        problems.append((None, f"{len(waiting)} of {len(panel)} evaluators have not "
                         "submitted their scores yet"))
    moderator = next((a for a in panel if a.is_moderator), None)
    if moderator is None:
        problems.append((None, "There is no moderator"))
    minimum = evaluators_min()
    for bid in submitted_bids(commission):
        clear = [a for a in evaluators_without_conflict(commission, bid) if a.has_submitted]
        if len(clear) < minimum:
            problems.append((None, f"The bid from {bid.organisation.display_name} has "
                             f"{len(clear)} evaluator{'s' if len(clear) != 1 else ''} "
                             f"without a conflict who submitted scores: it needs "
                             f"{minimum}. Assign a replacement evaluator"))
        if moderator is not None:
            declaration = declaration_for(moderator, bid)
            if declaration is not None and declaration.has_conflict:
                problems.append((None, f"The moderator declared a conflict with "
                                 f"{bid.organisation.display_name}: choose another "
                                 "moderator"))
    return problems


def is_moderator(actor: User, commission: Commission) -> bool:
    assignment = evaluator_assignment(commission, actor)
    return assignment is not None and assignment.is_moderator


@dataclass
class ModerationCell:
    criterion: EvaluationCriterion
    scores: list[tuple[EvaluatorAssignment, Score]]
    consensus: ConsensusScore | None

    @property
    def spread(self) -> int | None:
        values = [s.score for _, s in self.scores]
        return max(values) - min(values) if values else None

    @property
    def flagged(self) -> bool:
        return self.spread is not None and self.spread >= SPREAD_FLAG


@dataclass
class ModerationBid:
    bid: Bid
    cells: list[ModerationCell] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return all(c.consensus is not None for c in self.cells)

    @property
    def flagged(self) -> int:
        return sum(1 for c in self.cells if c.flagged)


def moderation_grid(commission: Commission, only_bid: Bid | None = None) -> list[ModerationBid]:
    """Every submitted score and justification side by side, per bid per criterion."""
    panel = assignments(commission)
    scores: dict[tuple[int, int], list[tuple[EvaluatorAssignment, Score]]] = {}
    for assignment in panel:
        if not assignment.has_submitted:
            continue
        for (bid_id, criterion_id), row in scores_of(assignment).items():
            scores.setdefault((bid_id, criterion_id), []).append((assignment, row))
    consensus = {(c.bid_id, c.criterion_id): c for c in db.session.scalars(
        select(ConsensusScore).where(ConsensusScore.commission_id == commission.id))}
    result = []
    for bid in submitted_bids(commission):
        if only_bid is not None and bid.id != only_bid.id:
            continue
        item = ModerationBid(bid)
        for criterion in commission.criteria:
            item.cells.append(ModerationCell(
                criterion, scores.get((bid.id, criterion.id), []),
                consensus.get((bid.id, criterion.id))))
        result.append(item)
    return result


def _require_moderation(actor: User, commission: Commission) -> EvaluatorAssignment:
    assignment = require_assignment(actor, commission)
    if not assignment.is_moderator:
        raise EvaluationForbidden("Only the moderator can record consensus scores")
    _refuse(moderation_problems(commission))
    return assignment


@dataclass
class ConsensusInput:
    criterion_id: int
    score: str | None
    rationale: str | None


def save_consensus(actor: User, commission: Commission, bid: Bid,
                   entries: list[ConsensusInput]) -> list[ConsensusScore]:
    commission = _locked(commission)
    _require_moderation(actor, commission)
    by_id = {e.criterion_id: e for e in entries}
    errors: list[tuple[str | None, str]] = []
    parsed = []
    for criterion in commission.criteria:
        entry = by_id.get(criterion.id) or ConsensusInput(criterion.id, None, None)
        score = _parse_score(entry.score)
        rationale = _clean(entry.rationale)
        if score is None:
            errors.append((f"score_{criterion.id}",
                           f"Choose a consensus score from 0 to 4 for {criterion.name}"))
        if not rationale:
            errors.append((f"rationale_{criterion.id}",
                           f"Enter the rationale for the consensus score for "
                           f"{criterion.name}"))
        elif len(rationale) > RATIONALE_MAX:
            errors.append((f"rationale_{criterion.id}",
                           f"The rationale for {criterion.name} must be "
                           f"{RATIONALE_MAX:,} characters or fewer"))
        if score is not None and rationale:
            parsed.append((criterion, score, rationale))
    _refuse(errors)
    existing = {(c.bid_id, c.criterion_id): c for c in db.session.scalars(
        select(ConsensusScore).where(ConsensusScore.bid_id == bid.id))}
    saved = []
    now = utcnow()
    for criterion, score, rationale in parsed:
        row = existing.get((bid.id, criterion.id))
        if row is None:
            row = ConsensusScore(commission_id=commission.id, bid_id=bid.id,
                                 criterion_id=criterion.id, score=score, rationale=rationale,
                                 recorded_at=now, recorded_by_id=actor.id)
            db.session.add(row)
        else:
            row.score = score
            row.rationale = rationale
            row.recorded_by_id = actor.id
        saved.append(row)
    db.session.flush()
    audit.record("evaluation.consensus_recorded", actor=actor, obj=bid,
                 data={"commission_id": commission.id,
                       "scores": {str(c.id): s for c, s, _ in parsed}})
    return saved


def complete_moderation(actor: User, commission: Commission) -> None:
    commission = _locked(commission)
    _require_moderation(actor, commission)
    missing = [item.bid.organisation.display_name for item in moderation_grid(commission)
               if not item.complete]
    if missing:
        _refuse([(None, f"Record a consensus score and rationale for every criterion "
                  f"of the bid from {name}") for name in missing])
    commission.moderated_at = utcnow()
    db.session.flush()
    audit.record("evaluation.moderation_completed", actor=actor, obj=commission,
                 data={"bids": len(submitted_bids(commission))})
    for email in _commissioner_emails(commission):
        queue_email(
            email,
            f"Moderation complete: {commission.title} ({commission.reference})",
            "evaluation_moderated",
            commission=commission,
            link=link("evaluation.panel", commission_id=commission.id),
        )


# --- the price envelope and abnormally low prices ----------------------------------------


def can_open_price(actor: User, commission: Commission) -> bool:
    return (commission.can_manage(actor) and commission.moderated_at is not None
            and commission.price_opened_at is None and commission.cancelled_at is None)


def open_price(actor: User, commission: Commission) -> None:
    commission = _locked(commission)
    if not commission.can_manage(actor):
        raise EvaluationForbidden("You cannot open the price envelope")
    if commission.price_opened_at is not None:
        raise EvaluationError("The price envelope is already open")
    if commission.cancelled_at is not None:
        raise EvaluationError("This commission has been cancelled")
    if commission.moderated_at is None:
        raise EvaluationError("The price envelope can only be opened once quality "
                              "moderation is complete")
    commission.price_opened_at = utcnow()
    commission.price_opened_by_id = actor.id
    db.session.flush()
    ranking = rank_bids(commission)
    audit.record("evaluation.price_opened", actor=actor, obj=commission,
                 data={"prices": {str(r.bid_id): r.price_pence
                                  for r in ranking.rows + ranking.excluded},
                       "abnormally_low": [r.bid_id for r in ranking.flagged]})


def decide_abnormally_low(actor: User, commission: Commission, bid: Bid,
                          outcome: str | None, reason: str) -> AbnormallyLowDecision:
    commission = _locked(commission)
    if not commission.can_manage(actor):
        raise EvaluationForbidden("You cannot decide on abnormally low prices")
    if commission.price_opened_at is None:
        raise EvaluationError("Open the price envelope first")
    if commission.award_proposed_at is not None or commission.cancelled_at is not None:
        raise EvaluationError("The decision can no longer be changed")
    row = rank_bids(commission).row_for(bid.id)
    if row is None or not row.abnormally_low:
        raise EvaluationError("This bid is not flagged as possibly abnormally low")
    errors = []
    if outcome not in (AbnormallyLowOutcome.ACCEPTED, AbnormallyLowOutcome.REJECTED):
        errors.append(("outcome", "Select your decision"))
    reason = _clean(reason)
    if not reason:
        errors.append(("reason", "Enter the reason for your decision"))
    elif len(reason) > REASON_MAX:
        errors.append(("reason", f"The reason must be {REASON_MAX:,} characters or fewer"))
    _refuse(errors)
    decision = db.session.scalar(
        select(AbnormallyLowDecision).where(AbnormallyLowDecision.bid_id == bid.id))
    before = decision.outcome if decision else None
    if decision is None:
        decision = AbnormallyLowDecision(bid_id=bid.id, outcome=outcome, reason=reason,
                                         decided_at=utcnow(), decided_by_id=actor.id)
        db.session.add(decision)
    else:
        decision.outcome = outcome
        decision.reason = reason
        decision.decided_by_id = actor.id
    db.session.flush()
    audit.record("evaluation.abnormally_low_decided", actor=actor, obj=bid,
                 data={"commission_id": commission.id, "outcome": outcome,
                       "outcome_before": before, "reason": reason,
                       "price_pence": row.price_pence})
    return decision


# --- exports -----------------------------------------------------------------------------

EXPORT_HEADERS = ["Commission", "Bidder", "Criterion", "Weight", "Evaluator", "Score",
                  "Justification", "Status", "Consensus score", "Consensus rationale"]
PRICE_HEADERS = ["Price (GBP)", "Price score"]


def export_rows(actor: User, commission: Commission) -> tuple[list[str], list[list]]:
    """The scores and justifications `actor` may see, one row per score; consensus
    columns once recorded; price columns only once the price envelope is open (and
    only for someone allowed to see each bid's price)."""
    rows_out: list[list] = []
    consensus = {(c.bid_id, c.criterion_id): c for c in db.session.scalars(
        select(ConsensusScore).where(ConsensusScore.commission_id == commission.id))}
    with_price = commission.price_opened_at is not None
    ranking = rank_bids(commission) if with_price else None
    headers = EXPORT_HEADERS + (PRICE_HEADERS if with_price else [])
    criteria = {c.id: c for c in commission.criteria}
    see_panel = can_see_panel_scores(actor, commission)
    commercial: dict[int, bool] = {}  # by bid: asked once, not once per score
    for row in visible_scores(actor, commission):
        criterion = criteria.get(row.criterion_id)
        agreed = consensus.get((row.bid_id, row.criterion_id))
        show_agreed = agreed is not None and see_panel
        out = [commission.reference, row.bid.organisation.display_name,
               criterion.name if criterion else "", criterion.weight if criterion else "",
               row.assignment.user.name, row.score, row.justification, row.status,
               agreed.score if show_agreed else "", agreed.rationale if show_agreed else ""]
        if with_price:
            ranked = ranking.row_for(row.bid_id)
            if row.bid_id not in commercial:
                commercial[row.bid_id] = row.bid.can_view_commercial(actor)
            if ranked is not None and commercial[row.bid_id]:
                out += [f"{ranked.price_pence / 100:.2f}",
                        str(ranked.price_points) if ranked.price_points is not None else ""]
            else:
                out += ["", ""]
        rows_out.append(out)
    return headers, rows_out


FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r", "\n")


def spreadsheet_safe(value):
    """No spreadsheet formulas from user text: text starting with a formula character
    gets a leading apostrophe (numbers are left alone)."""
    if isinstance(value, str) and value[:1] in FORMULA_PREFIXES:
        return "'" + value
    return value


def to_csv(headers: list[str], rows: list[list]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(headers)
    for row in rows:
        writer.writerow([spreadsheet_safe(v) for v in row])
    return out.getvalue()


def to_xlsx(headers: list[str], rows: list[list], title: str = "Scores") -> bytes:
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = title[:31]
    sheet.append(headers)
    for row in rows:
        sheet.append([spreadsheet_safe(v) for v in row])
    # Belt and braces: every text cell is stored as text, never as a formula.
    for cells in sheet.iter_rows():
        for cell in cells:
            if isinstance(cell.value, str):
                cell.data_type = "s"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
