"""Demo data for evaluation: `seed_evaluation_step` is a step of `flask seed-demo`
(wired in portal/demo.py after the bids step).

Four commissions whose deadline has passed, each with three submitted bids (built as the
bids demo builds them) and their bids opened, at successive stages of evaluation:
  - OPENED_TITLE (category 1): a panel assigned, evaluation not started yet;
  - IN_EVALUATION_TITLE (category 3): one evaluator has submitted, one has draft scores,
    one declared a conflict of interest with a bidder and scored the others;
  - MODERATED_SEALED_TITLE (category 3): every evaluator submitted and moderation is
    complete, but the price envelope is still closed: the commissioner opens it next;
  - MODERATED_TITLE (category 4): every evaluator submitted, moderated, the price
    envelope opened, and a decision noted on a possibly abnormally low price: ready for
    the award work package to propose an award.

The panel: the demo evaluator (Daniel Okoye, moderator) and two more evaluators added
here (EVALUATION_LOGINS). `run_evaluation(commission, commissioner, panel, until=...)`
drives a commission with opened bids through the real services to any stage, for other
demo steps (the award demo) to reuse.

Idempotent: commissions are found by title. E-mails queued on the way are dropped.
Flushes; the caller commits.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from portal import audit
from portal.demo_mail import discard_story_mail, last_outbox_id
from portal.extensions import db
from portal.models.accounts import StaffRole, User
from portal.models.base import utcnow
from portal.models.categories import ServiceCategory
from portal.models.commissions import Commission
from portal.services import bids as bid_service
from portal.services import evaluation as service
from portal.services.ranking import rank_bids

OPENED_TITLE = "Literature review on online harm and children's use of social media"
IN_EVALUATION_TITLE = ("Thematic analysis of serious incident notifications involving "
                       "sudden unexpected death in infancy")
MODERATED_TITLE = "Analysis of local reviews involving child criminal exploitation"
MODERATED_SEALED_TITLE = ("Analysis of local reviews involving children missing from "
                          "education")

EXTRA_EVALUATORS = [
    ("evaluator2@panel.example", "Grace Adeyemi"),
    ("evaluator3@panel.example", "Samuel Whitfield"),
]

STAGES = ("panel", "started", "submitted", "moderated", "price_opened")

JUSTIFICATIONS = {
    0: "The response does not address this criterion: there is no evidence of how it "
       "would be met.",
    1: "Only part of the requirement is addressed; the approach is generic and gives little "
       "evidence from comparable reviews.",
    2: "The response meets the requirement, though the plan for engaging practitioners is "
       "thin and the sampling is not fully explained.",
    3: "A clear, well-evidenced response: the team has led comparable national reviews and "
       "the method suits the questions.",
    4: "An excellent response: strong evidence from comparable work, a realistic plan and "
       "added value in how families are involved.",
}


def _evaluator(ctx, email: str, name: str, counts: dict) -> User:
    from portal.demo import demo_user

    user, created = demo_user(ctx, email, name, "evaluator",
                              staff_roles=(StaffRole.EVALUATOR,), totp=True)
    counts["evaluators"] += created
    return user


def _score(bid_index: int, evaluator_index: int, criterion_index: int) -> int:
    base = (3, 2, 4)[bid_index % 3]
    offset = (0, -1, 1)[evaluator_index % 3] * (1 if criterion_index % 2 == 0 else 0)
    return max(0, min(4, base + offset))


def run_evaluation(commission: Commission, commissioner: User, panel: list[User], *,
                   until: str = "price_opened", conflict: tuple[int, int] | None = None,
                   drafts_only: tuple[int, ...] = ()) -> None:
    """Drive `commission` (bids opened) to the stage `until` (one of STAGES) with the
    real services. panel[0] is the moderator. `conflict=(evaluator index, bid index)`
    declares a conflict; evaluators in `drafts_only` save drafts but do not submit."""
    stop = STAGES.index(until)
    existing = {a.user_id for a in service.assignments(commission)}
    for index, user in enumerate(panel):
        if user.id not in existing:
            service.assign_evaluator(commissioner, commission, user.id, moderator=index == 0)
    if stop < 1:
        return
    if commission.evaluation_started_at is None:
        service.start_evaluation(commissioner, commission)
    bids = bid_service.bids_for_staff(commissioner, commission)
    for e_index, user in enumerate(panel):
        assignment = service.evaluator_assignment(commission, user)
        if assignment is None or assignment.has_submitted:
            continue
        for b_index, bid in enumerate(bids):
            if service.declaration_for(assignment, bid) is None:
                conflicted = conflict == (e_index, b_index)
                service.declare(user, commission, bid, conflicted,
                                "I supervised one of this bidder's reviewers on a previous "
                                "review." if conflicted else "")
            if conflict == (e_index, b_index):
                continue
            service.save_scores(user, commission, bid, [
                service.ScoreInput(c.id, str(_score(b_index, e_index, c_index)),
                                   JUSTIFICATIONS[_score(b_index, e_index, c_index)])
                for c_index, c in enumerate(commission.criteria)
            ])
        if stop >= 2 and e_index not in drafts_only:
            service.submit_scores(user, commission)
    if stop < 3:
        return
    moderator = panel[0]
    for b_index, bid in enumerate(bids):
        service.save_consensus(moderator, commission, bid, [
            service.ConsensusInput(
                c.id, str(_score(b_index, 0, c_index)),
                "The panel discussed the range of scores and agreed this one: "
                + JUSTIFICATIONS[_score(b_index, 0, c_index)])
            for c_index, c in enumerate(commission.criteria)
        ])
    service.complete_moderation(moderator, commission)
    if stop < 4:
        return
    service.open_price(commissioner, commission)
    for row in rank_bids(commission).pending_decisions:
        service.decide_abnormally_low(
            commissioner, commission, row.bid, "accepted",
            "The bidder explained the price: a university research grant meets part of the "
            "cost, and the day rates are their published rates.")


def _closed_commission(commissioner: User, number: int, title: str, topic: str,
                       categories: dict[int, ServiceCategory], now: datetime,
                       shares: tuple[float, ...]) -> Commission | None:
    """A published commission whose deadline passed, with one submitted bid per share,
    and its bids opened. None when the category has too few members."""
    from portal.demo_bids import _bid, _fill, _invitees
    from portal.demo_commissions import _details, _draft
    from portal.services import commissions as commission_service

    if len(commission_service.active_memberships(categories[number].id, now)) < len(shares):
        return None
    start = now - timedelta(days=21)
    commission = _draft(commissioner, _details(
        number, title, topic, "analysis and reporting", 60_000, categories),
        "fieldwork", 25, start, 7, 14)
    commission_service.publish(commissioner, commission, start)
    deadline = commission.submission_deadline
    counts = {"bids": 0}
    for index, (organisation_id, owner) in enumerate(_invitees(commission)[:len(shares)]):
        at = deadline - timedelta(days=4 - index)
        bid = _bid(commission, organisation_id, owner, at, counts)
        if bid is None:
            continue
        _fill(bid, owner, topic, commission.max_budget_pence, at, share=shares[index])
        bid_service.record_submission(owner, bid, at + timedelta(hours=2))
    db.session.flush()
    bid_service.open_bids(commissioner, commission)
    return commission


def seed_demo_evaluation(ctx, now: datetime | None = None) -> dict:
    counts = {"commissions": 0, "evaluators": 0}
    commissioner = ctx.users.get("commissioner")
    daniel = ctx.users.get("evaluator")
    if commissioner is None or daniel is None:
        return counts
    now = now or utcnow()
    categories = {c.number: c for c in db.session.scalars(select(ServiceCategory))}
    if len(categories) < 5:
        return counts
    existing = set(db.session.scalars(select(Commission.title)))
    last_mail = last_outbox_id()
    panel = [daniel] + [_evaluator(ctx, email, name, counts)
                        for email, name in EXTRA_EVALUATORS]

    plans = [
        (OPENED_TITLE, 1, "online harm", (0.6, 0.75, 0.85), dict(until="panel")),
        (IN_EVALUATION_TITLE, 3, "sudden unexpected death in infancy", (0.55, 0.7, 0.8),
         dict(until="submitted", conflict=(2, 0), drafts_only=(1, 2))),
        (MODERATED_TITLE, 4, "child criminal exploitation", (0.25, 0.7, 0.8),
         dict(until="price_opened")),
        (MODERATED_SEALED_TITLE, 3, "children missing from education", (0.6, 0.7, 0.8),
         dict(until="moderated")),
    ]
    for title, number, topic, shares, stage in plans:
        if title in existing:
            continue
        commission = _closed_commission(commissioner, number, title, topic, categories, now,
                                        shares)
        if commission is None:
            continue
        run_evaluation(commission, commissioner, panel, **stage)
        counts["commissions"] += 1

    discard_story_mail(last_mail, "evaluation", "bid", "commission")
    if any(counts.values()):
        audit.record("demo.evaluation_seeded", actor=commissioner, data=counts)
    return counts


def seed_evaluation_step(ctx) -> dict:
    """The `flask seed-demo` step."""
    return seed_demo_evaluation(ctx)


def evaluation_logins() -> tuple:
    from portal.demo import DemoLogin

    return tuple(
        DemoLogin(email, "evaluator", f"Evaluator ({name}): on the demo evaluation panels",
                  totp=True)
        for email, name in EXTRA_EVALUATORS
    )


__all__ = ["run_evaluation", "seed_demo_evaluation", "seed_evaluation_step"]
