"""Administration of accounts and partnerships."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import func, select

from portal.extensions import db
from portal.models import AuditEvent, OutboxEmail, Partnership, User, UserRole, utcnow
from portal.services import admin_users as service
from tests.fixtures.users import (
    DEFAULT_PASSWORD,
    PartnershipFactory,
    UserFactory,
    login_as,
    make_partnership_member,
    make_staff,
    make_supplier,
)

STRONG = "Quartz-Harbour-Meadow-91"


def actions() -> list[str]:
    query = select(AuditEvent.action).order_by(AuditEvent.sequence)
    return list(db.session.execute(query).scalars())


def mail_to(address: str) -> list[OutboxEmail]:
    query = select(OutboxEmail).where(OutboxEmail.recipient == address).order_by(OutboxEmail.id)
    return list(db.session.execute(query).scalars())


def staff_link(address: str) -> str:
    body = mail_to(address)[-1].text_body
    return re.search(r"https?://[^/\s]+(/staff-invitation/\S+)", body).group(1)


@pytest.fixture
def admin(app, sign_in):
    return sign_in(make_staff("admin", name="Alex Admin", email="alex.admin@panel.example"))


# Who may come in ------------------------------------------------------------------------


def test_admin_pages_need_the_second_factor(client, app):
    person = make_staff("admin")
    login_as(client, person, second_factor=False)
    response = client.get("/admin/users")
    assert response.status_code == 302
    assert "second-factor" in response.headers["Location"]


def test_other_staff_are_refused(client, sign_in):
    sign_in(make_staff("commissioner", "evaluator"))
    assert client.get("/admin/users").status_code == 403
    assert client.get("/admin/partnerships").status_code == 403


# Finding people -------------------------------------------------------------------------


def test_search_by_name_and_email(client, admin):
    UserFactory(name="Priya Patel", email="priya@uni.example")
    UserFactory(name="Tom Jones", email="tom@agency.example")
    page = client.get("/admin/users?q=priya")
    assert b"Priya Patel" in page.data and b"Tom Jones" not in page.data
    page = client.get("/admin/users?q=AGENCY.example")
    assert b"Tom Jones" in page.data and b"Priya Patel" not in page.data


def test_search_treats_wildcards_as_text(client, admin):
    UserFactory(name="Under_score", email="u@x.example")
    UserFactory(name="Plain", email="p@x.example")
    page = client.get("/admin/users?q=_")
    assert b"Under_score" in page.data and b"Plain" not in page.data
    page = client.get("/admin/users?q=%25")
    assert b"Plain" not in page.data


def test_filter_by_role_and_status(client, admin):
    make_staff("evaluator", name="Eve Evaluator")
    make_supplier(name="Sam Supplier")
    pending = make_partnership_member(approved=False, name="Pat Pending")
    gone = UserFactory(name="Gone Person", deactivated_at=utcnow())
    page = client.get("/admin/users?role=evaluator")
    assert b"Eve Evaluator" in page.data and b"Sam Supplier" not in page.data
    page = client.get("/admin/users?role=supplier")
    assert b"Sam Supplier" in page.data and b"Eve Evaluator" not in page.data
    page = client.get("/admin/users?status=pending")
    assert pending.name.encode() in page.data and b"Sam Supplier" not in page.data
    page = client.get("/admin/users?status=deactivated")
    assert gone.name.encode() in page.data and b"Eve Evaluator" not in page.data
    # Unknown filters are ignored, not an error.
    assert client.get("/admin/users?role=wizard&status=x&page=abc").status_code == 200


def test_pagination_is_bounded(client, admin):
    for n in range(30):
        UserFactory(name=f"Bulk {n:02d}")
    first = client.get("/admin/users?q=bulk")
    assert b"30 people found (page 1 of 2)" in first.data
    assert b"Bulk 00" in first.data and b"Bulk 29" not in first.data
    second = client.get("/admin/users?q=bulk&page=2")
    assert b"Bulk 29" in second.data and b"Bulk 00" not in second.data
    beyond = client.get("/admin/users?q=bulk&page=999999999")
    assert beyond.status_code == 200
    assert b"page 2 of 2" in beyond.data


def test_search_uses_a_fixed_number_of_queries(app, admin):
    from sqlalchemy import event

    for n in range(10):
        make_supplier(name=f"Supplier {n}")
        make_partnership_member(name=f"Partner {n}")
    def statements_for(per_page: int) -> int:
        statements = []

        def count(*_args):
            statements.append(1)

        db.session.commit()
        db.session.expire_all()
        event.listen(db.engine, "before_cursor_execute", count)
        try:
            result = service.search_users(query="", page=1, per_page=per_page)
            for person in result.items:
                _ = (person.roles, person.membership, person.partnership)
        finally:
            event.remove(db.engine, "before_cursor_execute", count)
        assert len(result.items) == result.total
        return len(statements)

    # As many queries for 21 people as for 41: nothing is loaded one row at a time.
    few = statements_for(100)
    for n in range(10):
        make_supplier(name=f"More supplier {n}")
        make_partnership_member(name=f"More partner {n}")
    assert statements_for(100) == few <= 10


def test_user_page(client, admin):
    person = make_partnership_member(approved=False, name="Pat Pending")
    page = client.get(f"/admin/users/{person.id}")
    assert page.status_code == 200
    assert b"Pat Pending" in page.data
    assert b"Approve account" in page.data
    assert client.get("/admin/users/999999").status_code == 404


# Staff invitations ----------------------------------------------------------------------


def test_invite_staff_and_set_password(client, admin):
    response = client.post(
        "/admin/users/invite",
        data={"name": "Casey Commissioner", "email": "Casey@Panel.example",
              "roles": ["commissioner", "evaluator"]},
    )
    assert response.status_code == 302
    person = db.session.execute(
        select(User).where(User.email == "casey@panel.example")
    ).scalar_one()
    assert person.password_hash is None
    assert person.roles == {"commissioner", "evaluator"}
    assert "admin.staff_invited" in actions()
    link = staff_link("casey@panel.example")

    client.post("/sign-out")
    assert client.get(link).status_code == 200
    weak = client.post(link, data={"password": "password1234", "confirm_password": "password1234"})
    assert weak.status_code == 200
    assert b"too easy to guess" in weak.data
    mismatch = client.post(link, data={"password": STRONG, "confirm_password": STRONG + "!"})
    assert b"do not match" in mismatch.data
    done = client.post(link, data={"password": STRONG, "confirm_password": STRONG})
    assert done.status_code == 302
    assert "/sign-in" in done.headers["Location"]
    db.session.expire_all()
    assert person.password_hash is not None
    assert person.email_verified_at is not None
    assert "auth.staff_invitation_accepted" in actions()
    # Single use: the password is set, so the link no longer works.
    assert client.get(link).status_code == 404
    assert client.post(link, data={"password": STRONG, "confirm_password": STRONG}) \
        .status_code == 404


def test_staff_invitation_expires_after_seven_days(client, admin):
    client.post("/admin/users/invite",
                data={"name": "Late Person", "email": "late@panel.example", "roles": ["evaluator"]})
    link = staff_link("late@panel.example")
    client.post("/sign-out")
    with time_machine.travel(utcnow() + timedelta(days=7, minutes=1)):
        page = client.get(link)
    assert page.status_code == 410
    assert b"expired" in page.data
    assert client.get(link + "x").status_code == 404


def test_resend_staff_invitation(client, admin):
    client.post("/admin/users/invite",
                data={"name": "Again", "email": "again@panel.example", "roles": ["evaluator"]})
    query = select(User).where(User.email == "again@panel.example")
    person = db.session.execute(query).scalar_one()
    assert client.post(f"/admin/users/{person.id}/resend-invitation").status_code == 302
    assert len(mail_to("again@panel.example")) == 2


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"name": "A", "email": "not-an-email", "roles": ["admin"]},
         b"Enter an email address in the correct format"),
        ({"name": "", "email": "a@panel.example", "roles": ["admin"]},
         b"Enter the person&#39;s full name"),
        ({"name": "A", "email": "a@panel.example"}, b"Select at least one role"),
        ({"name": "A", "email": "a@panel.example", "roles": ["wizard"]},
         b"Choose roles from the list"),
        ({"name": "A", "email": "alex.admin@panel.example", "roles": ["admin"]},
         b"already uses this email address"),
    ],
)
def test_invite_staff_bad_input(client, admin, data, message):
    before = db.session.execute(select(func.count(User.id))).scalar_one()
    response = client.post("/admin/users/invite", data=data)
    assert response.status_code == 200
    assert message in response.data
    assert db.session.execute(select(func.count(User.id))).scalar_one() == before
    assert db.session.execute(select(func.count(OutboxEmail.id))).scalar_one() == 0


# Roles ---------------------------------------------------------------------------------


def test_change_roles(client, admin):
    person = make_staff("evaluator")
    assert client.get(f"/admin/users/{person.id}/roles").status_code == 200
    response = client.post(f"/admin/users/{person.id}/roles",
                           data={"roles": ["commissioner", "evaluator"]})
    assert response.status_code == 302
    db.session.expire_all()
    assert person.roles == {"commissioner", "evaluator"}
    event = db.session.execute(
        select(AuditEvent).where(AuditEvent.action == "admin.roles_changed")
    ).scalar_one()
    assert event.data["added"] == ["commissioner"]
    assert any("roles" in m.subject for m in mail_to(person.email))
    # Removing every role.
    client.post(f"/admin/users/{person.id}/roles", data={})
    db.session.expire_all()
    assert person.roles == set()


def test_last_admin_cannot_remove_own_admin_role(client, admin):
    response = client.post(f"/admin/users/{admin.id}/roles", data={"roles": ["commissioner"]})
    assert response.status_code == 200
    assert b"cannot remove your own admin role" in response.data
    db.session.expire_all()
    assert admin.is_admin


def test_admin_can_step_down_when_another_admin_exists(client, admin):
    make_staff("admin")
    response = client.post(f"/admin/users/{admin.id}/roles", data={"roles": ["commissioner"]})
    assert response.status_code == 302
    db.session.expire_all()
    assert admin.roles == {"commissioner"}


def test_deactivated_admin_does_not_count(client, admin):
    make_staff("admin", deactivated_at=utcnow())
    response = client.post(f"/admin/users/{admin.id}/roles", data={"roles": []})
    assert response.status_code == 200
    assert b"there must always be another active admin" in response.data


def test_supplier_cannot_be_given_staff_roles(client, admin):
    supplier = make_supplier()
    partner = make_partnership_member()
    for person in (supplier, partner):
        response = client.post(f"/admin/users/{person.id}/roles", data={"roles": ["evaluator"]})
        assert response.status_code == 200
        assert b"cannot have panel staff roles" in response.data
    assert db.session.execute(select(func.count(UserRole.id))).scalar_one() == 1


def test_change_roles_unknown_user_is_404(client, admin):
    assert client.get("/admin/users/999999/roles").status_code == 404
    assert client.post("/admin/users/999999/roles", data={"roles": []}).status_code == 404


# Deactivation ---------------------------------------------------------------------------


def test_deactivation_ends_sessions_at_once(app, client, admin):
    victim = make_supplier()
    theirs = app.test_client()
    login_as(theirs, victim)
    assert theirs.get("/home").status_code == 200
    old_token = victim.session_token
    assert client.get(f"/admin/users/{victim.id}/deactivate").status_code == 200
    assert client.post(f"/admin/users/{victim.id}/deactivate").status_code == 302
    db.session.expire_all()
    assert victim.deactivated_at is not None
    assert victim.session_token != old_token
    assert theirs.get("/home").status_code == 302  # signed out
    assert "admin.user_deactivated" in actions()
    assert any("deactivated" in m.subject for m in mail_to(victim.email))

    assert client.post(f"/admin/users/{victim.id}/reactivate").status_code == 302
    db.session.expire_all()
    assert victim.deactivated_at is None
    assert "admin.user_reactivated" in actions()


def test_reset_second_factor(client, admin):
    person = make_staff("evaluator", totp_secret="JBSWY3DPEHPK3PXP", totp_enabled_at=utcnow())
    old_token = person.session_token
    assert client.get(f"/admin/users/{person.id}").data.count(b"Reset authenticator app") == 1
    assert client.get(f"/admin/users/{person.id}/reset-second-factor").status_code == 200
    assert client.post(f"/admin/users/{person.id}/reset-second-factor").status_code == 302
    db.session.expire_all()
    assert person.totp_secret is None and person.totp_enabled_at is None
    assert person.session_token != old_token
    assert "auth.totp_reset" in actions()
    assert any("authenticator" in m.subject for m in mail_to(person.email))
    # Nothing to reset any more: refused with a message.
    again = client.post(f"/admin/users/{person.id}/reset-second-factor")
    assert again.status_code == 200
    assert b"has not set up an authenticator app" in again.data


def test_admin_cannot_deactivate_self(client, admin):
    response = client.post(f"/admin/users/{admin.id}/deactivate")
    assert response.status_code == 200
    assert b"cannot deactivate your own account" in response.data
    db.session.expire_all()
    assert admin.deactivated_at is None


def test_deactivate_unknown_user_is_404(client, admin):
    assert client.post("/admin/users/999999/deactivate").status_code == 404
    assert client.post("/admin/users/999999/reactivate").status_code == 404


def test_last_admin_is_never_deactivated_by_the_service(app):
    only = make_staff("admin")
    other = make_staff("admin", deactivated_at=utcnow())
    with pytest.raises(service.AdminError):
        service.deactivate(other, only.id)


# Partnership accounts -------------------------------------------------------------------


def test_approve_partnership_member(client, admin):
    person = make_partnership_member(approved=False)
    page = client.get("/admin/partnerships")
    assert person.name.encode() in page.data
    assert client.post(f"/admin/partnerships/accounts/{person.id}/approve").status_code == 302
    db.session.expire_all()
    assert person.partnership_status == "approved"
    assert person.partnership_decided_at is not None
    assert "admin.partnership_member_approved" in actions()
    assert any("approved" in m.subject for m in mail_to(person.email))
    # Deciding twice is refused, with a message.
    again = client.post(f"/admin/partnerships/accounts/{person.id}/approve",
                        follow_redirects=True)
    assert b"already been decided" in again.data


def test_refusal_needs_a_reason(client, admin):
    person = make_partnership_member(approved=False)
    assert client.get(f"/admin/partnerships/accounts/{person.id}/refuse").status_code == 200
    for reason in ("", "   "):
        response = client.post(f"/admin/partnerships/accounts/{person.id}/refuse",
                               data={"reason": reason})
        assert response.status_code == 200
        assert b"Enter the reason for refusing the account" in response.data
    db.session.expire_all()
    assert person.partnership_status == "pending"
    assert mail_to(person.email) == []


def test_refusal_is_emailed_with_the_reason(client, admin):
    person = make_partnership_member(approved=False)
    reason = "We could not confirm that you work for this partnership."
    response = client.post(f"/admin/partnerships/accounts/{person.id}/refuse",
                           data={"reason": reason})
    assert response.status_code == 302
    db.session.expire_all()
    assert person.partnership_status == "refused"
    assert person.partnership_refusal_reason == reason
    assert reason in mail_to(person.email)[0].text_body
    event = db.session.execute(
        select(AuditEvent).where(AuditEvent.action == "admin.partnership_member_refused")
    ).scalar_one()
    assert event.data["reason"] == reason


def test_approval_for_a_non_partnership_account_is_404(client, admin):
    supplier = make_supplier()
    assert client.post(f"/admin/partnerships/accounts/{supplier.id}/approve").status_code == 404
    assert client.get(f"/admin/partnerships/accounts/{supplier.id}/refuse").status_code == 404


# Partnerships ---------------------------------------------------------------------------


def test_add_edit_and_deactivate_partnership(client, admin):
    response = client.post(
        "/admin/partnerships/new",
        data={"name": "Berkshire West Safeguarding Children Partnership",
              "areas": "Reading\n West Berkshire \n\nWokingham\nreading"},
    )
    assert response.status_code == 302
    partnership = db.session.execute(select(Partnership)).scalar_one()
    assert partnership.areas == ["Reading", "West Berkshire", "Wokingham"]
    assert client.get(f"/admin/partnerships/{partnership.id}/edit").status_code == 200
    response = client.post(
        f"/admin/partnerships/{partnership.id}/edit",
        data={"name": "Berkshire West Safeguarding Children Partnership", "areas": "Reading"},
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert partnership.areas == ["Reading"]
    assert client.post(f"/admin/partnerships/{partnership.id}/deactivate").status_code == 302
    db.session.expire_all()
    assert not partnership.is_active
    assert client.post(f"/admin/partnerships/{partnership.id}/reactivate").status_code == 302
    db.session.expire_all()
    assert partnership.is_active
    assert [a for a in actions() if a.startswith("admin.partnership_")] == [
        "admin.partnership_created",
        "admin.partnership_updated",
        "admin.partnership_deactivated",
        "admin.partnership_reactivated",
    ]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"name": "", "areas": "Leeds"}, b"Enter the partnership&#39;s name"),
        ({"name": "Leeds", "areas": " \n "}, b"Enter at least one local authority area"),
        ({"name": "existing partnership", "areas": "Leeds"}, b"already exists"),
    ],
)
def test_partnership_bad_input(client, admin, data, message):
    PartnershipFactory(name="Existing Partnership")
    response = client.post("/admin/partnerships/new", data=data)
    assert response.status_code == 200
    assert message in response.data
    assert db.session.execute(select(func.count(Partnership.id))).scalar_one() == 1


def test_unknown_partnership_is_404(client, admin):
    assert client.get("/admin/partnerships/999999/edit").status_code == 404
    assert client.post("/admin/partnerships/999999/deactivate").status_code == 404


def test_default_password_fixture_still_signs_in():
    # Guard: the factories' password passes the strength rules used here.
    from portal.passwords import check_strength

    assert check_strength(DEFAULT_PASSWORD).ok


def test_invited_staff_sign_in_and_are_sent_to_authenticator_set_up(client, admin):
    """The whole journey: invitation, password, sign-in, TOTP enrolment, admin pages."""
    import pyotp

    client.post("/admin/users/invite",
                data={"name": "Nia Newadmin", "email": "nia@panel.example", "roles": ["admin"]})
    link = staff_link("nia@panel.example")
    client.post("/sign-out")
    client.post(link, data={"password": STRONG, "confirm_password": STRONG})
    signed_in = client.post("/sign-in", data={"email": "nia@panel.example", "password": STRONG})
    assert signed_in.status_code == 302
    setup = client.get(signed_in.headers["Location"], follow_redirects=True)
    assert b"authenticator" in setup.data.lower()
    secret = re.search(rb"([A-Z2-7]{4}(?: [A-Z2-7]{4}){7})", setup.data).group(1)
    code = pyotp.TOTP(secret.decode().replace(" ", "")).now()
    enrolled = client.post("/second-factor/set-up", data={"code": code})
    assert enrolled.status_code == 200
    assert client.get("/admin/users").status_code == 200


def test_deactivated_person_cannot_sign_in(client, admin):
    person = UserFactory(email="gone@example.org")
    client.post(f"/admin/users/{person.id}/deactivate")
    client.post("/sign-out")
    response = client.post("/sign-in", data={"email": "gone@example.org",
                                             "password": DEFAULT_PASSWORD})
    assert response.status_code == 200
    assert b"deactivated" in response.data
