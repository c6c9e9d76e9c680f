"""The outbox admin page in a real browser: accessible, and the retry button works."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from portal.extensions import db
from portal.models import OutboxEmail, OutboxStatus
from portal.models.base import utcnow
from tests.fixtures.browser import assert_no_axe_violations, screenshot, sign_in_browser
from tests.fixtures.users import make_staff

pytestmark = pytest.mark.browser


def test_outbox_page_is_accessible_and_retry_works(page, live_server):
    admin = make_staff("admin", email="admin@panel.example")
    db.session.add_all([
        OutboxEmail(recipient="ada@example.org", subject="Welcome", text_body="Hi",
                    status=OutboxStatus.SENT, attempts=1, sent_at=utcnow()),
        OutboxEmail(recipient="grace@example.org", subject="Your application",
                    text_body="Hi", status=OutboxStatus.FAILED, attempts=6,
                    last_attempt_at=utcnow(),
                    last_error="ConnectionRefusedError: [Errno 111] Connection refused"),
    ])
    db.session.commit()
    failed_id = db.session.query(OutboxEmail.id).filter_by(status="failed").scalar()
    db.session.commit()

    sign_in_browser(page, admin)
    page.goto("/admin/outbox")
    assert page.get_by_role("heading", level=1).inner_text() == "E-mail outbox"
    assert "Connection refused" in page.locator(f"#outbox-{failed_id}").inner_text()
    assert_no_axe_violations(page)
    screenshot(page, "admin-outbox")

    page.get_by_label("Status").select_option("failed")
    page.get_by_role("button", name="Filter").click()
    # Wait for the filtered page (Playwright's expect retries until it holds).
    expect(page).to_have_url(re.compile(r"status=failed"))
    expect(page.locator("tbody tr")).to_have_count(1)

    page.get_by_role("button", name=f"Retry message #{failed_id} to grace@example.org").click()
    expect(page.locator(".govuk-notification-banner")).to_contain_text("will be sent again shortly")
    assert_no_axe_violations(page)

    email = db.session.get(OutboxEmail, failed_id)
    assert (email.status, email.attempts) == (OutboxStatus.PENDING, 0)
    db.session.commit()
