"""Helpers for the pool tests (imported by tests/test_pool*.py and the access rules)."""

from __future__ import annotations

import io
from datetime import date, timedelta

from portal.extensions import db
from portal.models.base import utcnow
from portal.models.categories import ServiceCategory
from portal.models.document import Document
from portal.models.pool import (
    ApplicationCategory,
    ApplicationEvidence,
    ApplicationKind,
    ApplicationStatus,
    DeclarationAnswer,
    DeclarationQuestion,
    MembershipStatus,
    PoolApplication,
    PoolMembership,
    seed_declaration_questions,
)
from portal.models.profiles import OrganisationRegion, ReviewerProfile, ReviewerSensitiveData
from portal.services.pool import add_months

PDF_BYTES = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def pdf_upload(name: str = "cv.pdf"):
    return (io.BytesIO(PDF_BYTES), name)


def complete_details(organisation) -> None:
    """Fill in the organisation details the profiles package asks for."""
    organisation.kind = "university"
    organisation.address_line_1 = "1 High Street"
    organisation.town = "Leeds"
    organisation.postcode = "LS1 1AA"
    organisation.is_sme = False
    if not organisation.region_links:
        organisation.region_links.append(OrganisationRegion(region="london"))
    db.session.commit()


def category(number: int) -> ServiceCategory:
    return db.session.query(ServiceCategory).filter_by(number=number).one()


def passing_answers_form(today=None) -> dict:
    """Form data answering every declaration so that each one passes."""
    today = today or utcnow().date()
    expiry = today + timedelta(days=365)
    data = {}
    for q in db.session.query(DeclarationQuestion).filter_by(is_active=True):
        name = f"q_{q.key}"
        if q.answer_type == "yes_no":
            data[name] = "yes" if q.rule.get("yes") == "pass" else "no"
        elif q.answer_type == "amount":
            data[name] = "£2,000,000"
        elif q.answer_type == "date":
            data[f"{name}-day"] = str(expiry.day)
            data[f"{name}-month"] = str(expiry.month)
            data[f"{name}-year"] = str(expiry.year)
    return data


def make_document(user=None, name="evidence.pdf") -> Document:
    import uuid

    document = Document(
        storage_key=f"pool/{uuid.uuid4()}",
        area="pool",
        original_name=name,
        content_type="application/pdf",
        size=len(PDF_BYTES),
        sha256="0" * 64,
        uploaded_by_id=getattr(user, "id", None),
    )
    db.session.add(document)
    db.session.flush()
    return document


def make_application(
    organisation,
    categories=(1,),
    status=ApplicationStatus.SUBMITTED,
    user=None,
    submitted_days_ago: int = 1,
    with_evidence: bool = True,
) -> PoolApplication:
    """An application built directly in the database (for the commissioner side)."""
    seed_declaration_questions()
    now = utcnow()
    submitted = now - timedelta(days=submitted_days_ago)
    application = PoolApplication(
        organisation_id=organisation.id,
        kind=ApplicationKind.JOIN,
        status=status,
        created_by_id=getattr(user, "id", None),
        declarations_saved_at=submitted,
    )
    if status != ApplicationStatus.DRAFT:
        application.first_submitted_at = submitted
        application.submitted_at = submitted
    for number in categories:
        application.categories.append(ApplicationCategory(category_id=category(number).id))
    for q in db.session.query(DeclarationQuestion):
        if q.answer_type == "yes_no":
            value = "no" if q.rule.get("no") == "pass" else "yes"
        elif q.answer_type == "amount":
            value = "500000"
        else:
            value = (now + timedelta(days=400)).date().isoformat()
        application.answers.append(
            DeclarationAnswer(
                question=q, value=value, assessment=q.assess(value, now.date()),
                details="Some details" if q.details_required_on == value else None,
            )
        )
    db.session.add(application)
    db.session.flush()
    if with_evidence:
        for number in categories:
            for kind in ("cv", "sample"):
                application.evidence.append(
                    ApplicationEvidence(
                        category_id=category(number).id, kind=kind,
                        description=f"{kind} for {number}",
                        document=make_document(user, f"{kind}-{number}.pdf"),
                    )
                )
    db.session.commit()
    return application


