"""Helpers for the commission tests (tests/test_commissions*.py, test_clarifications*.py,
the access rules) and for the bids work package's tests: build commissions in any state
through the real services."""

from __future__ import annotations

import io
from datetime import datetime, timedelta

from portal.extensions import db
from portal.models.base import utcnow
from portal.models.commissions import DEFAULT_SCORE_GUIDANCE, Commission
from portal.services import commissions as service
from portal.ukdatetime import utc_to_uk
from tests.pool_support import PDF_BYTES, category, make_membership

SPEC = """# Background

The Panel wants a **rapid review** of practice.

- interviews
- case file reading
"""


def details(number: int = 1, **overrides) -> service.DetailsInput:
    values = dict(
        category_id=category(number).id,
        title="Review of safeguarding practice for infants",
        summary="A national review of practice with infants under one.",
        specification=SPEC,
        deliverables="- an interim report\n- a final report",
        timescale="Start in June, final report within six months.",
        max_budget_pence=25_000_00,
    )
    values.update(overrides)
    return service.DetailsInput(**values)


def criterion(name: str = "Methodology", weight: int = 70) -> service.CriterionInput:
    return service.CriterionInput(
        name=name,
        description=f"How well the bid shows {name.lower()}.",
        weight=weight,
        guidance=[DEFAULT_SCORE_GUIDANCE[s] for s in range(5)],
    )


def make_draft(commissioner, number: int = 1, *, now: datetime | None = None,
               complete: bool = True, criteria=None, price_weight: int = 30,
               clarification_in_days: float = 7, submission_in_days: float = 14,
               **detail_overrides) -> Commission:
    now = now or utcnow()
    commission = service.create_draft(commissioner, details(number, **detail_overrides), now)
    if complete:
        minute = now.replace(second=0, microsecond=0)
        service.set_criteria(commissioner, commission, criteria or [criterion()], price_weight)
        service.set_deadlines(
            commissioner, commission,
            minute + timedelta(days=clarification_in_days),
            minute + timedelta(days=submission_in_days, minutes=1),
            now,
        )
    db.session.commit()
    return commission


def make_open(commissioner, number: int = 1, *, members=(), now: datetime | None = None,
              **kw) -> Commission:
    """A published commission; `members` are organisations made active members of the
    category first (at least one is needed to publish)."""
    now = now or utcnow()
    for organisation in members:
        make_membership(organisation, number=number)
    commission = make_draft(commissioner, number, now=now, **kw)
    service.publish(commissioner, commission, now)
    db.session.commit()
    return commission


def deadline_form(prefix: str, when: datetime) -> dict:
    local = utc_to_uk(when)
    return {
        f"{prefix}-day": str(local.day),
        f"{prefix}-month": str(local.month),
        f"{prefix}-year": str(local.year),
        f"{prefix}-time": f"{local:%H:%M}",
    }


def criteria_form(rows, price_weight) -> dict:
    """Form data for the criteria page: rows of (name, weight)."""
    data = {"price_weight": str(price_weight)}
    for index, (name, weight) in enumerate(rows):
        data[f"criteria-{index}-name"] = name
        data[f"criteria-{index}-description"] = f"Show {name}"
        data[f"criteria-{index}-weight"] = str(weight)
        for score in range(5):
            data[f"criteria-{index}-guidance_{score}"] = DEFAULT_SCORE_GUIDANCE[score]
    return data


def attach_document(client, commission_id: int, title: str, filename: str,
                    data: bytes = PDF_BYTES):
    """Post a document to a draft commission's documents page as its commissioner."""
    return client.post(f"/commissioning/commissions/{commission_id}/documents",
                       data={"title": title, "file": (io.BytesIO(data), filename)},
                       content_type="multipart/form-data")
