"""The deadline holds under concurrency (PostgreSQL): 30 threads keep submitting and
changing their bids while the deadline passes. None is accepted at or after the deadline,
and every bid accepted before it is stored whole (its digest matches its content).

Every change to a bid locks the commission row (SELECT ... FOR UPDATE) and reads the
server's clock inside that transaction; see portal/services/bids.py."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import select

from portal.extensions import db
from portal.models.accounts import User
from portal.models.base import utcnow
from portal.models.bids import Bid, BidStatus, BidVersion
from portal.models.commissions import Commission
from portal.services import bids as service
from tests.bids_support import complete_bid, open_commission, profile
from tests.fixtures.users import OrganisationFactory, make_staff, make_supplier

THREADS = 30
LEAD_SECONDS = 8.0  # the deadline comes this long after the threads start
TAIL_SECONDS = 1.5  # they keep trying this long after it


@pytest.fixture
def app_overrides():
    return {"SQLALCHEMY_ENGINE_OPTIONS": {"pool_size": THREADS + 5, "max_overflow": 5,
                                          "pool_pre_ping": True}}


@pytest.mark.postgres
def test_thirty_bidders_across_the_deadline(app, database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("needs PostgreSQL: set TEST_DATABASE_URL")
    commissioner = make_staff("commissioner")
    organisations = [OrganisationFactory(legal_name=f"Concurrent {n} Ltd")
                     for n in range(THREADS)]
    owners = [make_supplier(org, role="owner") for org in organisations]
    commission = open_commission(commissioner, *organisations, budget_pence=10_000_000_00)
    bid_ids = []
    for n, owner in enumerate(owners):
        reviewer = profile(organisations[n], f"Reviewer {n}", 500_00)
        bid_ids.append(complete_bid(owner, commission, reviewer=reviewer,
                                    with_document=n % 3 == 0).id)
    # Bring the deadline close (the minimum tender period only applies to publishing).
    deadline = (utcnow() + timedelta(seconds=LEAD_SECONDS)).replace(microsecond=0) \
        + timedelta(seconds=1)
    commission.clarification_deadline = utcnow() + timedelta(seconds=1)
    commission.submission_deadline = deadline
    db.session.commit()
    commission_id, user_ids = commission.id, [o.id for o in owners]

    accepted: list[tuple[int, object, str]] = []  # (bid id, service "now", action)
    refused_late: list[object] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(THREADS)

    def worker(number: int) -> None:
        try:
            with app.test_request_context():
                barrier.wait(timeout=60)
                stop = deadline + timedelta(seconds=TAIL_SECONDS)
                step = 0
                while utcnow() < stop:
                    step += 1
                    user = db.session.get(User, user_ids[number])
                    bid = db.session.get(Bid, bid_ids[number])
                    started = utcnow()
                    try:
                        if bid.status == BidStatus.DRAFT:
                            version = service.submit(user, bid)
                            action = ("submit", version.submitted_at)
                        elif step % 2:
                            service.reopen(user, bid)
                            action = ("reopen", None)
                        else:
                            service.withdraw(user, bid)
                            action = ("withdraw", None)
                        db.session.commit()
                        accepted.append((bid_ids[number], action, started))
                    except service.BidClosed:
                        db.session.rollback()
                        refused_late.append(started)
                    else:
                        if action[0] in ("reopen", "withdraw"):
                            # Edit the draft before submitting again.
                            try:
                                bid = db.session.get(Bid, bid_ids[number])
                                if bid.status == BidStatus.WITHDRAWN:
                                    service.reopen(user, bid)
                                service.save_understanding(
                                    user, bid, f"Understanding, edit {step}",
                                    f"Method {number}-{step}")
                                # A reopened bid is declared again before it is sent.
                                service.accept_declaration(user, bid, True)
                                db.session.commit()
                            except service.BidClosed:
                                db.session.rollback()
                    db.session.remove()
                    time.sleep(0.005)
        except BaseException as exc:
            errors.append(exc)

    db.session.commit()
    threads = [threading.Thread(target=worker, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    assert refused_late, "the threads never reached the deadline"

    db.session.expire_all()
    versions = db.session.scalars(select(BidVersion)).all()
    # Submissions are serialised per commission: most threads get theirs in before the
    # deadline, and the rest are refused.
    assert len(versions) >= THREADS // 2, len(versions)
    for version in versions:
        # None accepted at or after the deadline (the server's clock, under the lock).
        assert version.submitted_at < deadline, version.submitted_at
        # Stored whole: the digest matches the stored content, and the receipt's.
        assert service.verify_version(version)
        assert version.receipt.issued_at == version.submitted_at
    assert all(at < deadline for _bid, (kind, at), _s in accepted if kind == "submit")
    commission = db.session.get(Commission, commission_id)
    for bid_id in bid_ids:
        bid = db.session.get(Bid, bid_id)
        if bid.status == BidStatus.SUBMITTED:
            # The bid as it stands is exactly its latest version.
            assert bid.latest_version.content == service.canonical_content(bid)
            assert bid.submitted_at == bid.latest_version.submitted_at
        numbers = [v.number for v in bid.versions]
        assert numbers == list(range(1, len(numbers) + 1))
    assert commission.state == "closed"
