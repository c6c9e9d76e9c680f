"""Commissioners: the queue, the application view, decisions per category."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from portal.extensions import db
from portal.models.audit import AuditEvent
from portal.models.base import utcnow
from portal.models.outbox import OutboxEmail
from portal.models.pool import PoolMembership, seed_declaration_questions
from portal.models.profiles import (
    OrganisationRegion,
)
from portal.services.pool import add_months
from tests.fixtures.users import OrganisationFactory, make_staff, make_supplier
from tests.pool_support import (
    add_reviewer,
    assert_every_answer_shown,
    assert_no_special_category_data,
    category,
    complete_details,
    give_every_answer,
    make_application,
    make_membership,
    passing_answers_form,
)
from tests.summary_list import summary_rows


@pytest.fixture(autouse=True)
def questions(app):
    seed_declaration_questions()
    db.session.commit()


@pytest.fixture
def commissioner(sign_in):
    return sign_in(make_staff("commissioner"))


@pytest.fixture
def applicant():
    organisation = OrganisationFactory(legal_name="Applicant Research Ltd")
    complete_details(organisation)
    make_supplier(organisation, role="owner", email="owner@applicant.example")
    return organisation


def decide(client, application, number, decision, reason="Meets the criteria."):
    entry = application.category_entry(category(number).id)
    return client.post(
        f"/commissioning/applications/{application.id}/categories/{entry.id}",
        data={"decision": decision, "reason": reason},
    )


def test_queue_lists_submitted_applications_with_days_waited(client, commissioner, applicant):
    make_application(applicant, submitted_days_ago=10)
    other = OrganisationFactory(legal_name="Other Reviewers")
    make_application(other, categories=(2,), submitted_days_ago=2)
    make_application(OrganisationFactory(legal_name="Drafty"), status="draft")
    page = client.get("/commissioning/applications")
    assert page.status_code == 200
    assert b"Applicant Research Ltd" in page.data
    assert b"Other Reviewers" in page.data
    assert b"Drafty" not in page.data
    assert b">10<" in page.data
    by_category = client.get(f"/commissioning/applications?category={category(2).id}")
    assert b"Other Reviewers" in by_category.data
    assert b"Applicant Research Ltd" not in by_category.data
    old = client.get("/commissioning/applications?age=8-28")
    assert b"Applicant Research Ltd" in old.data
    assert b"Other Reviewers" not in old.data
    # Nonsense filters fall back to the defaults rather than failing.
    assert client.get("/commissioning/applications?status=zzz&age=1&category=x&page=-1"
                      ).status_code == 200


def test_queue_status_filter(client, commissioner):
    def application(name, status):
        return make_application(OrganisationFactory(legal_name=name), status=status,
                                with_evidence=False)

    made = {
        status: application(f"{status.replace('_', ' ').title()} Org", status)
        for status in ("submitted", "changes_requested", "withdrawn", "admitted", "rejected")
    }
    # A draft, and an application withdrawn before it was ever submitted, are never in the
    # queue, whatever the filter: commissioners see only what has been sent to them.
    draft = application("Draft Org", "draft")
    unsent = application("Unsent Org", "withdrawn")
    unsent.first_submitted_at = unsent.submitted_at = None
    db.session.commit()

    def listed(query: str) -> set[str]:
        page = client.get(f"/commissioning/applications{query}")
        assert page.status_code == 200
        shown = {a for a in [*made.values(), draft, unsent]
                 if f'href="/commissioning/applications/{a.id}"' in page.text}
        assert f"{len(shown)} application" in page.text
        return {a.organisation.legal_name for a in shown}

    assert listed("") == {"Submitted Org"}
    assert listed("?status=submitted") == {"Submitted Org"}
    assert listed("?status=changes_requested") == {"Changes Requested Org"}
    assert listed("?status=withdrawn") == {"Withdrawn Org"}
    assert listed("?status=admitted") == {"Admitted Org"}
    assert listed("?status=rejected") == {"Rejected Org"}
    assert listed("?status=all") == {
        "Submitted Org", "Changes Requested Org", "Withdrawn Org", "Admitted Org",
        "Rejected Org",
    }
    # The status filter combines with the category filter.
    assert listed(f"?status=all&category={category(2).id}") == set()
    assert listed(f"?status=withdrawn&category={category(1).id}") == {"Withdrawn Org"}


def test_queue_is_paginated_with_bounded_queries(client, commissioner, app):
    from sqlalchemy import event

    for n in range(30):
        make_application(OrganisationFactory(legal_name=f"Org {n:02d}"),
                         with_evidence=False, submitted_days_ago=30 - n)
    statements = []

    def count_statement(*args):
        statements.append(args[2])

    event.listen(db.engine, "before_cursor_execute", count_statement)
    try:
        first = client.get("/commissioning/applications")
    finally:
        event.remove(db.engine, "before_cursor_execute", count_statement)
    assert b"Org 00" in first.data and b"Org 24" in first.data
    assert b"Org 25" not in first.data
    assert len(statements) < 15, statements
    second = client.get("/commissioning/applications?page=2")
    assert b"Org 25" in second.data and b"Org 24" not in second.data


def test_review_shows_answers_assessments_and_documents(client, commissioner, applicant):
    application = make_application(applicant)
    page = client.get(f"/commissioning/applications/{application.id}")
    assert page.status_code == 200
    assert b"Needs judgement" in page.data  # £500,000 of cover
    assert b"Pass" in page.data
    assert b"cv-1.pdf" in page.data
    assert f"/documents/{application.evidence[0].document_id}".encode() in page.data


@pytest.fixture
def detailed_applicant(applicant):
    give_every_answer(applicant)
    return applicant


def test_review_shows_every_organisation_answer_and_the_reviewers(
    client, commissioner, detailed_applicant
):
    application = make_application(detailed_applicant)
    page = client.get(f"/commissioning/applications/{application.id}")
    assert page.status_code == 200
    rows = summary_rows(page.text)
    assert rows["Status"] == "Submitted"
    assert_every_answer_shown(rows, detailed_applicant)
    # Nothing links to a profile page.
    assert page.text.index("Ash Quinn") < page.text.index("Dr Rowan Field")
    assert "Former Reviewer" not in page.text
    assert "/profiles/" not in page.text
    assert_no_special_category_data(page.text)
    # The answers of an individual: no registration numbers asked for, none shown.
    individual = OrganisationFactory(legal_name="Sole Reviewer")
    complete_details(individual)
    individual.kind = "individual"
    db.session.commit()
    rows = summary_rows(client.get(
        f"/commissioning/applications/{make_application(individual).id}").text)
    assert rows["Kind of organisation"] == "Individual reviewer"
    assert "Companies House number" not in rows and "Charity number" not in rows
    assert rows["Website"] == "Not given"
    assert rows["Reviewers"] == "No reviewer profiles added"


def test_review_page_queries_do_not_grow_with_the_application(client, commissioner, app):
    from sqlalchemy import event

    small = OrganisationFactory(legal_name="Small Org")
    complete_details(small)
    add_reviewer(small, "Only Reviewer")
    large = OrganisationFactory(legal_name="Large Org")
    complete_details(large)
    for region in ("north_east", "wales", "south_west"):
        large.region_links.append(OrganisationRegion(region=region))
    for n in range(8):
        add_reviewer(large, f"Reviewer {n}")
    ids = [make_application(small).id, make_application(large, categories=(1, 2, 3, 5)).id]

    def statements_for(application_id: int) -> int:
        db.session.expunge_all()  # the page loads everything itself, as in production
        statements = []

        def count(*args):
            statements.append(args[2])

        event.listen(db.engine, "before_cursor_execute", count)
        try:
            page = client.get(f"/commissioning/applications/{application_id}")
        finally:
            event.remove(db.engine, "before_cursor_execute", count)
        assert page.status_code == 200
        assert "Reviewer" in page.text
        return len(statements)

    small_count, large_count = (statements_for(i) for i in ids)
    assert large_count == small_count, (small_count, large_count)
    assert small_count < 20


def test_admit_and_reject_per_category(client, commissioner, applicant):
    application = make_application(applicant, categories=(1, 3))
    response = decide(client, application, 1, "admitted", "Strong national review record.")
    assert response.status_code == 302
    db.session.refresh(application)
    assert application.status == "submitted"  # category 3 is still waiting
    membership = db.session.scalars(select(PoolMembership)).one()
    assert membership.category_id == category(1).id
    assert membership.status == "active"
    assert membership.expires_at == add_months(membership.started_at, 24)
    assert [e.action for e in membership.events] == ["admitted"]

    response = decide(client, application, 3, "rejected", "No thematic analysis shown.")
    assert response.status_code == 302
    db.session.refresh(application)
    assert application.status == "admitted"
    assert application.decided_at is not None
    mails = db.session.scalars(
        select(OutboxEmail).where(OutboxEmail.template == "pool_decision")
    ).all()
    assert [m.recipient for m in mails] == ["owner@applicant.example"] * 2
    assert "Strong national review record." in mails[0].text_body
    assert "No thematic analysis shown." in mails[1].text_body
    decided = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "pool_application.category_decided")
    ).all()
    assert [e.data["decision"] for e in decided] == ["admitted", "rejected"]
    assert "pool_membership.started" in set(db.session.scalars(select(AuditEvent.action)))


def test_membership_period_comes_from_the_category(client, commissioner, applicant):
    category(1).membership_months = 12
    db.session.commit()
    application = make_application(applicant)
    decide(client, application, 1, "admitted")
    membership = db.session.scalars(select(PoolMembership)).one()
    assert membership.expires_at == add_months(membership.started_at, 12)


@pytest.mark.parametrize(
    "data, message",
    [
        ({"decision": "admitted", "reason": ""}, b"Enter the reason for your decision"),
        ({"decision": "admitted", "reason": "   "}, b"Enter the reason for your decision"),
        ({"decision": "admitted", "reason": "x" * 2001}, b"2000 characters or fewer"),
        ({"reason": "Fine"}, b"Select admit, reject or request changes"),
        ({"decision": "promote", "reason": "Fine"}, b"Select admit, reject or request changes"),
    ],
)
def test_decisions_need_a_decision_and_a_reason(client, commissioner, applicant, data, message):
    application = make_application(applicant)
    entry = application.categories[0]
    response = client.post(
        f"/commissioning/applications/{application.id}/categories/{entry.id}", data=data
    )
    assert response.status_code == 400
    assert message in response.data
    db.session.refresh(entry)
    assert entry.decision == "pending"
    assert db.session.scalar(select(func.count()).select_from(PoolMembership)) == 0
    assert db.session.scalar(select(func.count()).select_from(OutboxEmail)) == 0


def test_a_category_is_decided_once(client, commissioner, applicant):
    application = make_application(applicant)
    assert decide(client, application, 1, "rejected").status_code == 302
    response = decide(client, application, 1, "admitted")
    assert response.status_code == 400
    assert b"Only a submitted application can be decided" in response.data
    assert db.session.scalar(select(func.count()).select_from(PoolMembership)) == 0


def test_drafts_and_withdrawn_applications_cannot_be_decided(client, commissioner, applicant):
    draft = make_application(applicant, status="draft")
    assert client.get(f"/commissioning/applications/{draft.id}").status_code == 404
    assert decide(client, draft, 1, "admitted").status_code == 404
    withdrawn = make_application(OrganisationFactory(), status="withdrawn")
    response = decide(client, withdrawn, 1, "admitted")
    assert response.status_code == 400
    assert db.session.scalar(select(func.count()).select_from(PoolMembership)) == 0


def test_an_entry_of_another_application_is_404(client, commissioner, applicant):
    one = make_application(applicant)
    two = make_application(OrganisationFactory(), categories=(2,))
    response = client.post(
        f"/commissioning/applications/{one.id}/categories/{two.categories[0].id}",
        data={"decision": "admitted", "reason": "x"},
    )
    assert response.status_code == 404


def test_request_changes_reopens_and_resubmission_returns_to_the_queue(
    client, commissioner, applicant, sign_in
):
    application = make_application(applicant, categories=(1, 2))
    decide(client, application, 1, "admitted")
    decide(client, application, 2, "changes_requested", "Add a sample of published work.")
    db.session.refresh(application)
    assert application.status == "changes_requested"
    mail = db.session.scalars(
        select(OutboxEmail).where(OutboxEmail.template == "pool_decision")
    ).all()[-1]
    assert "open again" in mail.text_body

    owner = applicant.members[0].user
    sign_in(owner)
    task_list = client.get(f"/pool/apply/{application.id}")
    assert b"Add a sample of published work." in task_list.data
    # The admitted category cannot be removed any more.
    response = client.post(f"/pool/apply/{application.id}/categories",
                           data={"categories": [category(2).id]})
    assert response.status_code == 400
    assert b"has been decided and cannot be removed" in response.data
    client.post(f"/pool/apply/{application.id}/declarations", data=passing_answers_form())
    response = client.post(f"/pool/apply/{application.id}/submit")
    assert response.status_code == 302
    db.session.refresh(application)
    assert application.status == "submitted"
    assert [c.decision for c in application.categories] == ["admitted", "pending"]
    assert "pool_application.resubmitted" in set(db.session.scalars(select(AuditEvent.action)))


def test_admitting_twice_to_one_category_is_refused_by_the_database(applicant, session):
    from sqlalchemy.exc import IntegrityError

    make_membership(applicant, number=1)
    session.add(PoolMembership(
        organisation_id=applicant.id, category_id=category(1).id, status="suspended",
        expires_at=make_membership(applicant, 2).expires_at,
    ))
    with pytest.raises(IntegrityError):
        session.flush()
    session.rollback()


def test_admit_refused_when_already_a_member(client, commissioner, applicant):
    application = make_application(applicant)
    make_membership(applicant, number=1)
    response = decide(client, application, 1, "admitted")
    assert response.status_code == 400
    assert b"already a member" in response.data
    db.session.refresh(application)
    assert application.categories[0].decision == "pending"


def test_days_waited_counts_from_the_latest_submission(applicant):

    application = make_application(applicant, submitted_days_ago=3)
    assert application.days_waited(utcnow()) == 3
    assert application.days_waited(utcnow() + timedelta(days=1)) == 4
