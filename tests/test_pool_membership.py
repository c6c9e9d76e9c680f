"""Membership: members' view, suspend/reinstate/remove, renewal, and `flask pool expire`."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import func, select

from portal.extensions import db
from portal.models.audit import AuditEvent
from portal.models.base import utcnow
from portal.models.outbox import OutboxEmail
from portal.models.pool import PoolApplication, PoolMembership, seed_declaration_questions
from tests.fixtures.users import OrganisationFactory, make_staff, make_supplier
from tests.pool_support import category, complete_details, make_membership, passing_answers_form


@pytest.fixture(autouse=True)
def questions(app):
    seed_declaration_questions()
    db.session.commit()


@pytest.fixture
def member_org():
    organisation = OrganisationFactory(legal_name="Member Org Ltd")
    complete_details(organisation)
    make_supplier(organisation, role="owner", email="owner@member.example")
    return organisation


def mails(template):
    return db.session.scalars(select(OutboxEmail).where(OutboxEmail.template == template)).all()


def test_members_see_their_categories_expiry_and_status(client, sign_in, member_org):
    make_membership(member_org, 1, expires_in_days=300)
    make_membership(member_org, 2, status="suspended")
    make_membership(OrganisationFactory(), 3)
    sign_in(member_org.members[0].user)
    page = client.get("/pool/memberships")
    assert page.status_code == 200
    assert category(1).name.encode() in page.data
    assert b"Suspended" in page.data
    assert category(3).name.encode() not in page.data


@pytest.mark.parametrize(
    "action, start, end, template_word",
    [
        ("suspend", "active", "suspended", "suspended"),
        ("reinstate", "suspended", "active", "reinstated"),
        ("remove", "active", "removed", "removed"),
        ("remove", "suspended", "removed", "removed"),
    ],
)
def test_commissioner_changes_a_membership(client, sign_in, member_org, action, start, end,
                                           template_word):
    sign_in(make_staff("commissioner"))
    membership = make_membership(member_org, 1, status=start)
    url = f"/commissioning/members/{membership.id}/{action}"
    assert client.get(url).status_code == 200
    response = client.post(url, data={"reason": "Concerns raised by a partnership."})
    assert response.status_code == 302
    db.session.refresh(membership)
    assert membership.status == end
    assert membership.events[-1].reason == "Concerns raised by a partnership."
    sent = mails("pool_membership_changed")
    assert [m.recipient for m in sent] == ["owner@member.example"]
    assert template_word in sent[0].subject
    assert f"pool_membership.{template_word}" in set(db.session.scalars(select(AuditEvent.action)))


@pytest.mark.parametrize(
    "data, message",
    [({}, b"Enter a reason"), ({"reason": "  "}, b"Enter a reason"),
     ({"reason": "x" * 2001}, b"2000 characters or fewer")],
)
def test_membership_changes_need_a_reason(client, sign_in, member_org, data, message):
    sign_in(make_staff("commissioner"))
    membership = make_membership(member_org, 1)
    response = client.post(f"/commissioning/members/{membership.id}/suspend", data=data)
    assert response.status_code == 400
    assert message in response.data
    db.session.refresh(membership)
    assert membership.status == "active"
    assert mails("pool_membership_changed") == []


@pytest.mark.parametrize("action, status", [("reinstate", "active"), ("suspend", "suspended"),
                                            ("suspend", "removed"), ("remove", "expired")])
def test_invalid_membership_transitions_are_refused(client, sign_in, member_org, action, status):
    sign_in(make_staff("commissioner"))
    membership = make_membership(member_org, 1, status=status)
    response = client.post(f"/commissioning/members/{membership.id}/{action}",
                           data={"reason": "Because"})
    assert response.status_code == 302
    db.session.refresh(membership)
    assert membership.status == status
    assert mails("pool_membership_changed") == []


def test_commissioner_member_list_filters(client, sign_in, member_org):
    sign_in(make_staff("commissioner"))
    make_membership(member_org, 1)
    make_membership(OrganisationFactory(legal_name="Zebra Reviews"), 2, status="suspended")
    page = client.get("/commissioning/members")
    assert b"Member Org Ltd" in page.data and b"Zebra Reviews" not in page.data
    page = client.get("/commissioning/members?status=suspended")
    assert b"Zebra Reviews" in page.data and b"Member Org Ltd" not in page.data
    page = client.get("/commissioning/members?status=all&q=zebra")
    assert b"Zebra Reviews" in page.data and b"Member Org Ltd" not in page.data


def run_expire(app):
    return app.test_cli_runner().invoke(args=["pool", "expire"])


def test_expire_sends_reminders_and_ends_memberships_idempotently(app, member_org):
    now = utcnow()
    soon = make_membership(member_org, 1, expires_in_days=20)
    later = make_membership(member_org, 2, expires_in_days=100)
    suspended = make_membership(member_org, 3, status="suspended", expires_in_days=10)

    result = run_expire(app)
    assert result.exit_code == 0, result.output
    assert "0 membership(s) expired, 1 reminder(s) queued" in result.output
    assert len(mails("pool_expiry_reminder")) == 1
    result = run_expire(app)
    assert "0 membership(s) expired, 0 reminder(s) queued" in result.output
    assert len(mails("pool_expiry_reminder")) == 1

    with time_machine.travel(now + timedelta(days=75), tick=False):
        result = run_expire(app)
        assert "2 membership(s) expired, 1 reminder(s) queued" in result.output
        result = run_expire(app)
        assert "0 membership(s) expired, 0 reminder(s) queued" in result.output
    db.session.expire_all()
    assert soon.status == "expired" and suspended.status == "expired"
    assert later.status == "active" and later.reminder_sent_at is not None
    assert len(mails("pool_expired")) == 2
    assert len(mails("pool_expiry_reminder")) == 2
    assert [e.action for e in soon.events] == ["reminded", "expired"]
    expired_events = db.session.scalar(
        select(func.count()).select_from(AuditEvent)
        .where(AuditEvent.action == "pool_membership.expired")
    )
    assert expired_events == 2


def test_renewal_with_passing_answers_extends_at_once(client, sign_in, member_org):
    membership = make_membership(member_org, 1, expires_in_days=25)
    membership.reminder_sent_at = utcnow()
    db.session.commit()
    before = membership.expires_at
    sign_in(member_org.members[0].user)
    page = client.get(f"/pool/memberships/{membership.id}/renew")
    assert page.status_code == 200
    response = client.post(f"/pool/memberships/{membership.id}/renew",
                           data=passing_answers_form())
    assert response.status_code == 302
    db.session.refresh(membership)
    assert membership.expires_at.year == before.year + 2
    assert membership.reminder_sent_at is None
    assert membership.events[-1].action == "renewed"
    renewal = db.session.scalars(select(PoolApplication)).one()
    assert renewal.kind == "renewal" and renewal.status == "admitted"
    assert len(mails("pool_renewed")) == 1


def test_renewal_needing_judgement_goes_to_the_commissioners(client, sign_in, member_org):
    membership = make_membership(member_org, 1, expires_in_days=25)
    before = membership.expires_at
    owner = member_org.members[0].user
    sign_in(owner)
    data = passing_answers_form()
    data.update(q_conflict_of_interest="yes", q_conflict_of_interest_details="New contract.")
    response = client.post(f"/pool/memberships/{membership.id}/renew", data=data)
    assert response.status_code == 302
    db.session.refresh(membership)
    assert membership.expires_at == before
    renewal = db.session.scalars(select(PoolApplication)).one()
    assert renewal.status == "submitted"
    # Not twice.
    response = client.post(f"/pool/memberships/{membership.id}/renew", data=data)
    assert response.status_code == 302
    assert db.session.scalar(select(func.count()).select_from(PoolApplication)) == 1

    sign_in(make_staff("commissioner"))
    assert renewal.reference.encode() in client.get("/commissioning/applications").data
    entry = renewal.categories[0]
    response = client.post(
        f"/commissioning/applications/{renewal.id}/categories/{entry.id}",
        data={"decision": "admitted", "reason": "Conflict is manageable."},
    )
    assert response.status_code == 302
    db.session.refresh(membership)
    assert membership.expires_at > before
    assert db.session.scalar(select(func.count()).select_from(PoolMembership)) == 1


def test_renewal_refused_outside_the_window_and_with_bad_answers(client, sign_in, member_org):
    far = make_membership(member_org, 1, expires_in_days=300)
    near = make_membership(member_org, 2, expires_in_days=30)
    sign_in(member_org.members[0].user)
    response = client.post(f"/pool/memberships/{far.id}/renew", data=passing_answers_form())
    assert response.status_code == 302
    data = passing_answers_form()
    data.pop("q_dbs_checks")
    response = client.post(f"/pool/memberships/{near.id}/renew", data=data)
    assert response.status_code == 400
    assert b"Select yes or no" in response.data
    assert db.session.scalar(select(func.count()).select_from(PoolApplication)) == 0
    other = make_membership(OrganisationFactory(), 3, expires_in_days=30)
    assert client.get(f"/pool/memberships/{other.id}/renew").status_code == 404


def test_only_owners_renew(client, sign_in, member_org):
    membership = make_membership(member_org, 1, expires_in_days=30)
    sign_in(make_supplier(member_org, role="member"))
    response = client.post(f"/pool/memberships/{membership.id}/renew",
                           data=passing_answers_form())
    assert response.status_code == 302
    assert db.session.scalar(select(func.count()).select_from(PoolApplication)) == 0
