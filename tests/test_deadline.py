"""The server's clock decides: one second before the deadline a bid is accepted; exactly
at it, and after it, it is refused with a clear message and nothing changes."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import func, select

from portal.extensions import db
from portal.models.audit import AuditEvent
from portal.models.bids import Bid, BidStatus, BidVersion
from portal.models.outbox import OutboxEmail
from portal.services import bids as service
from tests.bids_support import complete_bid, open_commission
from tests.fixtures.users import OrganisationFactory, login_as, make_staff, make_supplier


@pytest.fixture
def setup(app):
    commissioner = make_staff("commissioner")
    organisation = OrganisationFactory(legal_name="Deadline Reviews Ltd")
    owner = make_supplier(organisation, role="owner", email="owner@deadline.example")
    commission = open_commission(commissioner, organisation)
    bid = complete_bid(owner, commission)
    return commission, owner, bid


def _snapshot(bid_id: int) -> tuple:
    db.session.expire_all()
    bid = db.session.get(Bid, bid_id)
    return (
        bid.status, bid.understanding, bid.submitted_at,
        db.session.scalar(select(func.count()).select_from(BidVersion)),
        db.session.scalar(select(func.count()).select_from(OutboxEmail)),
        db.session.scalar(select(func.count()).select_from(AuditEvent)),
    )


def test_one_second_before_the_deadline_is_accepted(setup):
    commission, owner, bid = setup
    deadline = commission.submission_deadline
    with time_machine.travel(deadline - timedelta(seconds=1), tick=False):
        version = service.submit(owner, bid)
        db.session.commit()
    assert version.submitted_at == deadline - timedelta(seconds=1)
    assert version.submitted_at < deadline
    assert bid.status == BidStatus.SUBMITTED


@pytest.mark.parametrize("offset", [timedelta(0), timedelta(microseconds=1),
                                    timedelta(seconds=1), timedelta(days=3)],
                         ids=["exactly at", "a microsecond after", "a second after",
                              "days after"])
def test_at_or_after_the_deadline_nothing_changes(setup, offset):
    commission, owner, bid = setup
    deadline = commission.submission_deadline
    before = _snapshot(bid.id)
    with time_machine.travel(deadline + offset, tick=False):
        bid = db.session.get(Bid, bid.id)
        for call in (
            lambda: service.submit(owner, bid),
            lambda: service.save_understanding(owner, bid, "Late", "Late"),
            lambda: service.withdraw(owner, bid),
            lambda: service.add_expense(owner, bid, "Late", "10"),
            lambda: service.start_bid(owner, commission),
        ):
            with pytest.raises(service.BidClosed) as refused:
                call()
            db.session.rollback()
            assert "The deadline for bids was" in refused.value.message
    assert _snapshot(bid.id) == before


def test_a_submitted_bid_is_frozen_after_the_deadline(setup):
    commission, owner, bid = setup
    deadline = commission.submission_deadline
    with time_machine.travel(deadline - timedelta(minutes=5), tick=False):
        service.submit(owner, bid)
        db.session.commit()
    before = _snapshot(bid.id)
    with time_machine.travel(deadline, tick=False):
        bid = db.session.get(Bid, bid.id)
        for call in (lambda: service.reopen(owner, bid), lambda: service.withdraw(owner, bid)):
            with pytest.raises(service.BidClosed):
                call()
            db.session.rollback()
    assert _snapshot(bid.id) == before


def test_pages_at_the_deadline(app, setup):
    commission, owner, bid = setup
    deadline = commission.submission_deadline
    url = f"/opportunities/{commission.id}/bid"
    before = _snapshot(bid.id)
    with time_machine.travel(deadline, tick=False), app.test_client() as client:
        login_as(client, owner)
        response = client.post(url + "/submit", data={}, follow_redirects=True)
        assert response.status_code == 200
        assert b"The deadline for bids was" in response.data
        assert b"can no longer be submitted or changed" in response.data
        # Section pages are read-only: back to the bid, which says so.
        response = client.get(url + "/understanding", follow_redirects=True)
        assert b"Bidding has closed" in response.data
        response = client.post(url + "/understanding", data={
            "understanding": "Late", "methodology": "Late"}, follow_redirects=True)
        assert b"The deadline for bids was" in response.data
        # The bidder still sees the bid itself.
        assert client.get(url).status_code == 200
    assert _snapshot(bid.id) == before


def test_pages_one_second_before_the_deadline(app, setup):
    commission, owner, bid = setup
    deadline = commission.submission_deadline
    with time_machine.travel(deadline - timedelta(seconds=1), tick=False), \
            app.test_client() as client:
        login_as(client, owner)
        page = client.get(f"/opportunities/{commission.id}/bid/check")
        assert b"(today)" in page.data or b"left)" in page.data
        response = client.post(f"/opportunities/{commission.id}/bid/submit", data={})
        assert response.status_code == 302
        receipt = client.get(response.headers["Location"])
        assert receipt.status_code == 200
    db.session.expire_all()
    assert db.session.get(Bid, bid.id).status == BidStatus.SUBMITTED


def test_extended_deadline_reopens_the_window(setup):
    from portal.services import commissions as commissions_service

    commission, owner, bid = setup
    commissioner = db.session.get(type(owner), commission.created_by_id)
    old = commission.submission_deadline
    commissions_service.extend_deadline(commissioner, commission,
                                        commission.clarification_deadline,
                                        old + timedelta(days=2), "More time")
    db.session.commit()
    with time_machine.travel(old + timedelta(hours=1), tick=False):
        service.submit(owner, db.session.get(Bid, bid.id))
        db.session.commit()
    assert db.session.get(Bid, bid.id).status == BidStatus.SUBMITTED
