"""Forgotten password, reset links, changing the password and the e-mail address, password
strength, and the Argon2 parameters."""

from __future__ import annotations

from datetime import timedelta

import pytest
from argon2 import PasswordHasher, profiles

from portal import passwords
from portal.extensions import db
from portal.models import User
from portal.models.base import utcnow
from portal.services import accounts
from tests.auth_helpers import (
    OTHER_STRONG,
    STRONG,
    audit_actions,
    last_link,
    outbox,
    sign_in_with_password,
)
from tests.fixtures.users import DEFAULT_PASSWORD, UserFactory, make_supplier


def _reload(user: User) -> User:
    db.session.expire_all()
    return db.session.get(User, user.id)


def _reset(client, link, password=STRONG, confirm=None):
    return client.post(link, data={"password": password, "confirm": confirm or password})


# -------------------------------------------------------------- forgotten password


@pytest.mark.parametrize("known", [True, False])
def test_forgotten_password_same_answer_either_way(client, known):
    if known:
        make_supplier(email="sam@example.org")
    response = client.post("/forgotten-password", data={"email": "Sam@example.org"})
    assert response.status_code == 200
    assert "If there is an account for that address" in response.text
    assert len(outbox("sam@example.org", "reset_password")) == (1 if known else 0)
    assert outbox() == outbox("sam@example.org", "reset_password")  # nothing else queued
    # One audit event either way (the same work, so the same time): for an unknown
    # address it names no account.
    [event] = audit_actions("auth.password_reset_requested")
    assert event.data == ({} if known else {"reason": "no_active_account"})
    assert (event.actor_id is not None) is known


def test_forgotten_password_form_errors(client):
    response = client.post("/forgotten-password", data={"email": "not an address"})
    assert "Enter an email address in the correct format" in response.text
    assert outbox() == []


def test_reset_link_works_once(client, app):
    user = make_supplier(email="sam@example.org")
    other_device = app.test_client()
    sign_in_with_password(other_device, "sam@example.org", DEFAULT_PASSWORD)
    assert other_device.get("/home").status_code == 200

    client.post("/forgotten-password", data={"email": "sam@example.org"})
    link = last_link("sam@example.org", "reset_password")
    assert client.get(link).status_code == 200
    response = _reset(client, link)
    assert response.status_code == 302 and response.location == "/sign-in"

    user = _reload(user)
    assert passwords.verify_password(user.password_hash, STRONG)
    assert [e.data["via"] for e in audit_actions("auth.password_changed")] == ["reset_link"]
    assert outbox("sam@example.org", "password_changed")
    # Every session of the account has ended.
    assert other_device.get("/home").status_code == 302

    # Used: the link no longer works, not even to look at.
    again = client.get(link)
    assert again.status_code == 400 and "This link does not work" in again.text
    assert _reset(client, link, OTHER_STRONG).status_code == 400
    assert passwords.verify_password(_reload(user).password_hash, STRONG)

    assert sign_in_with_password(client, "sam@example.org", DEFAULT_PASSWORD).status_code == 200
    assert sign_in_with_password(client, "sam@example.org", STRONG).status_code == 302


def test_reset_link_expires_after_an_hour(client, time_machine):
    make_supplier(email="sam@example.org")
    client.post("/forgotten-password", data={"email": "sam@example.org"})
    link = last_link("sam@example.org", "reset_password")
    time_machine.move_to(utcnow() + timedelta(minutes=61))
    response = client.get(link)
    assert response.status_code == 400 and "This link has expired" in response.text


def test_reset_link_dies_with_any_password_change(client, sign_in):
    user = make_supplier(email="sam@example.org")
    client.post("/forgotten-password", data={"email": "sam@example.org"})
    first = last_link("sam@example.org", "reset_password")
    client.post("/forgotten-password", data={"email": "sam@example.org"})
    second = last_link("sam@example.org", "reset_password")

    sign_in(user)
    client.post("/account/password", data={
        "current_password": DEFAULT_PASSWORD, "password": OTHER_STRONG, "confirm": OTHER_STRONG,
    })
    client.post("/sign-out")
    for link in (first, second):
        assert client.get(link).status_code == 400


