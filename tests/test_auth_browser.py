"""Account journeys in headless Chromium: register, confirm the address (link read from
the outbox), sign in, sign out; a staff sign-in enrolling TOTP; axe-core on every page."""

from __future__ import annotations

import re

import pyotp
import pytest

from portal.extensions import db
from tests.auth_helpers import STRONG, last_link
from tests.fixtures.browser import assert_no_axe_violations
from tests.fixtures.users import DEFAULT_PASSWORD, PartnershipFactory, make_staff

pytestmark = pytest.mark.browser


def _h1(page) -> str:
    return page.get_by_role("heading", level=1).inner_text()


def test_register_verify_sign_in_sign_out(page, live_server):
    PartnershipFactory(name="Northshire Safeguarding Children Partnership")
    db.session.commit()

    page.goto("/")
    assert_no_axe_violations(page)
    page.get_by_role("button", name="Create an account").click()
    assert _h1(page) == "Create an account"
    assert_no_axe_violations(page)

    page.goto("/create-account/partnership")
    assert_no_axe_violations(page)

    page.goto("/create-account/supplier")
    assert_no_axe_violations(page)
    page.get_by_label("Full name").fill("Ann Smith")
    page.get_by_label("Email address").fill("ann@example.org")
    page.get_by_label("Organisation legal name").fill("Smith Reviews Ltd")
    page.get_by_label("Create a password").fill("password123")
    page.get_by_label("Confirm password").fill("password123")
    page.get_by_role("button", name="Create account").click()
    assert "Password is too easy to guess" in page.content()
    assert_no_axe_violations(page)  # the error summary and inline errors too

    page.get_by_label("Create a password").fill(STRONG)
    page.get_by_label("Confirm password").fill(STRONG)
    page.get_by_role("button", name="Create account").click()
    assert _h1(page) == "Check your email"
    assert_no_axe_violations(page)

    link = last_link("ann@example.org", "verify_email")
    db.session.commit()

    page.goto("/sign-in")
    assert_no_axe_violations(page)
    page.get_by_label("Email address").fill("ann@example.org")
    page.get_by_label("Password", exact=True).fill(STRONG)
    page.get_by_role("button", name="Sign in").click()
    assert "confirm your email address before you can sign in" in page.content()
    assert_no_axe_violations(page)

    page.goto(link)
    assert_no_axe_violations(page)
    page.get_by_role("button", name="Confirm email address").click()
    assert _h1(page) == "Sign in"

    page.get_by_label("Email address").fill("ann@example.org")
    page.get_by_label("Password", exact=True).fill(STRONG)
    page.get_by_role("button", name="Sign in").click()
    assert page.url.endswith("/home")

    for path in ("/account", "/account/password", "/account/email"):
        page.goto(path)
        assert_no_axe_violations(page)

    page.get_by_role("button", name="Sign out").click()
    assert "You have signed out" in page.content()
    page.goto("/account")
    assert _h1(page) == "Sign in"

    for path in ("/forgotten-password", "/send-confirmation-link"):
        page.goto(path)
        assert_no_axe_violations(page)
    page.goto("/reset-password/not-a-real-link")
    assert _h1(page) == "This link does not work"
    assert_no_axe_violations(page)


def test_staff_sign_in_with_totp(page, live_server):
    make_staff("admin", email="ada@example.org")
    db.session.commit()

    page.goto("/sign-in?next=/admin/")
    page.get_by_label("Email address").fill("ada@example.org")
    page.get_by_label("Password", exact=True).fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    assert _h1(page) == "Set up your authenticator app"
    assert page.locator("svg.app-qr-code").count() == 1
    assert_no_axe_violations(page)

    secret = page.locator("#totp-secret").inner_text().replace(" ", "")
    totp = pyotp.TOTP(secret)
    page.get_by_label("Code from your authenticator app").fill(totp.now())
    page.get_by_role("button", name="Confirm and continue").click()
    assert _h1(page) == "Your recovery codes"
    codes = re.findall(r"[a-z0-9]{5}-[a-z0-9]{5}", page.locator("#recovery-codes").inner_text())
    assert len(codes) == 10
    assert_no_axe_violations(page)
    page.get_by_role("button", name="Continue").click()
    assert _h1(page) == "Administration"

    page.get_by_role("button", name="Sign out").click()
    page.goto("/sign-in")
    page.get_by_label("Email address").fill("ada@example.org")
    page.get_by_label("Password", exact=True).fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    assert _h1(page) == "Enter your security code"
    assert_no_axe_violations(page)
    page.get_by_label("Security code").fill(codes[0])
    page.get_by_role("button", name="Continue").click()
    assert "You used a recovery code" in page.content()
    page.goto("/account")
    assert "9 unused" in page.content()
    assert_no_axe_violations(page)
