"""Enquiries relayed through the portal: sending, e-mail without addresses, replies,
who can see a thread, the daily limit, blocking and availability."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import select

from portal.extensions import db
from portal.models import AuditEvent, Enquiry, EnquiryBlock, OutboxEmail, utcnow
from tests.directory_support import member_organisation, reviewer
from tests.fixtures.users import make_partnership_member, make_staff, make_supplier


def _form(**overrides) -> dict:
    start = utcnow().date() + timedelta(days=60)
    data = {"subject": "Prospective LCSPR: Child T",
            "message": "We are commissioning an LCSPR.\nWould you be available?",
            "expected_start": [str(start.day), str(start.month), str(start.year)],
            "expected_weeks": "26"}
    data.update(overrides)
    return data


@pytest.fixture
def parties(app):
    organisation = member_organisation("Hartley Reviews Ltd")
    owner = make_supplier(organisation, role="owner", email="owner@hartley.example")
    colleague = make_supplier(organisation, role="member", email="colleague@hartley.example")
    profile = reviewer("Helen Hartley", organisation, lcspr=5)
    sender = make_partnership_member(email="sarah@leeds-lscp.example")
    return {"organisation": organisation, "owner": owner, "colleague": colleague,
            "profile": profile, "sender": sender}


def _send(client, profile, **overrides):
    return client.post(f"/directory/reviewers/{profile.id}/enquire", data=_form(**overrides))


def test_enquiry_is_sent_mailed_and_audited(client, sign_in, parties):
    sign_in(parties["sender"])
    assert client.get(f"/directory/reviewers/{parties['profile'].id}/enquire").status_code == 200
    response = _send(client, parties["profile"])
    assert response.status_code == 302
    enquiry = db.session.scalar(select(Enquiry))
    assert response.headers["Location"].endswith(f"/directory/enquiries/{enquiry.id}")
    assert enquiry.subject == "Prospective LCSPR: Child T"
    assert enquiry.expected_weeks == 26
    assert enquiry.organisation_id == parties["organisation"].id
    assert [m.side for m in enquiry.messages] == ["partnership"]

    mails = db.session.scalars(select(OutboxEmail).where(
        OutboxEmail.template == "enquiry_received")).all()
    assert sorted(m.recipient for m in mails) == ["colleague@hartley.example",
                                                  "owner@hartley.example"]
    for mail in mails:
        # No addresses cross over, and the message itself stays in the portal.
        assert "sarah@leeds-lscp.example" not in mail.text_body
        assert "Would you be available" not in mail.text_body
        assert f"/directory/enquiries/{enquiry.id}" in mail.text_body
        assert parties["sender"].partnership.name in mail.text_body
    assert "directory.enquiry_sent" in set(db.session.scalars(select(AuditEvent.action)))


def test_reply_round_trip(client, sign_in, parties):
    sign_in(parties["sender"])
    _send(client, parties["profile"])
    enquiry = db.session.scalar(select(Enquiry))

    sign_in(parties["colleague"])
    page = client.get("/directory/enquiries").text
    assert "Prospective LCSPR: Child T" in page
    page = client.get(f"/directory/enquiries/{enquiry.id}").text
    assert "Would you be available?" in page
    assert "sarah@leeds-lscp.example" not in page
    response = client.post(f"/directory/enquiries/{enquiry.id}/reply",
                           data={"body": "Yes, from March."})
    assert response.status_code == 302
    db.session.expire_all()
    assert enquiry.status == "answered"
    mail = db.session.scalar(select(OutboxEmail).where(OutboxEmail.template == "enquiry_reply"))
    assert mail.recipient == "sarah@leeds-lscp.example"
    assert "owner@hartley.example" not in mail.text_body
    assert "colleague@hartley.example" not in mail.text_body

    sign_in(parties["sender"])
    page = client.get(f"/directory/enquiries/{enquiry.id}").text
    assert "Yes, from March." in page
    assert "colleague@hartley.example" not in page
    assert client.post(f"/directory/enquiries/{enquiry.id}/reply",
                       data={"body": "Thank you"}).status_code == 302
    db.session.expire_all()
    assert enquiry.status == "open"
    assert [m.side for m in enquiry.messages] == ["partnership", "reviewer", "partnership"]
    # Each reply is audited: who, on which enquiry, from which side, which message; the
    # words stay out of the audit trail.
    replies = _replied_events()
    assert [(e.actor_id, e.object_type, e.object_id, e.data) for e in replies] == [
        (parties["colleague"].id, Enquiry.__tablename__, str(enquiry.id),
         {"side": "reviewer", "message_id": enquiry.messages[1].id}),
        (parties["sender"].id, Enquiry.__tablename__, str(enquiry.id),
         {"side": "partnership", "message_id": enquiry.messages[2].id}),
    ]
    assert not any("March" in str(e.data) or "Thank you" in str(e.data) for e in replies)
    # An empty reply is refused with a message and nothing saved.
    response = client.post(f"/directory/enquiries/{enquiry.id}/reply", data={"body": "  "})
    assert response.status_code == 400
    assert "Enter your reply" in response.text
    db.session.expire_all()
    assert len(enquiry.messages) == 3
    assert len(_replied_events()) == 2


def _replied_events() -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(
        AuditEvent.action == "directory.enquiry_replied").order_by(AuditEvent.sequence)))


def test_thread_is_visible_to_its_two_parties_only(client, sign_in, parties):
    sign_in(parties["sender"])
    _send(client, parties["profile"])
    enquiry = db.session.scalar(select(Enquiry))
    outsiders = [
        make_partnership_member(partnership=parties["sender"].partnership),  # a colleague
        make_partnership_member(),
        make_supplier(),  # another supplier organisation
    ]
    for person in outsiders:
        sign_in(person)
        assert client.get(f"/directory/enquiries/{enquiry.id}").status_code == 404
        assert client.post(f"/directory/enquiries/{enquiry.id}/reply",
                           data={"body": "hi"}).status_code == 404
        assert "Prospective LCSPR" not in client.get("/directory/enquiries").text
    for role in ("commissioner", "admin", "evaluator"):
        sign_in(make_staff(role))
        assert client.get(f"/directory/enquiries/{enquiry.id}").status_code == 403
    sign_in(make_partnership_member(approved=False))
    assert client.get(f"/directory/enquiries/{enquiry.id}").status_code == 403


def test_bad_enquiries_are_refused_and_nothing_saved(client, sign_in, parties):
    sign_in(parties["sender"])
    past = utcnow().date() - timedelta(days=1)
    cases = [
        ({"subject": ""}, "Enter a subject"),
        ({"message": ""}, "Enter your message"),
        ({"message": "x" * 5001}, "Message must be 5000 characters or fewer"),
        ({"expected_start": ["", "", ""]}, "Enter the expected start date"),
        ({"expected_start": [str(past.day), str(past.month), str(past.year)]},
         "Expected start date must be today or in the future"),
        ({"expected_start": ["31", "2", "2027"]}, "must be a real date"),
        ({"expected_weeks": "0"}, "Expected length must be between 1 and 104"),
        ({"expected_weeks": "lots"}, "Expected length must be a whole number"),
    ]
    for overrides, message in cases:
        response = _send(client, parties["profile"], **overrides)
        assert response.status_code == 400, overrides
        assert message in response.text, (overrides, message)
    assert db.session.scalar(select(db.func.count(Enquiry.id))) == 0
    assert db.session.scalar(select(db.func.count(OutboxEmail.id))) == 0


@pytest.mark.parametrize("app_overrides", [{"ENQUIRY_DAILY_LIMIT": 2}])
def test_daily_limit_over_a_rolling_24_hours(client, sign_in, parties, app_overrides):
    other = reviewer("Another Reviewer", member_organisation())
    start = utcnow()

    def sent(response) -> bool:
        return (response.status_code == 302
                and "/directory/enquiries/" in response.headers["Location"])

    with time_machine.travel(start, tick=False):
        sign_in(parties["sender"])
        assert sent(_send(client, parties["profile"]))
    with time_machine.travel(start + timedelta(minutes=20), tick=False):
        sign_in(parties["sender"])
        assert sent(_send(client, other))
        response = _send(client, other)
        assert response.status_code == 400
        assert "You have sent 2 enquiries in the last 24 hours, the most allowed" in response.text
        assert db.session.scalar(select(db.func.count(Enquiry.id))) == 2
        # A colleague in the same partnership has their own allowance.
        sign_in(make_partnership_member(partnership=parties["sender"].partnership))
        assert sent(_send(client, other))
    with time_machine.travel(start + timedelta(hours=23, minutes=59), tick=False):
        sign_in(parties["sender"])
        assert _send(client, other).status_code == 400
    with time_machine.travel(start + timedelta(hours=24, minutes=1), tick=False):
        sign_in(parties["sender"])
        assert sent(_send(client, other))
        assert _send(client, other).status_code == 400  # the one 20 minutes later still counts
    assert db.session.scalar(select(db.func.count(Enquiry.id))) == 4


def test_reviewer_organisation_can_block_a_partnership(client, sign_in, parties):
    sign_in(parties["sender"])
    _send(client, parties["profile"])
    enquiry = db.session.scalar(select(Enquiry))
    # The sender cannot block (nor mark availability).
    assert client.post(f"/directory/enquiries/{enquiry.id}/block").status_code == 404
    assert client.post(f"/directory/enquiries/{enquiry.id}/availability",
                       data={"unavailable": "yes"}).status_code == 404

    sign_in(parties["owner"])
    assert client.post(f"/directory/enquiries/{enquiry.id}/block").status_code == 302
    assert client.post(f"/directory/enquiries/{enquiry.id}/block").status_code == 302  # again
    assert db.session.scalar(select(db.func.count(EnquiryBlock.id))) == 1
    assert parties["sender"].partnership.name in client.get("/directory/blocked").text

    sign_in(parties["sender"])
    response = _send(client, parties["profile"])
    assert response.status_code == 400
    assert "not accepting enquiries from your partnership" in response.text
    page = client.get(f"/directory/reviewers/{parties['profile'].id}").text
    assert "not accepting enquiries from your partnership" in page
    # Another partnership is unaffected.
    sign_in(make_partnership_member())
    assert _send(client, parties["profile"]).status_code == 302

    sign_in(parties["colleague"])
    block = db.session.scalar(select(EnquiryBlock))
    assert client.post(f"/directory/blocked/{block.id}/remove").status_code == 302
    sign_in(parties["sender"])
    assert _send(client, parties["profile"]).status_code == 302
    actions = set(db.session.scalars(select(AuditEvent.action)))
    assert {"directory.partnership_blocked", "directory.partnership_unblocked"} <= actions


def test_reviewer_can_mark_themselves_unavailable(client, sign_in, parties):
    sign_in(parties["sender"])
    _send(client, parties["profile"])
    enquiry = db.session.scalar(select(Enquiry))
    sign_in(parties["colleague"])
    assert client.post(f"/directory/enquiries/{enquiry.id}/availability",
                       data={"unavailable": "yes"}).status_code == 302
    db.session.expire_all()
    assert parties["profile"].is_unavailable
    sign_in(parties["sender"])
    page = client.get(f"/directory/reviewers/{parties['profile'].id}").text
    assert "This reviewer is not taking on new work at the moment." in page
    api = client.get(f"/api/directory/reviewers/{parties['profile'].id}").json
    assert api["availability"]["unavailable"] is True
    assert "reviewer.availability_changed" in set(db.session.scalars(select(AuditEvent.action)))


def test_cannot_enquire_to_a_reviewer_who_left_the_directory(client, sign_in, parties):
    parties["profile"].consents[0].withdrawn_at = utcnow()
    db.session.commit()
    sign_in(parties["sender"])
    assert _send(client, parties["profile"]).status_code == 404
    assert db.session.scalar(select(db.func.count(Enquiry.id))) == 0


def test_either_side_can_close_the_enquiry_and_the_other_side_is_told(
        client, sign_in, parties):
    sign_in(parties["sender"])
    _send(client, parties["profile"])
    enquiry = db.session.scalar(select(Enquiry))
    url = f"/directory/enquiries/{enquiry.id}"
    assert "Close this enquiry" in client.get(url).text

    sign_in(parties["colleague"])  # the reviewer's side closes it
    response = client.post(f"{url}/close")
    assert response.status_code == 302 and response.location == url
    db.session.expire_all()
    assert enquiry.status == "closed"
    (event,) = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "directory.enquiry_closed"))
    assert (event.actor_id, event.object_id, event.data) == (
        parties["colleague"].id, str(enquiry.id), {"side": "reviewer"})
    (told,) = db.session.scalars(
        select(OutboxEmail).where(OutboxEmail.template == "enquiry_closed"))
    assert told.recipient == "sarah@leeds-lscp.example"
    assert f"closed enquiry {enquiry.reference}" in told.text_body
    assert "hartley.example" not in told.text_body  # no addresses either way

    # Closed: no reply from either side, and the page says so.
    for person in (parties["sender"], parties["colleague"]):
        sign_in(person)
        page = client.get(url).text
        assert "This enquiry is closed" in page and "Close this enquiry" not in page
        refused = client.post(f"{url}/reply", data={"body": "One more thing"})
        assert refused.status_code == 400
        assert "This enquiry is closed" in refused.text
    db.session.expire_all()
    assert len(enquiry.messages) == 1
    # Closing again changes nothing and tells nobody twice.
    assert client.post(f"{url}/close").status_code == 302
    assert len(db.session.scalars(select(AuditEvent).where(
        AuditEvent.action == "directory.enquiry_closed")).all()) == 1
    assert len(db.session.scalars(select(OutboxEmail).where(
        OutboxEmail.template == "enquiry_closed")).all()) == 1


def test_closing_by_the_partnership_tells_the_reviewers_organisation(
        client, sign_in, parties):
    sign_in(parties["sender"])
    _send(client, parties["profile"])
    enquiry = db.session.scalar(select(Enquiry))
    assert client.post(f"/directory/enquiries/{enquiry.id}/close").status_code == 302
    told = sorted(db.session.scalars(select(OutboxEmail.recipient).where(
        OutboxEmail.template == "enquiry_closed")))
    assert told == ["colleague@hartley.example", "owner@hartley.example"]
    # Someone outside the thread cannot close it: 404, nothing changes.
    sign_in(make_partnership_member(email="other@elsewhere.example"))
    assert client.post(f"/directory/enquiries/{enquiry.id}/close").status_code == 404
    assert len(db.session.scalars(select(AuditEvent).where(
        AuditEvent.action == "directory.enquiry_closed")).all()) == 1
