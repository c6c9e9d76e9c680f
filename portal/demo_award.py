"""Demo data for the award: `seed_award_step` is a step of `flask seed-demo` (wired in
portal/demo.py after the evaluation step).

Six commissions, each with two or three submitted bids evaluated through the real services
(the evaluation demo's `run_evaluation`), at every award state:
  - PROPOSED_TITLE: the commissioner proposed the top-ranked bid; waiting for an admin;
  - RETURNED_TITLE: the commissioner proposed the second-ranked bid (with a reason) two
    working days ago and the admin returned the proposal the next working day with a
    reason; moderated again, waiting for a new proposal, the returned one in its history;
  - STANDSTILL_TITLE: an admin approved it today; outcome letters written; standstill;
  - WITHDRAWN_TITLE: approved six working days ago, letters written, then withdrawn by
    the commissioner four working days into the standstill with a reason (every bidder
    told; an OCDS awardCancellation release); moderated again, waiting for a new proposal;
  - CONTRACT_TITLE: approved three weeks ago and confirmed after the standstill: the
    contract, in delivery (the OCDS feed holds its award and contract releases);
  - NO_SUITABLE_TITLE: closed with no suitable bid; letters to all.
The evaluation demo's moderated commission (price opened) is left for you to propose in
the demo, and its other moderated one for you to open the price envelope of. Every
award step is dated at or before the moment of seeding.

Also writes the OCDS tender release of any published commission that has none (demo
data made before the open data existed). Idempotent (commissions found by title). The
e-mails queued on the way are dropped. Flushes; the caller commits.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

from sqlalchemy import select

from portal import audit, ocds
from portal.demo_mail import discard_story_mail, last_outbox_id
from portal.extensions import db
from portal.models.award import OcdsRelease
from portal.models.base import utcnow
from portal.models.categories import ServiceCategory
from portal.models.commissions import Commission
from portal.services import award as service
from portal.services.ranking import rank_bids
from portal.services.standstill import is_working_day, standstill_period
from portal.ukdatetime import uk_to_utc, utc_to_uk

PROPOSED_TITLE = "Literature review on extra-familial harm and contextual safeguarding"
STANDSTILL_TITLE = "Accessible reports from national reviews of neglect"
CONTRACT_TITLE = ("Fieldwork for a national review of disabled children in residential "
                  "settings")
NO_SUITABLE_TITLE = "Analysis of local reviews involving teenage relationship abuse"
RETURNED_TITLE = "Literature review on safeguarding children in elective home education"
WITHDRAWN_TITLE = ("Fieldwork for a national review of children's experience of "
                   "domestic abuse")

PLANS = (
    (PROPOSED_TITLE, 2, "extra-familial harm", (0.6, 0.8), "proposed"),
    (STANDSTILL_TITLE, 5, "neglect", (0.55, 0.75), "standstill"),
    (CONTRACT_TITLE, 1, "disabled children in residential settings", (0.6, 0.65, 0.8),
     "contract"),
    (NO_SUITABLE_TITLE, 3, "teenage relationship abuse", (0.7, 0.75, 0.8), "no_suitable"),
    (RETURNED_TITLE, 4, "elective home education", (0.6, 0.7, 0.8), "returned"),
    (WITHDRAWN_TITLE, 2, "children's experience of domestic abuse", (0.6, 0.75),
     "withdrawn"),
)

# How long before the moment of seeding each commission's deadline passes (the bids
# demo's `_closed_commission` puts it a week before the date it is given) and its award
# is proposed. The evaluation's timestamps are moved to the four days before the proposal.
START_BEFORE = {"contract": timedelta(days=40)}
PROPOSED_BEFORE = {"contract": timedelta(days=18)}

# The proposal and the decision on it (return or withdrawal): (working days before the
# day of seeding, UK time of day). Office hours on working days, always in the past.
SCHEDULE = {
    "returned": ((2, time(10, 30)), (1, time(14, 15))),
    "withdrawn": ((6, time(9, 45)), (2, time(11, 0))),
}

RETURN_REASON = (
    "The proposal gives the second-ranked bid's earlier start date as the reason, but the "
    "start date was not an award criterion, so it cannot decide the award. Propose the "
    "top-ranked bid, or record why that bidder cannot deliver what the specification asks "
    "for.")
PROPOSAL_REASON = (
    "The second-ranked team can start fieldwork in the first week, which the review's "
    "timetable for the national report needs.")
WITHDRAWAL_REASON = (
    "During the standstill an unsuccessful bidder pointed out that the winning price leaves "
    "out the two practitioner workshops the specification requires. We are checking every "
    "bid's price against the specification again before proposing an award.")


def backfill_tender_releases() -> int:
    """A tender release (dated at publication) for every published commission with no
    release yet; a cancellation release too when it was cancelled."""
    have = set(db.session.scalars(select(OcdsRelease.commission_id).distinct()))
    made = 0
    for commission in db.session.scalars(
        select(Commission).where(Commission.published_at.is_not(None)).order_by(Commission.id)
    ):
        if commission.id in have:
            continue
        ocds.on_published(commission, commission.published_at)
        if commission.cancelled_at is not None:
            ocds.on_cancelled(commission, commission.cancelled_at)
        made += 1
    return made


def _working_day_at(now: datetime, working_days_back: int, at: time) -> datetime:
    """`at` (UK time) on the working day `working_days_back` working days before the UK
    date of `now` (England and Wales bank holidays count as non-working)."""
    day = utc_to_uk(now).date()
    for _ in range(working_days_back):
        day -= timedelta(days=1)
        while not is_working_day(day):
            day -= timedelta(days=1)
    return uk_to_utc(day, at)


def _backdate(commission: Commission, moment: datetime) -> None:
    """Move the evaluation's timestamps before `moment`, so the story reads in order."""
    for offset, attribute in enumerate(("bids_opened_at", "evaluation_started_at",
                                        "moderated_at", "price_opened_at")):
        if getattr(commission, attribute) is not None:
            setattr(commission, attribute, moment - timedelta(days=4 - offset))


