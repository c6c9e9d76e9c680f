"""The audit trail page in a real browser: accessible with events, pages and errors, and
the filters work from the keyboard-free happy path a person would follow."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from portal.audit import record
from portal.extensions import db
from tests.fixtures.browser import assert_no_axe_violations, screenshot, sign_in_browser
from tests.fixtures.users import make_staff

pytestmark = pytest.mark.browser


def test_audit_page_is_accessible_and_filters(app, page, live_server):
    app.config["AUDIT_PAGE_SIZE"] = 5
    admin = make_staff("admin", email="admin@panel.example")
    for i in range(7):
        record(
            "user.role_granted" if i % 2 else "organisation.created",
            actor=admin,
            object_type="users" if i % 2 else "organisations",
            object_id=i,
            data={"role": "<b>commissioner</b>", "step": i, "changes": {"old": None, "new": i}},
        )
    db.session.commit()

    sign_in_browser(page, admin)
    page.goto("/admin/audit")
    assert page.get_by_role("heading", level=1).inner_text() == "Audit trail"
    expect(page.locator("tbody tr")).to_have_count(5)
    assert "<b>commissioner</b>" in page.locator("#event-7").inner_text()
    assert_no_axe_violations(page)
    screenshot(page, "admin-audit")

    page.get_by_role("link", name="Next page").click()
    expect(page.locator("tbody tr")).to_have_count(2)
    assert_no_axe_violations(page)

    page.goto("/admin/audit")
    page.get_by_label("Action").fill("user.")
    page.get_by_role("button", name="Apply filters").click()
    expect(page.locator("tbody tr")).to_have_count(3)
    assert "action=user." in page.url

    # A date that does not exist: a GOV.UK error summary, no events.
    page.locator("#date_from-day").fill("31")
    page.locator("#date_from-month").fill("2")
    page.locator("#date_from-year").fill("2025")
    page.get_by_role("button", name="Apply filters").click()
    summary = page.locator(".govuk-error-summary")
    expect(summary).to_contain_text("From date must be a real date")
    assert page.title().startswith("Error: ")
    expect(page.locator("tbody tr")).to_have_count(0)
    assert_no_axe_violations(page)
    screenshot(page, "admin-audit-error")
