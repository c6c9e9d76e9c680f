"""Demo data for commissions: `seed_demo_commissions()` is a step of `flask seed-demo`
(wire it in portal/demo.py: `Step("commissions", seed_commissions_step)` after the pool
and profiles steps, since it invites the pool's members).

Through the real services, with the clock set back where a state needs it:
  - a draft (literature review, category 2);
  - an open commission (national fieldwork, category 1) with a public answer, a private
    answer and a question waiting;
  - an open commission whose deadline was extended (thematic analysis, category 3);
  - a closed commission, deadline passed two days ago (LCSPR analysis, category 4);
  - a cancelled one (accessible reports, category 5).
Idempotent: commissions are found by title. The invitation e-mails these would queue are
dropped (nobody should get mail from demo data). Flushes; the caller commits.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from portal import audit
from portal.demo_mail import discard_story_mail, last_outbox_id
from portal.extensions import db
from portal.models.accounts import OrganisationMember, OrgRole, User
from portal.models.base import utcnow
from portal.models.categories import ServiceCategory
from portal.models.commissions import DEFAULT_SCORE_GUIDANCE, Commission, Invitation
from portal.services import clarifications as qa
from portal.services import commissions as service

CRITERIA = {
    "fieldwork": [
        ("Understanding of the brief", "Shows a clear understanding of the review's "
         "questions, the Panel's role and the sensitivities of working with families.", 25),
        ("Methodology and analysis", "A credible approach to case file reading, interviews "
         "and practitioner events, and to analysing the findings.", 30),
        ("Team and experience", "Reviewers with relevant experience of national and local "
         "reviews, and analytic competence on race, ethnicity and poverty.", 20),
    ],
    "literature": [
        ("Search strategy", "Databases, grey literature and inclusion criteria.", 35),
        ("Synthesis", "How evidence of differing quality is weighed and brought together.",
         35),
    ],
}

SPECIFICATION = """## Background

The Panel is reviewing serious incidents involving {topic}. This commission is for the
{work} that will inform the national review.

## Scope

- {scope_1}
- {scope_2}
- engagement with families where they wish to take part

## Questions the work must answer