def seed_demo_award(ctx, now: datetime | None = None) -> dict:
    counts = {"commissions": 0, "letters": 0, "tender_releases": 0}
    commissioner = ctx.users.get("commissioner")
    approver = ctx.users.get("admin")
    evaluator = ctx.users.get("evaluator")
    if commissioner is None or approver is None or evaluator is None:
        return counts
    try:
        from portal.demo_evaluation import EXTRA_EVALUATORS, _closed_commission, run_evaluation
    except ImportError:
        return counts
    from portal.demo import find_user

    now = now or utcnow()
    last_mail = last_outbox_id()
    counts["tender_releases"] = backfill_tender_releases()
    categories = {c.number: c for c in db.session.scalars(select(ServiceCategory))}
    existing = set(db.session.scalars(select(Commission.title)))
    panel = [evaluator] + [u for u in (find_user(e) for e, _n in EXTRA_EVALUATORS) if u]
    if len(panel) < 2 or len(categories) < 5:
        return counts

    for title, number, topic, shares, target in PLANS:
        if title in existing:
            continue
        if target in SCHEDULE:
            proposed_at, decided_at = (_working_day_at(now, days, at)
                                       for days, at in SCHEDULE[target])
            start = proposed_at - timedelta(days=1)
        else:
            proposed_at = now - PROPOSED_BEFORE.get(target, timedelta(hours=4))
            start = now - START_BEFORE.get(target, timedelta())
        commission = _closed_commission(commissioner, number, title, topic, categories,
                                        start, shares)
        if commission is None:
            continue
        run_evaluation(commission, commissioner, panel, until="price_opened")
        counts["commissions"] += 1
        if target == "no_suitable":
            award = service.close_no_suitable_bid(
                commissioner, commission,
                "No bid showed enough experience of reviews involving teenage relationship "
                "abuse, which the specification made essential.", now)
            counts["letters"] += len(award.letters)
            continue
        # Every step lies in the past (approval three hours after the proposal) so that
        # no letter, audit event or OCDS release is dated after the moment of seeding.
        _backdate(commission, proposed_at)
        if target == "returned":
            # Not the top-ranked bid, so the proposal carries a written reason, which
            # the approving admin does not accept.
            second = rank_bids(commission).rows[1]
            award = service.propose(commissioner, commission, second.bid_id,
                                    PROPOSAL_REASON, proposed_at)
            service.return_award(approver, award, RETURN_REASON, decided_at)
            continue
        award = service.propose(commissioner, commission, None, "", proposed_at)
        if target == "proposed":
            continue
        approved_at = proposed_at + timedelta(hours=3)
        service.approve(approver, award, approved_at)
        counts["letters"] += len(award.letters)
        if target == "contract":
            ends = standstill_period(approved_at).ends_at
            service.confirm(commissioner, award, max(ends + timedelta(hours=9), now
                                                     - timedelta(days=1)))
        elif target == "withdrawn":
            # Four working days into the standstill, well before it ends.
            service.withdraw(commissioner, award, WITHDRAWAL_REASON,
                             min(decided_at, award.standstill_ends_at - timedelta(hours=1)))

    discard_story_mail(last_mail, "award", "outcome", "evaluation", "bid", "commission")
    if any(counts.values()):
        audit.record("demo.award_seeded", actor=commissioner, data=counts)
    return counts


def seed_award_step(ctx) -> dict:
    """The `flask seed-demo` step."""
    return seed_demo_award(ctx)


__all__ = ["backfill_tender_releases", "seed_award_step", "seed_demo_award"]
