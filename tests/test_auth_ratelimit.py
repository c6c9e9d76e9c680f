"""Rate limits on sign-in, registration (supplier, partnership, joining a team by
invitation) and password reset (Flask-Limiter, memory storage), per client IP and per
e-mail address. 429 gets the GOV.UK page. Each test uses a fresh app, so fresh counters."""

from __future__ import annotations

import re

import pytest

from portal.extensions import db
from portal.services import teams
from tests.auth_helpers import STRONG, outbox
from tests.fixtures.users import (
    DEFAULT_PASSWORD,
    OrganisationFactory,
    PartnershipFactory,
    make_supplier,
)


@pytest.fixture
def app_overrides():
    return {
        "RATELIMIT_ENABLED": True,
        "RATELIMIT_STORAGE_URI": "memory://",
        "SIGN_IN_RATE_LIMIT": "4 per minute",
        "SIGN_IN_EMAIL_RATE_LIMIT": "2 per minute",
        "REGISTER_RATE_LIMIT": "2 per minute",
        "REGISTER_EMAIL_RATE_LIMIT": "2 per minute",
        "RESET_RATE_LIMIT": "3 per minute",
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


SUPPLIER = {"name": "Ann Smith", "organisation_name": "Smith Reviews Ltd",
            "password": STRONG, "confirm": STRONG}


def _register(client, path, email, ip="10.0.0.1", **data):
    return client.post(path, data={**data, "email": email}, environ_base={"REMOTE_ADDR": ip})


def _partnership() -> dict:
    return {"name": "Pat Jones", "password": STRONG, "confirm": STRONG,
            "partnership_id": str(PartnershipFactory().id)}


def test_registration_limited_per_ip(client):
    for n in range(2):
        response = _register(client, "/create-account/supplier", f"ann{n}@example.org",
                             **SUPPLIER)
        assert response.status_code == 200
    response = _register(client, "/create-account/supplier", "ann9@example.org", **SUPPLIER)
    assert response.status_code == 429
    assert "Too many attempts" in response.text
    assert _register(client, "/create-account/supplier", "ann9@example.org", ip="10.9.9.9",
                     **SUPPLIER).status_code == 200


def test_registration_limited_per_email(client):
    """From three IPs, each under its own limit: the address's limit still holds."""
    assert _register(client, "/create-account/supplier", "ann@example.org", ip="10.0.0.1",
                     **SUPPLIER).status_code == 200
    # Taken now: the page answers the same, and counts the same.
    assert _register(client, "/create-account/supplier", "ANN@example.org ", ip="10.0.0.2",
                     **SUPPLIER).status_code == 200
    response = _register(client, "/create-account/supplier", "ann@example.org",
                         ip="10.0.0.3", **SUPPLIER)
    assert response.status_code == 429
    assert "Too many attempts" in response.text
    assert _register(client, "/create-account/supplier", "bea@example.org", ip="10.0.0.4",
                     **SUPPLIER).status_code == 200
    assert len(outbox("ann@example.org")) == 2  # the verification, then "you have one"


def test_partnership_registration_limited_per_ip(client):
    data = _partnership()
    for n in range(2):
        response = _register(client, "/create-account/partnership", f"pat{n}@example.org",
                             **data)
        assert response.status_code == 200
        assert "Check your email" in response.text
    assert _register(client, "/create-account/partnership", "pat9@example.org",
                     **data).status_code == 429
    assert _register(client, "/create-account/partnership", "pat9@example.org",
                     ip="10.9.9.9", **data).status_code == 200


def test_partnership_registration_limited_per_email(client):
    data = _partnership()
    for ip in ("10.0.0.1", "10.0.0.2"):
        assert _register(client, "/create-account/partnership", "pat@example.org", ip=ip,
                         **data).status_code == 200
    assert _register(client, "/create-account/partnership", "Pat@Example.org",
                     ip="10.0.0.3", **data).status_code == 429
    assert _register(client, "/create-account/partnership", "other@example.org",
                     ip="10.0.0.4", **data).status_code == 200


def test_supplier_and_partnership_registration_counted_apart(client):
    """Each page has its own counters (the limit is per page and address)."""
    data = _partnership()
    for ip in ("10.0.0.1", "10.0.0.2"):
        _register(client, "/create-account/supplier", "ann@example.org", ip=ip, **SUPPLIER)
    assert _register(client, "/create-account/partnership", "ann@example.org",
                     ip="10.0.0.3", **data).status_code == 200


def test_reset_limited_per_ip(client):
    for n in range(3):
        response = client.post("/forgotten-password", data={"email": f"p{n}@example.org"})
        assert response.status_code == 200
    response = client.post("/forgotten-password", data={"email": "p9@example.org"})
    assert response.status_code == 429
    assert "Too many attempts" in response.text
    # (Another address: p9's own limit, one a minute, counted the refused request.)
    assert client.post("/forgotten-password", data={"email": "p8@example.org"},
                       environ_base={"REMOTE_ADDR": "10.9.9.9"}).status_code == 200


def test_resend_confirmation_limited_per_ip(client):
    for n in range(3):
        assert client.post("/send-confirmation-link",
                           data={"email": f"p{n}@example.org"}).status_code == 200
    assert client.post("/send-confirmation-link",
                       data={"email": "p9@example.org"}).status_code == 429


def test_reset_link_posts_limited_per_ip(client):
    """Guessing at reset links: the link page's POST counts per IP as well."""
    data = {"password": STRONG, "confirm": STRONG}
    for n in range(3):
        assert client.post(f"/reset-password/guess-{n}", data=data).status_code == 400
    assert client.post("/reset-password/guess-9", data=data).status_code == 429
    assert client.get("/reset-password/guess-9").status_code == 400  # GET is not limited


def test_reset_limited_per_email(client):
    make_supplier(email="sam@example.org")
    assert client.post("/forgotten-password",
                       data={"email": "sam@example.org"}).status_code == 200
    assert client.post("/forgotten-password",
                       data={"email": "sam@example.org"}).status_code == 429
    assert client.post("/send-confirmation-link",
                       data={"email": "sam@example.org"}).status_code == 200


# Joining a team by invitation makes an account: the same limits as registration.


def _invitation_links(*addresses: str) -> list[str]:
    owner = make_supplier(OrganisationFactory(legal_name="Northfield Reviews Ltd"))
    for address in addresses:
        teams.invite(owner, address)
    db.session.commit()
    return [re.search(r"(/team/join/\S+)", outbox(address)[-1].text_body).group(1)
            for address in addresses]


WEAK = {"name": "Jo Iner", "password": "password123", "confirm_password": "password123"}


def _join(client, link, ip="10.0.0.1", data=WEAK):
    return client.post(link, data=data, environ_base={"REMOTE_ADDR": ip})


def test_invitation_limited_per_ip(client):
    first, second, third = _invitation_links("a@example.org", "b@example.org",
                                             "c@example.org")
    for link in (first, second):
        response = _join(client, link)
        assert response.status_code == 200
        assert "too easy to guess" in response.text
    response = _join(client, third)
    assert response.status_code == 429
    assert "Too many attempts" in response.text
    assert _join(client, third, ip="10.9.9.9").status_code == 200
    assert client.get(third, environ_base={"REMOTE_ADDR": "10.0.0.1"}).status_code == 200


def test_invitation_limited_per_invited_address(client):
    """Counted per invitation (it names one address), whatever the IP."""
    link, other = _invitation_links("a@example.org", "b@example.org")
    for ip in ("10.0.0.1", "10.0.0.2"):
        assert _join(client, link, ip=ip).status_code == 200
    assert _join(client, link, ip="10.0.0.3").status_code == 429
    strong = {**WEAK, "password": STRONG, "confirm_password": STRONG}
    assert _join(client, link, ip="10.0.0.4", data=strong).status_code == 429
    assert _join(client, other, ip="10.0.0.5", data=strong).status_code == 302  # joined


def test_limits_come_from_configuration(app):
    assert app.config["SIGN_IN_RATE_LIMIT"] == "4 per minute"
    from portal.config import Config

    assert Config.SIGN_IN_RATE_LIMIT  # a default exists for every limit
    for key in ("SIGN_IN_EMAIL_RATE_LIMIT", "REGISTER_RATE_LIMIT", "REGISTER_EMAIL_RATE_LIMIT",
                "RESET_RATE_LIMIT", "RESET_EMAIL_RATE_LIMIT", "SECOND_FACTOR_RATE_LIMIT"):
        assert getattr(Config, key)
