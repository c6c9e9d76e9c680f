"""Commissions, commissioner side: drafting with bad input on every form, check your
answers, publishing to the active members of the category, and the supplier pages."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from portal.extensions import db
from portal.models.audit import AuditEvent
from portal.models.base import utcnow
from portal.models.commissions import (
    Commission,
    CommissionReferenceCounter,
    CommissionState,
    EvaluationCriterion,
    Invitation,
)
from portal.models.outbox import OutboxEmail
from portal.models.pool import MembershipStatus
from portal.services import commissions as service
from tests.commissions_support import (
    attach_document,
    criteria_form,
    criterion,
    deadline_form,
    make_draft,
    make_open,
)
from tests.fixtures.users import OrganisationFactory, make_staff, make_supplier
from tests.pool_support import category, make_membership


@pytest.fixture
def commissioner():
    return make_staff("commissioner", email="commissioner@panel.example")


def _details_form(**overrides):
    data = {
        "category_id": str(category(1).id),
        "title": "Review of practice with infants",
        "summary": "A short summary.",
        "specification": "# Scope\n\nInterviews and **case files**.",
        "deliverables": "- interim report\n- final report",
        "timescale": "Six months.",
        "max_budget": "£25,000",
    }
    data.update(overrides)
    return data


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def _actions() -> list[str]:
    return list(db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.sequence)))


# --- creating a draft ----------------------------------------------------------------------


def test_create_draft_gives_a_reference_and_audits(client, sign_in, commissioner):
    sign_in(commissioner)
    response = client.get("/commissioning/commissions/new")
    assert response.status_code == 200
    response = client.post("/commissioning/commissions/new", data=_details_form())
    assert response.status_code == 302
    commission = db.session.scalars(select(Commission)).one()
    year = utcnow().year
    assert re.fullmatch(rf"CSPRP-{year}-0001", commission.reference)
    assert commission.state == CommissionState.DRAFT
    assert commission.max_budget_pence == 25_000_00
    assert "commission.created" in _actions()
    page = client.get(response.headers["Location"])
    assert page.status_code == 200
    assert b"Evaluation criteria and weights" in page.data


def test_references_count_up_per_year(app, commissioner):
    first = make_draft(commissioner, complete=False)
    second = make_draft(commissioner, complete=False)
    n1 = int(first.reference.rsplit("-", 1)[1])
    n2 = int(second.reference.rsplit("-", 1)[1])
    assert n2 == n1 + 1
    counter = db.session.get(CommissionReferenceCounter, utcnow().year)
    assert counter.last_number == 2


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"category_id": ""}, "Select a service category"),
        ({"category_id": "999"}, "Select a service category from the list"),
        ({"category_id": "nonsense"}, "Select a service category"),
        ({"title": "  "}, "Enter a title"),
        ({"title": "x" * 201}, "The title must be 200 characters or fewer"),
        ({"specification": ""}, "Enter the specification"),
        ({"max_budget": "lots"}, "Enter the maximum budget in pounds, like 25000"),
        ({"max_budget": "0"}, "The maximum budget must be more than £0"),
    ],
)
def test_bad_details_save_nothing(client, sign_in, commissioner, overrides, message):
    sign_in(commissioner)
    response = client.post("/commissioning/commissions/new", data=_details_form(**overrides))
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert "There is a problem" in response.get_data(as_text=True)
    assert _count(Commission) == 0
    assert _count(CommissionReferenceCounter) == 0


# --- criteria --------------------------------------------------------------------------------


def test_criteria_weights_must_total_100(client, sign_in, commissioner):
    commission = make_draft(commissioner, complete=False)
    sign_in(commissioner)
    url = f"/commissioning/commissions/{commission.id}/criteria"
    assert client.get(url).status_code == 200
    response = client.post(url, data=criteria_form([("Method", 50), ("Team", 20)], 20))
    assert response.status_code == 400
    text = response.get_data(as_text=True)
    assert "The weights of the criteria and price must add up to 100. They add up to 90" in text
    assert 'href="#price_weight"' in text
    assert _count(EvaluationCriterion) == 0

    response = client.post(url, data=criteria_form([("Method", 50), ("Team", 20)], 30))
    assert response.status_code == 302
    db.session.expire_all()
    assert [(c.name, c.weight, c.position) for c in commission.criteria] == [
        ("Method", 50, 1), ("Team", 20, 2)]
    assert commission.price_weight == 30

    # Edit: drop one (blank row), change weights; rows are updated in place
    data = criteria_form([("Method", 70), ("", "")], 30)
    data["criteria-1-description"] = ""
    response = client.post(url, data=data)
    assert response.status_code == 302
    db.session.expire_all()
    assert [(c.name, c.weight) for c in commission.criteria] == [("Method", 70)]


def test_criteria_row_errors_point_at_their_fields(client, sign_in, commissioner):
    commission = make_draft(commissioner, complete=False)
    sign_in(commissioner)
    data = criteria_form([("Method", 70)], 30)
    data["criteria-0-weight"] = "seventy"
    data["criteria-0-guidance_3"] = ""
    response = client.post(f"/commissioning/commissions/{commission.id}/criteria", data=data)
    assert response.status_code == 400
    text = response.get_data(as_text=True)
    assert "Enter the weight of criterion 1 as a whole number, like 20" in text
    assert 'href="#criteria-0-weight"' in text
    assert "Enter the guidance for a score of 3 on criterion 1" in text


def test_add_another_criterion_saves_nothing(client, sign_in, commissioner):
    commission = make_draft(commissioner, complete=False)
    sign_in(commissioner)
    data = criteria_form([("Method", 70)], 30) | {"add_criterion": "Add another criterion"}
    response = client.post(f"/commissioning/commissions/{commission.id}/criteria", data=data)
    assert response.status_code == 200
    assert 'name="criteria-1-name"' in response.get_data(as_text=True)
    assert _count(EvaluationCriterion) == 0


def test_service_refuses_weights_not_totalling_100(app, commissioner):
    commission = make_draft(commissioner, complete=False)
    with pytest.raises(service.CommissionError, match="add up to 100"):
        service.set_criteria(commissioner, commission, [criterion(weight=60)], 30)


# --- deadlines ------------------------------------------------------------------------------


def test_deadlines_entered_in_uk_time(client, sign_in, commissioner):
    commission = make_draft(commissioner, complete=False)
    sign_in(commissioner)
    now = utcnow()
    clarification = (now + timedelta(days=20)).replace(second=0, microsecond=0)
    submission = (now + timedelta(days=30)).replace(second=0, microsecond=0)
    data = deadline_form("clarification_deadline", clarification) | deadline_form(
        "submission_deadline", submission)
    response = client.post(f"/commissioning/commissions/{commission.id}/deadlines", data=data)
    assert response.status_code == 302, response.get_data(as_text=True)
    db.session.expire_all()
    assert commission.clarification_deadline == clarification
    assert commission.submission_deadline == submission
    page = client.get(f"/commissioning/commissions/{commission.id}/deadlines")
    assert f'value="{submission.astimezone(service.UK):%H:%M}"' in page.get_data(as_text=True)


@pytest.mark.parametrize(
    ("clar_days", "sub_days", "field", "message"),
    [
        (-2, 20, "clarification_deadline", "The clarification deadline must be in the future"),
        (5, -1, "submission_deadline", "The submission deadline must be in the future"),
        (15, 12, "clarification_deadline",
         "The clarification deadline must be before the submission deadline"),
        (3, 9, "submission_deadline", "must leave at least 10 days for bids"),
    ],
)
def test_bad_deadlines_save_nothing(client, sign_in, commissioner, clar_days, sub_days,
                                    field, message):
    commission = make_draft(commissioner, complete=False)
    sign_in(commissioner)
    now = utcnow()
    data = deadline_form("clarification_deadline", now + timedelta(days=clar_days)) | \
        deadline_form("submission_deadline", now + timedelta(days=sub_days))
    response = client.post(f"/commissioning/commissions/{commission.id}/deadlines", data=data)
    assert response.status_code == 400
    text = response.get_data(as_text=True)
    assert message in text
    assert f'href="#{field}"' in text
    db.session.expire_all()
    assert commission.submission_deadline is None


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({}, "Enter the submission deadline"),
        ({"day": "31", "month": "2", "year": "2031", "time": "5pm"},
         "The submission deadline must be a real date"),
        ({"day": "3", "month": "2", "year": "2031", "time": ""},
         "The submission deadline must include a time"),
        ({"day": "3", "month": "", "year": "2031", "time": "5pm"},
         "The submission deadline must include a month"),
        ({"day": "3", "month": "2", "year": "2031", "time": "25:00"},
         "Enter the time of the submission deadline like 5pm or 17:00"),
        ({"day": "29", "month": "3", "year": "2037", "time": "1:30am"},
         "does not exist in UK time because the clocks go forward"),
    ],
)
def test_date_time_field_messages(client, sign_in, commissioner, fields, message):
    commission = make_draft(commissioner, complete=False)
    sign_in(commissioner)
    data = deadline_form("clarification_deadline", utcnow() + timedelta(days=20))
    data |= {f"submission_deadline-{k}": v for k, v in fields.items()}
    response = client.post(f"/commissioning/commissions/{commission.id}/deadlines", data=data)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)


def test_min_tender_days_is_configurable(app, commissioner):
    app.config["MIN_TENDER_DAYS"] = 3
    now = utcnow()
    commission = make_draft(commissioner, complete=False)
    service.set_deadlines(commissioner, commission, now + timedelta(days=1),
                          now + timedelta(days=4), now)
    assert commission.submission_deadline is not None


# --- documents -----------------------------------------------------------------------------


def test_attach_and_remove_documents(client, sign_in, commissioner):
    import io

    commission = make_draft(commissioner)
    sign_in(commissioner)
    url = f"/commissioning/commissions/{commission.id}/documents"
    response = attach_document(client, commission.id, "Terms", "terms.pdf")
    assert response.status_code == 302
    db.session.expire_all()
    [link] = service.current_documents(commission)
    assert link.title == "Terms"
    assert link.document.area == "commissions"
    download = client.get(f"/documents/{link.document_id}")
    assert download.status_code == 200

    # A disguised executable is refused and nothing is stored
    response = client.post(url, data={"file": (io.BytesIO(b"MZ" + b"\0" * 200), "x.pdf")},
                           content_type="multipart/form-data")
    assert response.status_code == 400
    assert len(service.current_documents(commission)) == 1

    response = client.post(f"{url}/{link.id}/remove")
    assert response.status_code == 302
    db.session.expire_all()
    assert service.current_documents(commission) == []


# --- check your answers and publishing -----------------------------------------------------


def test_check_page_lists_problems_and_publish_refuses(client, sign_in, commissioner):
    commission = make_draft(commissioner, complete=False)
    sign_in(commissioner)
    page = client.get(f"/commissioning/commissions/{commission.id}/check")
    text = page.get_data(as_text=True)
    assert "You cannot publish yet" in text
    assert "Add the evaluation criteria" in text
    assert "Enter the submission deadline" in text
    response = client.post(f"/commissioning/commissions/{commission.id}/publish")
    assert response.status_code == 303
    db.session.expire_all()
    assert commission.published_at is None
    assert _count(Invitation) == 0


def test_publish_invites_only_active_members_and_emails_their_users(
    client, sign_in, commissioner
):
    active = OrganisationFactory(legal_name="Active Ltd")
    suspended = OrganisationFactory(legal_name="Suspended Ltd")
    expired = OrganisationFactory(legal_name="Expired Ltd")
    lapsed = OrganisationFactory(legal_name="Lapsed Ltd")  # expiry date passed, job not run
    other_category = OrganisationFactory(legal_name="Other Ltd")
    owner = make_supplier(active, role="owner", email="owner@active.example")
    member = make_supplier(active, role="member", email="member@active.example")
    gone = make_supplier(active, role="member", email="gone@active.example")
    gone.deactivated_at = utcnow()
    make_supplier(suspended, email="s@suspended.example")
    make_supplier(expired, email="e@expired.example")
    make_supplier(lapsed, email="l@lapsed.example")
    make_supplier(other_category, email="o@other.example")
    make_membership(active, number=1)
    make_membership(suspended, number=1, status=MembershipStatus.SUSPENDED)
    make_membership(expired, number=1, status=MembershipStatus.EXPIRED)
    lapsed_membership = make_membership(lapsed, number=1)
    lapsed_membership.expires_at = utcnow() - timedelta(hours=1)
    make_membership(other_category, number=2)
    db.session.commit()

    commission = make_draft(commissioner)
    sign_in(commissioner)
    page = client.get(f"/commissioning/commissions/{commission.id}/check")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "You cannot publish yet" not in text
    assert "1 organisation that is an active member" in text
    assert "<script" not in text.split("<main")[1].split("</main>")[0]
    response = client.post(f"/commissioning/commissions/{commission.id}/publish")
    assert response.status_code == 302
    db.session.expire_all()
    assert commission.state == CommissionState.OPEN
    invited = {i.organisation_id for i in db.session.scalars(select(Invitation))}
    assert invited == {active.id}
    mail = db.session.scalars(
        select(OutboxEmail).where(OutboxEmail.template == "commission_invitation")).all()
    assert sorted(m.recipient for m in mail) == [member.email, owner.email]
    assert commission.reference in mail[0].subject
    assert f"/opportunities/{commission.id}" in mail[0].text_body
    assert [v.number for v in commission.versions] == [1]
    assert "commission.published" in _actions()

    # Publishing twice changes nothing
    response = client.post(f"/commissioning/commissions/{commission.id}/publish")
    assert response.status_code == 303
    assert _count(Invitation) == 1
    # A published commission's draft pages send the commissioner back
    for page in ("details", "criteria", "deadlines", "documents", "check"):
        response = client.get(f"/commissioning/commissions/{commission.id}/{page}")
        assert response.status_code == 302


def test_publish_rechecks_the_tender_period_on_the_servers_clock(app, commissioner,
                                                                time_machine):
    organisation = OrganisationFactory()
    make_membership(organisation, number=1)
    now = utcnow()
    time_machine.move_to(now, tick=False)
    commission = make_draft(commissioner, now=now, submission_in_days=11)
    time_machine.move_to(now + timedelta(days=2), tick=False)
    with pytest.raises(service.CommissionError, match="at least 10 days"):
        service.publish(commissioner, commission)
    db.session.rollback()
    assert commission.published_at is None


def test_publish_with_nobody_to_invite_is_refused(app, commissioner):
    commission = make_draft(commissioner, number=5)
    with pytest.raises(service.CommissionError, match="nobody can be invited"):
        service.publish(commissioner, commission)


# --- the state, in one place ----------------------------------------------------------------


def test_state_from_timestamps(app, commissioner):
    organisation = OrganisationFactory()
    commission = make_open(commissioner, members=[organisation])
    now = utcnow()
    deadline = commission.submission_deadline
    assert commission.state_at(now) == CommissionState.OPEN
    assert commission.state_at(deadline - timedelta(seconds=1)) == CommissionState.OPEN
    assert commission.state_at(deadline) == CommissionState.CLOSED
    commission.bids_opened_at = deadline + timedelta(hours=1)
    assert commission.state_at(deadline) == CommissionState.OPENED
    commission.evaluation_started_at = deadline + timedelta(days=1)
    assert commission.state_at(deadline) == CommissionState.IN_EVALUATION
    commission.awarded_at = deadline + timedelta(days=9)
    assert commission.state_at(deadline) == CommissionState.AWARDED
    assert not commission.can_cancel(commissioner)
    commission.cancelled_at = now
    assert commission.state_at(now) == CommissionState.CANCELLED


def test_markdown_is_sanitised_on_every_page(client, sign_in, commissioner):
    organisation = OrganisationFactory()
    supplier = make_supplier(organisation)
    evil = (
        "<script>alert('x')</script>\n\n"
        "[click](javascript:alert(1)) [safe](https://www.gov.uk)\n\n"
        "<img src=x onerror=alert(1)>\n\n"
        '<a href="javascript:alert(2)">raw</a>'
    )
    commission = make_open(commissioner, members=[organisation], specification=evil,
                           deliverables="[x](JAVASCRIPT:alert(3))")
    for user, url in ((commissioner, f"/commissioning/commissions/{commission.id}"),
                      (supplier, f"/opportunities/{commission.id}")):
        sign_in(user)
        text = client.get(url).get_data(as_text=True)
        main = text.split("<main")[1].split("</main>")[0]
        assert "<script" not in main
        assert not re.search(r"<a\s[^>]*javascript", main, re.IGNORECASE)
        assert "<img" not in main
        assert "onerror=alert(1)&gt;" in main
        assert 'href="https://www.gov.uk"' in main
        assert "&lt;script&gt;" in main  # shown as text, never run


def test_commissioner_list_views(client, sign_in, commissioner):
    organisation = OrganisationFactory()
    make_open(commissioner, members=[organisation], title="Open one")
    make_draft(commissioner, title="Draft one")
    sign_in(commissioner)
    assert "Open one" in client.get("/commissioning/commissions").get_data(as_text=True)
    drafts = client.get("/commissioning/commissions?view=draft").get_data(as_text=True)
    assert "Draft one" in drafts and "Open one" not in drafts
    past = client.get("/commissioning/commissions?view=past&page=99")
    assert past.status_code == 200
