"""Shared steps for the journey tests in tests/browser/: signing in through the real pages,
a small valid PDF made on the spot, and keyboard moves."""

from __future__ import annotations

from pathlib import Path

import pyotp
from playwright.sync_api import expect

from tests.fixtures.browser import assert_keyboard_reaches, assert_no_axe_violations, focused
from tests.fixtures.users import DEFAULT_PASSWORD

TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


def h1(page):
    return page.get_by_role("heading", level=1)


def checked(page) -> None:
    """Every page visited: one h1, and axe-core finds nothing."""
    expect(h1(page)).to_have_count(1)
    assert_no_axe_violations(page)


def sign_in(page, email: str, password: str = DEFAULT_PASSWORD, next: str | None = None,
            totp_secret: str | None = None) -> None:
    """Sign in through the real pages (and the security code page for staff)."""
    page.goto("/sign-in" + (f"?next={next}" if next else ""))
    checked(page)
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in").click()
    if totp_secret:
        expect(h1(page)).to_have_text("Enter your security code")
        checked(page)
        page.get_by_label("Security code").fill(pyotp.TOTP(totp_secret).now())
        page.get_by_role("button", name="Continue").click()
    if next:
        page.wait_for_url(f"**{next}")
    else:
        page.wait_for_url("**/home")


def sign_out(page) -> None:
    page.get_by_role("button", name="Sign out").click()
    expect(page.locator("main")).to_contain_text("You have signed out")


def small_pdf(path: Path, text: str = "Sample of published work") -> Path:
    """Write a small but complete PDF (one page of text, a correct cross-reference
    table) and return its path."""
    stream = f"BT /F1 18 Tf 72 720 Td ({text}) Tj ET".encode("latin-1")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
        b"/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1, xref)
    path.write_bytes(bytes(out))
    return path


def press_on(page, name: str, key: str = "Enter", max_tabs: int = 120) -> None:
    """Tab from the top of the page to the control called `name` (visible text, or
    value for inputs), check it shows focus, then press `key` on it."""
    # Chrome starts the next Tab from the element that last had focus, even after blur()
    # (so the harness's own reset does not go back to the top once something had focus).
    # Focusing <body> moves that starting point to the top of the document.
    page.evaluate(
        "() => { document.body.tabIndex = -1; document.body.focus();"
        " document.body.removeAttribute('tabindex'); }"
    )
    assert_keyboard_reaches(page, [name], max_tabs=max_tabs)
    current = focused(page)
    assert current and current["name"] == name, current
    page.keyboard.press(key)
