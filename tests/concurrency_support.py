"""Run the same work in many threads at once (tests/test_*_concurrency.py)."""

from __future__ import annotations

import threading

from portal.extensions import db


def run_at_once(app, threads: int, work, join_timeout: float = 180) -> list[BaseException]:
    """Start `threads` workers that wait at a barrier, then each call `work(number)` in
    its own app context (its own session); return the exceptions they raised."""
    barrier = threading.Barrier(threads)
    errors: list[BaseException] = []

    def worker(number: int) -> None:
        try:
            with app.app_context():
                barrier.wait(timeout=30)
                work(number)
        except BaseException as exc:  # reported in the test's thread
            errors.append(exc)
        finally:
            with app.app_context():
                db.session.remove()

    db.session.commit()  # the test's session must not hold a transaction
    workers = [threading.Thread(target=worker, args=(n,)) for n in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=join_timeout)
    assert not any(w.is_alive() for w in workers), "a worker hung"
    return errors
