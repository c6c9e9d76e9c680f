"""Reading GOV.UK summary lists and their "Change" links out of a page (pool tests)."""

from __future__ import annotations

import html
import re

_ROW = re.compile(
    r'<dt class="govuk-summary-list__key">\s*(.*?)\s*</dt>\s*'
    r'<dd class="govuk-summary-list__value">\s*(.*?)\s*</dd>',
    re.S,
)
_CHANGE = re.compile(
    r'<a class="govuk-link" href="([^"]*)">(Change|Add)'
    r'<span class="govuk-visually-hidden"> (.*?)</span>\s*</a>',
    re.S,
)


def summary_rows(page: str) -> dict[str, str]:
    """Each summary list row on the page: key -> value, as the page's HTML."""
    return dict(_ROW.findall(page))


def change_links(page: str) -> dict[str, str]:
    """Each "Change" (or "Add") link in a summary list: its full text, visually hidden
    part included (for example "Change postcode"), -> its href, unescaped."""
    return {f"{word} {hidden}": html.unescape(href)
            for href, word, hidden in _CHANGE.findall(page)}