def test_reset_bound_to_password_changed_at(client):
    """Even the same hash (say, restored from a backup) does not revive an old link."""
    user = make_supplier(email="sam@example.org")
    token = accounts.reset_token(user)
    user.password_changed_at = utcnow()
    db.session.commit()
    assert client.get(f"/reset-password/{token}").status_code == 400


def test_reset_with_a_weak_password_changes_nothing(client):
    user = make_supplier(email="sam@example.org")
    client.post("/forgotten-password", data={"email": "sam@example.org"})
    link = last_link("sam@example.org", "reset_password")
    response = _reset(client, link, "password123")
    assert response.status_code == 200
    assert "Password is too easy to guess" in response.text
    response = _reset(client, link, STRONG, "different words here")
    assert "The passwords do not match" in response.text
    assert passwords.verify_password(_reload(user).password_hash, DEFAULT_PASSWORD)
    assert audit_actions("auth.password_changed") == []


def test_reset_unlocks_and_verifies(client):
    user = UserFactory(email="sam@example.org", email_verified_at=None,
                       locked_until=utcnow() + timedelta(minutes=10), failed_login_count=0)
    client.post("/forgotten-password", data={"email": "sam@example.org"})
    _reset(client, last_link("sam@example.org", "reset_password"))
    user = _reload(user)
    assert user.locked_until is None and user.email_verified_at is not None
    assert sign_in_with_password(client, "sam@example.org", STRONG).status_code == 302


def test_no_reset_for_deactivated_account(client):
    UserFactory(email="gone@example.org", deactivated_at=utcnow())
    client.post("/forgotten-password", data={"email": "gone@example.org"})
    assert outbox() == []


def test_reset_link_host_comes_from_public_base_url(client, app):
    """A forged Host header cannot point a reset link elsewhere once PUBLIC_BASE_URL is set."""
    app.config["PUBLIC_BASE_URL"] = "https://reviewer-pool.example"
    make_supplier(email="sam@example.org")
    client.post("/forgotten-password", data={"email": "sam@example.org"},
                headers={"Host": "evil.example"})
    [message] = outbox("sam@example.org", "reset_password")
    assert "https://reviewer-pool.example/reset-password/" in message.text_body
    assert "evil.example" not in message.text_body


# ---------------------------------------------------------------- change password


def test_change_password(client, app, sign_in):
    user = make_supplier(email="sam@example.org")
    other_device = app.test_client()
    sign_in_with_password(other_device, "sam@example.org", DEFAULT_PASSWORD)
    sign_in_with_password(client, "sam@example.org", DEFAULT_PASSWORD)

    response = client.post("/account/password", data={
        "current_password": DEFAULT_PASSWORD, "password": STRONG, "confirm": STRONG,
    })
    assert response.status_code == 302 and response.location == "/account"
    assert client.get("/account").status_code == 200  # this session carries on
    assert other_device.get("/account").status_code == 302  # the others end
    user = _reload(user)
    assert passwords.verify_password(user.password_hash, STRONG)
    assert user.password_changed_at is not None
    assert [e.data["via"] for e in audit_actions("auth.password_changed")] == ["account"]
    assert outbox("sam@example.org", "password_changed")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"current_password": "not my password", "password": STRONG, "confirm": STRONG},
         "Your current password is not correct"),
        ({"current_password": DEFAULT_PASSWORD, "password": "password123",
          "confirm": "password123"}, "Password is too easy to guess"),
        ({"current_password": DEFAULT_PASSWORD, "password": STRONG, "confirm": OTHER_STRONG},
         "The passwords do not match"),
        ({"current_password": DEFAULT_PASSWORD, "password": DEFAULT_PASSWORD,
          "confirm": DEFAULT_PASSWORD}, "must be different"),
        ({"password": STRONG, "confirm": STRONG}, "Enter your current password"),
    ],
)
def test_change_password_bad_input(client, sign_in, data, message):
    user = sign_in(make_supplier(email="sam@example.org"))
    token = user.session_token
    response = client.post("/account/password", data=data)
    assert response.status_code == 200
    assert message in response.text
    user = _reload(user)
    assert passwords.verify_password(user.password_hash, DEFAULT_PASSWORD)
    assert user.session_token == token
    assert audit_actions("auth.password_changed") == []


