"""Rate limits on sign-in, registration and password reset (Flask-Limiter, memory storage),
per client IP and per e-mail address. 429 gets the GOV.UK page."""

from __future__ import annotations

import pytest

from tests.auth_helpers import STRONG
from tests.fixtures.users import DEFAULT_PASSWORD, make_supplier


@pytest.fixture
def app_overrides():
    return {
        "RATELIMIT_ENABLED": True,
        "RATELIMIT_STORAGE_URI": "memory://",
        "SIGN_IN_RATE_LIMIT": "4 per minute",
        "SIGN_IN_EMAIL_RATE_LIMIT": "2 per minute",
        "REGISTER_RATE_LIMIT": "2 per minute",
        "REGISTER_EMAIL_RATE_LIMIT": "50 per minute",
        "RESET_RATE_LIMIT": "50 per minute",
        "RESET_EMAIL_RATE_LIMIT": "1 per minute",
        "SECOND_FACTOR_RATE_LIMIT": "50 per minute",
    }


def _sign_in(client, email, password="wrong password here", ip="10.0.0.1"):  # noqa: S107
    return client.post("/sign-in", data={"email": email, "password": password},
                       environ_base={"REMOTE_ADDR": ip})


def test_sign_in_limited_per_email(client):
    make_supplier(email="sam@example.org")
    assert _sign_in(client, "sam@example.org", ip="10.0.0.1").status_code == 200
    assert _sign_in(client, "SAM@example.org", ip="10.0.0.2").status_code == 200
    response = _sign_in(client, "sam@example.org", DEFAULT_PASSWORD, ip="10.0.0.3")
    assert response.status_code == 429
    assert "Too many attempts" in response.text
    assert "govuk-template" in response.text
    # Another address is not held back by this one's limit.
    assert _sign_in(client, "other@example.org", ip="10.0.0.4").status_code == 200


def test_sign_in_limited_per_ip(client):
    for n in range(4):
        assert _sign_in(client, f"person{n}@example.org").status_code == 200
    assert _sign_in(client, "person9@example.org").status_code == 429
    assert _sign_in(client, "person9@example.org", ip="10.9.9.9").status_code == 200


def test_get_is_not_limited(client):
    for _ in range(10):
        assert client.get("/sign-in", environ_base={"REMOTE_ADDR": "10.0.0.1"}).status_code == 200


def test_registration_limited_per_ip(client):
    data = {"name": "Ann", "email": "", "organisation_name": "Ann Ltd",
            "password": STRONG, "confirm": STRONG}
    for n in range(2):
        response = client.post("/create-account/supplier",
                               data={**data, "email": f"ann{n}@example.org"})
        assert response.status_code == 200
    response = client.post("/create-account/supplier",
                           data={**data, "email": "ann9@example.org"})
    assert response.status_code == 429


def test_reset_limited_per_email(client):
    make_supplier(email="sam@example.org")
    assert client.post("/forgotten-password",
                       data={"email": "sam@example.org"}).status_code == 200
    assert client.post("/forgotten-password",
                       data={"email": "sam@example.org"}).status_code == 429
    assert client.post("/send-confirmation-link",
                       data={"email": "sam@example.org"}).status_code == 200


def test_limits_come_from_configuration(app):
    assert app.config["SIGN_IN_RATE_LIMIT"] == "4 per minute"
    from portal.config import Config

    assert Config.SIGN_IN_RATE_LIMIT  # a default exists for every limit
    for key in ("SIGN_IN_EMAIL_RATE_LIMIT", "REGISTER_RATE_LIMIT", "REGISTER_EMAIL_RATE_LIMIT",
                "RESET_RATE_LIMIT", "RESET_EMAIL_RATE_LIMIT", "SECOND_FACTOR_RATE_LIMIT"):
        assert getattr(Config, key)
