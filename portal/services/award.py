"""The award of a commission: propose, approve or return (four eyes), standstill, confirm
or withdraw, or close with no suitable bid. Outcome letters and OCDS releases.

One function per use case. Each takes the acting user, locks the commission row first
(`lock_commission`: SELECT ... FOR UPDATE on PostgreSQL, BEGIN IMMEDIATE on SQLite),
re-reads the award under that lock, checks the state on the server's clock, writes the
audit event, the OCDS release and the outbox mail, flushes and never commits. Two admins
approving at once (or one double-clicking) are serialised by the lock: the second finds
the award already approved and is refused, so there is one approval and one set of
letters; the partial unique index on awards backs this up in the database.

The commission's state follows from its timestamps (Commission.state_at):

    propose   award_proposed_at              -> award_proposed
    return    award_proposed_at cleared      -> moderated (propose again)
    approve   standstill_started_at          -> standstill
    withdraw  both cleared                   -> moderated (propose again)
    confirm   awarded_at, delivery_started_at -> in_delivery
    no suitable bid: cancelled_at (reason "No suitable bid: ...") -> cancelled
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from portal import audit, ocds
from portal.extensions import db
from portal.mail import queue_email
from portal.models.accounts import User, UserRole
from portal.models.award import (
    Award,
    AwardStatus,
    LetterKind,
    OutcomeLetter,
)
from portal.models.base import utcnow
from portal.models.bids import Bid, BidStatus
from portal.models.commissions import Commission, CommissionState
from portal.models.evaluation import ConsensusScore
from portal.services.bids import submitted_count
from portal.services.commissions import (
    format_pence,
    link,
    lock_commission,
    organisation_users,
)
from portal.services.ranking import RankedBid, Ranking, rank_bids
from portal.services.standstill import configured_rule, standstill_period
from portal.services.standstill import end_text as standstill_end_text

REASON_MAX = 4000

# States from which a commission may close with no suitable bid.
NO_SUITABLE_BID_STATES = (
    CommissionState.CLOSED,
    CommissionState.OPENED,
    CommissionState.IN_EVALUATION,
    CommissionState.MODERATED,
)


class AwardError(Exception):
    """A refused action; `message` is shown to the person (GOV.UK error style)."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


class NotFound(AwardError):
    """The object is not there (or not the actor's to see): the route answers 404."""


def _clean(text: str | None) -> str:
    return (text or "").replace("\r\n", "\n").strip()


def _reason(text: str | None, what: str, field: str = "reason") -> str:
    value = _clean(text)
    if not value:
        raise AwardError(f"Enter {what}", field)
    if len(value) > REASON_MAX:
        raise AwardError(f"The reason must be {REASON_MAX:,} characters or fewer", field)
    return value


# --- reading --------------------------------------------------------------------------


def live_award(commission: Commission) -> Award | None:
    return db.session.scalar(
        select(Award).where(
            Award.commission_id == commission.id,
            Award.status.not_in([AwardStatus.WITHDRAWN, AwardStatus.RETURNED]),
        )
    )


def award_history(commission: Commission) -> list[Award]:
    return list(db.session.scalars(
        select(Award).where(Award.commission_id == commission.id).order_by(Award.id.desc())
    ))


def pending_approvals() -> list[Award]:
    return list(db.session.scalars(
        select(Award).where(Award.status == AwardStatus.PROPOSED).order_by(Award.proposed_at)
    ))


def recent_decisions(limit: int = 20) -> list[Award]:
    return list(db.session.scalars(
        select(Award)
        .where(Award.status != AwardStatus.PROPOSED)
        .order_by(Award.id.desc())
        .limit(limit)
    ))


def letters_for_organisation(commission: Commission, organisation_id: int | None
                             ) -> list[OutcomeLetter]:
    if organisation_id is None:
        return []
    return list(db.session.scalars(
        select(OutcomeLetter)
        .where(OutcomeLetter.commission_id == commission.id,
               OutcomeLetter.organisation_id == organisation_id)
        .order_by(OutcomeLetter.id.desc())
    ))


def letters_of_award(award: Award) -> list[OutcomeLetter]:
    return list(award.letters)


def _locked_award(award_id: int) -> tuple[Award, Commission]:
    """Lock the award's commission, then read the award afresh under that lock."""
    commission_id = db.session.scalar(select(Award.commission_id).where(Award.id == award_id))
    if commission_id is None:
        raise NotFound("That award does not exist")
    commission = lock_commission(commission_id)
    award = db.session.execute(
        select(Award).where(Award.id == award_id).execution_options(populate_existing=True)
    ).scalar_one()
    return award, commission