1. What do the incidents tell us about practice?
2. Which system conditions helped or hindered good practice?
3. What should change nationally?
"""


def _details(number: int, title: str, topic: str, work: str, budget_pounds: int,
             categories: dict[int, ServiceCategory]) -> service.DetailsInput:
    return service.DetailsInput(
        category_id=categories[number].id,
        title=title,
        summary=f"{work.capitalize()} for a national review of {topic}.",
        specification=SPECIFICATION.format(
            topic=topic, work=work, scope_1="reading records from the agencies involved",
            scope_2="interviews with practitioners and managers"),
        deliverables="- an inception report within 4 weeks\n- interim findings\n"
                     "- a draft and a final report, written for practitioners",
        timescale="Start within 4 weeks of award; final report within 6 months.",
        max_budget_pence=budget_pounds * 100,
    )


def _criteria(key: str) -> list[service.CriterionInput]:
    return [
        service.CriterionInput(name=name, description=description, weight=weight,
                               guidance=[DEFAULT_SCORE_GUIDANCE[s] for s in range(5)])
        for name, description, weight in CRITERIA[key]
    ]


def _owner_of_invitee(commission: Commission) -> User | None:
    return db.session.scalars(
        select(User)
        .join(OrganisationMember, OrganisationMember.user_id == User.id)
        .join(Invitation, Invitation.organisation_id == OrganisationMember.organisation_id)
        .where(Invitation.commission_id == commission.id)
        .where(OrganisationMember.role == OrgRole.OWNER)
        .where(User.deactivated_at.is_(None))
        .order_by(Invitation.organisation_id, User.id)
    ).first()


def _draft(actor, details, criteria_key, price_weight, start: datetime,
           clarification_days: int, submission_days: int) -> Commission:
    commission = service.create_draft(actor, details, start)
    service.set_criteria(actor, commission, _criteria(criteria_key), price_weight)
    minute = start.replace(second=0, microsecond=0)
    service.set_deadlines(actor, commission, minute + timedelta(days=clarification_days),
                          minute + timedelta(days=submission_days), start)
    return commission


def seed_demo_commissions(commissioner: User | None, now: datetime | None = None) -> dict:
    """Add the demo commissions (see the module docstring). Returns counts by state."""
    counts = {"draft": 0, "open": 0, "closed": 0, "cancelled": 0, "questions": 0}
    if commissioner is None or not commissioner.is_commissioner:
        return counts
    now = now or utcnow()
    categories = {c.number: c for c in db.session.scalars(select(ServiceCategory))}
    if len(categories) < 5:
        return counts
    existing = set(db.session.scalars(select(Commission.title)))
    last_mail = last_outbox_id()

    def publishable(number: int) -> bool:
        return bool(service.active_memberships(categories[number].id, now))

    title = "Literature review: criminal exploitation of children outside the home"
    if title not in existing:
        _draft(commissioner, _details(2, title, "criminal exploitation outside the home",
                                      "literature review", 30_000, categories),
               "literature", 30, now, 10, 24)
        counts["draft"] += 1

    title = "Fieldwork for a national review of safeguarding infants under one"
    if title not in existing and publishable(1):
        commission = _draft(commissioner, _details(
            1, title, "harm to infants under one", "fieldwork and analysis", 85_000,
            categories), "fieldwork", 25, now - timedelta(days=4), 12, 25)
        service.publish(commissioner, commission, now - timedelta(days=4))
        counts["open"] += 1
        asker = _owner_of_invitee(commission)
        if asker is not None:
            public = qa.ask_question(
                asker, commission, "Will the Panel arrange access to the agencies' records, "
                "or should the reviewers request them directly?", now - timedelta(days=3))
            qa.answer_question(
                commissioner, public, public=True,
                published_question="Who arranges access to the agencies' records?",
                answer="The Panel's secretariat arranges access through the local "
                "safeguarding partnerships before fieldwork starts.",
                now=now - timedelta(days=2))
            private = qa.ask_question(
                asker, commission, "One of our reviewers worked in one of the local "
                "authorities until 2019. Does that stop us bidding?", now - timedelta(days=2))
            qa.answer_question(
                commissioner, private, public=False, published_question=None,
                answer="No, but declare it in the conflicts of interest section of your "
                "bid; the evaluators will take it into account.",
                now=now - timedelta(days=1))
            qa.ask_question(asker, commission, "Can interim findings be given orally?",
                            now - timedelta(hours=3))
            counts["questions"] += 3

    title = "Thematic analysis of rapid reviews involving neglect"
    if title not in existing and publishable(3):
        start = now - timedelta(days=8)
        commission = _draft(commissioner, _details(
            3, title, "neglect", "thematic analysis of rapid reviews", 40_000, categories),
            "literature", 30, start, 8, 14)
        service.publish(commissioner, commission, start)
        minute = now.replace(second=0, microsecond=0)
        service.extend_deadline(
            commissioner, commission, minute + timedelta(days=5),
            minute + timedelta(days=13),
            "More rapid reviews have been added to the sample, so we have allowed more "
            "time.", now - timedelta(days=1))
        counts["open"] += 1

    title = "Analysis of local reviews involving domestic abuse"
    if title not in existing and publishable(4):
        start = now - timedelta(days=16)
        commission = _draft(commissioner, _details(
            4, title, "domestic abuse", "analysis of local reviews", 55_000, categories),
            "fieldwork", 25, start, 7, 14)
        service.publish(commissioner, commission, start)
        counts["closed"] += 1

    title = "Easy-read summary of the Panel's annual report"
    if title not in existing and publishable(5):
        start = now - timedelta(days=6)
        commission = _draft(commissioner, _details(
            5, title, "the Panel's annual findings", "easy-read summary", 12_000,
            categories), "literature", 30, start, 6, 15)
        service.publish(commissioner, commission, start)
        service.cancel(commissioner, commission, "The annual report's publication has "
                       "moved to next year; we will commission the summary then.",
                       now - timedelta(days=2))
        counts["cancelled"] += 1

    discard_story_mail(last_mail, "commission")
    if any(counts.values()):
        audit.record("demo.commissions_seeded", actor=commissioner, data=counts)
    return counts


def seed_commissions_step(ctx) -> dict:
    """The `flask seed-demo` step."""
    return seed_demo_commissions(ctx.users.get("commissioner"))
