"""Helpers for the bid tests (tests/test_bids*.py, test_seal*.py, test_deadline*.py and
the access rules): an open commission with invited organisations, reviewer profiles, and
bids built through the real service."""

from __future__ import annotations

import io
from datetime import date, timedelta

from werkzeug.datastructures import FileStorage

from portal.extensions import db
from portal.models.base import utcnow
from portal.models.profiles import ReviewerProfile
from portal.services import bids as service
from tests.commissions_support import make_open

PDF_BYTES = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def profile(organisation, name: str = "Dr Ada Reviewer", day_rate_pence: int | None = 600_00,
            **kw) -> ReviewerProfile:
    row = ReviewerProfile(organisation_id=organisation.id, name=name,
                          professional_background="social_work", years_experience=12,
                          day_rate_pence=day_rate_pence, **kw)
    db.session.add(row)
    db.session.commit()
    return row


def open_commission(commissioner, *organisations, budget_pence: int = 25_000_00, **kw):
    return make_open(commissioner, members=organisations, max_budget_pence=budget_pence, **kw)


def pdf_file(name: str = "plan.pdf", data: bytes = PDF_BYTES) -> FileStorage:
    return FileStorage(stream=io.BytesIO(data), filename=name, content_type="application/pdf")


def complete_bid(user, commission, *, reviewer=None, days: int = 10, with_document=True,
                 submit: bool = False):
    """A bid with every section done, by `user` (a supplier of an invited organisation)."""
    bid = service.start_bid(user, commission)
    service.save_understanding(user, bid, "We understand the brief.", "Interviews and "
                               "case file reading.")
    reviewer = reviewer or profile(user.organisation)
    service.add_team_member(user, bid, reviewer.id, "Lead reviewer", str(days), "")
    service.add_milestone(user, bid, "Inception report", "",
                          date.today() + timedelta(days=60))
    service.add_expense(user, bid, "Travel", "250")
    service.confirm_price(user, bid)
    service.save_conflicts(user, bid, "none", "")
    if with_document:
        service.add_document(user, bid, pdf_file(), "Detailed plan", False)
        service.add_document(user, bid, pdf_file("prices.pdf", PDF_BYTES + b"%prices\n"),
                             "Pricing schedule", True)
    service.accept_declaration(user, bid, True)
    db.session.commit()
    if submit:
        service.submit(user, bid)
        db.session.commit()
    return bid


def now():
    return utcnow()