# --- proposal --------------------------------------------------------------------------


def proposal_problems(commission: Commission, ranking: Ranking, now: datetime) -> list[str]:
    """Why an award cannot be proposed now (empty when it can)."""
    state = commission.state_at(now)
    if state == CommissionState.CANCELLED:
        return ["This commission has been cancelled or closed"]
    if state in (CommissionState.AWARD_PROPOSED, CommissionState.STANDSTILL,
                 CommissionState.AWARDED, CommissionState.IN_DELIVERY,
                 CommissionState.COMPLETED):
        return ["An award has already been proposed for this commission"]
    problems = []
    if state != CommissionState.MODERATED or not ranking.moderated:
        problems.append("The award can be proposed once moderation is complete")
    elif not ranking.price_open:
        problems.append("Open the price envelope before proposing the award")
    elif ranking.pending_decisions:
        problems.append("Record a decision on every possibly abnormally low price first")
    elif not ranking.rows:
        problems.append("No bid is ranked. Close the commission with no suitable bid "
                        "instead")
    return problems


def _dec(value: Decimal | None) -> str | None:
    return None if value is None else f"{value:.2f}"


def _row_snapshot(row: RankedBid) -> dict:
    return {
        "bid_id": row.bid_id,
        "organisation_id": row.organisation_id,
        "organisation_name": row.organisation_name,
        "position": row.position,
        "rank_label": row.rank_label,
        "tied": row.tied,
        "tie_break": row.tie_break,
        "criteria": [
            {"criterion_id": c.criterion_id, "name": c.name, "weight": c.weight,
             "score": c.consensus, "points": _dec(c.points)}
            for c in row.criteria
        ],
        "quality_points": _dec(row.quality_points),
        "price_pence": row.price_pence,
        "price_points": _dec(row.price_points),
        "total": _dec(row.total),
        "excluded": row.excluded,
        "excluded_reason": row.decision.reason if row.excluded and row.decision else None,
    }


def ranking_snapshot(ranking: Ranking) -> dict:
    return {
        "criteria": [{"id": cid, "name": name, "weight": weight}
                     for cid, name, weight in ranking.criteria],
        "price_weight": ranking.price_weight,
        "price_open": ranking.price_open,
        "rows": [_row_snapshot(row) for row in ranking.rows],
        "excluded": [_row_snapshot(row) for row in ranking.excluded],
        "tie_break_rule": ranking.tie_break_rule,
        "ties": ranking.ties,
    }


def _admins_to_tell(actor: User) -> list[str]:
    return list(db.session.scalars(
        select(User.email)
        .join(UserRole, UserRole.user_id == User.id)
        .where(UserRole.role == "admin", User.deactivated_at.is_(None), User.id != actor.id)
        .order_by(User.id)
    ))


def propose(actor: User, commission: Commission, bid_id: int | None, reason: str,
            now: datetime | None = None) -> Award:
    """The commissioner proposes the award: the top-ranked bid by default; another
    ranked bid only with a written reason."""
    now = now or utcnow()
    locked = lock_commission(commission.id)
    if locked is None or not locked.can_manage(actor):
        raise NotFound("That commission does not exist")
    ranking = rank_bids(locked)
    problems = proposal_problems(locked, ranking, now)
    if problems:
        raise AwardError(problems[0])
    leader = ranking.leader
    chosen = leader if bid_id is None else next(
        (row for row in ranking.rows if row.bid_id == bid_id), None)
    if chosen is None:
        raise AwardError("Choose a bid from the ranking", "bid_id")
    reason = _clean(reason)
    top = chosen.bid_id == leader.bid_id
    if not top and not reason:
        raise AwardError(
            f"Give the reason for proposing a bid that is not ranked first "
            f"({leader.organisation_name} is)", "reason")
    if len(reason) > REASON_MAX:
        raise AwardError(f"The reason must be {REASON_MAX:,} characters or fewer", "reason")
    award = Award(
        commission_id=locked.id,
        bid_id=chosen.bid_id,
        organisation_id=chosen.organisation_id,
        status=AwardStatus.PROPOSED,
        ranked_position=chosen.position,
        top_ranked=top,
        reason=reason,
        value_pence=chosen.price_pence,
        ranking=ranking_snapshot(ranking),
        proposed_at=now,
        proposed_by_id=actor.id,
    )
    try:
        with db.session.begin_nested():
            db.session.add(award)
            db.session.flush()
    except IntegrityError:
        raise AwardError("An award has already been proposed for this commission") from None
    locked.award_proposed_at = now
    db.session.flush()
    audit.record("award.proposed", actor=actor, obj=award, data={
        "commission_id": locked.id, "bid_id": chosen.bid_id,
        "organisation_id": chosen.organisation_id, "position": chosen.position,
        "top_ranked": top, "reason": reason, "total": _dec(chosen.total),
    })
    page = link("award.review", award_id=award.id)
    for email in _admins_to_tell(actor):
        queue_email(email, f"Award to approve: {locked.title} ({locked.reference})",
                    "award_proposed", commission=locked, award=award, proposer=actor,
                    supplier=chosen.organisation_name, link=page)
    return award