def make_membership(
    organisation, number: int = 1, status=MembershipStatus.ACTIVE, expires_in_days: int = 365
) -> PoolMembership:
    now = utcnow()
    expires = now + timedelta(days=expires_in_days)
    membership = PoolMembership(
        organisation_id=organisation.id,
        category_id=category(number).id,
        status=status,
        started_at=min(add_months(expires, -24), now - timedelta(days=1)),
        expires_at=expires,
    )
    db.session.add(membership)
    db.session.commit()
    return membership


SENSITIVE_MARKER = "LIVED-EXPERIENCE-MARKER-R4V"
# What would show if special-category data leaked onto a page.
SPECIAL_CATEGORY_TEXT = (SENSITIVE_MARKER, "29 February 2024", "29/02/2024", "2024-02-29",
                         "Lived experience", "Mixed or multiple ethnic groups", "Ethnic group",
                         "DBS certificate")


def add_reviewer(organisation, name, background="social_work", years=5, **columns):
    profile = ReviewerProfile(organisation_id=organisation.id, name=name,
                              professional_background=background, years_experience=years,
                              **columns)
    db.session.add(profile)
    db.session.commit()
    return profile


def give_every_answer(organisation) -> ReviewerProfile:
    """Every organisation answer given (a company, with an address line that needs
    escaping), two reviewers (Dr Rowan Field, with special-category data, and Ash Quinn)
    and a removed one. Returns Dr Rowan Field."""
    complete_details(organisation)
    organisation.trading_name = "Applicant Research"
    organisation.kind = "company"
    organisation.companies_house_number = "09876543"
    organisation.address_line_2 = "Floor <2>"
    organisation.website = "https://applicant-research.example"
    organisation.is_sme = True
    organisation.region_links.append(OrganisationRegion(region="north_east"))
    db.session.commit()
    rowan = add_reviewer(organisation, "Dr Rowan Field", "academic_research", 12)
    rowan.sensitive = ReviewerSensitiveData(
        ethnicity="mixed", lived_experience="yes", lived_experience_detail=SENSITIVE_MARKER,
        dbs_type="enhanced", dbs_certificate_date=date(2024, 2, 29), dbs_update_service=True,
    )
    add_reviewer(organisation, "Ash Quinn", "police", 1)
    add_reviewer(organisation, "Former Reviewer", removed_at=utcnow())
    db.session.commit()
    return rowan


def assert_no_special_category_data(html: str) -> None:
    for shown in SPECIAL_CATEGORY_TEXT:
        assert shown not in html


def assert_every_answer_shown(rows: dict[str, str], organisation) -> None:
    """The summary rows of an organisation given `give_every_answer`, as both the
    commissioner's application view and the supplier's check your answers show them."""
    assert rows["Legal name"] == organisation.legal_name
    assert rows["Trading name"] == "Applicant Research"
    assert rows["Kind of organisation"] == "Limited company"
    assert rows["Companies House number"] == "09876543"
    assert "Charity number" not in rows  # a company has none to give
    # The address is HTML (a line each), every line escaped.
    assert rows["Registered address"] == "1 High Street<br>Floor &lt;2&gt;<br>Leeds<br>LS1 1AA"
    assert rows["Regions covered"] == "North East, London"
    assert rows["Website"] == "https://applicant-research.example"
    assert rows["Small or medium-sized enterprise (SME)"] == "Yes"
    # Reviewer names, background and experience; the removed one is not listed.
    assert rows["Ash Quinn"] == "Police, 1 year of safeguarding experience"
    assert rows["Dr Rowan Field"] == "Academic research, 12 years of safeguarding experience"
    assert "Former Reviewer" not in rows
