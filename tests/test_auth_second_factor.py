"""Staff second factor: TOTP enrolment with a server-side SVG QR code, verification,
refusal of a reused code, recovery codes (hashed, single use), and the staff page gate."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pyotp
import pytest
from sqlalchemy import select

from portal import crypto
from portal.extensions import db
from portal.models import RecoveryCode, User
from portal.models.base import utcnow
from portal.services import accounts
from tests.auth_helpers import (
    OTHER_STRONG,
    audit_actions,
    current_code,
    sign_in_with_password,
)
from tests.fixtures.users import DEFAULT_PASSWORD, make_staff, make_supplier

# Five seconds into a 30-second step: a frozen clock never crosses a step by accident.
T0 = datetime(2025, 3, 12, 10, 0, 5, tzinfo=UTC)


@pytest.fixture
def frozen(time_machine):
    time_machine.move_to(T0, tick=False)
    return time_machine


def _reload(user: User) -> User:
    db.session.expire_all()
    return db.session.get(User, user.id)


def _enrolled_staff(*roles, email="cam@example.org") -> tuple[User, list[str]]:
    user = make_staff(*(roles or ("admin",)), email=email)
    secret = pyotp.random_base32()
    codes = accounts.enrol_totp(user, secret, current_code(secret, -1))
    db.session.commit()
    return user, codes


def _password_step(client, email="cam@example.org", next=None):
    return sign_in_with_password(client, email, DEFAULT_PASSWORD, next=next)


def _recovery_codes(page: str) -> list[str]:
    return re.findall(r"<code>([a-z0-9]{5}-[a-z0-9]{5})</code>", page)


# ------------------------------------------------------------------------ enrolment


def test_enrolment_from_first_sign_in(client, frozen):
    make_staff("admin", email="ada@example.org")
    response = _password_step(client, "ada@example.org", next="/admin/")
    assert response.location == "/second-factor?next=/admin/"
    response = client.get(response.location)
    assert response.status_code == 302
    assert response.location == "/second-factor/set-up?next=/admin/"

    page = client.get(response.location)
    assert page.status_code == 200
    svg = re.search(r"<svg.*?</svg>", page.text, re.S).group(0)
    assert "style" not in svg.lower() and "script" not in svg.lower()
    assert 'xmlns="http://www.w3.org/2000/svg"' in svg
    assert "<script>" not in page.text and " style=" not in page.text
    assert "unsafe-inline" not in page.headers["Content-Security-Policy"]
    secret = re.search(r'id="totp-secret">([A-Z2-7 ]+)<', page.text).group(1).replace(" ", "")
    assert len(secret) == 32
    # Reloading shows the same key, so a slow scan does not go stale.
    again = client.get("/second-factor/set-up").text
    assert secret == re.search(r'id="totp-secret">([A-Z2-7 ]+)<', again).group(1).replace(" ", "")

    wrong = client.post("/second-factor/set-up", data={"code": "000000", "next": "/admin/"})
    assert "The code is not correct" in wrong.text
    assert _reload(User.query.filter_by(email="ada@example.org").one()).totp_secret is None

    done = client.post("/second-factor/set-up",
                       data={"code": current_code(secret), "next": "/admin/"})
    assert done.status_code == 200
    codes = _recovery_codes(done.text)
    assert len(codes) == 10 and len(set(codes)) == 10
    assert 'href="/admin/"' in done.text

    user = _reload(User.query.filter_by(email="ada@example.org").one())
    assert user.totp_secret == secret and user.totp_enabled_at is not None
    stored = db.session.execute(
        select(RecoveryCode).where(RecoveryCode.user_id == user.id)
    ).scalars().all()
    assert len(stored) == 10
    for row in stored:
        assert row.code_hash.startswith("sha256$")
        assert not any(code.replace("-", "") in row.code_hash for code in codes)
    assert len({row.code_hash.split("$")[1] for row in stored}) == 10  # a salt per code
    assert len(audit_actions("auth.totp_enrolled")) == 1

    # The second factor is passed for this session: staff pages open.
    assert client.get("/admin/").status_code == 200
    # Enrolment is done: the set-up page now sends on to the code page.
    assert client.get("/second-factor/set-up").status_code == 302


def test_enrolment_code_reuse_is_refused_afterwards(client, frozen):
    """The code used to confirm enrolment cannot be used again to sign in."""
    make_staff("admin", email="ada@example.org")
    _password_step(client, "ada@example.org")
    page = client.get("/second-factor/set-up").text
    secret = re.search(r'id="totp-secret">([A-Z2-7 ]+)<', page).group(1).replace(" ", "")
    code = current_code(secret)
    client.post("/second-factor/set-up", data={"code": code})
    client.post("/sign-out")
    _password_step(client, "ada@example.org")
    response = client.post("/second-factor", data={"code": code})
    assert "already been used" in response.text


def test_set_up_is_for_staff_only(client, sign_in):
    assert client.get("/second-factor/set-up").status_code == 302
    sign_in(make_supplier())
    assert client.get("/second-factor/set-up").status_code == 403
    assert client.get("/second-factor").status_code == 403


# ------------------------------------------------------------------- verification


def test_staff_pages_unreachable_before_second_factor(client, frozen):
    user, _ = _enrolled_staff("admin")
    _password_step(client)
    for path in ["/admin/", "/home", "/account", "/account/password"]:
        response = client.get(path)
        assert response.status_code == 302, path
        assert response.location.startswith("/second-factor"), path
    assert client.get("/").status_code == 200  # public pages stay open
    assert client.get("/second-factor").status_code == 200
    response = client.post("/second-factor", data={"code": current_code(user.totp_secret)})
    assert response.status_code == 302
    assert client.get("/admin/").status_code == 200
    assert client.get("/home").status_code == 200


def test_second_factor_follows_safe_next_only(client, frozen):
    user, _ = _enrolled_staff("admin")
    _password_step(client, next="/admin/")
    response = client.post("/second-factor",
                           data={"code": current_code(user.totp_secret), "next": "/admin/"})
    assert response.location == "/admin/"

    client.post("/sign-out")
    frozen.shift(timedelta(seconds=30))
    _password_step(client)
    response = client.post("/second-factor", data={"code": current_code(user.totp_secret),
                                                   "next": "//evil.example/"})
    assert response.location == "/home"


def test_totp_code_reuse_refused(client, frozen):
    user, _ = _enrolled_staff()
    _password_step(client)
    code = current_code(user.totp_secret)
    assert client.post("/second-factor", data={"code": code}).status_code == 302
    client.post("/sign-out")

    _password_step(client)
    response = client.post("/second-factor", data={"code": code})
    assert response.status_code == 200
    assert "already been used" in response.text
    assert client.get("/admin/").status_code == 302
    # An older code (previous step) is refused too, once a newer one was used.
    response = client.post("/second-factor", data={"code": current_code(user.totp_secret, -1)})
    assert "already been used" in response.text
    # The next step's code works.
    frozen.shift(timedelta(seconds=30))
    response = client.post("/second-factor", data={"code": current_code(user.totp_secret)})
    assert response.status_code == 302


def test_codes_within_one_step_of_drift_accepted(client, frozen):
    user, _ = _enrolled_staff()
    user.totp_last_step = None
    db.session.commit()
    _password_step(client)
    too_old = current_code(user.totp_secret, -2)
    assert "not correct" in client.post("/second-factor", data={"code": too_old}).text
    ahead = current_code(user.totp_secret, 1)
    assert client.post("/second-factor", data={"code": ahead}).status_code == 302


@pytest.mark.parametrize("code", ["", "12345", "abcdef", "1234567", "000000"])
def test_bad_codes_refused(client, frozen, code):
    user, _ = _enrolled_staff()
    _password_step(client)
    if code == "000000" and current_code(user.totp_secret) == "000000":
        pytest.skip("one in a million")
    response = client.post("/second-factor", data={"code": code})
    assert response.status_code == 200
    assert "There is a problem" in response.text
    assert client.get("/admin/").status_code == 302


def test_five_wrong_codes_lock_and_sign_out(client, frozen):
    user, _ = _enrolled_staff()
    _password_step(client)
    for _ in range(4):
        assert "not correct" in client.post("/second-factor", data={"code": "999999"}).text
    response = client.post("/second-factor", data={"code": "999999"})
    assert response.status_code == 302 and response.location == "/sign-in"
    assert client.get("/home").status_code == 302
    assert _reload(user).locked_until is not None
    assert "locked for 15 minutes" in client.get("/sign-in").text  # the flash
    # Even the right password is refused while locked (with the answer any address
    # gets: see test_auth_enumeration.py).
    assert "Enter a correct email address and password" in _password_step(client).text
    assert client.get("/home").status_code == 302


def test_recovery_code_single_use(client, frozen):
    user, codes = _enrolled_staff()
    _password_step(client)
    response = client.post("/second-factor", data={"code": codes[3].upper()})
    assert response.status_code == 302
    assert "You have 9 left" in client.get(response.location).text
    assert client.get("/admin/").status_code == 200
    [event] = audit_actions("auth.recovery_code_used")
    assert event.actor_id == user.id and event.data["left"] == 9

    client.post("/sign-out")
    _password_step(client)
    response = client.post("/second-factor", data={"code": codes[3]})
    assert "not correct" in response.text
    # Spaces and missing hyphens are forgiven.
    response = client.post("/second-factor", data={"code": codes[4].replace("-", " ")})
    assert response.status_code == 302
    assert accounts.recovery_codes_left(_reload(user)) == 8


def test_second_factor_needs_a_new_pass_after_sign_out(client, frozen):
    user, _ = _enrolled_staff()
    _password_step(client)
    client.post("/second-factor", data={"code": current_code(user.totp_secret)})
    assert client.get("/admin/").status_code == 200
    client.post("/sign-out")
    _password_step(client)
    assert client.get("/admin/").status_code == 302


def test_password_change_keeps_this_sessions_second_factor(client, frozen):
    user, _ = _enrolled_staff()
    _password_step(client)
    client.post("/second-factor", data={"code": current_code(user.totp_secret)})
    response = client.post("/account/password", data={
        "current_password": DEFAULT_PASSWORD, "password": OTHER_STRONG, "confirm": OTHER_STRONG,
    })
    assert response.status_code == 302
    assert client.get("/admin/").status_code == 200


def test_regenerate_recovery_codes(client, frozen):
    user, old_codes = _enrolled_staff()
    _password_step(client)
    client.post("/second-factor", data={"code": current_code(user.totp_secret)})
    assert "10 unused" in client.get("/account").text

    wrong = client.post("/account/recovery-codes", data={"current_password": "wrong one"})
    assert "Your current password is not correct" in wrong.text
    response = client.post("/account/recovery-codes",
                           data={"current_password": DEFAULT_PASSWORD})
    new_codes = _recovery_codes(response.text)
    assert len(new_codes) == 10 and not set(new_codes) & set(old_codes)
    assert len(audit_actions("auth.recovery_codes_regenerated")) == 1

    client.post("/sign-out")
    _password_step(client)
    assert "not correct" in client.post("/second-factor", data={"code": old_codes[0]}).text
    assert client.post("/second-factor", data={"code": new_codes[0]}).status_code == 302


def test_admin_reset_of_second_factor(client, frozen):
    user, _ = _enrolled_staff()
    admin = make_staff("admin", email="boss@example.org")
    token_before = user.session_token
    accounts.reset_second_factor(admin, user)
    db.session.commit()
    user = _reload(user)
    assert user.totp_secret is None and user.session_token != token_before
    assert accounts.recovery_codes_left(user) == 0
    assert audit_actions("auth.totp_reset")[-1].actor_id == admin.id
    _password_step(client)
    response = client.get("/second-factor")
    assert response.location.startswith("/second-factor/set-up")


def test_account_page_shows_second_factor_status(client, sign_in):
    sign_in(make_staff("evaluator"))
    page = client.get("/account").text
    assert "You have not set up an authenticator app yet" in page
    sign_in(make_supplier(email="sup@example.org"))
    assert "Second factor" not in client.get("/account").text


def test_enrol_service_refuses_twice(app, frozen):
    user, _ = _enrolled_staff()
    with pytest.raises(accounts.AccountError):
        accounts.enrol_totp(user, pyotp.random_base32(), "123456")


def test_totp_secret_not_kept_in_session_after_enrolment(client, frozen):
    make_staff("admin", email="ada@example.org")
    _password_step(client, "ada@example.org")
    page = client.get("/second-factor/set-up").text
    secret = re.search(r'id="totp-secret">([A-Z2-7 ]+)<', page).group(1).replace(" ", "")
    # While enrolling, the signed (readable) session cookie carries the seed encrypted.
    with client.session_transaction() as sess:
        pending = sess["totp_pending_secret"]
    assert secret not in pending and crypto.decrypt(pending) == secret
    again = client.get("/second-factor/set-up").text  # the same seed until it is proved
    assert re.search(r'id="totp-secret">([A-Z2-7 ]+)<', again).group(1).replace(" ", "") == secret
    client.post("/second-factor/set-up", data={"code": current_code(secret)})
    with client.session_transaction() as sess:
        assert "totp_pending_secret" not in sess
    assert utcnow() == T0


def test_staff_can_sign_out_before_the_second_factor(client, frozen):
    user, _ = _enrolled_staff()
    _password_step(client)
    token = user.session_token
    response = client.post("/sign-out")
    assert response.status_code == 302 and response.location == "/"
    assert _reload(user).session_token != token
    assert client.get("/second-factor").status_code == 302  # to sign in now