# --- approval (four eyes) ----------------------------------------------------------------


def approve(actor: User, award: Award, now: datetime | None = None) -> Award:
    """A different admin approves: the standstill starts and every bidder gets a letter."""
    now = now or utcnow()
    award, commission = _locked_award(award.id)
    if not award.can_review(actor):
        raise NotFound("That award does not exist")
    if actor.id == award.proposed_by_id:
        raise AwardError("You proposed this award, so another admin must approve it")
    if award.status != AwardStatus.PROPOSED:
        raise AwardError(f"This award has already been decided: {award.status_label}")
    if commission.state_at(now) != CommissionState.AWARD_PROPOSED:
        raise AwardError("This commission is not waiting for an award decision")
    period = standstill_period(now, configured_rule())
    award.status = AwardStatus.APPROVED
    award.approved_at = now
    award.approved_by_id = actor.id
    award.standstill_rule = period.rule
    award.standstill_days = period.days
    award.standstill_ends_at = period.ends_at
    commission.standstill_started_at = now
    db.session.flush()
    letters = write_award_letters(award, period.description)
    release = ocds.on_award_approved(award, now)
    audit.record("award.approved", actor=actor, obj=award, data={
        "commission_id": commission.id, "organisation_id": award.organisation_id,
        "standstill_rule": period.rule, "standstill_days": period.days,
        "standstill_ends_at": period.ends_at.isoformat(),
        "letters": [letter.organisation_id for letter in letters],
        "ocds_release": release.release_id,
    })
    return award


def return_award(actor: User, award: Award, reason: str,
                 now: datetime | None = None) -> Award:
    """A different admin returns the proposal to the commissioner, with a reason."""
    now = now or utcnow()
    award, commission = _locked_award(award.id)
    if not award.can_review(actor):
        raise NotFound("That award does not exist")
    if actor.id == award.proposed_by_id:
        raise AwardError("You proposed this award, so another admin must decide on it")
    if award.status != AwardStatus.PROPOSED:
        raise AwardError(f"This award has already been decided: {award.status_label}")
    reason = _reason(reason, "the reason for returning the proposal")
    award.status = AwardStatus.RETURNED
    award.returned_at = now
    award.returned_by_id = actor.id
    award.return_reason = reason
    commission.award_proposed_at = None
    db.session.flush()
    audit.record("award.returned", actor=actor, obj=award,
                 data={"commission_id": commission.id, "reason": reason})
    proposer = award.proposed_by
    if proposer is not None and proposer.is_active:
        queue_email(proposer.email,
                    f"Award proposal returned: {commission.title} ({commission.reference})",
                    "award_returned", commission=commission, award=award, reason=reason,
                    link=link("award.manage", commission_id=commission.id))
    return award


# --- after the standstill ---------------------------------------------------------------


