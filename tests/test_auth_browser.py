"""Account journeys in headless Chromium: register, confirm the address (link read from
the outbox), sign in, sign out; a staff sign-in enrolling TOTP; axe-core on every page."""

from __future__ import annotations

import re

import pyotp
import pytest
from playwright.sync_api import expect

from portal.extensions import db
from tests.auth_helpers import STRONG, last_link
from tests.fixtures.browser import assert_no_axe_violations
from tests.fixtures.users import DEFAULT_PASSWORD, PartnershipFactory, make_staff

pytestmark = pytest.mark.browser


def test_register_verify_sign_in_sign_out(page, live_server):
    PartnershipFactory(name="Northshire Safeguarding Children Partnership")
    db.session.commit()

    page.goto("/")
    assert_no_axe_violations(page)
    page.get_by_role("button", name="Create an account").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Create an account")
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
    expect(page.locator("main")).to_contain_text("Password is too easy to guess")
    assert_no_axe_violations(page)  # the error summary and inline errors too

    page.get_by_label("Create a password").fill(STRONG)
    page.get_by_label("Confirm password").fill(STRONG)
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Check your email")
    assert_no_axe_violations(page)

    link = last_link("ann@example.org", "verify_email")
    db.session.commit()

    page.goto("/sign-in")
    assert_no_axe_violations(page)
    page.get_by_label("Email address").fill("ann@example.org")
    page.get_by_label("Password", exact=True).fill(STRONG)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("main")).to_contain_text(
        "confirm your email address before you can sign in"
    )
    assert_no_axe_violations(page)

    page.goto(link)
    assert_no_axe_violations(page)
    page.get_by_role("button", name="Confirm email address").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")

    page.get_by_label("Email address").fill("ann@example.org")
    page.get_by_label("Password", exact=True).fill(STRONG)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/home")

    for path in ("/account", "/account/password", "/account/email"):
        page.goto(path)
        assert_no_axe_violations(page)

    page.get_by_role("button", name="Sign out").click()
    expect(page.locator("main")).to_contain_text("You have signed out")
    page.goto("/account")
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")

    for path in ("/forgotten-password", "/send-confirmation-link"):
        page.goto(path)
        assert_no_axe_violations(page)
    page.goto("/reset-password/not-a-real-link")
    expect(page.get_by_role("heading", level=1)).to_have_text("This link does not work")
    assert_no_axe_violations(page)


def test_staff_sign_in_with_totp(page, live_server):
    make_staff("admin", email="ada@example.org")
    db.session.commit()

    page.goto("/sign-in?next=/admin/")
    page.get_by_label("Email address").fill("ada@example.org")
    page.get_by_label("Password", exact=True).fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Set up your authenticator app")
    expect(page.locator("svg.app-qr-code")).to_have_count(1)
    assert_no_axe_violations(page)

    secret = page.locator("#totp-secret").inner_text().replace(" ", "")
    totp = pyotp.TOTP(secret)
    page.get_by_label("Code from your authenticator app").fill(totp.now())
    page.get_by_role("button", name="Confirm and continue").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your recovery codes")
    codes = re.findall(r"[a-z0-9]{5}-[a-z0-9]{5}", page.locator("#recovery-codes").inner_text())
    assert len(codes) == 10
    assert_no_axe_violations(page)
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Administration")

    page.get_by_role("button", name="Sign out").click()
    page.goto("/sign-in")
    page.get_by_label("Email address").fill("ada@example.org")
    page.get_by_label("Password", exact=True).fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Enter your security code")
    assert_no_axe_violations(page)
    page.get_by_label("Security code").fill(codes[0])
    page.get_by_role("button", name="Continue").click()
    expect(page.locator("main")).to_contain_text("You used a recovery code")
    page.goto("/account")
    expect(page.locator("main")).to_contain_text("9 unused")
    assert_no_axe_violations(page)
