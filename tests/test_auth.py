"""Registration, e-mail verification, signing in and out, lockout, sessions, `next`."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from portal.extensions import db
from portal.login import safe_next
from portal.models import Organisation, OrgRole, User
from portal.models.base import utcnow
from portal.services import accounts
from tests.auth_helpers import (
    STRONG,
    audit_actions,
    last_link,
    outbox,
    sign_in_with_password,
)
from tests.fixtures.users import (
    DEFAULT_PASSWORD,
    PartnershipFactory,
    UserFactory,
    make_staff,
    make_supplier,
)


def _user(email: str) -> User | None:
    db.session.expire_all()
    return db.session.execute(select(User).where(User.email == email)).scalar_one_or_none()


def _register_supplier(client, **overrides):
    data = {
        "name": "Ann Smith",
        "email": "ann@example.org",
        "organisation_name": "Smith Reviews Ltd",
        "password": STRONG,
        "confirm": STRONG,
        **overrides,
    }
    return client.post("/create-account/supplier", data=data)


# ------------------------------------------------------------------------ home page


def test_home_page_calls_to_action_when_signed_out(client):
    page = client.get("/").text
    assert 'href="/create-account"' in page
    assert 'href="/sign-in"' in page


def test_home_page_has_no_calls_to_action_when_signed_in(client, sign_in):
    sign_in(make_supplier())
    page = client.get("/").text
    assert 'href="/create-account"' not in page


# --------------------------------------------------------------------- registration


def test_register_supplier_creates_owner_of_new_organisation(client):
    response = _register_supplier(client, email="  Ann@Example.ORG ")
    assert response.status_code == 200
    assert "Check your email" in response.text

    user = _user("ann@example.org")
    assert user is not None and user.email_verified_at is None
    assert user.name == "Ann Smith"
    assert user.password_hash.startswith("$argon2id$")
    assert user.membership.role == OrgRole.OWNER
    assert user.organisation.legal_name == "Smith Reviews Ltd"
    assert [e.action for e in audit_actions()] == ["auth.registered", "organisation.created"]
    [message] = outbox("ann@example.org", "verify_email")
    assert "/verify-email/" in message.text_body
    assert STRONG not in message.text_body


def test_unverified_account_cannot_sign_in_then_verifies(client):
    _register_supplier(client)
    response = sign_in_with_password(client, "ann@example.org", STRONG)
    assert response.status_code == 200
    assert "confirm your email address before you can sign in" in response.text
    assert 'href="/send-confirmation-link"' in response.text
    assert client.get("/account").status_code == 302  # not signed in

    link = last_link("ann@example.org", "verify_email")
    page = client.get(link)
    assert page.status_code == 200 and "Confirm email address" in page.text
    assert _user("ann@example.org").email_verified_at is None  # GET changes nothing

    response = client.post(link)
    assert response.status_code == 302 and response.location == "/sign-in"
    assert _user("ann@example.org").email_verified_at is not None
    assert len(audit_actions("auth.email_verified")) == 1

    response = sign_in_with_password(client, "ann@example.org", STRONG)
    assert response.status_code == 302 and response.location == "/home"
    assert client.get("/account").status_code == 200


def test_verification_link_used_twice_changes_nothing_more(client):
    _register_supplier(client)
    link = last_link("ann@example.org", "verify_email")
    client.post(link)
    assert "already confirmed" in client.get(link).text
    client.post(link)
    assert len(audit_actions("auth.email_verified")) == 1


def test_verification_link_expires_after_24_hours(client, time_machine):
    _register_supplier(client)
    link = last_link("ann@example.org", "verify_email")
    time_machine.move_to(utcnow() + timedelta(hours=24, minutes=1))
    response = client.get(link)
    assert response.status_code == 400
    assert "This link has expired" in response.text
    assert client.post(link).status_code == 400
    assert _user("ann@example.org").email_verified_at is None


@pytest.mark.parametrize("mangle", [lambda t: t + "x", lambda t: t[:-3], lambda t: "forged"])
def test_tampered_verification_link_refused(client, mangle):
    _register_supplier(client)
    link = last_link("ann@example.org", "verify_email")
    prefix, token = link.rsplit("/", 1)
    response = client.post(f"{prefix}/{mangle(token)}")
    assert response.status_code == 400
    assert "This link does not work" in response.text
    assert _user("ann@example.org").email_verified_at is None


def test_verification_token_for_another_purpose_refused(client):
    user = UserFactory(email_verified_at=None)
    token = accounts.make_token("reset-password", {"u": user.id, "e": user.email})
    assert client.post(f"/verify-email/{token}").status_code == 400


def test_verification_link_bound_to_the_address(client):
    user = UserFactory(email="old@example.org", email_verified_at=None)
    token = accounts.verification_token(user)
    user.email = "new@example.org"
    db.session.commit()
    assert client.post(f"/verify-email/{token}").status_code == 400
    assert _user("new@example.org").email_verified_at is None


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("name", "", "Enter your full name"),
        ("email", "", "Enter your email address"),
        ("email", "not-an-address", "Enter an email address in the correct format"),
        ("organisation_name", "", "Enter your organisation"),
        ("password", "short", "Password must be between 10 and 256 characters"),
        ("password", "x" * 257, "Password must be between 10 and 256 characters"),
        ("password", "password123", "Password is too easy to guess"),
        ("confirm", "something else entirely", "The passwords do not match"),
    ],
)
def test_register_supplier_bad_input_saves_nothing(client, field, value, message):
    data = {field: value}
    if field == "password":
        data["confirm"] = value
    response = _register_supplier(client, **data)
    assert response.status_code == 200
    assert "There is a problem" in response.text
    assert message in response.text.replace("&#39;", "'")
    assert db.session.execute(select(User)).first() is None
    assert db.session.execute(select(Organisation)).first() is None
    assert outbox() == []


def test_weak_password_shows_zxcvbn_feedback(client):
    response = _register_supplier(client, password="qwertyuiop", confirm="qwertyuiop")
    assert "This is a top-100 common password" in response.text
    assert "Add another word or two" in response.text


def test_password_made_of_the_persons_own_details_is_refused(client):
    password = "smithreviews2024"
    response = _register_supplier(
        client, name="Ann Smith", email="annsmith@smithreviews.org",
        organisation_name="Smith Reviews", password=password, confirm=password,
    )
    assert "Password is too easy to guess" in response.text
    assert _user("annsmith@smithreviews.org") is None


def test_unicode_password_accepted(client):
    password = "Ünïcödé pässwörd ☃ 漢字かな"
    _register_supplier(client, password=password, confirm=password)
    user = _user("ann@example.org")
    user.email_verified_at = utcnow()
    db.session.commit()
    assert sign_in_with_password(client, "ann@example.org", password).status_code == 302


def test_register_with_address_in_use_answers_the_same_and_tells_the_owner(client):
    existing = UserFactory(email="ann@example.org")
    response = _register_supplier(client, email="ANN@example.org")
    assert response.status_code == 200 and "Check your email" in response.text
    assert db.session.execute(select(Organisation)).first() is None
    assert [m.template for m in outbox("ann@example.org")] == ["account_exists"]
    assert _user("ann@example.org").id == existing.id
    assert audit_actions("auth.registered") == []


def test_register_partnership_member_is_pending(client):
    active = PartnershipFactory(name="Northshire Safeguarding Children Partnership")
    inactive = PartnershipFactory(name="Closed Partnership", is_active=False)
    page = client.get("/create-account/partnership").text
    assert "Northshire Safeguarding Children Partnership" in page
    assert "Closed Partnership" not in page

    response = client.post("/create-account/partnership", data={
        "name": "Pat Jones", "email": "pat@northshire.gov.uk",
        "partnership_id": str(inactive.id), "password": STRONG, "confirm": STRONG,
    })
    assert "Select your safeguarding partnership" in response.text
    assert _user("pat@northshire.gov.uk") is None

    response = client.post("/create-account/partnership", data={
        "name": "Pat Jones", "email": "pat@northshire.gov.uk",
        "partnership_id": str(active.id), "password": STRONG, "confirm": STRONG,
    })
    assert "Check your email" in response.text
    user = _user("pat@northshire.gov.uk")
    assert user.partnership_id == active.id
    assert user.partnership_status == "pending"
    assert not user.is_approved_partnership_member
    assert user.membership is None

    client.post(last_link("pat@northshire.gov.uk", "verify_email"))
    response = sign_in_with_password(client, "pat@northshire.gov.uk", STRONG)
    assert response.status_code == 302
    assert "has not approved your account yet" in client.get(response.location).text


def test_register_partnership_without_choice(client):
    PartnershipFactory()
    response = client.post("/create-account/partnership", data={
        "name": "Pat Jones", "email": "pat@example.org", "partnership_id": "",
        "password": STRONG, "confirm": STRONG,
    })
    assert "Select your safeguarding partnership" in response.text
    assert _user("pat@example.org") is None


def test_create_user_service_for_invitations(app):
    """The teams area reuses create_user + send_verification."""
    user = accounts.create_user(email="Kim@Example.org ", name="Kim", password=STRONG,
                                kind="invitation", verified=True)
    db.session.commit()
    assert user.email == "kim@example.org" and user.email_verified_at is not None
    with pytest.raises(accounts.EmailTaken):
        accounts.create_user(email="kim@example.org", name="Kim", password=STRONG,
                             kind="invitation")
    with pytest.raises(accounts.AccountError) as weak:
        accounts.create_user(email="lee@example.org", name="Lee", password="password123",
                             kind="invitation")
    assert weak.value.field == "password"


# --------------------------------------------------------- send the link again


@pytest.mark.parametrize("case", ["unknown", "verified", "unverified"])
def test_resend_verification_same_answer_whoever_asks(client, case):
    if case != "unknown":
        UserFactory(email="someone@example.org",
                    email_verified_at=utcnow() if case == "verified" else None)
    response = client.post("/send-confirmation-link", data={"email": "someone@example.org"})
    assert response.status_code == 200
    assert "If there is an account for that address that still needs confirming" in response.text
    sent = outbox("someone@example.org", "verify_email")
    assert len(sent) == (1 if case == "unverified" else 0)


# -------------------------------------------------------------------------- sign in


def test_sign_in_and_out(client):
    user = make_supplier(email="sam@example.org")
    old_token = user.session_token
    response = sign_in_with_password(client, "Sam@Example.org", DEFAULT_PASSWORD)
    assert response.status_code == 302 and response.location == "/home"
    assert client.get("/home").status_code == 200
    assert audit_actions("auth.signed_in")[-1].actor_id == user.id

    response = client.post("/sign-out")
    assert response.status_code == 302
    assert client.get("/home").status_code == 302
    assert _user("sam@example.org").session_token != old_token
    assert audit_actions("auth.signed_out")[-1].actor_id == user.id


def test_sign_out_needs_post(client, sign_in):
    sign_in(make_supplier())
    assert client.get("/sign-out").status_code == 405
    assert client.get("/home").status_code == 200


def test_wrong_password_and_unknown_address_get_the_same_answer(client):
    make_supplier(email="sam@example.org")
    wrong = sign_in_with_password(client, "sam@example.org", "not the password at all")
    unknown = sign_in_with_password(client, "nobody@example.org", "not the password at all")
    for response in (wrong, unknown):
        assert response.status_code == 200
        assert "Enter a correct email address and password" in response.text
    assert client.get("/home").status_code == 302
    failed = audit_actions("auth.sign_in_failed")
    assert [e.data["reason"] for e in failed] == ["password", "unknown_account"]
    assert _user("sam@example.org").failed_login_count == 1


def test_unknown_address_still_verifies_a_hash(client, monkeypatch):
    """The same work (an Argon2 verify) happens whether or not the address is known."""
    calls = []
    real = accounts.verify_password

    def spy(password_hash, password):
        calls.append(password_hash)
        return real(password_hash, password)

    monkeypatch.setattr(accounts, "verify_password", spy)
    sign_in_with_password(client, "nobody@example.org", "a password of some sort")
    assert calls == [None]  # None: passwords.verify_password checks a dummy hash


@pytest.mark.parametrize("data", [{}, {"email": "sam@example.org"}, {"password": "x"},
                                  {"email": "bad", "password": "x"}])
def test_sign_in_form_errors(client, data):
    response = client.post("/sign-in", data=data)
    assert response.status_code == 200
    assert "There is a problem" in response.text


def test_five_failures_lock_the_account_for_15_minutes(client, time_machine):
    """The lock holds whatever the page says. (What it says depends only on the rate
    limiter, off here, so that an account's lock does not show it exists: see
    test_auth_enumeration.py.)"""
    time_machine.move_to(utcnow(), tick=False)
    make_supplier(email="sam@example.org")
    for _ in range(5):
        response = sign_in_with_password(client, "sam@example.org", "wrong password here")
        assert "Enter a correct email address and password" in response.text
    assert len(audit_actions("auth.locked")) == 1
    user = _user("sam@example.org")
    assert user.locked_until is not None

    # Even the right password is refused while locked, and nothing more is counted.
    response = sign_in_with_password(client, "sam@example.org", DEFAULT_PASSWORD)
    assert response.status_code == 200
    assert "Enter a correct email address and password" in response.text
    assert client.get("/home").status_code == 302
    assert len(audit_actions("auth.locked")) == 1
    assert len(audit_actions("auth.sign_in_failed")) == 5

    time_machine.shift(timedelta(minutes=14))
    response = sign_in_with_password(client, "sam@example.org", DEFAULT_PASSWORD)
    assert response.status_code == 200
    assert client.get("/home").status_code == 302

    time_machine.shift(timedelta(minutes=1, seconds=1))
    response = sign_in_with_password(client, "sam@example.org", DEFAULT_PASSWORD)
    assert response.status_code == 302
    user = _user("sam@example.org")
    assert user.failed_login_count == 0 and user.locked_until is None


def test_a_success_resets_the_failure_count(client):
    make_supplier(email="sam@example.org")
    for _ in range(3):
        sign_in_with_password(client, "sam@example.org", "wrong password here")
    sign_in_with_password(client, "sam@example.org", DEFAULT_PASSWORD)
    assert _user("sam@example.org").failed_login_count == 0


def test_deactivated_account_cannot_sign_in_and_its_sessions_end(client, sign_in):
    user = make_supplier(email="sam@example.org")
    sign_in(user)
    assert client.get("/home").status_code == 200
    user.deactivated_at = utcnow()
    db.session.commit()
    assert client.get("/home").status_code == 302
    response = sign_in_with_password(client, "sam@example.org", DEFAULT_PASSWORD)
    assert "Your account has been deactivated" in response.text


def test_signed_in_person_visiting_sign_in_goes_home(client, sign_in):
    sign_in(make_supplier())
    response = client.get("/sign-in")
    assert response.status_code == 302 and response.location == "/home"
    response = client.get("/sign-in?next=/account")
    assert response.location == "/account"
    assert client.get("/create-account").status_code == 302
    assert client.get("/forgotten-password").status_code == 302


def test_sign_in_starts_a_new_session(client):
    """Nothing from before sign-in survives it (session fixation)."""
    make_supplier(email="sam@example.org")
    with client.session_transaction() as sess:
        sess["planted"] = "by someone else"
    sign_in_with_password(client, "sam@example.org", DEFAULT_PASSWORD)
    with client.session_transaction() as sess:
        assert "planted" not in sess
        assert isinstance(sess["signed_in_at"], float)
        assert isinstance(sess["last_seen_at"], float)


def test_session_cookie_flags_and_no_remember_me(client):
    make_supplier(email="sam@example.org")
    response = sign_in_with_password(client, "sam@example.org", DEFAULT_PASSWORD)
    cookies = response.headers.getlist("Set-Cookie")
    session_cookie = next(c for c in cookies if c.startswith("portal_session="))
    assert "HttpOnly" in session_cookie
    assert "SameSite=Lax" in session_cookie
    assert "Expires" not in session_cookie  # ends with the browser
    assert not any(c.startswith("remember_token") for c in cookies)


def test_production_cookies_are_secure(monkeypatch):
    from portal.config import ProductionConfig

    assert ProductionConfig.SESSION_COOKIE_SECURE is True or (
        # only an explicit SESSION_COOKIE_SECURE=false in the environment turns it off
        __import__("os").environ.get("SESSION_COOKIE_SECURE") is not None
    )
    assert ProductionConfig.SESSION_COOKIE_HTTPONLY is True
    assert ProductionConfig.SESSION_COOKIE_SAMESITE == "Lax"
    assert ProductionConfig.SESSION_PROTECTION == "strong"


# ---------------------------------------------------------------------- next


def test_safe_next_is_followed(client):
    make_supplier(email="sam@example.org")
    response = client.get("/account")
    assert response.status_code == 302
    assert response.location.startswith("/sign-in?next=")
    form = client.get(response.location).text
    assert 'value="/account"' in form
    response = sign_in_with_password(client, "sam@example.org", DEFAULT_PASSWORD,
                                     next="/account")
    assert response.location == "/account"


@pytest.mark.parametrize(
    "forged",
    [
        "https://evil.example/",
        "//evil.example/path",
        "/\\evil.example",
        "\\\\evil.example",
        "javascript:alert(1)",
        "http:/evil.example",
        "/%0d%0aSet-Cookie:x",
        " /account",
        "/account\n",
        "evil.example",
    ],
)
def test_forged_next_is_ignored(client, forged):
    make_supplier(email="sam@example.org")
    response = sign_in_with_password(client, "sam@example.org", DEFAULT_PASSWORD, next=forged)
    assert response.status_code == 302
    if forged == "/%0d%0aSet-Cookie:x":
        # Percent-encoded, it is just a path on this site (a 404), never a header.
        assert response.location == forged
    else:
        assert response.location == "/home"


def test_safe_next_unit():
    assert safe_next("/pool?x=1") == "/pool?x=1"
    assert safe_next("/pool?") == "/pool"
    assert safe_next(None, "/home") == "/home"
    for bad in ["//x", "/\\x", "https://x", "x", "/a\tb", "/a\x7f", "", "/" + "a" * 3000]:
        assert safe_next(bad, "/home") == "/home", bad


# ------------------------------------------------------------------ sessions


def test_cookie_replayed_after_sign_out_is_anonymous(client, app):
    make_supplier(email="sam@example.org")
    sign_in_with_password(client, "sam@example.org", DEFAULT_PASSWORD)
    stolen = client.get_cookie("portal_session").value
    assert client.get("/home").status_code == 200
    client.post("/sign-out")

    thief = app.test_client()
    thief.set_cookie("portal_session", stolen)
    assert thief.get("/home").status_code == 302
    assert thief.get("/account").status_code == 302


def test_idle_timeout(client, time_machine):
    time_machine.move_to(utcnow(), tick=False)
    make_supplier(email="sam@example.org")
    sign_in_with_password(client, "sam@example.org", DEFAULT_PASSWORD)
    time_machine.shift(timedelta(minutes=59))
    assert client.get("/home").status_code == 200  # activity: the idle clock restarts
    time_machine.shift(timedelta(minutes=59))
    assert client.get("/home").status_code == 200
    time_machine.shift(timedelta(minutes=60, seconds=31))
    response = client.get("/home")
    assert response.status_code == 302 and response.location.startswith("/sign-in")
    assert "had not used the service for 60 minutes" in client.get(response.location).text
    assert client.get("/home").status_code == 302


def test_absolute_timeout(client, app, time_machine):
    app.config["SESSION_ABSOLUTE_TIMEOUT"] = timedelta(hours=2)
    time_machine.move_to(utcnow(), tick=False)
    make_supplier(email="sam@example.org")
    sign_in_with_password(client, "sam@example.org", DEFAULT_PASSWORD)
    for _ in range(2):
        time_machine.shift(timedelta(minutes=50))
        assert client.get("/home").status_code == 200
    time_machine.shift(timedelta(minutes=21))  # 2 h 1 min after signing in, never idle
    response = client.get("/home")
    assert response.status_code == 302
    assert "signed in more than 2 hours ago" in client.get(response.location).text


def test_session_without_timestamps_is_refused(client):
    user = make_supplier()
    with client.session_transaction() as sess:
        sess["_user_id"] = user.session_token
        sess["_fresh"] = True
    assert client.get("/home").status_code == 302


def test_session_protection_strong(client, app):
    """A cookie moved to a browser with another user agent loads nobody."""
    make_supplier(email="sam@example.org")
    sign_in_with_password(client, "sam@example.org", DEFAULT_PASSWORD)
    cookie = client.get_cookie("portal_session").value
    other = app.test_client()
    other.set_cookie("portal_session", cookie)
    response = other.get("/home", headers={"User-Agent": "SomethingElse/1.0"})
    assert response.status_code == 302


def test_staff_sign_in_goes_to_second_factor(client):
    make_staff("commissioner", email="cam@example.org")
    response = sign_in_with_password(client, "cam@example.org", DEFAULT_PASSWORD,
                                     next="/admin/")
    assert response.status_code == 302
    assert response.location.startswith("/second-factor?next=/admin/")


def test_256_character_password_accepted(client):
    password = ("quiet harbour lamps drift over seventeen crooked chimneys while "
                "a violet kettle hums " * 4)[:256]
    response = _register_supplier(client, password=password, confirm=password)
    assert "Check your email" in response.text
    user = _user("ann@example.org")
    user.email_verified_at = utcnow()
    db.session.commit()
    assert sign_in_with_password(client, "ann@example.org", password).status_code == 302


def test_the_idle_sign_out_message_says_how_long_in_words():
    from portal.login import _duration

    assert [_duration(s) for s in (3600, 60, 20, 1, 90 * 60)] == [
        "60 minutes", "1 minute", "20 seconds", "1 second", "90 minutes"]
