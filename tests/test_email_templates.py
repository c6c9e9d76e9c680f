"""Plain-text e-mails keep the line breaks their templates show.

The Jinja environment trims the line break after a block tag (`trim_blocks`), which is
right for a tag on a line of its own but eats the break after a line of text that ends
with a tag: such a line must end `+%}`."""

from __future__ import annotations

import re
from pathlib import Path

from flask import render_template

EMAIL_TEMPLATES = Path(__file__).resolve().parents[1] / "templates" / "email"
TAGS_ONLY = re.compile(r"^\s*(\{%[^%]*%\}\s*)+$")
ENDS_WITH_TRIMMED_TAG = re.compile(r"[^+]%\}\s*$")


def test_no_line_of_text_loses_its_line_break():
    offending = [
        f"{path.name}:{number}"
        for path in sorted(EMAIL_TEMPLATES.glob("*.txt"))
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if ENDS_WITH_TRIMMED_TAG.search(line) and not TAGS_ONLY.match(line)
    ]
    assert offending == []
    assert len(list(EMAIL_TEMPLATES.glob("*.txt"))) > 40


def _scores(total: str, reason: str | None) -> dict:
    return {
        "criteria": [
            {"name": "Methodology", "weight": 40, "score": 2, "points": "20.00",
             "reason": reason},
            {"name": "Experience", "weight": 30, "score": 3, "points": "22.50",
             "reason": reason},
        ],
        "price_points": "25.00",
        "total": total,
    }


def _letter(app) -> str:
    content = {
        "kind": "unsuccessful",
        "organisation_name": "Beta Reviews Ltd",
        "commission": {"id": 1, "reference": "CSPRP-2026-0001", "title": "Neglect review"},
        "criteria": [{"name": "Methodology", "weight": 40},
                     {"name": "Experience", "weight": 30}],
        "price_weight": 30,
        "own": {**_scores("67.50", "Thin on sampling."), "rank_label": "2nd"},
        "winner": {"name": "Alpha Research Ltd", **_scores("80.00", None)},
        "advantages": [{"criterion": "Methodology", "winner_score": 4, "own_score": 2,
                        "rationale": "A fuller method."}],
        "standstill_description": "8 working days",
        "standstill_ends_text": "midnight at the end of Wednesday 9 December 2026 (UK time)",
    }
    with app.test_request_context():
        return render_template("email/outcome_letter.txt", content=content,
                               link="https://portal.example/opportunities/1/outcome")


def test_the_outcome_letter_reads_as_laid_out(app):
    text = _letter(app)
    assert ("- Methodology (40%): score 2 of 4, 20.00 points\n"
            "  Reasons: Thin on sampling.\n"
            "- Experience (30%)") in text
    assert "- Total: 67.50 points\n\nTHE WINNING BID: Alpha Research Ltd\n\n" in text
    assert "- Total: 80.00 points\n\nRELATIVE ADVANTAGES OF THE WINNING BID\n\n" in text
    assert ("- Methodology: 4 against your 2\n"
            "  A fuller method.\n\n"
            "Read this letter in the portal:\n") in text
    assert "it ends at midnight at the end of Wednesday 9 December 2026 (UK time)." in text


def test_the_roles_e_mail_puts_each_change_on_its_own_line(app):
    with app.test_request_context():
        text = render_template(
            "email/roles_changed.txt", user={"name": "Cara"}, roles=["admin", "evaluator"],
            added=["evaluator"], removed=["commissioner"], needs_totp=False)
    assert ("Your roles are now: admin, evaluator.\n"
            "Added: evaluator.\n"
            "Removed: commissioner.\n\n"
            "If you did not expect") in text


def test_a_bid_that_was_not_evaluated_gets_a_short_letter(app):
    content = {
        "kind": "unsuccessful", "organisation_name": "Gamma Ltd",
        "commission": {"id": 1, "reference": "CSPRP-2026-0001", "title": "Neglect review"},
        "criteria": [{"name": "Methodology", "weight": 70}], "price_weight": 30,
        "own": None, "advantages": [],
        "not_evaluated": "it was not confirmed again after the commission changed",
        "winner": {"name": "Alpha Research Ltd", **_scores("80.00", None)},
        "standstill_description": "8 working days",
        "standstill_ends_text": "midnight at the end of Wednesday 9 December 2026 (UK time)",
    }
    with app.test_request_context():
        text = render_template("email/outcome_letter.txt", content=content, link="L")
    assert ("YOUR BID\n\nYour bid was not evaluated: it was not confirmed again after the "
            "commission changed, before the submission deadline.\n\nTHE WINNING BID") in text
    assert "YOUR SCORES" not in text and "RELATIVE ADVANTAGES" not in text
    assert "- Total: 80.00 points\n\nRead this letter in the portal:\nL" in text
