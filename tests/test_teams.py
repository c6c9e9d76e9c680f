"""Supplier teams: invitations, joining, leaving, removing, roles and ownership."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from portal.extensions import db
from portal.models import (
    AuditEvent,
    OrganisationInvitation,
    OrganisationMember,
    OutboxEmail,
    User,
    utcnow,
)
from portal.services import teams as service
from tests.fixtures.users import (
    OrganisationFactory,
    UserFactory,
    make_partnership_member,
    make_staff,
    make_supplier,
)

STRONG = "Quartz-Harbour-Meadow-91"


def actions() -> list[str]:
    query = select(AuditEvent.action).order_by(AuditEvent.sequence)
    return list(db.session.execute(query).scalars())


def mail_to(address: str) -> list[OutboxEmail]:
    return list(
        db.session.execute(select(OutboxEmail).where(OutboxEmail.recipient == address)).scalars()
    )


def invitation_token(address: str) -> str:
    body = mail_to(address)[-1].text_body
    return re.search(r"/team/join/(\S+)", body).group(1)


@pytest.fixture
def owner(app):
    return make_supplier(OrganisationFactory(legal_name="Northfield Reviews Ltd"), role="owner")


def invite(client, email):
    return client.post("/team/invite", data={"email": email})


# Team page ---------------------------------------------------------------------------


def test_owner_sees_team_and_invitations(client, sign_in, owner):
    colleague = make_supplier(owner.organisation, role="member", name="Ada Colleague")
    sign_in(owner)
    invite(client, "new.person@example.org")
    page = client.get("/team/")
    assert page.status_code == 200
    assert b"Ada Colleague" in page.data
    assert b"new.person@example.org" in page.data
    assert b"Invite a colleague" in page.data
    assert colleague.email.encode() in page.data


def test_member_sees_team_without_owner_tools(client, sign_in, owner):
    member = make_supplier(owner.organisation, role="member")
    sign_in(owner)
    invite(client, "secret.invitee@example.org")
    client.get("/team/")  # shows (and so clears) the "Invitation sent" message
    sign_in(member)
    page = client.get("/team/")
    assert page.status_code == 200
    assert owner.name.encode() in page.data
    assert b"Invite a colleague" not in page.data
    assert b"secret.invitee@example.org" not in page.data


def test_non_supplier_cannot_see_a_team(client, sign_in):
    sign_in(make_partnership_member())
    assert client.get("/team/").status_code == 403


# Inviting ------------------------------------------------------------------------------


def test_invitation_is_stored_hashed_audited_and_emailed(client, sign_in, owner):
    sign_in(owner)
    response = invite(client, "  New.Person@Example.ORG ")
    assert response.status_code == 302
    invitation = db.session.execute(select(OrganisationInvitation)).scalar_one()
    assert invitation.email == "new.person@example.org"
    token = invitation_token("new.person@example.org")
    assert invitation.token_hash != token
    assert len(invitation.token_hash) == 64
    assert invitation.expires_at - invitation.created_at == timedelta(days=7)
    assert "organisation.invitation_sent" in actions()
    message = mail_to("new.person@example.org")[0]
    assert "Northfield Reviews Ltd" in message.subject
    assert owner.name in message.text_body


@pytest.mark.parametrize(
    ("email", "message"),
    [
        ("", b"Enter an email address"),
        ("not-an-address", b"Enter an email address in the correct format"),
        ("two@@example.org", b"Enter an email address in the correct format"),
    ],
)
def test_invalid_email_is_refused(client, sign_in, owner, email, message):
    sign_in(owner)
    response = invite(client, email)
    assert response.status_code == 200
    assert message in response.data
    assert db.session.execute(select(func.count(OrganisationInvitation.id))).scalar_one() == 0
    assert db.session.execute(select(func.count(OutboxEmail.id))).scalar_one() == 0


def test_inviting_an_existing_member_is_refused(client, sign_in, owner):
    member = make_supplier(owner.organisation, role="member")
    sign_in(owner)
    response = invite(client, member.email.upper())
    assert response.status_code == 200
    assert b"already a member of your team" in response.data


def test_a_new_invitation_replaces_the_old_one(client, sign_in, owner):
    sign_in(owner)
    invite(client, "again@example.org")
    first = invitation_token("again@example.org")
    invite(client, "again@example.org")
    second = invitation_token("again@example.org")
    assert first != second
    client.post("/sign-out")
    assert client.get(f"/team/join/{first}").status_code == 410
    assert client.get(f"/team/join/{second}").status_code == 200


def test_member_cannot_invite(client, sign_in, owner):
    member = make_supplier(owner.organisation, role="member")
    sign_in(member)
    assert client.get("/team/invite").status_code == 403
    assert invite(client, "x@example.org").status_code == 403


def test_revoke_invitation(client, sign_in, owner):
    sign_in(owner)
    invite(client, "revoke.me@example.org")
    token = invitation_token("revoke.me@example.org")
    invitation = db.session.execute(select(OrganisationInvitation)).scalar_one()
    response = client.post(f"/team/invitations/{invitation.id}/revoke")
    assert response.status_code == 302
    db.session.refresh(invitation)
    assert invitation.revoked_at is not None
    assert "organisation.invitation_revoked" in actions()
    client.post("/sign-out")
    page = client.get(f"/team/join/{token}")
    assert page.status_code == 410
    assert b"withdrawn" in page.data


def test_revoking_another_organisations_invitation_is_404(client, sign_in, owner):
    other_owner = make_supplier(role="owner")
    sign_in(other_owner)
    invite(client, "theirs@example.org")
    invitation = db.session.execute(select(OrganisationInvitation)).scalar_one()
    sign_in(owner)
    assert client.post(f"/team/invitations/{invitation.id}/revoke").status_code == 404
    db.session.refresh(invitation)
    assert invitation.revoked_at is None


# Accepting -----------------------------------------------------------------------------


def test_new_person_registers_from_invitation(client, sign_in, owner):
    sign_in(owner)
    invite(client, "joiner@example.org")
    token = invitation_token("joiner@example.org")
    client.post("/sign-out")
    page = client.get(f"/team/join/{token}")
    assert page.status_code == 200
    assert b"joiner@example.org" in page.data

    response = client.post(
        f"/team/join/{token}",
        data={"name": "Jo Iner", "password": STRONG, "confirm_password": STRONG},
    )
    assert response.status_code == 302
    # Signed in straight away, on the team page.
    team_page = client.get(response.headers["Location"])
    assert team_page.status_code == 200
    assert b"Jo Iner" in team_page.data and b"(you)" in team_page.data
    user = db.session.execute(select(User).where(User.email == "joiner@example.org")).scalar_one()
    assert user.email_verified_at is not None
    assert user.password_hash and STRONG not in user.password_hash
    assert user.membership.organisation_id == owner.organisation.id
    assert user.membership.role == "member"
    invitation = db.session.execute(select(OrganisationInvitation)).scalar_one()
    assert invitation.accepted_at is not None
    assert {"auth.registered", "organisation.member_joined"} <= set(actions())
    assert any("has joined" in m.subject for m in mail_to(owner.email))

    # The link is single use.
    again = client.get(f"/team/join/{token}")
    assert again.status_code == 410
    assert b"already been used" in again.data
    replay = client.post(
        f"/team/join/{token}",
        data={"name": "Someone Else", "password": STRONG, "confirm_password": STRONG},
    )
    assert replay.status_code == 410


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"name": "", "password": STRONG, "confirm_password": STRONG}, b"Enter your full name"),
        ({"name": "A B", "password": "password123", "confirm_password": "password123"},
         b"too easy to guess"),
        ({"name": "A B", "password": "short", "confirm_password": "short"},
         b"10 characters or more"),
        ({"name": "A B", "password": STRONG, "confirm_password": STRONG + "x"},
         b"do not match"),
    ],
)
def test_registration_bad_input_saves_nothing(client, sign_in, owner, data, message):
    sign_in(owner)
    invite(client, "careful@example.org")
    token = invitation_token("careful@example.org")
    client.post("/sign-out")
    response = client.post(f"/team/join/{token}", data=data)
    assert response.status_code == 200
    assert message in response.data
    assert db.session.execute(
        select(User).where(User.email == "careful@example.org")
    ).scalar_one_or_none() is None


def test_expired_invitation(client, sign_in, owner):
    sign_in(owner)
    invite(client, "late@example.org")
    token = invitation_token("late@example.org")
    invitation = db.session.execute(select(OrganisationInvitation)).scalar_one()
    invitation.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    client.post("/sign-out")
    page = client.get(f"/team/join/{token}")
    assert page.status_code == 410
    assert b"expired" in page.data
    response = client.post(
        f"/team/join/{token}",
        data={"name": "Late", "password": STRONG, "confirm_password": STRONG},
    )
    assert response.status_code == 410
    assert db.session.execute(
        select(User).where(User.email == "late@example.org")
    ).scalar_one_or_none() is None


def test_unknown_token_is_404(client):
    assert client.get("/team/join/not-a-real-token").status_code == 404


def test_signed_in_person_with_the_address_joins(client, sign_in, owner):
    person = UserFactory(email="loner@example.org")
    sign_in(owner)
    invite(client, "loner@example.org")
    token = invitation_token("loner@example.org")
    sign_in(person)
    assert client.get(f"/team/join/{token}").status_code == 200
    response = client.post(f"/team/join/{token}")
    assert response.status_code == 302
    db.session.expire_all()
    assert person.membership.organisation_id == owner.organisation.id


def test_invitation_for_another_address_is_refused(client, sign_in, owner):
    stranger = UserFactory(email="stranger@example.org")
    sign_in(owner)
    invite(client, "intended@example.org")
    token = invitation_token("intended@example.org")
    sign_in(stranger)
    page = client.get(f"/team/join/{token}")
    assert page.status_code == 403
    assert b"sent to intended@example.org" in page.data
    assert client.post(f"/team/join/{token}").status_code == 403
    db.session.expire_all()
    assert stranger.membership is None
    with pytest.raises(service.TeamError):
        service.accept_as(stranger, token)


def test_member_of_another_organisation_cannot_join(client, sign_in, owner):
    elsewhere = make_supplier(role="member", email="busy@example.org")
    sign_in(owner)
    invite(client, "busy@example.org")
    token = invitation_token("busy@example.org")
    sign_in(elsewhere)
    page = client.post(f"/team/join/{token}")
    assert page.status_code == 403
    assert b"Leave that organisation" in page.data


def test_staff_cannot_join_a_supplier(client, sign_in, owner):
    staff = make_staff("evaluator", email="evaluator@example.org")
    sign_in(owner)
    invite(client, "evaluator@example.org")
    token = invitation_token("evaluator@example.org")
    sign_in(staff)
    assert client.post(f"/team/join/{token}").status_code == 403


def test_anonymous_with_existing_account_is_asked_to_sign_in(client, sign_in, owner):
    UserFactory(email="known@example.org")
    sign_in(owner)
    invite(client, "known@example.org")
    token = invitation_token("known@example.org")
    client.post("/sign-out")
    page = client.get(f"/team/join/{token}")
    assert page.status_code == 200
    assert b"already have an account" in page.data
    with pytest.raises(service.TeamError):
        service.register_from_invitation(token, "Known", STRONG)


# Members, roles and the last owner -----------------------------------------------------


def test_owner_removes_member(client, sign_in, owner):
    member = make_supplier(owner.organisation, role="member")
    sign_in(owner)
    assert client.get(f"/team/members/{member.membership.id}/remove").status_code == 200
    response = client.post(f"/team/members/{member.membership.id}/remove")
    assert response.status_code == 302
    db.session.expire_all()
    assert member.membership is None
    assert "organisation.member_removed" in actions()
    assert any("removed" in m.subject for m in mail_to(member.email))


def test_non_owner_cannot_remove(client, sign_in, owner):
    member = make_supplier(owner.organisation, role="member")
    other = make_supplier(owner.organisation, role="member")
    sign_in(member)
    assert client.post(f"/team/members/{other.membership.id}/remove").status_code == 403
    assert client.post(f"/team/members/{owner.membership.id}/role",
                       data={"role": "member"}).status_code == 403
    assert client.post(f"/team/members/{owner.membership.id}/transfer").status_code == 403
    db.session.expire_all()
    assert other.membership is not None


def test_another_organisations_member_is_404(client, sign_in, owner):
    outsider = make_supplier(role="member")
    member_id = outsider.membership.id
    sign_in(owner)
    for path in ("remove", "role", "transfer"):
        assert client.get(f"/team/members/{member_id}/{path}").status_code == 404
    assert client.post(f"/team/members/{member_id}/remove").status_code == 404
    assert client.post(f"/team/members/{member_id}/role",
                       data={"role": "owner"}).status_code == 404
    assert client.post(f"/team/members/{member_id}/transfer").status_code == 404
    db.session.expire_all()
    assert outsider.membership is not None


def test_last_owner_cannot_leave(client, sign_in, owner):
    sign_in(owner)
    response = client.post("/team/leave", data={"confirm": "yes"})
    assert response.status_code == 200
    assert b"only owner" in response.data
    db.session.expire_all()
    assert owner.membership is not None


def test_leave_needs_an_answer(client, sign_in, owner):
    member = make_supplier(owner.organisation, role="member")
    sign_in(member)
    response = client.post("/team/leave", data={})
    assert response.status_code == 200
    assert b"Select yes if you want to leave" in response.data
    assert client.post("/team/leave", data={"confirm": "no"}).status_code == 302
    db.session.expire_all()
    assert member.membership is not None


def test_member_leaves(client, sign_in, owner):
    member = make_supplier(owner.organisation, role="member")
    sign_in(member)
    assert client.get("/team/leave").status_code == 200
    response = client.post("/team/leave", data={"confirm": "yes"})
    assert response.status_code == 302
    db.session.expire_all()
    assert member.membership is None
    assert "organisation.member_left" in actions()
    assert any("has left" in m.subject for m in mail_to(owner.email))


def test_owner_can_leave_when_another_owner_remains(client, sign_in, owner):
    make_supplier(owner.organisation, role="owner")
    sign_in(owner)
    assert client.post("/team/leave", data={"confirm": "yes"}).status_code == 302
    db.session.expire_all()
    assert owner.membership is None


def test_last_owner_cannot_demote_self_or_remove_self(client, sign_in, owner):
    sign_in(owner)
    response = client.post(f"/team/members/{owner.membership.id}/role", data={"role": "member"})
    assert response.status_code == 200
    assert b"at least one owner" in response.data
    response = client.post(f"/team/members/{owner.membership.id}/remove")
    assert response.status_code == 200
    assert b"cannot remove yourself" in response.data
    db.session.expire_all()
    assert owner.membership.role == "owner"


def test_last_owner_cannot_be_removed_by_the_service(owner):
    # Another owner demoted themselves in the meantime: the service counts under a lock.
    co_owner = make_supplier(owner.organisation, role="owner")
    service.change_role(co_owner, co_owner.membership.id, "member")
    db.session.commit()
    with pytest.raises(PermissionError):
        service.remove_member(co_owner, owner.membership.id)
    with pytest.raises(service.TeamError, match="at least one owner"):
        service.change_role(owner, owner.membership.id, "member")


def test_promote_then_demote(client, sign_in, owner):
    member = make_supplier(owner.organisation, role="member")
    sign_in(owner)
    page = client.get(f"/team/members/{member.membership.id}/role")
    assert page.status_code == 200
    assert client.post(f"/team/members/{member.membership.id}/role",
                       data={"role": "owner"}).status_code == 302
    db.session.expire_all()
    assert member.membership.role == "owner"
    assert any("role" in m.subject for m in mail_to(member.email))
    # Now two owners: the first may step down.
    assert client.post(f"/team/members/{owner.membership.id}/role",
                       data={"role": "member"}).status_code == 302
    db.session.expire_all()
    assert owner.membership.role == "member"
    assert actions().count("organisation.member_role_changed") == 2


def test_bad_role_is_refused(client, sign_in, owner):
    member = make_supplier(owner.organisation, role="member")
    sign_in(owner)
    response = client.post(f"/team/members/{member.membership.id}/role", data={"role": "admin"})
    assert response.status_code == 200
    db.session.expire_all()
    assert member.membership.role == "member"


def test_transfer_ownership(client, sign_in, owner):
    member = make_supplier(owner.organisation, role="member")
    sign_in(owner)
    assert client.get(f"/team/members/{member.membership.id}/transfer").status_code == 200
    response = client.post(f"/team/members/{member.membership.id}/transfer")
    assert response.status_code == 302
    db.session.expire_all()
    assert member.membership.role == "owner"
    assert owner.membership.role == "member"
    assert "organisation.ownership_transferred" in actions()
    assert any("now an owner" in m.subject for m in mail_to(member.email))
    # The former owner no longer has owner pages.
    assert client.get("/team/invite").status_code == 403


def test_transfer_to_self_is_refused(client, sign_in, owner):
    sign_in(owner)
    response = client.post(f"/team/members/{owner.membership.id}/transfer")
    assert response.status_code == 200
    assert b"someone else" in response.data


def test_membership_counts_unchanged_after_refusals(client, sign_in, owner):
    sign_in(owner)
    client.post("/team/leave", data={"confirm": "yes"})
    client.post(f"/team/members/{owner.membership.id}/role", data={"role": "member"})
    assert db.session.execute(select(func.count(OrganisationMember.id))).scalar_one() == 1