def test_wrong_current_password_counts_towards_the_lock(client, sign_in):
    user = sign_in(make_supplier(email="sam@example.org"))
    client.post("/account/password", data={
        "current_password": "not my password", "password": STRONG, "confirm": STRONG,
    })
    assert _reload(user).failed_login_count == 1


# ----------------------------------------------------------------- change e-mail


def test_change_email(client, sign_in):
    user = sign_in(make_supplier(email="old@example.org"))
    response = client.post("/account/email", data={
        "email": "New@Example.org", "current_password": DEFAULT_PASSWORD,
    })
    assert response.status_code == 200 and "Check your email" in response.text
    assert _reload(user).email == "old@example.org"  # not until confirmed
    assert outbox("old@example.org", "email_change_requested")
    link = last_link("new@example.org", "change_email")

    page = client.get(link)
    assert page.status_code == 200 and "new@example.org" in page.text
    assert _reload(user).email == "old@example.org"  # GET changes nothing

    response = client.post(link)
    assert response.status_code == 302 and response.location == "/account"
    user = _reload(user)
    assert user.email == "new@example.org" and user.email_verified_at is not None
    [event] = audit_actions("auth.email_changed")
    assert event.data == {"old_email": "old@example.org", "new_email": "new@example.org"}
    [notice] = outbox("old@example.org", "email_changed")
    assert "new@example.org" in notice.text_body

    assert client.post(link).status_code == 400  # used
    client.post("/sign-out")
    assert sign_in_with_password(client, "new@example.org", DEFAULT_PASSWORD).status_code == 302


def test_change_email_link_expires(client, sign_in, time_machine):
    sign_in(make_supplier(email="old@example.org"))
    client.post("/account/email", data={"email": "new@example.org",
                                        "current_password": DEFAULT_PASSWORD})
    link = last_link("new@example.org", "change_email")
    time_machine.move_to(utcnow() + timedelta(hours=25))
    assert client.post(link).status_code == 400


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"email": "new@example.org", "current_password": "wrong password"},
         "Your current password is not correct"),
        ({"email": "not an address", "current_password": DEFAULT_PASSWORD},
         "Enter an email address in the correct format"),
        ({"email": "OLD@example.org", "current_password": DEFAULT_PASSWORD},
         "Enter a different email address"),
        ({"email": "new@example.org"}, "Enter your password"),
    ],
)
def test_change_email_bad_input(client, sign_in, data, message):
    user = sign_in(make_supplier(email="old@example.org"))
    response = client.post("/account/email", data=data)
    assert response.status_code == 200
    assert message in response.text
    assert _reload(user).email == "old@example.org"
    assert outbox("new@example.org") == []


def test_change_to_an_address_in_use_tells_only_its_owner(client, sign_in):
    UserFactory(email="taken@example.org")
    user = sign_in(make_supplier(email="old@example.org"))
    response = client.post("/account/email", data={
        "email": "taken@example.org", "current_password": DEFAULT_PASSWORD,
    })
    assert "Check your email" in response.text  # the same answer as for a free address
    assert [m.template for m in outbox("taken@example.org")] == ["email_in_use"]
    assert "/account/email/confirm/" not in outbox("taken@example.org")[0].text_body
    # The account's own address hears of the request, as for a free address (nothing
    # in that notice says the new address has an account).
    assert [m.template for m in outbox("old@example.org")] == ["email_change_requested"]
    [event] = audit_actions("auth.email_change_requested")
    assert event.data == {"new_email": "taken@example.org", "address_in_use": True}
    assert _reload(user).email == "old@example.org"


