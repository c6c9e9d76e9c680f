"""Account journeys in headless Chromium: register, confirm the address with the link from
the e-mail as it arrives at a real SMTP server (aiosmtpd), sign in, sign out; a staff
sign-in enrolling TOTP, then signing in again with a code and with a recovery code.
axe-core runs on every page visited, error states included, each time after an
`expect` for the page a click or a visit leads to.

Delivery: the testing configuration does not deliver after the request (as in
production, where the worker `flask outbox deliver` calls portal.outbox.deliver_due);
the test calls deliver_due itself once the registration has committed, so the e-mail
takes the real path and the test never races a background send."""

from __future__ import annotations

import re
import time
from urllib.parse import urlsplit

import pyotp
import pytest
from playwright.sync_api import expect

from portal.extensions import db
from portal.outbox import deliver_due
from tests.auth_helpers import STRONG
from tests.fixtures.browser import assert_no_axe_violations
from tests.fixtures.users import DEFAULT_PASSWORD, PartnershipFactory, make_staff

pytestmark = pytest.mark.browser


@pytest.fixture
def app_overrides(smtp_server):
    return smtp_server.app_config()


def _h1(page):
    return page.get_by_role("heading", level=1)


def _visit(page, path: str, heading: str) -> None:
    page.goto(path)
    expect(_h1(page)).to_have_text(heading)
    assert_no_axe_violations(page)


def _sign_in(page, email: str, password: str) -> None:
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in").click()


def _sign_out(page, live_server) -> None:
    page.get_by_role("button", name="Sign out").click()
    expect(page.locator("main")).to_contain_text("You have signed out")
    expect(_h1(page)).to_have_text(live_server.app.config["SERVICE_NAME"])
    assert_no_axe_violations(page)


def test_register_verify_sign_in_sign_out(page, live_server, smtp_server):
    PartnershipFactory(name="Northshire Safeguarding Children Partnership")
    db.session.commit()

    _visit(page, "/", live_server.app.config["SERVICE_NAME"])
    page.get_by_role("button", name="Create an account").click()
    expect(_h1(page)).to_have_text("Create an account")
    assert_no_axe_violations(page)

    page.get_by_role("link", name="Create a partnership account").click()
    expect(_h1(page)).to_have_text("Create a partnership account")
    assert_no_axe_violations(page)

    _visit(page, "/create-account", "Create an account")
    page.get_by_role("link", name="Create a supplier account").click()
    expect(_h1(page)).to_have_text("Create a supplier account")
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
    expect(_h1(page)).to_have_text("Check your email")
    assert_no_axe_violations(page)

    # The confirmation e-mail, as it reaches a mail server.
    assert smtp_server.messages == []  # nothing leaves except through the outbox
    report = deliver_due(limit=None)
    assert (report.sent, report.failed) == (1, 0)
    smtp_server.wait_for(1)
    mail = smtp_server.find(to="ann@example.org", subject_contains="Confirm your email address")
    [link] = [url for url in mail.links if "/verify-email/" in url]
    assert link.startswith(f"{live_server}/verify-email/")  # absolute, to this site

    # Not confirmed yet: signing in is refused, with a way to get a new link.
    _visit(page, "/sign-in", "Sign in")
    _sign_in(page, "ann@example.org", STRONG)
    expect(page.locator("main")).to_contain_text(
        "confirm your email address before you can sign in"
    )
    assert_no_axe_violations(page)

    _visit(page, urlsplit(link).path, "Confirm your email address")
    page.get_by_role("button", name="Confirm email address").click()
    expect(_h1(page)).to_have_text("Sign in")
    expect(page.locator("main")).to_contain_text("Your email address is confirmed")
    assert_no_axe_violations(page)

    _sign_in(page, "ann@example.org", STRONG)
    page.wait_for_url("**/home")
    expect(_h1(page)).to_have_text("Welcome, Ann Smith")
    assert_no_axe_violations(page)

    for path, heading in (("/account", "Your account"),
                          ("/account/password", "Change your password"),
                          ("/account/email", "Change your email address")):
        _visit(page, path, heading)

    _sign_out(page, live_server)
    _visit(page, "/account", "Sign in")  # signed out: the account page asks to sign in

    _visit(page, "/forgotten-password", "Reset your password")
    _visit(page, "/send-confirmation-link", "Send the confirmation link again")
    page.goto("/reset-password/not-a-real-link")
    expect(_h1(page)).to_have_text("This link does not work")
    assert_no_axe_violations(page)


def test_staff_sign_in_with_totp(page, live_server):
    make_staff("admin", email="ada@example.org")
    db.session.commit()

    # First sign-in: enrol an authenticator app.
    _visit(page, "/sign-in?next=/admin/", "Sign in")
    _sign_in(page, "ada@example.org", DEFAULT_PASSWORD)
    expect(_h1(page)).to_have_text("Set up your authenticator app")
    expect(page.locator("svg.app-qr-code")).to_have_count(1)
    assert_no_axe_violations(page)

    secret = page.locator("#totp-secret").inner_text().replace(" ", "")
    totp = pyotp.TOTP(secret)
    page.get_by_label("Code from your authenticator app").fill(totp.now())
    page.get_by_role("button", name="Confirm and continue").click()
    expect(_h1(page)).to_have_text("Your recovery codes")
    codes = re.findall(r"[a-z0-9]{5}-[a-z0-9]{5}", page.locator("#recovery-codes").inner_text())
    assert len(codes) == 10
    assert_no_axe_violations(page)
    page.get_by_role("button", name="Continue").click()
    expect(_h1(page)).to_have_text("Administration")
    assert_no_axe_violations(page)
    _sign_out(page, live_server)

    # Signing in again with a code from the app. The enrolment used this 30-second
    # step's code, and a code is never accepted twice; the next step's is accepted
    # (allowance for clock drift), as an app a little ahead would show.
    _visit(page, "/sign-in?next=/admin/", "Sign in")
    _sign_in(page, "ada@example.org", DEFAULT_PASSWORD)
    expect(_h1(page)).to_have_text("Enter your security code")
    assert_no_axe_violations(page)
    page.get_by_label("Security code").fill(totp.at(time.time() + totp.interval))
    page.get_by_role("button", name="Continue").click()
    expect(_h1(page)).to_have_text("Administration")
    assert_no_axe_violations(page)
    _sign_out(page, live_server)

    # And with a recovery code.
    _visit(page, "/sign-in", "Sign in")
    _sign_in(page, "ada@example.org", DEFAULT_PASSWORD)
    expect(_h1(page)).to_have_text("Enter your security code")
    assert_no_axe_violations(page)
    page.get_by_label("Security code").fill(codes[0])
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url("**/home")
    expect(page.locator("main")).to_contain_text("You used a recovery code")
    expect(_h1(page)).to_have_text(re.compile(r"^Welcome, "))
    assert_no_axe_violations(page)
    _visit(page, "/account", "Your account")
    expect(page.locator("main")).to_contain_text("9 unused")
