"""The demo step adds commissions in every state this area owns, once."""

from __future__ import annotations

from sqlalchemy import func, select

from portal.demo_commissions import seed_demo_commissions
from portal.demo_pool import seed_demo_pool
from portal.extensions import db
from portal.models.commissions import ClarificationQuestion, Commission, CommissionState
from portal.models.outbox import OutboxEmail
from tests.fixtures.users import make_staff


def test_demo_commissions_in_every_state_and_idempotent(app):
    commissioner = make_staff("commissioner")
    seed_demo_pool(commissioner)
    counts = seed_demo_commissions(commissioner)
    db.session.commit()
    assert counts == {"draft": 1, "open": 2, "closed": 1, "cancelled": 1, "questions": 3}
    states = sorted(c.state for c in db.session.scalars(select(Commission)))
    assert states == sorted([CommissionState.DRAFT, CommissionState.OPEN,
                             CommissionState.OPEN, CommissionState.CLOSED,
                             CommissionState.CANCELLED])
    statuses = sorted(db.session.scalars(select(ClarificationQuestion.status)))
    assert statuses == ["awaiting", "private", "public"]
    assert db.session.scalar(select(func.count(OutboxEmail.id)).where(
        OutboxEmail.template.like("commission%"))) == 0
    again = seed_demo_commissions(commissioner)
    assert not any(again.values())
    assert db.session.scalar(select(func.count(Commission.id))) == 5