def test_confirm_refused_if_address_taken_meanwhile(client, sign_in):
    user = sign_in(make_supplier(email="old@example.org"))
    client.post("/account/email", data={"email": "new@example.org",
                                        "current_password": DEFAULT_PASSWORD})
    link = last_link("new@example.org", "change_email")
    UserFactory(email="new@example.org")
    response = client.post(link)
    assert response.status_code == 200
    assert "Another account now uses this email address" in response.text
    assert _reload(user).email == "old@example.org"


# -------------------------------------------------------------------- strength


def test_check_strength_rules():
    assert passwords.check_strength(STRONG).ok
    short = passwords.check_strength("a1b2c3d4e")
    assert not short.ok and "10 characters or more" in short.message
    long = passwords.check_strength("x" * 257)
    assert not long.ok and "256 characters or fewer" in long.message
    longest = ("quiet harbour lamps drift over seventeen crooked chimneys while "
               "a violet kettle hums ") * 4
    longest = longest[:256]
    assert len(longest) == 256 and passwords.check_strength(longest).ok
    weak = passwords.check_strength("password123")
    assert not weak.ok
    assert "This is a very common password" in weak.message
    assert "Add another word or two" in weak.message
    assert passwords.check_strength("ÄÖÜßéèñ漢字かな").ok


def test_unicode_normalisation_makes_composed_and_decomposed_equal(app):
    composed = "caf\u00e9 gravel lantern 93"
    decomposed = "cafe\u0301 gravel lantern 93"
    hashed = passwords.hash_password(composed)
    assert passwords.verify_password(hashed, decomposed)


# ---------------------------------------------------------------------- Argon2


def test_production_argon2_parameters(app):
    app.config["PASSWORD_HASH_PROFILE"] = "default"
    hashed = passwords.hash_password(STRONG)
    expected = profiles.RFC_9106_LOW_MEMORY
    assert hashed.startswith(
        f"$argon2id$v=19$m={expected.memory_cost},t={expected.time_cost},"
        f"p={expected.parallelism}$"
    )
    assert expected.memory_cost == 65536 and expected.time_cost == 3
    assert passwords.verify_password(hashed, STRONG)
    assert not passwords.needs_rehash(hashed)


def test_testing_profile_is_the_cheap_one(app):
    assert passwords.hash_password(STRONG).startswith("$argon2id$v=19$m=8,t=1,p=1$")


def test_rehash_on_sign_in_when_parameters_change(client, app):
    cheap = PasswordHasher.from_parameters(profiles.CHEAPEST).hash(DEFAULT_PASSWORD)
    user = make_supplier(email="sam@example.org", password_hash=cheap)
    changed_at = user.password_changed_at
    app.config["PASSWORD_HASH_PROFILE"] = "default"

    response = sign_in_with_password(client, "sam@example.org", DEFAULT_PASSWORD)
    assert response.status_code == 302
    user = _reload(user)
    assert user.password_hash != cheap
    assert user.password_hash.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert passwords.verify_password(user.password_hash, DEFAULT_PASSWORD)
    assert user.password_changed_at == changed_at
    assert len(audit_actions("auth.password_rehashed")) == 1

    # Already current: nothing more to do.
    client.post("/sign-out")
    sign_in_with_password(client, "sam@example.org", DEFAULT_PASSWORD)
    assert len(audit_actions("auth.password_rehashed")) == 1


def test_no_rehash_on_a_failed_sign_in(client, app):
    cheap = PasswordHasher.from_parameters(profiles.CHEAPEST).hash(DEFAULT_PASSWORD)
    make_supplier(email="sam@example.org", password_hash=cheap)
    app.config["PASSWORD_HASH_PROFILE"] = "default"
    sign_in_with_password(client, "sam@example.org", "wrong password here")
    assert db.session.query(User).filter_by(email="sam@example.org").one().password_hash == cheap
