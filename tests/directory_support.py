"""Reviewers with known attributes for the directory tests."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from portal.extensions import db
from portal.models import (
    DirectoryConsent,
    ExpertiseTag,
    PoolMembership,
    ReviewerCompetence,
    ReviewerProfile,
    ReviewerPublication,
    ReviewerRegion,
    ServiceCategory,
    utcnow,
)
from portal.models.profiles import CompetenceArea, seed_expertise_tags
from tests.fixtures.users import OrganisationFactory


def tag(name: str) -> ExpertiseTag:
    seed_expertise_tags()
    found = db.session.scalar(select(ExpertiseTag).where(ExpertiseTag.name == name))
    if found is None:
        found = ExpertiseTag(name=name)
        db.session.add(found)
        db.session.flush()
    return found


def member_organisation(name: str | None = None, *, categories=(1,), status="active",
                        expired: bool = False):
    """An organisation with a pool membership in each of `categories`."""
    organisation = OrganisationFactory(**({"legal_name": name} if name else {}))
    now = utcnow()
    for number in categories:
        category = db.session.scalar(
            select(ServiceCategory).where(ServiceCategory.number == number))
        expires = now - timedelta(days=1) if expired else now + timedelta(days=365)
        db.session.add(PoolMembership(
            organisation_id=organisation.id, category_id=category.id,
            status="expired" if expired and status == "active" else status,
            started_at=expires - timedelta(days=730), expires_at=expires,
        ))
    db.session.commit()
    return organisation


def reviewer(name: str, organisation=None, *, background: str = "social_work",
             years: int = 10, summary: str = "", expertise=(), regions=("london",),
             competences=(), publications=(), consent: bool = True, dbs: bool = False,
             available_from: date | None = None, unavailable: bool = False,
             day_rate: int | None = 60000, **reviews) -> ReviewerProfile:
    """A profile; `reviews` are counts by type (lcspr=3, serious_case=2, ...)."""
    organisation = organisation or member_organisation()
    profile = ReviewerProfile(
        organisation_id=organisation.id, name=name, professional_background=background,
        years_experience=years, summary=summary or f"{name} reviews practice.",
        dbs_current=dbs, available_from=available_from, is_unavailable=unavailable,
        day_rate_pence=day_rate, days_per_month=4,
    )
    for kind, count in reviews.items():
        setattr(profile, f"reviews_{kind}", count)
    profile.expertise = [tag(t) for t in expertise]
    for region in regions:
        profile.region_links.append(ReviewerRegion(region=region))
    for area in CompetenceArea:
        yes = area.value in competences
        profile.competences.append(ReviewerCompetence(
            area=area.value, has_competence=yes, example="An example." if yes else None))
    for title, kind in publications:
        profile.publications.append(ReviewerPublication(
            title=title, url="https://example.org/review", year=2022, review_type=kind))
    if consent:
        profile.consents.append(DirectoryConsent(text_version="test"))
    db.session.add(profile)
    db.session.commit()
    return profile


def listed_in(organisation, *, categories=(1,)):
    """Give an existing organisation active memberships in `categories`."""
    now = utcnow()
    for number in categories:
        category = db.session.scalar(
            select(ServiceCategory).where(ServiceCategory.number == number))
        current = db.session.scalar(select(PoolMembership.id).where(
            PoolMembership.organisation_id == organisation.id,
            PoolMembership.category_id == category.id,
            PoolMembership.status.in_(("active", "suspended"))))
        if current is not None:
            continue
        db.session.add(PoolMembership(
            organisation_id=organisation.id, category_id=category.id, status="active",
            started_at=now - timedelta(days=30), expires_at=now + timedelta(days=700),
        ))
    db.session.flush()
    return organisation
