"""The session timeout warning (WCAG 2.2.1): what every signed-in page tells the script,
and the keep-alive endpoint behind "Stay signed in". The dialog itself is exercised in a
real browser in tests/browser/test_timeout_warning.py."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from portal.models.base import utcnow
from tests.auth_helpers import sign_in_with_password
from tests.fixtures.users import DEFAULT_PASSWORD, make_staff, make_supplier

KEEP_ALIVE = "/session/keep-alive"


def _dialog(page: str) -> dict[str, str]:
    match = re.search(r'<dialog[^>]*id="app-timeout-warning"[^>]*>', page)
    assert match, "no timeout warning dialog on the page"
    return dict(re.findall(r'data-([a-z-]+)="([^"]*)"', match.group(0)))


def _signed_in(client) -> bool:
    return client.get("/home").status_code == 200


@pytest.fixture
def sam(client, time_machine):
    time_machine.move_to(utcnow(), tick=False)
    make_supplier(email="sam@example.org")
    assert sign_in_with_password(client, "sam@example.org", DEFAULT_PASSWORD).status_code == 302
    return time_machine


# ----------------------------------------------------------------- what the page says


def test_signed_in_pages_carry_the_warning_and_its_timings(client, sam):
    page = client.get("/home").text
    data = _dialog(page)
    assert data == {
        "seconds-left": "3600",
        "warning-seconds": "120",
        "extendable": "true",
        "sign-in-url": "/sign-in",
    }
    assert 'aria-labelledby="app-timeout-warning-heading"' in page
    assert 'aria-describedby="app-timeout-warning-message"' in page
    assert "You will be signed out in" in page and "2 minutes" in page
    assert 'src="/static/timeout-warning.js"' in page
    assert 'href="/static/timeout-warning.css"' in page
    assert f'action="{KEEP_ALIVE}"' in page


def test_signed_out_pages_have_no_warning(client):
    page = client.get("/").text
    assert "app-timeout-warning" not in page
    assert "timeout-warning.js" not in page
    assert "timeout-warning.css" not in page


def test_seconds_left_counts_from_the_last_recorded_activity(client, sam):
    sam.shift(timedelta(minutes=10))
    assert _dialog(client.get("/home").text)["seconds-left"] == "3600"  # activity recorded
    # Within 30 seconds the activity is not recorded again, and the page says so.
    sam.shift(timedelta(seconds=20, milliseconds=500))
    assert _dialog(client.get("/home").text)["seconds-left"] == "3580"


def test_warning_time_comes_from_the_configuration(client, app, sam):
    app.config["SESSION_TIMEOUT_WARNING"] = timedelta(seconds=45)
    page = client.get("/home").text
    assert _dialog(page)["warning-seconds"] == "45"
    assert "1 minute" in page


def test_near_the_absolute_limit_the_warning_cannot_extend(client, app, sam):
    app.config["SESSION_ABSOLUTE_TIMEOUT"] = timedelta(hours=2)
    for _ in range(3):
        sam.shift(timedelta(minutes=39))
        assert _signed_in(client)
    sam.shift(timedelta(minutes=2))  # 1 h 59 min after signing in, 2 min idle
    response = client.post(KEEP_ALIVE)
    assert response.status_code == 200
    assert response.json["seconds_left"] == 60
    assert response.json["extendable"] is False
    page = client.get("/home").text
    assert _dialog(page)["extendable"] == "false"
    assert "You can stay signed in for up to 2 hours at a time" in page
    assert ">Continue</button>" in page


# ------------------------------------------------------------------------ keep-alive


def test_keep_alive_restarts_the_idle_clock(client, sam):
    sam.shift(timedelta(minutes=59))
    response = client.post(KEEP_ALIVE)
    assert response.status_code == 200
    assert response.json == {
        "signed_in": True,
        "seconds_left": 3600,
        "extendable": True,
        "warning_seconds": 120,
        "idle_minutes": 60,
        "absolute_hours": "12",
    }
    assert response.headers["Cache-Control"] == "no-store"
    sam.shift(timedelta(minutes=59))
    assert _signed_in(client)


def test_keep_alive_restarts_the_clock_even_within_30_seconds(client, sam):
    assert _signed_in(client)
    sam.shift(timedelta(seconds=10))
    # A page view this soon is not recorded; "Stay signed in" always is.
    assert client.post(KEEP_ALIVE).json["seconds_left"] == 3600
    sam.shift(timedelta(minutes=59, seconds=55))  # 60 min 5 s after the page view
    assert _signed_in(client)


def test_keep_alive_after_the_timeout_is_401_and_the_sign_in_page_says_why(client, sam):
    sam.shift(timedelta(minutes=60, seconds=1))
    response = client.post(KEEP_ALIVE)
    assert response.status_code == 401
    assert response.json == {"signed_in": False, "seconds_left": 0}
    assert "had not used the service for 60 minutes" in client.get("/sign-in").text
    assert not _signed_in(client)


def test_keep_alive_signed_out_is_401_and_signs_nobody_in(client):
    response = client.post(KEEP_ALIVE)
    assert response.status_code == 401
    assert response.json["signed_in"] is False
    assert response.headers.get("Set-Cookie") is None
    assert not _signed_in(client)


def test_keep_alive_is_post_only(client, sam):
    assert client.get(KEEP_ALIVE).status_code == 405


def test_keep_alive_works_for_staff_before_their_second_factor(client, sign_in):
    sign_in(make_staff("commissioner"), second_factor=False)
    page = client.get("/second-factor/set-up").text
    assert _dialog(page)["extendable"] == "true"
    response = client.post(KEEP_ALIVE)
    assert response.status_code == 200
    assert response.json["seconds_left"] == 3600


def _token(page: str, form_class: str | None = None) -> str:
    if form_class:
        page = re.search(rf'<form[^>]*class="{form_class}".*?</form>', page, re.S).group(0)
    tag = re.search(r'<input[^>]*name="csrf_token"[^>]*>', page).group(0)
    return re.search(r'value="([^"]+)"', tag).group(1)


@pytest.mark.csrf
@pytest.mark.parametrize("app_overrides", [{"WTF_CSRF_ENABLED": True}])
def test_keep_alive_needs_the_csrf_token_from_the_dialog(client, time_machine):
    time_machine.move_to(utcnow(), tick=False)
    make_supplier(email="sam@example.org")

    def sign_in_with_token():
        response = client.post("/sign-in", data={
            "email": "sam@example.org", "password": DEFAULT_PASSWORD,
            "csrf_token": _token(client.get("/sign-in").text)})
        assert response.status_code == 302

    sign_in_with_token()
    assert _signed_in(client)
    time_machine.shift(timedelta(minutes=59))
    assert client.post(KEEP_ALIVE).status_code == 400
    assert client.post(KEEP_ALIVE, data={"csrf_token": "forged"}).status_code == 400
    time_machine.shift(timedelta(minutes=1, seconds=1))
    assert not _signed_in(client), "a refused keep-alive must not restart the idle clock"

    sign_in_with_token()
    token = _token(client.get("/home").text, "js-timeout-form")
    time_machine.shift(timedelta(minutes=59))
    accepted = client.post(KEEP_ALIVE, data={"csrf_token": token})
    assert accepted.status_code == 200
    assert accepted.json["seconds_left"] == 3600
    time_machine.shift(timedelta(minutes=59))
    assert _signed_in(client)


def test_accessibility_statement_describes_the_warning(client, app):
    app.config["SESSION_TIMEOUT_WARNING"] = timedelta(minutes=1)
    page = re.sub(r"\s+", " ", client.get("/accessibility").text)
    assert "without a warning" not in page
    assert "We plan to add a warning" not in page
    assert ("you are signed out if you do not use the service for 60 minutes. 1 minute before "
            "that, the service shows a warning") in page
    assert "Select “Stay signed in” (or press Escape)" in page
    # What is left of 2.2.1: the absolute limit is warned about but cannot be extended.
    assert ("You are signed out 12 hours after you sign in, even if you are using the "
            "service. The service warns you 1 minute before") in page
