"""The demo step adds realistic bids in every state on the demo commissions, once; the
closed commission's bids stay sealed until a commissioner opens them."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import func, select

from portal.demo_bids import seed_demo_bids
from portal.demo_commissions import seed_demo_commissions
from portal.demo_pool import seed_demo_pool
from portal.extensions import db
from portal.models.bids import Bid, BidVersion
from portal.models.commissions import Commission
from portal.models.outbox import OutboxEmail
from portal.services import bids as service
from tests.fixtures.users import make_staff


def test_demo_bids_in_every_state_and_idempotent(app):
    commissioner = make_staff("commissioner")
    seed_demo_pool(commissioner)
    seed_demo_commissions(commissioner)
    counts = seed_demo_bids()
    db.session.commit()
    assert counts["bids"] >= 6
    statuses = Counter(db.session.scalars(select(Bid.status)))
    assert set(statuses) == {"draft", "submitted", "withdrawn", "needs_reconfirmation"}
    for version in db.session.scalars(select(BidVersion)):
        assert service.verify_version(version)
        commission = version.bid.commission
        assert version.submitted_at < commission.submission_deadline
    for bid in db.session.scalars(select(Bid)):
        budget = bid.commission.max_budget_pence
        assert budget is None or bid.total_price_pence <= budget
        assert all(m.profile.organisation_id == bid.organisation_id for m in bid.team)
    assert db.session.scalar(select(func.count(OutboxEmail.id)).where(
        OutboxEmail.template.like("bid%"))) == 0
    closed = db.session.scalar(select(Commission).where(
        Commission.title == "Analysis of local reviews involving domestic abuse"))
    assert closed.state == "closed" and closed.bids_opened_at is None
    assert service.submitted_count(closed) == 2
    assert not any(seed_demo_bids().values())
