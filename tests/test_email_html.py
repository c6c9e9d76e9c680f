"""Every e-mail has an HTML part, made from its text body when it has no <name>.html of its
own (portal.email_html and templates/email/_from_text.html): paragraphs, line breaks,
lists, headings and http(s) links; everything escaped; the text part unchanged; sent as
multipart/alternative (text first, HTML second) through a real SMTP server."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path
from types import SimpleNamespace

import pytest
from flask import render_template
from jinja2 import ChainableUndefined, DictLoader, TemplateNotFound
from sqlalchemy import select

from portal.email_html import (
    Block,
    Segment,
    is_heading,
    link_segments,
    render_from_text,
    split_signature,
    text_to_blocks,
)
from portal.extensions import db
from portal.mail import queue_email
from portal.models import OutboxEmail
from portal.outbox import deliver_due
from portal.services import award as award_service
from tests.auth_helpers import STRONG
from tests.award_support import admin, evaluated_commission

EMAIL_TEMPLATES = Path(__file__).resolve().parents[1] / "templates" / "email"
REAL_EMAILS = sorted(
    path.stem for path in EMAIL_TEMPLATES.glob("*.txt")
    if not path.stem.startswith("_") and not path.stem.endswith("_include")
)
SCRIPT = "<script>alert(1)</script>"
ESCAPED_SCRIPT = "&lt;script&gt;alert(1)&lt;/script&gt;"
ALLOWED_TAGS = {"html", "head", "meta", "title", "body", "table", "tr", "td", "span", "div",
                "p", "br", "h2", "ul", "li", "a"}


@pytest.fixture
def app_overrides(smtp_server):
    return smtp_server.app_config()


# ----------------------------------------------------------------------------- helpers


class _Markup(HTMLParser):
    """The tags, attributes, visible text and links of an HTML body."""

    def __init__(self, source: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.links: list[tuple[str, str]] = []
        self.text: list[str] = []
        self._href: str | None = None
        self._link_text: list[str] = []
        self._in_head = False
        self.feed(source)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag == "head":
            self._in_head = True
        if tag == "a":
            self._href, self._link_text = dict(attrs).get("href"), []

    def handle_endtag(self, tag):
        if tag == "head":
            self._in_head = False
        if tag == "a" and self._href is not None:
            self.links.append((self._href, "".join(self._link_text)))
            self._href = None

    def handle_data(self, data):
        if self._in_head:
            return
        self.text.append(data)
        if self._href is not None:
            self._link_text.append(data)

    @property
    def words(self) -> str:
        return " ".join("".join(self.text).split())


def assert_safe_markup(body: str) -> _Markup:
    """Only the layout's own tags; no scripts, event handlers or external resources;
    every link an http(s) URL that shows itself."""
    markup = _Markup(body)
    assert {tag for tag, _ in markup.tags} <= ALLOWED_TAGS
    for tag, attrs in markup.tags:
        assert not [name for name in attrs if name.startswith("on")], (tag, attrs)
        assert "src" not in attrs
        if tag == "a":
            assert set(attrs) == {"href", "style"}
    for href, text in markup.links:
        assert re.match(r"https?://", href) and text == href
    return markup


def assert_same_words(text_body: str, html_body: str) -> None:
    """Every line of the text body (less list markers) reads the same in the HTML."""
    words = _Markup(html_body).words
    for line in text_body.splitlines():
        line = " ".join(line.split())
        if line in ("", "--"):
            continue
        line = line.removeprefix("- ")
        assert line in words, f"{line!r} is missing from the HTML body"


def _text(*lines: str) -> str:
    return "\n".join(lines)


# ------------------------------------------------------------------- the text to blocks


def test_paragraphs_split_on_blank_lines_and_keep_their_line_breaks():
    blocks = text_to_blocks(_text("", "Dear Ann,", "   ", "First line", "second line", "",
                                  "", "Last."))
    assert blocks == [
        Block("paragraph", lines=((Segment("Dear Ann,"),),)),
        Block("paragraph", lines=((Segment("First line"),), (Segment("second line"),))),
        Block("paragraph", lines=((Segment("Last."),),)),
    ]


def test_list_lines_make_one_list_with_continuation_lines():
    blocks = text_to_blocks(_text(
        "SHA-256 of each document:",
        "- plan.pdf: abc",
        "- cv.pdf: def",
        "",
        "- Methodology: 4 against your 2",
        "  A fuller method.",
        "",
        "After the list.",
    ))
    assert [block.kind for block in blocks] == ["paragraph", "list", "paragraph"]
    assert blocks[0].lines == ((Segment("SHA-256 of each document:"),),)
    assert blocks[1].items == (
        ((Segment("plan.pdf: abc"),),),
        ((Segment("cv.pdf: def"),),),
        ((Segment("Methodology: 4 against your 2"),), (Segment("A fuller method."),)),
    )


def test_an_unindented_line_after_a_list_is_a_paragraph_again():
    blocks = text_to_blocks(_text("- one", "- two", "Then this."))
    assert [block.kind for block in blocks] == ["list", "paragraph"]
    assert blocks[1].lines == ((Segment("Then this."),),)


@pytest.mark.parametrize("line", [
    "YOUR SCORES",
    "HOW BIDS WERE EVALUATED",
    "RELATIVE ADVANTAGES OF THE WINNING BID",
    "THE WINNING BID: Alpha Research Ltd",
    "NEXT STEPS:",
])
def test_capital_lines_are_headings(line):
    assert is_heading(line)
    assert text_to_blocks(_text("Intro.", "", line, "", "More."))[1].kind == "heading"


@pytest.mark.parametrize("line", [
    "Your scores",
    "SHA-256 of the bid content:",
    "CSPRP-2026-0001",  # a reference on its own: one word
    "OK",
    "- YOUR SCORES",
    "https://PORTAL.EXAMPLE/X",
    "A" * 60 + " " + "B" * 61,
])
def test_other_lines_are_not_headings(line):
    assert not is_heading(line)


def test_a_capital_line_inside_a_paragraph_is_not_a_heading():
    (block,) = text_to_blocks(_text("YOUR SCORES", "are below."))
    assert block.kind == "paragraph"


@pytest.mark.parametrize(("line", "expected"), [
    ("Open https://portal.example/a?b=1&c=2 now",
     (Segment("Open "), Segment("https://portal.example/a?b=1&c=2",
                                href="https://portal.example/a?b=1&c=2"), Segment(" now"))),
    ("http://portal.example/x.", (Segment("http://portal.example/x",
                                          href="http://portal.example/x"), Segment("."))),
    ("(see https://portal.example/a_(b))",
     (Segment("(see "), Segment("https://portal.example/a_(b)",
                                href="https://portal.example/a_(b)"), Segment(")"))),
    ('"https://portal.example/q"', (Segment('"'), Segment("https://portal.example/q",
                                                          href="https://portal.example/q"),
                                    Segment('"'))),
    ("javascript:alert(1) ftp://files.example mailto:a@example.org",
     (Segment("javascript:alert(1) ftp://files.example mailto:a@example.org"),)),
    ("https:// and https://", (Segment("https:// and https://"),)),
])
def test_only_http_and_https_urls_become_links(line, expected):
    assert link_segments(line) == expected


FOOTER = "\n\n--\nPortal\nPanel\n"


def test_the_text_layout_footer_is_split_off():
    body, signature = split_signature(_text("Hello,", "", "--", "Portal", "Panel", ""), FOOTER)
    assert body.strip() == "Hello,"
    assert signature == ["Portal", "Panel"]


@pytest.mark.parametrize("text", [
    "Hello,\n\n--\nPortal\nPanel\n\nMore after it.",  # the footer is not at the end
    "Reason: too short.\n--\nA user's own sign-off",  # a "--" of the user's
    "Hello,\nXX--\nPortal\nPanel",
    "Hello,",
])
def test_only_the_layout_footer_at_the_end_is_split_off(text):
    assert split_signature(text, FOOTER) == (text, [])


# ----------------------------------------------------------------------- the HTML body


def test_the_html_body_lays_out_the_text(app):
    with app.app_context():
        text = _text(
            "Dear Ann,",
            "",
            "YOUR SCORES",
            "",
            "- Methodology: 2",
            "  Reasons: thin.",
            "- Total: 20",
            "",
            "Read it here:",
            "https://portal.example/letters/1?x=1&y=2",
        ) + render_template("email/_layout.txt")  # the footer every e-mail's text ends with
        body = render_from_text(text, "Your outcome letter")
    markup = assert_safe_markup(body)
    assert '<html lang="en"' in body and "<title>Your outcome letter</title>" in body
    assert re.search(r"<h2[^>]*>YOUR SCORES</h2>", body)
    assert re.search(r"<li[^>]*>Methodology: 2<br>\s*Reasons: thin.</li>", body)
    assert re.search(r"<p[^>]*>Read it here:<br>\s*<a href=\"https://portal.example/letters/1"
                     r"\?x=1&amp;y=2\"", body)
    assert markup.links == [("https://portal.example/letters/1?x=1&y=2",) * 2]
    # the text layout's footer is the HTML footer, once
    assert body.count("Replies to this address are not read.") == 1
    assert re.search(r"Reviewer Pool Portal<br>\s*Child Safeguarding Practice Review Panel<br>"
                     r"\s*This message was sent automatically. Replies to this address are not "
                     r"read.\s*</td>", body)
    assert "--" not in markup.words
    assert_same_words(text, body)


def test_a_double_dash_in_the_body_stays_in_the_body(app):
    text = _text("Reason: not enough detail.", "--", "Sam", "", "Thank you.")
    with app.app_context():
        body = render_from_text(text, "Decision")
    assert re.search(r"<p[^>]*>Reason: not enough detail.<br>\s*--<br>\s*Sam</p>", body)
    assert "Replies to this address are not read." in body  # the layout's own footer


def test_everything_in_the_text_is_escaped(app):
    text = _text(
        f"To {SCRIPT} & <b>Sons</b>,",
        "",
        '- <img src="https://evil.example/x.png" onerror="alert(1)">',
        "",
        'https://evil.example/"onmouseover="alert(1)',
        "javascript:alert(document.cookie)",
    )
    with app.app_context():
        body = render_from_text(text, f"Subject {SCRIPT}")
    markup = assert_safe_markup(body)
    assert "<script" not in body and "<img" not in body and "<b>" not in body
    assert f"To {ESCAPED_SCRIPT} &amp; &lt;b&gt;Sons&lt;/b&gt;," in body
    assert f"<title>Subject {ESCAPED_SCRIPT}</title>" in body
    assert markup.links == [("https://evil.example/x.png",) * 2,
                            ("https://evil.example/",) * 2]
    assert 'href="javascript' not in body
    assert_same_words(text, body)


def test_the_layout_is_simple_accessible_html(app):
    with app.app_context():
        body = render_from_text("Hello,\n\nGoodbye.", "A subject")
    assert body.startswith("<!DOCTYPE html>")
    assert '<html lang="en"' in body and '<meta charset="utf-8">' in body
    assert "<title>A subject</title>" in body
    assert 'role="presentation"' in body  # layout tables are not data tables
    assert "font-family:Arial,Helvetica,sans-serif" in body and "color:#0b0c0c" in body
    assert not re.search(r"<(script|style|link|img|iframe|object)\b", body)
    assert "url(" not in body and "@import" not in body
    # without a signature in the text, the layout's own footer
    assert "Replies to this address are not read." in body


# ---------------------------------------------------------------------- queue_email


PROBE_TEMPLATES = {
    "email/_probe_plain.txt": "Hello {{ name }},\n\nOpen {{ link }}\n",
    "email/_probe_own.txt": "Hello {{ name }}, in text.\n",
    "email/_probe_own.html": ('{% extends "email/_layout.html" %}{% block content %}'
                              "<p>Hand-written for {{ name }}</p>{% endblock %}"),
    "email/_probe_broken.txt": "Hello,\n",
    "email/_probe_broken.html": '{% include "email/_no_such_part.html" %}',
}


@pytest.fixture
def probes(app):
    app.jinja_loader.loaders.insert(0, DictLoader(PROBE_TEMPLATES))


def test_without_an_html_template_the_html_comes_from_the_text(app, probes):
    with app.test_request_context():
        row = queue_email("a@example.org", "Hi", "_probe_plain", name=SCRIPT,
                          link="https://portal.example/go")
    assert row.text_body == f"Hello {SCRIPT},\n\nOpen https://portal.example/go"
    assert f"<p style=\"margin:0 0 20px 0;\">Hello {ESCAPED_SCRIPT},</p>" in row.html_body
    assert ('Open <a href="https://portal.example/go" style="color:#1d70b8;'
            'text-decoration:underline;">https://portal.example/go</a>') in row.html_body


def test_a_hand_written_html_template_still_wins(app, probes):
    with app.test_request_context():
        row = queue_email("a@example.org", "Hi", "_probe_own", name="Ann")
    assert row.text_body == "Hello Ann, in text."
    assert "<p>Hand-written for Ann</p>" in row.html_body
    assert "in text" not in row.html_body


def test_a_broken_html_template_is_an_error_not_a_fallback(app, probes):
    with app.test_request_context(), pytest.raises(TemplateNotFound, match="_no_such_part"):
        queue_email("a@example.org", "Hi", "_probe_broken")


class _Hostile(ChainableUndefined):
    """Any value a template asks for that the test does not give: user text with markup."""

    def __str__(self) -> str:
        return SCRIPT


def _generic_context() -> dict:
    when = datetime(2026, 12, 9, 17, 0, tzinfo=UTC)
    return {
        "commission": SimpleNamespace(clarification_deadline=when, submission_deadline=when,
                                      max_budget_pence=2_500_000),
        "membership": SimpleNamespace(expires_at=when),
        "expires_at": when,
        "link": "https://portal.example/go?token=abc&next=1",
    }


def test_the_real_e_mails_are_found_and_any_html_override_belongs_to_one():
    assert len(REAL_EMAILS) > 40
    assert "outcome_letter" in REAL_EMAILS and "verify_email" in REAL_EMAILS
    overrides = [path.stem for path in EMAIL_TEMPLATES.glob("*.html")
                 if path.stem not in ("_layout", "_from_text")]
    assert set(overrides) <= set(REAL_EMAILS)


@pytest.mark.parametrize("template", REAL_EMAILS)
def test_every_real_e_mail_gets_an_escaped_html_part_when_queued(app, monkeypatch, template):
    """Rendered with hostile text in every value it is not given (`_Hostile`)."""
    monkeypatch.setattr(app, "jinja_env", app.jinja_env.overlay(undefined=_Hostile))
    with app.test_request_context():
        row = queue_email("a@example.org", f"Subject of {template}", template,
                          **_generic_context())
    assert row.html_body
    markup = assert_safe_markup(row.html_body)
    assert "<script" not in row.html_body
    if SCRIPT in row.text_body:
        assert ESCAPED_SCRIPT in row.html_body
    for url in re.findall(r"https?://\S+", row.text_body):
        assert (url, url) in markup.links
    assert_same_words(row.text_body, row.html_body)


# ------------------------------------------------------- end to end, through SMTP


def _delivered(smtp_server, recipient: str, subject_contains: str):
    db.session.commit()  # the worker uses its own session
    report = deliver_due()
    assert report.failed == 0 and report.retrying == 0
    return smtp_server.find(to=recipient, subject_contains=subject_contains)


def _row(recipient: str, template: str) -> OutboxEmail:
    return db.session.scalars(select(OutboxEmail).where(
        OutboxEmail.recipient == recipient, OutboxEmail.template == template)).one()


def _lf(text: str) -> str:
    return text.replace("\r\n", "\n")


def assert_multipart_alternative(mail, row: OutboxEmail) -> None:
    message = mail.message
    assert message.get_content_type() == "multipart/alternative"
    parts = list(message.iter_parts())
    assert [part.get_content_type() for part in parts] == ["text/plain", "text/html"]
    # the text part as it was rendered (SMTP carries CRLF line ends)
    assert _lf(parts[0].get_content()) == row.text_body
    assert _lf(parts[1].get_content()) == row.html_body
    assert mail.subject.strip() == row.subject and mail["Message-ID"].startswith("<outbox.")


def test_the_verification_e_mail_has_an_html_part(client, smtp_server):
    response = client.post("/create-account/supplier", data={
        "name": f"Ann {SCRIPT} Smith",
        "email": "ann@example.org",
        "organisation_name": f"Smith {SCRIPT} Reviews Ltd",
        "password": STRONG,
        "confirm": STRONG,
    })
    assert response.status_code == 200 and "Check your email" in response.text
    row = _row("ann@example.org", "verify_email")

    mail = _delivered(smtp_server, "ann@example.org", "Confirm your email address")

    assert_multipart_alternative(mail, row)
    (link,) = mail.links
    assert "/verify-email/" in link
    assert f"Dear Ann {SCRIPT} Smith," in mail.text  # plain text is not HTML
    assert f"Dear Ann {ESCAPED_SCRIPT} Smith," in mail.html
    assert "<script" not in mail.html
    assert f'<a href="{html.escape(link)}"' in mail.html
    markup = assert_safe_markup(mail.html)
    assert markup.links == [(link, link)]
    assert "The link works for 24 hours." in markup.words
    assert_same_words(mail.text, mail.html)


def test_the_outcome_letter_has_an_html_part(app, smtp_server):
    winner = f"Alpha {SCRIPT} Ltd"
    ev = evaluated_commission(names=(winner, "Beta Reviews Ltd", "Gamma Associates"))
    award = award_service.propose(ev.commissioner, ev.commission, None, "")
    db.session.commit()
    award_service.approve(admin(), award)
    db.session.commit()
    beta = ev.suppliers[1].email
    row = _row(beta, "outcome_letter")

    mail = _delivered(smtp_server, beta, "Outcome of")

    assert_multipart_alternative(mail, row)
    assert f"The Panel intends to award the commission to {winner}." in mail.text
    assert "<script" not in mail.html
    assert ESCAPED_SCRIPT in mail.html
    assert re.search(rf"<h2[^>]*>THE WINNING BID: Alpha {re.escape(ESCAPED_SCRIPT)} Ltd</h2>",
                     mail.html)
    for heading in ("HOW BIDS WERE EVALUATED", "YOUR SCORES",
                    "RELATIVE ADVANTAGES OF THE WINNING BID"):
        assert re.search(rf"<h2[^>]*>{heading}</h2>", mail.html)
    assert re.search(r"<li[^>]*>Methodology \(40%\): score 2 of 4, [\d.]+ points<br>\s*"
                     r"Reasons: ", mail.html)
    (link,) = mail.links
    markup = assert_safe_markup(mail.html)
    assert markup.links == [(link, link)]
    assert_same_words(mail.text, mail.html)