def confirm(actor: User, award: Award, now: datetime | None = None) -> Award:
    """After the standstill the commissioner confirms the award: the contract, and
    delivery starts."""
    now = now or utcnow()
    award, commission = _locked_award(award.id)
    if not award.can_manage(actor):
        raise NotFound("That award does not exist")
    if award.status == AwardStatus.CONFIRMED:
        raise AwardError("This award has already been confirmed")
    if award.status != AwardStatus.APPROVED:
        raise AwardError("Only an approved award can be confirmed")
    if not award.can_be_confirmed_at(now):
        raise AwardError("The standstill period has not ended. The award can be confirmed "
                         f"after {standstill_end_text(award.standstill_ends_at)}")
    award.status = AwardStatus.CONFIRMED
    award.confirmed_at = now
    award.confirmed_by_id = actor.id
    commission.awarded_at = now
    commission.delivery_started_at = now
    db.session.flush()
    release = ocds.on_award_confirmed(award, now)
    audit.record("award.confirmed", actor=actor, obj=award, data={
        "commission_id": commission.id, "organisation_id": award.organisation_id,
        "value_pence": award.value_pence, "ocds_release": release.release_id,
    })
    for email, _org in organisation_users([award.organisation_id]):
        queue_email(email, f"Contract confirmed: {commission.title} ({commission.reference})",
                    "award_confirmed", commission=commission, award=award,
                    value=format_pence(award.value_pence),
                    link=link("award.outcome", commission_id=commission.id))
    return award


def withdraw(actor: User, award: Award, reason: str, now: datetime | None = None) -> Award:
    """Withdraw an approved award before it is confirmed (reason required); every bidder
    is told, and the commissioner may propose again."""
    now = now or utcnow()
    award, commission = _locked_award(award.id)
    if not award.can_manage(actor):
        raise NotFound("That award does not exist")
    if award.status != AwardStatus.APPROVED:
        raise AwardError("Only an approved award that has not been confirmed can be "
                         "withdrawn")
    reason = _reason(reason, "the reason for withdrawing the award")
    award.status = AwardStatus.WITHDRAWN
    award.withdrawn_at = now
    award.withdrawn_by_id = actor.id
    award.withdrawal_reason = reason
    commission.standstill_started_at = None
    commission.award_proposed_at = None
    db.session.flush()
    release = ocds.on_award_withdrawn(award, now)
    recipients = sorted({letter.organisation_id for letter in award.letters})
    sent = 0
    for email, _org in organisation_users(recipients):
        queue_email(email, f"Award withdrawn: {commission.title} ({commission.reference})",
                    "award_withdrawn", commission=commission, award=award, reason=reason,
                    link=link("award.outcome", commission_id=commission.id))
        sent += 1
    audit.record("award.withdrawn", actor=actor, obj=award, data={
        "commission_id": commission.id, "reason": reason, "told": recipients,
        "emails": sent, "ocds_release": release.release_id,
    })
    return award


# --- no suitable bid ---------------------------------------------------------------------


def can_close_no_suitable_bid(commission: Commission, now: datetime | None = None) -> bool:
    state = commission.state_at(now or utcnow())
    if state not in NO_SUITABLE_BID_STATES:
        return False
    # The letters and the open data name every bidder: with bids still sealed, they
    # must be opened first (an audited step of its own). With no bids there is no seal.
    return state != CommissionState.CLOSED or submitted_count(commission) == 0


def close_no_suitable_bid(actor: User, commission: Commission, reason: str,
                          now: datetime | None = None) -> Award:
    """Close the commission without an award; every bidder gets a letter."""
    now = now or utcnow()
    locked = lock_commission(commission.id)
    if locked is None or not locked.can_manage(actor):
        raise NotFound("That commission does not exist")
    if not can_close_no_suitable_bid(locked, now):
        if locked.state_at(now) in (CommissionState.DRAFT, CommissionState.OPEN):
            raise AwardError("A commission can close with no suitable bid only after its "
                             "submission deadline")
        if locked.state_at(now) == CommissionState.CLOSED:
            raise AwardError("Open the bids before closing with no suitable bid: the "
                             "letters name every bidder")
        raise AwardError("This commission cannot close with no suitable bid now. Withdraw "
                         "or return any award first")
    reason = _reason(reason, "why no bid is suitable")
    ranking = rank_bids(locked) if locked.bids_opened_at is not None else None
    award = Award(
        commission_id=locked.id,
        bid_id=None,
        organisation_id=None,
        status=AwardStatus.NO_SUITABLE_BID,
        top_ranked=False,
        reason=reason,
        ranking=ranking_snapshot(ranking) if ranking and ranking.complete else {},
        proposed_at=now,
        proposed_by_id=actor.id,
    )
    try:
        with db.session.begin_nested():
            db.session.add(award)
            db.session.flush()
    except IntegrityError:
        raise AwardError("This commission already has an award") from None
    locked.cancelled_at = now
    locked.cancelled_by_id = actor.id
    locked.cancellation_reason = f"No suitable bid: {reason}"
    db.session.flush()
    letters = write_no_suitable_bid_letters(award, reason)
    release = ocds.on_no_suitable_bid(locked, now)
    audit.record("award.no_suitable_bid", actor=actor, obj=award, data={
        "commission_id": locked.id, "reason": reason,
        "letters": [letter.organisation_id for letter in letters],
        "ocds_release": release.release_id,
    })
    return award


