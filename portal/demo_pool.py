"""Demo data for the pool: `seed_demo_pool()` is a step of `flask seed-demo`.

Adds supplier organisations (each with an owner who can sign in) admitted across all
five categories, a few applications waiting in the commissioners' queue, one with
changes requested, and one suspended member. Idempotent: organisations are found by
name and skipped when they exist. Flushes; the caller commits.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from portal import audit
from portal.extensions import db
from portal.models.accounts import Organisation, OrganisationMember, OrgRole, User
from portal.models.base import utcnow
from portal.models.categories import ServiceCategory, seed_service_categories
from portal.models.pool import (
    ApplicationCategory,
    ApplicationKind,
    ApplicationStatus,
    Decision,
    DeclarationAnswer,
    DeclarationQuestion,
    MembershipEvent,
    MembershipStatus,
    PoolApplication,
    PoolMembership,
    seed_declaration_questions,
)
from portal.services.pool import add_months

# name, kind, admitted category numbers, reviewers
MEMBERS = [
    ("Northern Safeguarding Research Ltd", "company", [1, 3, 4],
     ["Dr Helen Ashworth", "Sam Okafor"]),
    ("University of Midshire Centre for Child Protection", "university", [1, 2, 3],
     ["Professor Ruth Campbell", "Dr Imran Siddiqui"]),
    ("Clear Words Reports CIC", "other", [5], ["Megan Price"]),
    ("Jane Whitfield Associates", "sole_trader", [1, 4], ["Jane Whitfield"]),
    ("Evidence Matters Partnership", "partnership", [2, 5],
     ["Dr Tom Hughes", "Aisha Rahman", "Lucy Ng"]),
    ("South West Practice Reviews Ltd", "company", [3, 4], ["Peter Doyle"]),
]
WAITING = [
    ("Coastal Review Collective", "partnership", [1, 2], 12),
    ("Dr Priya Nair", "individual", [4], 3),
    ("Brightline Analytics Ltd", "company", [3, 5], 30),
]
CHANGES_REQUESTED = ("Open Lens Research", "charity", [2])
SUSPENDED = ("Harbour Consulting Ltd", "company", [1])


def _organisation(name: str, kind: str, password_hash: str | None) -> Organisation | None:
    if db.session.scalars(select(Organisation).where(Organisation.legal_name == name)).first():
        return None
    organisation = Organisation(legal_name=name)
    for field, value in (("kind", kind), ("address_line_1", "1 Example Street"),
                         ("town", "Leeds"), ("postcode", "LS1 4AP"), ("is_sme", True)):
        if hasattr(Organisation, field):
            setattr(organisation, field, value)
    if kind == "company" and hasattr(Organisation, "companies_house_number"):
        organisation.companies_house_number = "01234567"
    if kind == "charity" and hasattr(Organisation, "charity_number"):
        organisation.charity_number = "1123456"
    db.session.add(organisation)
    slug = "".join(ch for ch in name.lower() if ch.isalnum())[:30]
    user = User(email=f"owner@{slug}.example", name=f"Owner of {name}",
                password_hash=password_hash, email_verified_at=utcnow())
    db.session.add(OrganisationMember(organisation=organisation, user=user, role=OrgRole.OWNER))
    db.session.flush()
    return organisation


def _reviewers(organisation: Organisation, names: list[str]) -> None:
    try:
        from portal.models.profiles import ReviewerProfile
    except ImportError:
        return
    for name in names:
        db.session.add(ReviewerProfile(organisation_id=organisation.id, name=name,
                                       professional_background="academic_research"))


def _application(organisation, numbers, status, submitted, categories) -> PoolApplication:
    application = PoolApplication(
        organisation_id=organisation.id, kind=ApplicationKind.JOIN, status=status,
        declarations_saved_at=submitted, first_submitted_at=submitted, submitted_at=submitted,
    )
    for number in numbers:
        application.categories.append(ApplicationCategory(category_id=categories[number].id))
    for question in db.session.scalars(select(DeclarationQuestion)):
        if question.answer_type == "yes_no":
            value = "no" if question.rule.get("no") == "pass" else "yes"
        elif question.answer_type == "amount":
            value = "2000000"
        else:
            value = (submitted + timedelta(days=300)).date().isoformat()
        application.answers.append(DeclarationAnswer(
            question=question, value=value,
            assessment=question.assess(value, submitted.date()),
        ))
    db.session.add(application)
    db.session.flush()
    return application


def seed_demo_pool(commissioner: User | None = None, password_hash: str | None = None) -> dict:
    """Add the demo pool. `commissioner` is recorded as the decision maker;
    `password_hash` is given to each demo owner (None: they cannot sign in)."""
    seed_service_categories()
    seed_declaration_questions()
    categories = {c.number: c for c in db.session.scalars(select(ServiceCategory))}
    now = utcnow()
    counts = {"members": 0, "waiting": 0, "changes_requested": 0, "suspended": 0}
    actor_id = getattr(commissioner, "id", None)

    def admit(organisation, numbers, started, status=ApplicationStatus.ADMITTED):
        application = _application(organisation, numbers, status, started, categories)
        for entry in application.categories:
            entry.decision = Decision.ADMITTED
            entry.reason = "Meets the membership criteria for this category."
            entry.decided_at = started + timedelta(days=5)
            entry.decided_by_id = actor_id
            membership = PoolMembership(
                organisation_id=organisation.id, category_id=entry.category_id,
                application_id=application.id, status=MembershipStatus.ACTIVE,
                started_at=entry.decided_at,
                expires_at=add_months(entry.decided_at,
                                      categories_by_id[entry.category_id].membership_months),
            )
            membership.events.append(MembershipEvent(
                action="admitted", reason=entry.reason, actor_id=actor_id,
                occurred_at=entry.decided_at, expires_at=membership.expires_at))
            db.session.add(membership)
        application.decided_at = started + timedelta(days=5)
        db.session.flush()
        return application

    categories_by_id = {c.id: c for c in categories.values()}
    for index, (name, kind, numbers, reviewers) in enumerate(MEMBERS):
        organisation = _organisation(name, kind, password_hash)
        if organisation is None:
            continue
        _reviewers(organisation, reviewers)
        admit(organisation, numbers, now - timedelta(days=40 + 60 * index))
        counts["members"] += 1

    for name, kind, numbers, days in WAITING:
        organisation = _organisation(name, kind, password_hash)
        if organisation is None:
            continue
        _application(organisation, numbers, ApplicationStatus.SUBMITTED,
                     now - timedelta(days=days), categories)
        counts["waiting"] += 1

    name, kind, numbers = CHANGES_REQUESTED
    organisation = _organisation(name, kind, password_hash)
    if organisation is not None:
        application = _application(organisation, numbers, ApplicationStatus.CHANGES_REQUESTED,
                                   now - timedelta(days=20), categories)
        for entry in application.categories:
            entry.decision = Decision.CHANGES_REQUESTED
            entry.reason = "Please upload a sample of a published literature review."
            entry.decided_at = now - timedelta(days=15)
            entry.decided_by_id = actor_id
        counts["changes_requested"] += 1

    name, kind, numbers = SUSPENDED
    organisation = _organisation(name, kind, password_hash)
    if organisation is not None:
        _reviewers(organisation, ["Mark Ellis"])
        admit(organisation, numbers, now - timedelta(days=200))
        for membership in db.session.scalars(
            select(PoolMembership).where(PoolMembership.organisation_id == organisation.id)
        ):
            membership.status = MembershipStatus.SUSPENDED
            membership.suspended_at = now - timedelta(days=7)
            membership.events.append(MembershipEvent(
                action="suspended", reason="Insurance certificate out of date.",
                actor_id=actor_id, occurred_at=membership.suspended_at))
        counts["suspended"] += 1

    db.session.flush()
    if any(counts.values()):
        audit.record("demo.pool_seeded", actor=commissioner, data=counts)
    return counts
