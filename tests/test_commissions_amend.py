"""Amendments, cancellation, closing, the supplier pages, and UK time across the clock
changes."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlalchemy import func, select

from portal.extensions import db
from portal.models.audit import AuditEvent
from portal.models.base import utcnow
from portal.models.commissions import CommissionState, CommissionVersion, VersionKind
from portal.models.outbox import OutboxEmail
from portal.services import commissions as service
from portal.ukdatetime import (
    NonexistentTime,
    days_left,
    format_uk,
    parse_time,
    uk_to_utc,
)
from tests.commissions_support import (
    criteria_form,
    deadline_form,
    make_draft,
    make_open,
)
from tests.fixtures.users import OrganisationFactory, make_staff, make_supplier


@pytest.fixture
def commissioner():
    return make_staff("commissioner", email="commissioner@panel.example")


@pytest.fixture
def invited():
    organisation = OrganisationFactory(legal_name="Invited Research Ltd")
    user = make_supplier(organisation, email="bidder@invited.example")
    return organisation, user


@pytest.fixture
def outsider():
    organisation = OrganisationFactory(legal_name="Outsider Ltd")
    return organisation, make_supplier(organisation, email="someone@outsider.example")


def _mail(template: str) -> list[OutboxEmail]:
    return list(db.session.scalars(
        select(OutboxEmail).where(OutboxEmail.template == template).order_by(OutboxEmail.id)))


# --- extending the deadline -------------------------------------------------------------------


def test_extend_deadline_emails_invitees_and_is_versioned(client, sign_in, commissioner,
                                                          invited):
    organisation, bidder = invited
    commission = make_open(commissioner, members=[organisation])
    old = commission.submission_deadline
    new = (old + timedelta(days=7)).replace(second=0, microsecond=0)
    sign_in(commissioner)
    url = f"/commissioning/commissions/{commission.id}/extend"
    assert client.get(url).status_code == 200

    # Not later than the current deadline: refused, nothing changes
    data = deadline_form("clarification_deadline", commission.clarification_deadline) | \
        deadline_form("submission_deadline", old - timedelta(days=1))
    response = client.post(url, data=data)
    assert response.status_code == 400
    assert "The new submission deadline must be later than the current one" in \
        response.get_data(as_text=True)
    db.session.expire_all()
    assert commission.submission_deadline == old

    data = deadline_form("clarification_deadline", commission.clarification_deadline) | \
        deadline_form("submission_deadline", new) | {"note": "More time for fieldwork plans."}
    response = client.post(url, data=data)
    assert response.status_code == 302
    db.session.expire_all()
    assert commission.submission_deadline == new
    version = commission.versions[-1]
    assert version.number == 2
    assert version.kind == VersionKind.DEADLINE_EXTENDED
    assert set(version.changes) == {"submission_deadline"}
    [mail] = _mail("commission_deadline_extended")
    assert mail.recipient == bidder.email
    assert format_uk(new) in mail.text_body
    assert "More time for fieldwork plans." in mail.text_body

    # The supplier sees what changed and when
    sign_in(bidder)
    text = client.get(f"/opportunities/{commission.id}").get_data(as_text=True)
    assert "This commission has changed since it was published" in text
    assert f"moved from {format_uk(old)} to {format_uk(new)}" in text
    assert "More time for fieldwork plans." in text


# --- material change ------------------------------------------------------------------------


def _amend_form(commission, **overrides):
    data = {
        "title": commission.title,
        "summary": commission.summary,
        "specification": commission.specification,
        "deliverables": commission.deliverables,
        "timescale": commission.timescale,
        "max_budget": str(commission.max_budget_pence // 100),
        "note": "We have added a second site visit.",
    }
    data |= criteria_form([(c.name, c.weight) for c in commission.criteria],
                          commission.price_weight)
    for index, c in enumerate(commission.criteria):
        data[f"criteria-{index}-description"] = c.description
        for score, text in c.guidance:
            data[f"criteria-{index}-guidance_{score}"] = text
    now = utcnow()
    data |= deadline_form("clarification_deadline", now + timedelta(days=5))
    data |= deadline_form("submission_deadline", now + timedelta(days=12))
    data.update(overrides)
    return data


def test_material_change_versions_emails_and_calls_the_bids_hook(
    client, sign_in, commissioner, invited, monkeypatch
):
    organisation, bidder = invited
    commission = make_open(commissioner, members=[organisation])
    calls = []

    def hook(actor, commission_, version):
        calls.append((actor.id, commission_.id, version.number))
        return [organisation]

    monkeypatch.setattr(service, "_bids_hook",
                        lambda name: hook if name == "on_material_change" else None)
    sign_in(commissioner)
    url = f"/commissioning/commissions/{commission.id}/amend"
    assert client.get(url).status_code == 200

    # Nothing material changed: refused
    response = client.post(url, data=_amend_form(commission))
    assert response.status_code == 400
    assert "You have not changed the specification or criteria" in \
        response.get_data(as_text=True)

    # The deadline must again leave the minimum tender period from now
    now = utcnow()
    data = _amend_form(commission, specification="New scope: two sites.")
    data |= deadline_form("submission_deadline", now + timedelta(days=9))
    response = client.post(url, data=data)
    assert response.status_code == 400
    assert "must leave at least 10 days for bids" in response.get_data(as_text=True)

    # Weights must still total 100
    data = _amend_form(commission, specification="New scope: two sites.", price_weight="10")
    response = client.post(url, data=data)
    assert response.status_code == 400
    assert "They add up to 80" in response.get_data(as_text=True)
    assert calls == []
    db.session.expire_all()
    assert len(commission.versions) == 1

    data = _amend_form(commission, specification="New scope: two sites.", price_weight="20",
                       **{"criteria-0-weight": "80"})
    response = client.post(url, data=data)
    assert response.status_code == 302, response.get_data(as_text=True)
    db.session.expire_all()
    assert commission.specification == "New scope: two sites."
    assert commission.criteria[0].weight == 80
    version = commission.versions[-1]
    assert version.kind == VersionKind.MATERIAL_CHANGE
    assert {"specification", "criteria", "price_weight", "submission_deadline"} <= set(
        version.changes)
    assert version.snapshot["specification"] == "New scope: two sites."
    assert commission.versions[0].snapshot["specification"] != "New scope: two sites."
    assert calls == [(commissioner.id, commission.id, 2)]
    [amended] = _mail("commission_amended")
    assert "Specification" in amended.text_body
    assert "We have added a second site visit." in amended.text_body
    [reconfirm] = _mail("commission_bid_reconfirm")
    assert reconfirm.recipient == bidder.email
    actions = list(db.session.scalars(select(AuditEvent.action)))
    assert "commission.material_change" in actions


def test_amend_only_while_open(client, sign_in, commissioner):
    draft = make_draft(commissioner)
    sign_in(commissioner)
    for page in ("extend", "amend"):
        response = client.get(f"/commissioning/commissions/{draft.id}/{page}")
        assert response.status_code == 302
    with pytest.raises(service.CommissionError):
        service.extend_deadline(commissioner, draft, None, None, "")


# --- cancellation ----------------------------------------------------------------------------


def test_cancel_needs_a_reason_emails_invitees_and_stops_everything(
    client, sign_in, commissioner, invited
):
    organisation, bidder = invited
    commission = make_open(commissioner, members=[organisation])
    sign_in(commissioner)
    url = f"/commissioning/commissions/{commission.id}/cancel"
    response = client.post(url, data={"reason": "  "})
    assert response.status_code == 400
    assert "Enter the reason for cancelling the commission" in response.get_data(as_text=True)
    db.session.expire_all()
    assert commission.cancelled_at is None

    response = client.post(url, data={"reason": "The review has been paused."})
    assert response.status_code == 302
    db.session.expire_all()
    assert commission.state == CommissionState.CANCELLED
    assert not commission.is_open_at(utcnow())
    assert commission.versions[-1].kind == VersionKind.CANCELLED
    [mail] = _mail("commission_cancelled")
    assert mail.recipient == bidder.email
    assert "The review has been paused." in mail.text_body
    # Nothing more: no amendment, no second cancellation, no questions
    assert client.get(f"/commissioning/commissions/{commission.id}/extend").status_code == 302
    assert client.get(url).status_code == 302
    with pytest.raises(service.CommissionError):
        service.cancel(commissioner, commission, "again")
    sign_in(bidder)
    text = client.get(f"/opportunities/{commission.id}").get_data(as_text=True)
    assert "This commission was cancelled" in text
    assert "The review has been paused." in text


def test_cancel_a_draft_emails_nobody(app, commissioner):
    draft = make_draft(commissioner)
    service.cancel(commissioner, draft, "Created by mistake.")
    assert draft.state == CommissionState.CANCELLED
    assert _mail("commission_cancelled") == []
    assert db.session.scalar(select(func.count(CommissionVersion.id))) == 0


# --- close-due -------------------------------------------------------------------------------


def test_close_due_tells_bidders_once(app, commissioner, invited, monkeypatch, time_machine):
    organisation, bidder = invited
    commission = make_open(commissioner, members=[organisation])
    monkeypatch.setattr(
        service, "_bids_hook",
        lambda name: (lambda c: [organisation]) if name == "submitted_bidder_organisations"
        else None)
    runner = app.test_cli_runner()
    result = runner.invoke(args=["commissions", "close-due"])
    assert "0 commissions closed" in result.output
    time_machine.move_to(commission.submission_deadline, tick=False)
    result = runner.invoke(args=["commissions", "close-due"])
    assert result.exit_code == 0, result.output
    assert "1 commission closed" in result.output
    db.session.expire_all()
    assert commission.closed_notice_sent_at == commission.submission_deadline
    assert [m.recipient for m in _mail("commission_closed")] == [bidder.email]
    result = runner.invoke(args=["commissions", "close-due"])
    assert "0 commissions closed" in result.output
    assert len(_mail("commission_closed")) == 1


# --- suppliers: opportunities and access -----------------------------------------------------


def test_opportunities_list_open_first_with_days_left(client, sign_in, commissioner, invited,
                                                    outsider):
    organisation, bidder = invited
    soon = make_open(commissioner, members=[organisation], title="Closing soon",
                     submission_in_days=11)
    later = make_open(commissioner, 2, members=[organisation], title="Closing later",
                      submission_in_days=30)
    cancelled = make_open(commissioner, 3, members=[organisation], title="Called off")
    service.cancel(commissioner, cancelled, "No longer needed.")
    make_draft(commissioner, title="Secret draft")
    db.session.commit()
    sign_in(bidder)
    text = client.get("/opportunities").get_data(as_text=True)
    assert text.index("Closing soon") < text.index("Closing later") < text.index("Called off")
    assert f"{days_left(soon.submission_deadline, utcnow())} days left" in text
    assert "Secret draft" not in text
    page = service.opportunities(organisation.id, page=1, now=utcnow(), per_page=2)
    assert page.total == 3 and page.pages == 2
    assert [c.id for c in page.items] == [soon.id, later.id]

    # Another supplier sees none of them, and gets 404 for the pages
    sign_in(outsider[1])
    text = client.get("/opportunities").get_data(as_text=True)
    assert "Closing soon" not in text
    assert client.get(f"/opportunities/{soon.id}").status_code == 404
    assert client.get(f"/opportunities/{soon.id}/questions/new").status_code == 404


def test_invited_supplier_downloads_documents_others_do_not(client, sign_in, commissioner,
                                                            invited, outsider):
    import io

    from werkzeug.datastructures import FileStorage

    organisation, bidder = invited
    now = utcnow()
    draft = make_draft(commissioner, now=now)
    link = service.add_document(
        commissioner, draft, FileStorage(io.BytesIO(b"Terms\n"), filename="terms.txt"), "")
    from tests.pool_support import make_membership

    make_membership(organisation, number=1)
    db.session.commit()
    # Before publication: not even the future invitee
    sign_in(bidder)
    assert client.get(f"/documents/{link.document_id}").status_code == 404
    service.publish(commissioner, draft, now)
    db.session.commit()
    assert client.get(f"/documents/{link.document_id}").status_code == 200
    sign_in(outsider[1])
    assert client.get(f"/documents/{link.document_id}").status_code == 404


# --- UK time ---------------------------------------------------------------------------------


def test_uk_time_across_the_clock_changes():
    # GMT in winter, BST in summer
    assert uk_to_utc(date(2026, 1, 15), time(17, 0)) == datetime(2026, 1, 15, 17, 0, tzinfo=UTC)
    assert uk_to_utc(date(2026, 7, 15), time(17, 0)) == datetime(2026, 7, 15, 16, 0, tzinfo=UTC)
    # The hour skipped on 29 March 2026 does not exist
    with pytest.raises(NonexistentTime):
        uk_to_utc(date(2026, 3, 29), time(1, 30))
    assert uk_to_utc(date(2026, 3, 29), time(2, 0)) == datetime(2026, 3, 29, 1, 0, tzinfo=UTC)
    # The hour repeated on 25 October 2026: the first (BST) reading, the earlier instant
    assert uk_to_utc(date(2026, 10, 25), time(1, 30)) == datetime(2026, 10, 25, 0, 30,
                                                                  tzinfo=UTC)
    assert format_uk(datetime(2026, 7, 15, 16, 0, tzinfo=UTC)) == "5pm on 15 July 2026 (BST)"
    assert format_uk(datetime(2026, 1, 15, 12, 0, tzinfo=UTC)) == "midday on 15 January 2026 (GMT)"
    assert format_uk(datetime(2026, 1, 15, 9, 30, tzinfo=UTC)) == "9:30am on 15 January 2026 (GMT)"
    assert parse_time("5pm") == time(17) and parse_time("12am") == time(0)
    assert parse_time("17") is None and parse_time("13pm") is None
    # Days left count UK calendar days: 11:30pm BST on 30 March is already 31 March in UTC
    now = datetime(2026, 3, 30, 22, 30, tzinfo=UTC)  # 11:30pm BST, 30 March
    assert days_left(datetime(2026, 3, 31, 8, 0, tzinfo=UTC), now) == 1


def test_deadline_typed_in_summer_is_stored_as_utc_and_shown_back(client, sign_in,
                                                                  commissioner, time_machine):
    # Drafted in winter (GMT) for a deadline after the clocks go forward (BST)
    time_machine.move_to(datetime(2031, 3, 20, 10, 0, tzinfo=UTC), tick=False)
    commission = make_draft(commissioner, complete=False)
    sign_in(commissioner)
    data = {
        "clarification_deadline-day": "27", "clarification_deadline-month": "3",
        "clarification_deadline-year": "2031", "clarification_deadline-time": "5pm",
        "submission_deadline-day": "3", "submission_deadline-month": "4",
        "submission_deadline-year": "2031", "submission_deadline-time": "12pm",
    }
    response = client.post(f"/commissioning/commissions/{commission.id}/deadlines", data=data)
    assert response.status_code == 302, response.get_data(as_text=True)
    db.session.expire_all()
    # 27 March 2031 is still GMT; 3 April 2031 is BST (the clocks go forward on 30 March)
    assert commission.clarification_deadline == datetime(2031, 3, 27, 17, 0, tzinfo=UTC)
    assert commission.submission_deadline == datetime(2031, 4, 3, 11, 0, tzinfo=UTC)
    text = client.get(f"/commissioning/commissions/{commission.id}/check").get_data(
        as_text=True)
    assert "midday on 3 April 2031 (BST)" in text
    assert "5pm on 27 March 2031 (GMT)" in text
    # The tender period is counted in real time (10 x 24 hours) from publication
    assert commission.submission_deadline - commission.clarification_deadline < timedelta(
        days=7)
