"""With CSRF protection on (as in production): forms without the token are refused."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from portal.extensions import db
from portal.models import User
from tests.fixtures.users import DEFAULT_PASSWORD, make_supplier

pytestmark = pytest.mark.csrf


@pytest.fixture
def app_overrides():
    return {"WTF_CSRF_ENABLED": True}


def _token(page: str) -> str:
    tag = re.search(r'<input[^>]*name="csrf_token"[^>]*>', page).group(0)
    return re.search(r'value="([^"]+)"', tag).group(1)


def test_sign_in_without_token_is_refused(client):
    make_supplier(email="sam@example.org")
    response = client.post("/sign-in", data={"email": "sam@example.org",
                                             "password": DEFAULT_PASSWORD})
    assert response.status_code == 400
    assert "Your form expired or was sent from another site" in response.text
    assert client.get("/home").status_code == 302


def test_sign_in_with_token_works(client):
    make_supplier(email="sam@example.org")
    token = _token(client.get("/sign-in").text)
    response = client.post("/sign-in", data={"email": "sam@example.org",
                                             "password": DEFAULT_PASSWORD,
                                             "csrf_token": token})
    assert response.status_code == 302
    assert client.get("/home").status_code == 200


def test_token_from_another_session_is_refused(client, app):
    make_supplier(email="sam@example.org")
    other = app.test_client()
    foreign = _token(other.get("/sign-in").text)
    client.get("/sign-in")
    response = client.post("/sign-in", data={"email": "sam@example.org",
                                             "password": DEFAULT_PASSWORD,
                                             "csrf_token": foreign})
    assert response.status_code == 400


def test_sign_out_without_token_is_refused(client):
    make_supplier(email="sam@example.org")
    token = _token(client.get("/sign-in").text)
    client.post("/sign-in", data={"email": "sam@example.org", "password": DEFAULT_PASSWORD,
                                  "csrf_token": token})
    assert client.post("/sign-out").status_code == 400
    assert client.get("/home").status_code == 200  # still signed in
    page = client.get("/home").text
    assert client.post("/sign-out", data={"csrf_token": _token(page)}).status_code == 302
    assert client.get("/home").status_code == 302


def test_registration_without_token_saves_nothing(client):
    response = client.post("/create-account/supplier", data={
        "name": "Ann Smith", "email": "ann@example.org", "organisation_name": "Smith Ltd",
        "password": "violet kettle gravel 93", "confirm": "violet kettle gravel 93",
    })
    assert response.status_code == 400
    assert db.session.execute(select(User)).first() is None


def test_change_password_without_token_is_refused(client, sign_in):
    sign_in(make_supplier(email="sam@example.org"))
    response = client.post("/account/password", data={
        "current_password": DEFAULT_PASSWORD, "password": "violet kettle gravel 93",
        "confirm": "violet kettle gravel 93",
    })
    assert response.status_code == 400
