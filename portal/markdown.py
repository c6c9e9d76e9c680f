"""Markdown for commission texts, rendered safely.

markdown-it-py (CommonMark, raw HTML switched off, so any tag is shown as text) turns the
text into HTML, then nh3 (the Rust `ammonia` sanitiser) keeps only the tags and attributes
listed here and only http, https and mailto links: `<script>`, event handlers and
`javascript:` URLs cannot get through either step. Headings are shifted down so a
specification's `#` never competes with the page's own h1. The result is wrapped in
markupsafe.Markup only after sanitising; nothing else in the portal marks text safe.
"""

from __future__ import annotations

import nh3
from markdown_it import MarkdownIt
from markupsafe import Markup

_md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
_md.enable("table")
_md.validateLink = lambda url: _safe_url(url)  # type: ignore[method-assign]

ALLOWED_TAGS = {
    "p", "br", "strong", "em", "ul", "ol", "li", "blockquote", "code", "pre", "hr",
    "h3", "h4", "h5", "h6", "a", "table", "thead", "tbody", "tr", "th", "td",
}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "ol": {"start"}, "th": {"align"}, "td": {"align"}}
URL_SCHEMES = {"http", "https", "mailto"}

# GOV.UK classes for the elements that need them, added after sanitising.
_GOVUK_CLASSES = {
    "<p>": '<p class="govuk-body">',
    "<ul>": '<ul class="govuk-list govuk-list--bullet">',
    "<ol>": '<ol class="govuk-list govuk-list--number">',
    "<h3>": '<h3 class="govuk-heading-s">',
    "<h4>": '<h4 class="govuk-heading-s">',
    "<h5>": '<h5 class="govuk-heading-s">',
    "<h6>": '<h6 class="govuk-heading-s">',
    "<table>": '<table class="govuk-table">',
    "<a ": '<a class="govuk-link" ',
}


def _safe_url(url: str) -> bool:
    lowered = "".join(url.split()).lower()
    if ":" not in lowered.split("/", 1)[0].split("?", 1)[0].split("#", 1)[0]:
        return True  # relative link or anchor
    scheme = lowered.split(":", 1)[0]
    return scheme in URL_SCHEMES


def _shift_headings(html: str) -> str:
    # h1 -> h3, h2 -> h4 ... (the page's h1 and h2 are its own)
    for level in range(6, 0, -1):
        new = min(level + 2, 6)
        html = html.replace(f"<h{level}>", f"<h{new}>").replace(f"</h{level}>", f"</h{new}>")
    return html


def sanitise_html(html: str) -> str:
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )


def render_markdown(text: str | None) -> Markup:
    """Safe HTML for user-written Markdown."""
    if not text:
        return Markup("")
    html = _shift_headings(_md.render(text))
    html = sanitise_html(html)
    for plain, classed in _GOVUK_CLASSES.items():
        html = html.replace(plain, classed)
    return Markup(html)  # noqa: S704 - sanitised by nh3 just above
