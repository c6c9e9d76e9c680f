"""Demo data for the award: `seed_award_step` is a step of `flask seed-demo` (wired in
portal/demo.py after the evaluation step).

Four commissions, each with two or three submitted bids evaluated through the real services
(the evaluation demo's `run_evaluation`), at every award state:
  - PROPOSED_TITLE: the commissioner proposed the top-ranked bid; waiting for an admin;
  - STANDSTILL_TITLE: an admin approved it today; outcome letters written; standstill;
  - CONTRACT_TITLE: approved three weeks ago and confirmed after the standstill: the
    contract, in delivery (the OCDS feed holds its award and contract releases);
  - NO_SUITABLE_TITLE: closed with no suitable bid; letters to all.
The evaluation demo's moderated commission is left for you to propose in the demo.

Also writes the OCDS tender release of any published commission that has none (demo
data made before the open data existed). Idempotent (commissions found by title). The
e-mails queued on the way are dropped. Flushes; the caller commits.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from portal import audit, ocds
from portal.demo_mail import discard_story_mail, last_outbox_id
from portal.extensions import db
from portal.models.award import OcdsRelease
from portal.models.base import utcnow
from portal.models.categories import ServiceCategory
from portal.models.commissions import Commission
from portal.services import award as service
from portal.services.standstill import standstill_period

PROPOSED_TITLE = "Literature review on extra-familial harm and contextual safeguarding"
STANDSTILL_TITLE = "Accessible reports from national reviews of neglect"
CONTRACT_TITLE = ("Fieldwork for a national review of disabled children in residential "
                  "settings")
NO_SUITABLE_TITLE = "Analysis of local reviews involving teenage relationship abuse"

PLANS = (
    (PROPOSED_TITLE, 2, "extra-familial harm", (0.6, 0.8), "proposed"),
    (STANDSTILL_TITLE, 5, "neglect", (0.55, 0.75), "standstill"),
    (CONTRACT_TITLE, 1, "disabled children in residential settings", (0.6, 0.65, 0.8),
     "contract"),
    (NO_SUITABLE_TITLE, 3, "teenage relationship abuse", (0.7, 0.75, 0.8), "no_suitable"),
)


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
        start = now - timedelta(days=40) if target == "contract" else now
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
        # Approval comes three hours after the proposal; both lie in the past so that
        # no letter, audit event or OCDS release is dated after the moment of seeding.
        proposed_at = now - (timedelta(days=18) if target == "contract" else timedelta(hours=4))
        _backdate(commission, proposed_at)
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

    discard_story_mail(last_mail, "award", "outcome", "evaluation", "bid", "commission")
    if any(counts.values()):
        audit.record("demo.award_seeded", actor=commissioner, data=counts)
    return counts


def seed_award_step(ctx) -> dict:
    """The `flask seed-demo` step."""
    return seed_demo_award(ctx)


__all__ = ["backfill_tender_releases", "seed_award_step", "seed_demo_award"]
