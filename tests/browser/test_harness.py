"""The browser harness itself: its checks catch what they claim to catch, and a test
can sign the browser in and share the database with the live server."""

from __future__ import annotations

import pytest

from portal.extensions import db
from tests.fixtures import browser as harness
from tests.fixtures.browser import (
    assert_keyboard_reaches,
    assert_no_axe_violations,
    assert_skip_link_works,
    csp_violations,
    sign_in_browser,
)
from tests.fixtures.users import UserFactory

pytestmark = pytest.mark.browser

BAD_PAGE = """<!doctype html><html><head><title>Bad</title></head><body>
<main><h3>Skipped heading levels</h3><img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=">
<input type="text" name="unlabelled"></main></body></html>"""


def test_axe_helper_reports_every_violation_with_its_nodes(page):
    page.set_content(BAD_PAGE)
    with pytest.raises(pytest.fail.Exception) as failure:
        assert_no_axe_violations(page)
    message = str(failure.value)
    for rule in ("image-alt", "label", "html-has-lang", "page-has-heading-one"):
        assert rule in message
    assert '<input type="text" name="unlabelled">' in message


def test_keyboard_helpers_notice_a_missing_skip_link(page):
    page.set_content('<html lang="en"><body><a href="/x">First</a><main>M</main></body></html>')
    with pytest.raises(AssertionError, match="first Tab stop"):
        assert_skip_link_works(page)
    with pytest.raises(AssertionError, match="never reached"):
        assert_keyboard_reaches(page, ["Nowhere"], max_tabs=5)


def test_csp_stays_enforced_and_violations_are_collected(page):
    page.goto("/")
    with pytest.raises(Exception, match="Content Security Policy"):
        page.add_script_tag(content="window.injected = true")
    assert page.evaluate("window.injected === undefined")
    assert csp_violations(page), "the blocked inline script was not reported"
    # Forget it, or the page fixture would (rightly) fail this test at teardown.
    harness._LOGS[page].csp_violations.clear()


def test_chromium_missing_fails_with_make_browser_hint(tmp_path):
    with pytest.raises(pytest.fail.Exception, match="make browser"):
        harness.require_chromium(str(tmp_path / "no-chromium"))


def test_sign_in_browser_shares_the_database_with_the_live_server(page):
    user = UserFactory(name="Ada Reviewer")
    sign_in_browser(page, user)
    assert not db.session().in_transaction()
    response = page.goto("/home")
    assert response.status == 200
    assert page.get_by_role("heading", level=1).inner_text() == "Welcome, Ada Reviewer"
    assert_no_axe_violations(page)
    # Read back what the server did, then release the database again.
    db.session.refresh(user)
    assert user.email_verified_at is not None
    db.session.commit()
    page.reload()
    assert page.get_by_role("heading", level=1).inner_text() == "Welcome, Ada Reviewer"
