"""Public pages in a real browser: axe-core finds nothing, the keyboard works, and the
production CSP lets the GOV.UK stylesheet, fonts and JavaScript module load."""

from __future__ import annotations

import logging

import pytest
from flask import abort

from tests.fixtures.browser import (
    assert_keyboard_reaches,
    assert_no_axe_violations,
    assert_skip_link_works,
    console_errors,
    csp_violations,
    screenshot,
    sign_in_browser,
)
from tests.fixtures.users import make_staff

pytestmark = pytest.mark.browser

STATIC_PAGES = [
    ("/", "Reviewer Pool Portal"),
    ("/accessibility", "Accessibility statement for the Reviewer Pool Portal"),
    ("/privacy", "Privacy notice"),
    ("/cookies", "Cookies"),
]
FOOTER_LINKS = ["Accessibility statement", "Privacy notice", "Cookies"]


def _h1(page) -> str:
    return page.get_by_role("heading", level=1).inner_text()


@pytest.mark.parametrize(("path", "heading"), STATIC_PAGES)
def test_public_page_is_accessible(page, path, heading):
    response = page.goto(path)
    assert response.status == 200
    assert _h1(page) == heading
    assert page.title().endswith(" \N{EN DASH} Reviewer Pool Portal \N{EN DASH} GOV.UK")
    assert_no_axe_violations(page)
    assert_skip_link_works(page)
    screenshot(page, "page" + path.replace("/", "-").rstrip("-"))


def test_not_found_page_is_accessible(page):
    response = page.goto("/no-such-page")
    assert response.status == 404
    assert _h1(page) == "Page not found"
    assert_no_axe_violations(page)
    assert_skip_link_works(page)


@pytest.fixture
def abort_route(app):
    def abort_with(code):
        abort(code)

    app.add_url_rule("/_test/abort/<int:code>", "test_abort", abort_with)


def test_other_error_pages_are_accessible(page, abort_route):
    for code, heading in [
        (400, "Sorry, there is a problem with your request"),
        (403, "You do not have permission to view this page"),
        (405, "Sorry, that action is not allowed here"),
        (413, "The file or form you sent is too large"),
        (429, "Too many attempts"),
    ]:
        response = page.goto(f"/_test/abort/{code}")
        assert response.status == code
        assert _h1(page) == heading
        assert_no_axe_violations(page)


@pytest.fixture
def failing_route(app):
    def boom():
        raise RuntimeError("deliberate failure for the 500 page test")

    app.add_url_rule("/_test/boom", "test_boom", boom)


def test_server_error_page_is_accessible_and_shows_logged_reference(page, failing_route, caplog):
    caplog.set_level(logging.ERROR, logger="portal.errors")
    response = page.goto("/_test/boom")
    assert response.status == 500
    assert _h1(page) == "Sorry, there is a problem with the service"
    reference = page.locator("#error-reference").inner_text()
    assert reference and reference in caplog.text
    assert_no_axe_violations(page)


def test_home_page_renders_govuk_styles_under_csp(page):
    page.goto("/")
    page.evaluate("document.fonts.ready.then(() => true)")
    # The stylesheet applied: the header is GOV.UK blue, the body uses GDS Transport,
    # whose font files loaded from /assets under font-src 'self'.
    styles = page.evaluate(
        """() => ({
          header: getComputedStyle(document.querySelector('.govuk-header')).backgroundColor,
          font: getComputedStyle(document.querySelector('.govuk-body')).fontFamily,
          gdsLoaded: [...document.fonts].some(f => f.family.includes('GDS Transport')
                                                 && f.status === 'loaded'),
          jsEnabled: document.body.classList.contains('govuk-frontend-supported'),
          skipLinkInit: document.querySelector('.govuk-skip-link')
                          .hasAttribute('data-govuk-skip-link-init'),
        })"""
    )
    assert styles["header"] == "rgb(29, 112, 184)", styles  # $govuk-brand-colour
    assert "GDS Transport" in styles["font"], styles
    assert styles["gdsLoaded"], "no GDS Transport font face loaded"
    # The inline snippet carries the CSP nonce; the module ran initAll().
    assert styles["jsEnabled"] and styles["skipLinkInit"], styles
    assert csp_violations(page) == []
    assert console_errors(page) == []
    path = screenshot(page, "home")
    assert path.stat().st_size > 10_000


def test_home_page_links_reachable_by_keyboard(page):
    page.goto("/")
    assert_keyboard_reaches(page, ["Skip to main content", "Reviewer Pool Portal", *FOOTER_LINKS])


@pytest.mark.parametrize("link", FOOTER_LINKS)
def test_footer_links_lead_to_the_pages(page, link):
    page.goto("/")
    page.get_by_role("contentinfo").get_by_role("link", name=link, exact=True).click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", level=1).is_visible()
    assert csp_violations(page) == []


def test_pages_reflow_on_a_narrow_screen(page):
    """WCAG 1.4.10: usable at 320 CSS pixels wide without scrolling sideways, and the
    service navigation's menu button works from the keyboard."""
    page.set_viewport_size({"width": 320, "height": 640})
    for path in ("/", "/privacy", "/cookies", "/accessibility"):
        page.goto(path)
        assert page.evaluate("document.documentElement.scrollWidth") <= 320, path
    assert_no_axe_violations(page)

    sign_in_browser(page, make_staff("admin"))
    page.goto("/home")
    assert page.evaluate("document.documentElement.scrollWidth") <= 320
    menu = page.get_by_role("button", name="Menu")
    assert menu.is_visible()
    menu.focus()
    page.keyboard.press("Enter")
    assert menu.get_attribute("aria-expanded") == "true"
    navigation = page.get_by_role("navigation", name="Menu")
    assert navigation.get_by_role("link", name="Administration").is_visible()
    assert_no_axe_violations(page)
