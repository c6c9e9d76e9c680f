"""The HTML body of an e-mail, made from its plain-text body.

The words of every e-mail live in one place, `templates/email/<name>.txt`. When there is
no hand-written `<name>.html`, `portal.mail.queue_email` renders the rendered text through
`templates/email/_from_text.html`, which lays out the blocks found here:

- paragraphs are separated by blank lines; a single line break stays a line break;
- a line starting with ``- `` is a list item (an indented line after it continues the
  item); list items separated only by blank lines make one list;
- a line on its own in CAPITALS (``YOUR SCORES``, or ``THE WINNING BID: Name``, where the
  part before ``": "`` is in capitals) is a heading;
- ``http://`` and ``https://`` URLs become links showing the URL itself;
- the text layout's footer (``email/_layout.txt``, from its line ``--``) becomes the
  footer of the HTML layout.

Everything here is plain data: the template escapes all of it (autoescaping), so text
from users, such as an organisation's name, can never become markup.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

from flask import render_template

FROM_TEXT_TEMPLATE = "email/_from_text.html"
TEXT_LAYOUT = "email/_layout.txt"

_URL = re.compile(r"https?://[^\s<>\"]+")
_URL_TRAILING = ".,;:!?'\""  # punctuation after a URL ends the sentence, not the URL
_LIST_MARKER = "- "
_HEADING_MAX_CHARS = 120


@dataclass(frozen=True)
class Segment:
    """A run of text in a line; a link when `href` is set (then `text` is the URL)."""

    text: str
    href: str | None = None


Line = tuple[Segment, ...]


@dataclass(frozen=True)
class Block:
    """A paragraph (`lines`), a heading (one line in `lines`) or a list (`items`, each a
    tuple of lines)."""

    kind: Literal["paragraph", "heading", "list"]
    lines: tuple[Line, ...] = ()
    items: tuple[tuple[Line, ...], ...] = ()


# --------------------------------------------------------------------------- parsing


def link_segments(line: str) -> Line:
    """Split a line into text and http(s) links."""
    segments: list[Segment] = []
    position = 0
    for match in _URL.finditer(line):
        url = _trim_url(match.group())
        if not urlsplit(url).netloc:
            continue
        start, end = match.start(), match.start() + len(url)
        if start > position:
            segments.append(Segment(line[position:start]))
        segments.append(Segment(url, href=url))
        position = end
    if position < len(line):
        segments.append(Segment(line[position:]))
    return tuple(segments)


def _trim_url(url: str) -> str:
    while url:
        if url[-1] in _URL_TRAILING:
            url = url[:-1]
        elif url[-1] == ")" and url.count("(") < url.count(")"):
            url = url[:-1]  # "(see https://example.org/a)": the bracket is the text's
        else:
            break
    return url


def is_heading(line: str) -> bool:
    """A line in capitals: at least two words of two or more letters and no lower case
    before an optional ": " (after it may come a name, as in "THE WINNING BID: Alpha Ltd")."""
    line = line.strip()
    if not line or len(line) > _HEADING_MAX_CHARS or not line[0].isalpha():
        return False
    head = line.split(": ", 1)[0].rstrip(":")
    if any(char.islower() for char in head):
        return False
    words = [word for word in re.split(r"[^\w]+", head) if sum(c.isalpha() for c in word) >= 2]
    return len(words) >= 2


def split_signature(text: str, footer: str) -> tuple[str, list[str]]:
    """The body and the signature lines when `text` ends with `footer` (a separator line
    ``--`` and the signature). A ``--`` in the body, as in a user's message, is left be."""
    footer = footer.strip()
    footer_lines = footer.splitlines()
    ending = text.rstrip()
    if (
        len(footer_lines) < 2
        or footer_lines[0].strip() != "--"
        or not ending.endswith(footer)
        or ending[: -len(footer)][-1:] not in ("", "\n")
    ):
        return text, []
    signature = [line.strip() for line in footer_lines[1:] if line.strip()]
    return ending[: -len(footer)], signature


def text_to_blocks(text: str) -> list[Block]:
    """The paragraphs, headings and lists of a plain-text body, in order."""
    blocks: list[Block] = []
    for group in _groups(text.splitlines()):
        for block in _group_blocks(group):
            if block.kind == "list" and blocks and blocks[-1].kind == "list":
                blocks[-1] = Block("list", items=blocks[-1].items + block.items)
            else:
                blocks.append(block)
    return blocks


def _groups(lines: list[str]) -> list[list[str]]:
    """Runs of non-blank lines (a blank line is one of only white space)."""
    groups: list[list[str]] = []
    current: list[str] = []
    for line in lines:
        if line.strip():
            current.append(line.rstrip())
        elif current:
            groups.append(current)
            current = []
    if current:
        groups.append(current)
    return groups


def _group_blocks(group: list[str]) -> list[Block]:
    if len(group) == 1 and is_heading(group[0]):
        return [Block("heading", lines=(link_segments(group[0].strip()),))]
    blocks: list[Block] = []
    paragraph: list[Line] = []
    items: list[list[Line]] = []

    def flush_paragraph() -> None:
        if paragraph:
            blocks.append(Block("paragraph", lines=tuple(paragraph)))
            paragraph.clear()

    def flush_list() -> None:
        if items:
            blocks.append(Block("list", items=tuple(tuple(item) for item in items)))
            items.clear()

    for line in group:
        stripped = line.strip()
        if stripped.startswith(_LIST_MARKER):
            flush_paragraph()
            items.append([link_segments(stripped[len(_LIST_MARKER):].strip())])
        elif items and line[:1].isspace():
            items[-1].append(link_segments(stripped))  # an indented line continues the item
        else:
            flush_list()
            paragraph.append(link_segments(stripped))
    flush_paragraph()
    flush_list()
    return blocks


# ------------------------------------------------------------------------- rendering


def render_from_text(text_body: str, subject: str) -> str:
    """The HTML body for a rendered plain-text body (needs an app context)."""
    body, signature = split_signature(text_body, render_template(TEXT_LAYOUT))
    return render_template(
        FROM_TEXT_TEMPLATE,
        subject=subject,
        blocks=text_to_blocks(body),
        signature=[link_segments(line) for line in signature],
    )