# --- letters -----------------------------------------------------------------------------


@dataclass
class _Rationales:
    by_cell: dict[tuple[int, int], str]

    def get(self, bid_id: int, criterion_id: int) -> str:
        return self.by_cell.get((bid_id, criterion_id), "")


def _rationales(commission_id: int) -> _Rationales:
    rows = db.session.scalars(
        select(ConsensusScore).where(ConsensusScore.commission_id == commission_id)
    )
    return _Rationales({(r.bid_id, r.criterion_id): r.rationale for r in rows})


def _scores_block(row: dict, rationales: _Rationales | None) -> dict:
    return {
        "position": row["position"],
        "rank_label": row["rank_label"],
        "criteria": [
            {"name": c["name"], "weight": c["weight"], "score": c["score"],
             "points": c["points"],
             **({"reason": rationales.get(row["bid_id"], c["criterion_id"])}
                if rationales is not None else {})}
            for c in row["criteria"]
        ],
        "quality_points": row["quality_points"],
        "price_points": row["price_points"],
        "total": row["total"],
        "excluded": row.get("excluded", False),
        "excluded_reason": row.get("excluded_reason"),
    }


def _advantages(own: dict, winner: dict, rationales: _Rationales) -> list[dict]:
    """Where the winning bid scored higher than this one, and why (the moderator's
    rationale for the winning bid on that criterion)."""
    items = []
    own_cells = {c["criterion_id"]: c for c in own["criteria"]}
    for cell in winner["criteria"]:
        mine = own_cells.get(cell["criterion_id"])
        if mine is None or cell["score"] is None:
            continue
        if mine["score"] is None or cell["score"] > mine["score"]:
            items.append({
                "criterion": cell["name"],
                "winner_score": cell["score"],
                "own_score": mine["score"],
                "rationale": rationales.get(winner["bid_id"], cell["criterion_id"]),
            })
    if (winner.get("price_points") and own.get("price_points")
            and Decimal(winner["price_points"]) > Decimal(own["price_points"])):
        items.append({
            "criterion": "Price",
            "winner_score": None,
            "own_score": None,
            "rationale": f"The winning bid's price scored {winner['price_points']} points "
                         f"against {own['price_points']} for your bid.",
        })
    return items


def _base_content(award: Award) -> dict:
    commission = award.commission
    snapshot = award.ranking or {}
    return {
        "commission": {"id": commission.id, "reference": commission.reference,
                       "title": commission.title},
        "criteria": [{"name": c["name"], "weight": c["weight"]}
                     for c in snapshot.get("criteria", [])],
        "price_weight": snapshot.get("price_weight"),
        "tie_break_rule": snapshot.get("tie_break_rule"),
    }


def _queue_letter(letter: OutcomeLetter, subject: str, template: str) -> None:
    commission = letter.commission
    page = link("award.outcome", commission_id=commission.id)
    count = 0
    for email, _org in organisation_users([letter.organisation_id]):
        queue_email(email, subject, template, letter=letter, content=letter.content,
                    commission=commission, link=page)
        count += 1
    letter.emails_queued = count


def _unconfirmed_bids(commission: Commission) -> list[Bid]:
    """Bids never confirmed again after a material change: not evaluated, but their
    bidders are still told the outcome."""
    return list(db.session.scalars(
        select(Bid).where(Bid.commission_id == commission.id,
                          Bid.status == BidStatus.NEEDS_RECONFIRMATION,
                          Bid.submitted_at.is_not(None))
        .options(selectinload(Bid.organisation))
        .order_by(Bid.id)
    ))


