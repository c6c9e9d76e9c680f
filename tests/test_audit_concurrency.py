"""Concurrent appends never fork the chain: each writer waits for the head row's lock
(SELECT ... FOR UPDATE on PostgreSQL, BEGIN IMMEDIATE on SQLite)."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from portal.audit import record, verify_chain
from portal.extensions import db
from portal.models.audit import AuditEvent, AuditHead


def append_concurrently(app, threads: int, per_thread: int, *, per_transaction: int = 1):
    barrier = threading.Barrier(threads)
    errors: list[BaseException] = []

    def writer(number: int) -> None:
        try:
            with app.app_context():
                barrier.wait(timeout=30)
                for i in range(0, per_thread, per_transaction):
                    for j in range(i, min(i + per_transaction, per_thread)):
                        record("test.concurrent", data={"thread": number, "i": j})
                    db.session.commit()
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)

    # The test's own session must not hold a transaction (on SQLite, the write lock).
    db.session.commit()
    workers = [threading.Thread(target=writer, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    assert not any(w.is_alive() for w in workers), "a writer hung"
    assert not errors, errors


def assert_chain_of(total: int, threads: int, per_thread: int) -> None:
    db.session.expire_all()
    sequences = db.session.execute(
        select(AuditEvent.sequence).order_by(AuditEvent.sequence)
    ).scalars()
    assert list(sequences) == list(range(1, total + 1))
    # Each writer's events are all there, once.
    pairs = db.session.execute(select(AuditEvent.data)).scalars().all()
    assert sorted((d["thread"], d["i"]) for d in pairs) == [
        (t, i) for t in range(threads) for i in range(per_thread)
    ]
    # No fork: every previous_hash is used exactly once.
    distinct_links = db.session.execute(
        select(func.count(func.distinct(AuditEvent.previous_hash)))
    ).scalar_one()
    assert distinct_links == total
    head = db.session.get(AuditHead, 1)
    assert head.last_sequence == total
    report = verify_chain()
    db.session.rollback()
    assert report.ok, report.problem
    assert report.events_checked == total


@pytest.mark.postgres
def test_ten_writers_on_postgresql(app, database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("needs PostgreSQL (TEST_DATABASE_URL)")
    append_concurrently(app, threads=10, per_thread=20)
    assert_chain_of(200, threads=10, per_thread=20)


@pytest.mark.postgres
def test_ten_writers_several_events_per_transaction_on_postgresql(app, database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("needs PostgreSQL (TEST_DATABASE_URL)")
    append_concurrently(app, threads=10, per_thread=20, per_transaction=5)
    assert_chain_of(200, threads=10, per_thread=20)


def test_writers_on_sqlite_file(app, database_url):
    if not database_url.startswith("sqlite"):
        pytest.skip("the SQLite variant (TEST_DATABASE_URL is set)")
    append_concurrently(app, threads=4, per_thread=10)
    assert_chain_of(40, threads=4, per_thread=10)
