"""Demo data for bids: `seed_demo_bids()` is a step of `flask seed-demo`. Wire it in
portal/demo.py after the commissions step: `Step("bids", seed_bids_step)`.

On the demo commissions (portal/demo_commissions.py), bids in every state:
  - open fieldwork commission: a bid submitted twice (two versions in its history), a
    draft in progress and a withdrawn bid;
  - open thematic analysis commission (deadline extended): a bid that needs
    re-confirmation after a change, and a submitted one;
  - closed domestic abuse commission (deadline passed, bids still sealed): two bids
    submitted before the deadline and one draft that never was, ready for a commissioner
    to open in the demo.
Bids are written row by row with the submission times set where the story needs them
(`record_submission` stores versions and receipts as a real submission does). Idempotent:
an organisation's bid on a commission is made once. Receipt e-mails are dropped (nobody
should get mail from demo data). Flushes; the caller commits.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from portal import audit
from portal.demo_mail import discard_story_mail, last_outbox_id
from portal.extensions import db
from portal.models.accounts import OrganisationMember, OrgRole, User
from portal.models.base import utcnow
from portal.models.bids import (
    Bid,
    BidExpense,
    BidMilestone,
    BidStatus,
    BidTeamMember,
    ConflictsAnswer,
)
from portal.models.commissions import Commission, Invitation
from portal.models.profiles import ReviewerProfile
from portal.services import bids as service

FIELDWORK = "Fieldwork for a national review of safeguarding infants under one"
THEMATIC = "Thematic analysis of rapid reviews involving neglect"
CLOSED = "Analysis of local reviews involving domestic abuse"

UNDERSTANDING = (
    "The review must explain why {topic} keeps recurring in serious incident "
    "notifications, and what national and local agencies can change. We read the brief as "
    "asking for evidence from practice, not only from records: what practitioners knew, "
    "when, and what got in the way of acting on it."
)
METHODOLOGY = (
    "1. Inception: agree the sample and the questions with the Panel.\n"
    "2. Case file reading of the sampled reviews with a structured template, double-coded "
    "for a fifth of cases.\n"
    "3. Interviews and practitioner events in three areas, with families invited to take "
    "part.\n"
    "4. Thematic analysis, tested with the Panel's reference group.\n"
    "Ethics: trauma-informed interviewing, data kept on the Panel's systems only."
)
ROLES = ("Lead reviewer", "Co-reviewer", "Data analyst")
MILESTONES = (
    ("Inception report", 30),
    ("Interim findings", 90),
    ("Draft report", 150),
    ("Final report", 180),
)


def _owner(organisation_id: int) -> User | None:
    return db.session.scalars(
        select(User)
        .join(OrganisationMember, OrganisationMember.user_id == User.id)
        .where(OrganisationMember.organisation_id == organisation_id)
        .where(OrganisationMember.role == OrgRole.OWNER)
        .where(User.deactivated_at.is_(None))
        .order_by(User.id)
    ).first()


def _invitees(commission: Commission) -> list[tuple[int, User]]:
    """(organisation id, owner) for every invited organisation with an owner."""
    ids = db.session.scalars(
        select(Invitation.organisation_id).where(Invitation.commission_id == commission.id)
        .order_by(Invitation.organisation_id)
    ).all()
    return [(org_id, owner) for org_id in ids if (owner := _owner(org_id)) is not None]


def _profiles(organisation_id: int, user_name: str) -> list[ReviewerProfile]:
    profiles = db.session.scalars(
        select(ReviewerProfile)
        .where(ReviewerProfile.organisation_id == organisation_id)
        .where(ReviewerProfile.removed_at.is_(None))
        .order_by(ReviewerProfile.id).limit(3)
    ).all()
    if profiles:
        return list(profiles)
    profile = ReviewerProfile(organisation_id=organisation_id, name=user_name,
                              professional_background="social_work", years_experience=15,
                              day_rate_pence=550_00, summary="Independent reviewer.")
    db.session.add(profile)
    db.session.flush()
    return [profile]


def _fill(bid: Bid, owner: User, topic: str, budget_pence: int | None, at: datetime,
          *, share: float, conflict: bool = False) -> None:
    """Every section of a realistic bid, priced at about `share` of the budget."""
    bid.understanding = UNDERSTANDING.format(topic=topic)
    bid.methodology = METHODOLOGY
    profiles = _profiles(bid.organisation_id, owner.name)
    target = int((budget_pence or 50_000_00) * share)
    expenses = 1_200_00
    per_person = max(1, (target - expenses) // len(profiles))
    for index, profile in enumerate(profiles):
        rate = profile.day_rate_pence or 500_00
        days = max(1, min(200, per_person // rate))
        bid.team.append(BidTeamMember(profile_id=profile.id, role=ROLES[index % len(ROLES)],
                                      days=days, day_rate_pence=rate,
                                      rate_from_profile=profile.day_rate_pence is not None))
    start = at.date() + timedelta(days=40)
    for title, offset in MILESTONES:
        bid.milestones.append(BidMilestone(title=title, description="",
                                           due_date=start + timedelta(days=offset)))
    bid.expenses.append(BidExpense(description="Travel and subsistence for fieldwork",
                                   amount_pence=expenses))
    bid.conflicts_answer = ConflictsAnswer.DECLARED if conflict else ConflictsAnswer.NONE
    bid.conflicts_statement = (
        "One co-reviewer worked as a team manager in one of the sampled local authorities "
        "until 2019. They would not review cases from that area." if conflict else "")
    bid.price_confirmed_at = at
    bid.declaration_accepted_at = at
    bid.declaration_accepted_by_id = owner.id


def _bid(commission: Commission, organisation_id: int, owner: User, at: datetime,
         counts: dict) -> Bid | None:
    if service.bid_for(commission, organisation_id) is not None:
        return None
    bid = Bid(commission_id=commission.id, organisation_id=organisation_id,
              status=BidStatus.DRAFT, created_at=at, created_by_id=owner.id)
    db.session.add(bid)
    db.session.flush()
    counts["bids"] += 1
    return bid


def _commission(title: str) -> Commission | None:
    return db.session.scalar(select(Commission).where(Commission.title == title))


def seed_demo_bids(now: datetime | None = None) -> dict:
    """Add the demo bids (see the module docstring). Returns counts by state."""
    now = now or utcnow()
    counts = {"bids": 0, "submitted": 0, "draft": 0, "withdrawn": 0,
              "needs_reconfirmation": 0}
    last_mail = last_outbox_id()

    fieldwork = _commission(FIELDWORK)
    if fieldwork is not None:
        invitees = _invitees(fieldwork)
        topic = "harm to infants under one"
        budget = fieldwork.max_budget_pence
        if len(invitees) > 0 and (bid := _bid(fieldwork, *invitees[0], now - timedelta(days=3),
                                              counts)):
            owner = invitees[0][1]
            _fill(bid, owner, topic, budget, now - timedelta(days=3), share=0.82,
                  conflict=True)
            service.record_submission(owner, bid, now - timedelta(days=2, hours=5))
            bid.understanding += ("\n\nSince our first submission we have added the "
                                  "answer on records access published by the Panel.")
            bid.status = BidStatus.DRAFT
            service.record_submission(owner, bid, now - timedelta(hours=20))
            counts["submitted"] += 1
        if len(invitees) > 1 and (bid := _bid(fieldwork, *invitees[1], now - timedelta(days=1),
                                              counts)):
            _fill(bid, invitees[1][1], topic, budget, now - timedelta(days=1), share=0.9)
            bid.declaration_accepted_at = None  # still being written
            bid.price_confirmed_at = None
            counts["draft"] += 1
        if len(invitees) > 2 and (bid := _bid(fieldwork, *invitees[2], now - timedelta(days=3),
                                              counts)):
            owner = invitees[2][1]
            _fill(bid, owner, topic, budget, now - timedelta(days=3), share=0.7)
            service.record_submission(owner, bid, now - timedelta(days=2))
            bid.status = BidStatus.WITHDRAWN
            bid.withdrawn_at = now - timedelta(days=1)
            bid.withdrawn_by_id = owner.id
            audit.record("bid.withdrawn", actor=owner, obj=bid,
                         data={"status_before": "submitted"})
            counts["withdrawn"] += 1

    thematic = _commission(THEMATIC)
    if thematic is not None:
        invitees = _invitees(thematic)
        topic = "neglect"
        for index, (organisation_id, owner) in enumerate(invitees[:2]):
            bid = _bid(thematic, organisation_id, owner, now - timedelta(days=6), counts)
            if bid is None:
                continue
            _fill(bid, owner, topic, thematic.max_budget_pence, now - timedelta(days=6),
                  share=0.75 + index * 0.1)
            service.record_submission(owner, bid, now - timedelta(days=5))
            if index == 0:
                bid.status = BidStatus.NEEDS_RECONFIRMATION
                bid.reconfirmation_requested_at = now - timedelta(days=1)
                audit.record("bid.needs_reconfirmation", obj=bid,
                             data={"commission_id": thematic.id})
                counts["needs_reconfirmation"] += 1
            else:
                counts["submitted"] += 1

    closed = _commission(CLOSED)
    if closed is not None and closed.submission_deadline is not None:
        invitees = _invitees(closed)
        deadline = closed.submission_deadline
        topic = "domestic abuse"
        for index, (organisation_id, owner) in enumerate(invitees[:3]):
            at = deadline - timedelta(days=3 - index)
            bid = _bid(closed, organisation_id, owner, at, counts)
            if bid is None:
                continue
            _fill(bid, owner, topic, closed.max_budget_pence, at, share=0.6 + index * 0.15,
                  conflict=index == 1)
            if index < 2:
                service.record_submission(owner, bid, deadline - timedelta(hours=30 - index))
                counts["submitted"] += 1
            else:
                bid.declaration_accepted_at = None  # never finished before the deadline
                counts["draft"] += 1

    discard_story_mail(last_mail, "bid")
    if counts["bids"]:
        audit.record("demo.bids_seeded", data=counts)
    return counts


def seed_bids_step(ctx) -> dict:
    """The `flask seed-demo` step."""
    return seed_demo_bids()


__all__ = ["seed_bids_step", "seed_demo_bids"]
