"""The supplier journey: the task list from start to submit, and bad input on each form."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from portal.extensions import db
from portal.models.audit import AuditEvent
from portal.models.outbox import OutboxEmail
from portal.models.pool import (
    ApplicationEvidence,
    DeclarationAnswer,
    PoolApplication,
    seed_declaration_questions,
)
from portal.models.profiles import (
    ReviewerProfile,
)
from tests.fixtures.users import OrganisationFactory, make_supplier
from tests.pool_support import (
    assert_every_answer_shown,
    assert_no_special_category_data,
    category,
    complete_details,
    give_every_answer,
    make_application,
    passing_answers_form,
    pdf_upload,
)
from tests.summary_list import change_links, summary_rows


@pytest.fixture(autouse=True)
def questions(app):
    seed_declaration_questions()
    db.session.commit()


@pytest.fixture
def owner(sign_in):
    organisation = OrganisationFactory()
    complete_details(organisation)
    user = make_supplier(organisation, role="owner")
    sign_in(user)
    return user


def start(client) -> PoolApplication:
    response = client.post("/pool/apply")
    assert response.status_code == 302
    return db.session.scalars(select(PoolApplication)).one()


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_full_journey_to_submission(client, owner):
    page = client.get("/pool/apply")
    assert page.status_code == 200
    assert b"Start an application" in page.data

    application = start(client)
    task_list = client.get(f"/pool/apply/{application.id}")
    assert task_list.status_code == 200
    assert b"Choose service categories" in task_list.data
    assert b"Cannot start yet" in task_list.data

    c1, c3 = category(1), category(3)
    response = client.post(
        f"/pool/apply/{application.id}/categories", data={"categories": [c1.id, c3.id]}
    )
    assert response.status_code == 302
    assert {c.category_id for c in application.categories} == {c1.id, c3.id}

    form = client.get(f"/pool/apply/{application.id}/declarations")
    assert form.status_code == 200
    assert b"Mandatory grounds for exclusion" in form.data
    response = client.post(
        f"/pool/apply/{application.id}/declarations", data=passing_answers_form()
    )
    assert response.status_code == 302, response.data
    assert count(DeclarationAnswer) == 13
    assert {a.assessment for a in application.answers} == {"pass"}

    for c in (c1, c3):
        for kind in ("cv", "sample"):
            response = client.post(
                f"/pool/apply/{application.id}/evidence",
                data={"category": c.id, "kind": kind, "description": f"{kind} {c.number}",
                      "file": pdf_upload(f"{kind}.pdf")},
                content_type="multipart/form-data",
            )
            assert response.status_code == 302, response.data
    assert count(ApplicationEvidence) == 4

    check = client.get(f"/pool/apply/{application.id}/check")
    assert check.status_code == 200
    assert b"Accept and send" in check.data

    response = client.post(f"/pool/apply/{application.id}/submit")
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/pool/apply/{application.id}/submitted")
    db.session.refresh(application)
    assert application.status == "submitted"
    assert application.submitted_at is not None
    confirmation = client.get(f"/pool/apply/{application.id}/submitted")
    assert application.reference.encode() in confirmation.data
    mail = db.session.scalars(
        select(OutboxEmail).where(OutboxEmail.template == "pool_submitted")
    ).all()
    assert [m.recipient for m in mail] == [owner.email]
    actions = set(db.session.scalars(select(AuditEvent.action)))
    assert {"pool_application.started", "pool_application.categories_saved",
            "pool_application.declarations_saved", "pool_application.evidence_added",
            "pool_application.submitted"} <= actions
    # Once submitted the pages no longer change it.
    response = client.post(
        f"/pool/apply/{application.id}/categories", data={"categories": [c1.id]}
    )
    assert response.status_code == 302
    assert len(application.categories) == 2


# --- bad input: a clear message and nothing saved ----------------------------------------


@pytest.fixture
def draft(client, owner) -> PoolApplication:
    return start(client)


def test_one_open_application_per_organisation(client, owner, draft):
    response = client.post("/pool/apply", follow_redirects=True)
    assert b"already has an application in progress" in response.data
    assert count(PoolApplication) == 1


def test_the_database_refuses_a_second_open_application(owner, draft, session):
    from sqlalchemy.exc import IntegrityError

    session.add(PoolApplication(organisation_id=draft.organisation_id))
    with pytest.raises(IntegrityError):
        session.flush()
    session.rollback()


@pytest.mark.parametrize(
    "data, message",
    [
        ({}, b"Select at least one service category"),
        ({"categories": "999"}, b"Select service categories from the list"),
        ({"categories": "abc"}, b"Select service categories from the list"),
    ],
)
def test_categories_bad_input(client, draft, data, message):
    response = client.post(f"/pool/apply/{draft.id}/categories", data=data)
    assert response.status_code == 400
    assert message in response.data
    assert b"govuk-error-summary" in response.data
    assert draft.categories == []


def test_a_closed_category_cannot_be_chosen(client, draft):
    closed = category(2)
    closed.is_open = False
    db.session.commit()
    page = client.get(f"/pool/apply/{draft.id}/categories")
    assert closed.name.encode() not in page.data
    response = client.post(f"/pool/apply/{draft.id}/categories",
                           data={"categories": [category(1).id, closed.id]})
    assert response.status_code == 400
    assert b"is closed to new applications" in response.data
    assert draft.categories == []


def test_a_category_already_held_cannot_be_chosen(client, draft):
    from tests.pool_support import make_membership

    make_membership(draft.organisation, number=1)
    response = client.post(f"/pool/apply/{draft.id}/categories",
                           data={"categories": [category(1).id]})
    assert response.status_code == 400
    assert b"already a member" in response.data


def test_another_organisations_application_is_404(client, draft):
    other = make_application(OrganisationFactory(), status="draft")
    for path in ("", "/categories", "/declarations", "/evidence", "/check", "/withdraw"):
        assert client.get(f"/pool/apply/{other.id}{path}").status_code == 404
    assert client.post(f"/pool/apply/{other.id}/categories",
                       data={"categories": [category(3).id]}).status_code == 404
    assert client.post(f"/pool/apply/{other.id}/submit").status_code == 404
    assert client.post(f"/pool/apply/{other.id}/withdraw").status_code == 404
    evidence_id = other.evidence[0].id
    assert client.post(
        f"/pool/apply/{other.id}/evidence/{evidence_id}/remove"
    ).status_code == 404
    # Another organisation's evidence id against my own application: 404 as well.
    assert client.post(
        f"/pool/apply/{draft.id}/evidence/{evidence_id}/remove"
    ).status_code == 404
    assert len(other.evidence) == 2
    assert [c.category_id for c in other.categories] == [category(1).id]


def _with_category(client, draft, number=1):
    client.post(f"/pool/apply/{draft.id}/categories", data={"categories": [category(number).id]})


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda d: d.pop("q_conviction_fraud_corruption"), b"Select yes or no for question 1<"),
        (lambda d: d.update(q_conviction_fraud_corruption="maybe"),
         b"Select yes or no for question 1<"),
        (lambda d: d.update(q_conviction_fraud_corruption="yes"),
         b"Give details of your answer to question 1<"),
        (lambda d: d.update(q_conviction_fraud_corruption="yes",
                            q_conviction_fraud_corruption_details="x" * 2001),
         b"Details for question 1 must be 2000 characters or fewer"),
        (lambda d: d.update(q_indemnity_amount=""),
         b"Enter the amount of cover in pounds for question 9<"),
        (lambda d: d.update(q_indemnity_amount="lots"), b"in whole pounds"),
        (lambda d: d.update({"q_indemnity_expiry-month": "13"}), b"Enter a real date"),
        (lambda d: d.update({"q_indemnity_expiry-year": "27"}), b"Enter a real date"),
        (lambda d: d.pop("q_indemnity_expiry-day"), b"Enter a real date for question 10,"),
    ],
)
def test_declarations_bad_input(client, draft, change, message):
    _with_category(client, draft)
    data = passing_answers_form()
    change(data)
    response = client.post(f"/pool/apply/{draft.id}/declarations", data=data)
    assert response.status_code == 400
    assert message in response.data
    assert b"There is a problem" in response.data
    assert count(DeclarationAnswer) == 0
    assert draft.declarations_saved_at is None


def test_declarations_are_assessed_by_their_rules(client, draft):
    data = passing_answers_form()
    data.update(
        q_conviction_fraud_corruption="yes",
        q_conviction_fraud_corruption_details="A conviction in 2019, spent.",
        q_conflict_of_interest="yes",
        q_conflict_of_interest_details="Part-time contract with a council.",
        q_indemnity_amount="250000",
    )
    response = client.post(f"/pool/apply/{draft.id}/declarations", data=data)
    assert response.status_code == 302
    results = {a.question.key: a.assessment for a in draft.answers}
    assert results["conviction_fraud_corruption"] == "fail"
    assert results["conflict_of_interest"] == "needs_judgement"
    assert results["indemnity_amount"] == "needs_judgement"
    assert results["dbs_checks"] == "pass"


@pytest.mark.parametrize(
    "data, message",
    [
        ({"kind": "cv", "description": "Jo"}, b"Select the service category"),
        ({"category": "999", "kind": "cv", "description": "Jo"},
         b"Select a service category from your application"),
        ({"category": "CAT", "kind": "cv", "description": "Jo"},
         b"Select a service category from your application"),
        ({"category": "C1", "kind": "photo", "description": "Jo"},
         b"Select CV or sample of published work"),
        ({"category": "C1", "kind": "cv", "description": ""}, b"Enter a description"),
        ({"category": "C1", "kind": "cv", "description": "x" * 201},
         b"200 characters or fewer"),
        ({"category": "C1", "kind": "cv", "description": "Jo"}, b"Select a file"),
        ({"category": "C1", "kind": "cv", "description": "Jo",
          "file": (__import__("io").BytesIO(b"MZ not a pdf"), "cv.exe")}, b"must be a"),
        ({"category": "C1", "kind": "cv", "description": "Jo",
          "file": (__import__("io").BytesIO(b"plain text"), "cv.pdf")},
         b"not a real .pdf file"),
    ],
)
def test_evidence_bad_input(client, draft, data, message):
    _with_category(client, draft)
    from portal.models.document import Document

    data = dict(data)
    if data.get("category") == "C1":
        data["category"] = category(1).id
    response = client.post(f"/pool/apply/{draft.id}/evidence", data=data,
                           content_type="multipart/form-data")
    assert response.status_code == 400
    assert message in response.data
    assert count(ApplicationEvidence) == 0
    assert count(Document) == 0


def test_evidence_for_a_category_not_on_the_application(client, draft):
    _with_category(client, draft, 1)
    response = client.post(
        f"/pool/apply/{draft.id}/evidence",
        data={"category": category(2).id, "kind": "cv", "description": "Jo",
              "file": pdf_upload()},
        content_type="multipart/form-data",
    )
    assert response.status_code == 400
    assert count(ApplicationEvidence) == 0


def test_submit_refused_until_every_task_is_done(client, draft):
    _with_category(client, draft)
    response = client.post(f"/pool/apply/{draft.id}/submit", follow_redirects=True)
    assert b"Answer every declaration" in response.data
    db.session.refresh(draft)
    assert draft.status == "draft"
    assert draft.submitted_at is None


def test_submit_refused_without_organisation_details(client, sign_in):
    organisation = OrganisationFactory()
    user = make_supplier(organisation, role="owner")
    sign_in(user)
    application = make_application(organisation, status="draft")
    response = client.post(f"/pool/apply/{application.id}/submit", follow_redirects=True)
    assert b"Complete your organisation details" in response.data
    db.session.refresh(application)
    assert application.status == "draft"


def test_submit_refused_when_a_chosen_category_has_closed(client, owner):
    application = make_application(owner.organisation, status="draft")
    category(1).is_open = False
    db.session.commit()
    response = client.post(f"/pool/apply/{application.id}/submit", follow_redirects=True)
    assert b"is closed to new applications" in response.data
    db.session.refresh(application)
    assert application.status == "draft"


def test_only_an_owner_submits(client, sign_in):
    organisation = OrganisationFactory()
    complete_details(organisation)
    member = make_supplier(organisation, role="member")
    sign_in(member)
    application = make_application(organisation, status="draft")
    assert b"Only an owner" in client.get(f"/pool/apply/{application.id}/check").data
    response = client.post(f"/pool/apply/{application.id}/submit", follow_redirects=True)
    assert b"Only an owner of your organisation can submit" in response.data
    db.session.refresh(application)
    assert application.status == "draft"


def detailed_draft(organisation) -> tuple[PoolApplication, ReviewerProfile]:
    rowan = give_every_answer(organisation)
    return make_application(organisation, status="draft"), rowan


def test_check_your_answers_shows_every_answer_with_change_links(client, owner):
    application, rowan = detailed_draft(owner.organisation)
    check = f"/pool/apply/{application.id}/check"
    page = client.get(check)
    assert page.status_code == 200
    assert_every_answer_shown(summary_rows(page.text), owner.organisation)
    assert "Former Reviewer" not in page.text
    # Special-category data is never on the page, even for the owner who gave it.
    assert_no_special_category_data(page.text)

    # Each row has a "Change" link, with hidden text saying what it changes, to the
    # step that edits it; the organisation details come back here afterwards.
    details = f"/organisation/details/edit?next={check}"
    links = change_links(page.text)
    assert {name: href for name, href in links.items() if "details/edit" in href} == {
        "Change legal name": f"{details}#legal_name",
        "Change trading name": f"{details}#trading_name",
        "Change kind of organisation": f"{details}#kind",
        "Change Companies House number": f"{details}#companies_house_number",
        "Change registered address": f"{details}#address_line_1",
        "Change regions covered": f"{details}#regions",
        "Change website": f"{details}#website",
        "Change whether the organisation is an SME": f"{details}#is_sme",
    }
    assert links["Change the profile of Dr Rowan Field"] == (
        f"/organisation/reviewers/{rowan.id}/edit?next={check}"  # and back here after
    )
    assert "Change the profile of Ash Quinn" in links
    assert links["Change service categories"] == f"/pool/apply/{application.id}/categories"
    for href in {href.split("#")[0] for href in links.values()}:
        assert client.get(href).status_code == 200, href
    response = client.post(details, data={
        "legal_name": "Check Answers Ltd", "trading_name": "", "kind": "company",
        "companies_house_number": "SC123456", "charity_number": "",
        "address_line_1": "2 Low Street", "address_line_2": "", "town": "Cardiff",
        "postcode": "cf10 1aa", "regions": ["wales"], "website": "", "is_sme": "no",
    })
    assert response.status_code == 302
    assert response.headers["Location"].endswith(check)
    rows = summary_rows(client.get(check).text)
    assert rows["Registered address"] == "2 Low Street<br>Cardiff<br>CF10 1AA"
    assert (rows["Trading name"], rows["Website"]) == ("Not given", "Not given")
    assert rows["Small or medium-sized enterprise (SME)"] == "No"


def test_check_your_answers_for_a_member_who_is_not_an_owner(client, sign_in):
    organisation = OrganisationFactory()
    complete_details(organisation)
    sign_in(make_supplier(organisation, role="member"))
    application = make_application(organisation, status="draft")
    page = client.get(f"/pool/apply/{application.id}/check").text
    rows = summary_rows(page)
    assert rows["Registered address"] == "1 High Street<br>Leeds<br>LS1 1AA"
    assert rows["Reviewers"] == "No reviewer profiles added"
    # Only an owner edits the organisation details; any member adds reviewers.
    links = change_links(page)
    assert not [href for href in links.values() if "/organisation/details" in href]
    assert links["Add a reviewer profile"] == "/organisation/reviewers"
    assert "Only an owner of your organisation can change its details." in page


def test_withdraw_before_a_decision(client, owner):
    application = make_application(owner.organisation)
    page = client.get(f"/pool/apply/{application.id}/withdraw")
    assert page.status_code == 200
    response = client.post(f"/pool/apply/{application.id}/withdraw")
    assert response.status_code == 302
    db.session.refresh(application)
    assert application.status == "withdrawn"
    assert {c.decision for c in application.categories} == {"withdrawn"}
    assert db.session.scalars(
        select(OutboxEmail).where(OutboxEmail.template == "pool_withdrawn")
    ).all()
    # A new application can start now; the withdrawn one cannot be withdrawn again.
    assert client.post("/pool/apply").status_code == 302
    assert count(PoolApplication) == 2
    response = client.post(f"/pool/apply/{application.id}/withdraw", follow_redirects=True)
    assert b"You cannot withdraw this application" in response.data


def test_decided_application_cannot_be_withdrawn_or_changed(client, owner):
    application = make_application(owner.organisation, status="rejected")
    response = client.post(f"/pool/apply/{application.id}/withdraw")
    assert response.status_code == 302
    db.session.refresh(application)
    assert application.status == "rejected"
    response = client.post(f"/pool/apply/{application.id}/declarations",
                           data=passing_answers_form())
    assert response.status_code == 302
    assert client.get(f"/pool/apply/{application.id}").status_code == 200


def test_declarations_are_numbered_as_the_error_messages_count_them(client, draft):
    _with_category(client, draft)
    page = client.get(f"/pool/apply/{draft.id}/declarations").text
    assert "1. In the last 5 years, has the organisation" in page
    assert "9. How much professional indemnity insurance cover" in page
    assert "Details for question 1</label>" in page.replace("\n", "").replace("  ", "")