def write_award_letters(award: Award, standstill_text: str) -> list[OutcomeLetter]:
    """One letter for every bidder, e-mailed to each of their users: ranked or excluded
    bidders get their scores; a bid not confirmed again after a material change gets a
    letter saying it was not evaluated."""
    commission = award.commission
    snapshot = award.ranking or {}
    rows = list(snapshot.get("rows", [])) + list(snapshot.get("excluded", []))
    winner = next(row for row in rows if row["bid_id"] == award.bid_id)
    rationales = _rationales(commission.id)
    common = {
        **_base_content(award),
        "winner": {"name": winner["organisation_name"], **_scores_block(winner, None)},
        "approved_at": award.approved_at.isoformat(),
        "standstill_ends_at": award.standstill_ends_at.isoformat(),
        "standstill_ends_text": standstill_end_text(award.standstill_ends_at),
        "standstill_description": standstill_text,
    }
    to_write = []
    for row in rows:
        successful = row["bid_id"] == award.bid_id
        to_write.append((row["organisation_id"], row["bid_id"], {
            **common,
            "kind": LetterKind.SUCCESSFUL if successful else LetterKind.UNSUCCESSFUL,
            "organisation_name": row["organisation_name"],
            "own": _scores_block(row, rationales),
            "advantages": [] if successful else _advantages(row, winner, rationales),
        }))
    for bid in _unconfirmed_bids(commission):
        to_write.append((bid.organisation_id, bid.id, {
            **common,
            "kind": LetterKind.UNSUCCESSFUL,
            "organisation_name": bid.organisation.display_name,
            "own": None,
            "not_evaluated": "it was not confirmed again after the commission changed",
            "advantages": [],
        }))
    letters = []
    for organisation_id, bid_id, content in to_write:
        letter = OutcomeLetter(
            award=award,
            commission_id=commission.id,
            organisation_id=organisation_id,
            bid_id=bid_id,
            kind=content["kind"],
            content=content,
            created_at=award.approved_at,
        )
        db.session.add(letter)
        letters.append(letter)
    db.session.flush()
    for letter in letters:
        _queue_letter(letter, f"Outcome of {commission.title} ({commission.reference})",
                      "outcome_letter")
    return letters


def write_no_suitable_bid_letters(award: Award, reason: str) -> list[OutcomeLetter]:
    """A letter to every organisation with a submitted bid; their own scores when the
    evaluation was complete."""
    commission = award.commission
    snapshot = award.ranking or {}
    scored = {row["organisation_id"]: row
              for row in list(snapshot.get("rows", [])) + list(snapshot.get("excluded", []))}
    rationales = _rationales(commission.id) if scored else None
    letters = []
    for organisation in ocds.tenderer_organisations(commission):
        row = scored.get(organisation.id)
        content = {
            **_base_content(award),
            "kind": LetterKind.NO_SUITABLE_BID,
            "organisation_name": organisation.display_name,
            "reason": reason,
            "own": _scores_block(row, rationales) if row else None,
            "closed_at": award.proposed_at.isoformat(),
        }
        letter = OutcomeLetter(
            award=award,
            commission_id=commission.id,
            organisation_id=organisation.id,
            bid_id=row["bid_id"] if row else None,
            kind=LetterKind.NO_SUITABLE_BID,
            content=content,
            created_at=award.proposed_at,
        )
        db.session.add(letter)
        letters.append(letter)
    db.session.flush()
    for letter in letters:
        _queue_letter(letter, f"No award made: {commission.title} ({commission.reference})",
                      "outcome_no_suitable_bid")
    return letters


# --- hook for the commissions service ------------------------------------------------------


def on_commission_cancelled(actor: User, commission: Commission, now: datetime) -> None:
    """A commission cancelled while an award is proposed or in standstill: the proposal
    is returned, or the approved award withdrawn (the cancellation notice tells the
    bidders). Runs inside the cancellation, which holds the commission row lock."""
    award = live_award(commission)
    if award is None or award.status not in (AwardStatus.PROPOSED, AwardStatus.APPROVED):
        return
    reason = "The commission was cancelled"
    if award.status == AwardStatus.PROPOSED:
        award.status = AwardStatus.RETURNED
        award.returned_at = now
        award.returned_by_id = actor.id
        award.return_reason = reason
        action = "award.returned"
    else:
        award.status = AwardStatus.WITHDRAWN
        award.withdrawn_at = now
        award.withdrawn_by_id = actor.id
        award.withdrawal_reason = reason
        action = "award.withdrawn"
    commission.standstill_started_at = None
    commission.award_proposed_at = None
    db.session.flush()
    if action == "award.withdrawn":
        # The approved award was published; the open data must show it ended too.
        ocds.on_award_withdrawn(award, now)
    audit.record(action, actor=actor, obj=award,
                 data={"commission_id": commission.id, "reason": reason})
