"""Do known and unknown e-mail addresses take the same time? (Issue 3: "Unknown e-mails
take the same time as known ones.")

    .venv/bin/python bench/bench_account_timing.py             # --repeat N (default 15)

Runs the real pages through the test client, on a temporary SQLite database, with the
production password hashing (argon2-cffi's default profile, not the tests' cheapest one),
and prints the median and spread in ms of each pair, interleaved so that drift in the
machine's speed affects both sides alike:
- sign in: an address with an account (wrong password) / one without;
- supplier and partnership registration: an address in use / a new one;
- forgotten password and "send the confirmation link again": an address with an
  account / one without;
- change of e-mail address (signed in): an address in use / a free one.
Also the first sign-in of the process with an unknown address, which used to build the
dummy hash on first use (it is now built when the app starts).

The tests check that both sides do the same work (tests/test_auth_timing.py); this only
shows what that means in time on this machine.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from itertools import count
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

PASSWORD = "violet kettle gravel 93"  # a strong password for the forms


def _ms(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1000


def _pair(label: str, known: Callable[[], object], unknown: Callable[[], object],
          repeat: int, names: tuple[str, str] = ("known", "unknown")) -> None:
    known(), unknown()  # warm up: templates compiled, statements cached
    a: list[float] = []
    b: list[float] = []
    for _ in range(repeat):
        a.append(_ms(known))
        b.append(_ms(unknown))
    med_a, med_b = statistics.median(a), statistics.median(b)
    print(f"{label:28} {names[0]:>8} {med_a:7.1f} ms (min {min(a):6.1f}, max {max(a):6.1f})"
          f"   {names[1]:>8} {med_b:7.1f} ms (min {min(b):6.1f}, max {max(b):6.1f})"
          f"   difference {med_a - med_b:+6.1f} ms")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()

    tmp = tempfile.TemporaryDirectory()
    started = time.perf_counter()
    from portal import create_app

    app = create_app("testing", {
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{Path(tmp.name) / 'bench.db'}",
        "STORAGE_LOCAL_PATH": str(Path(tmp.name) / "storage"),
        "PASSWORD_HASH_PROFILE": "default",  # production hashing
        "LOCKOUT_THRESHOLD": 10**9,  # measure the wrong-password path, not the lock
    })
    startup = (time.perf_counter() - started) * 1000
    from portal.extensions import db
    from portal.models.audit import ensure_audit_head
    from portal.models.categories import seed_service_categories
    from tests.fixtures.users import DEFAULT_PASSWORD, PartnershipFactory, login_as, make_supplier

    try:
        with app.app_context():
            db.create_all()
            ensure_audit_head()
            seed_service_categories()
            known = make_supplier(email="known@example.org")
            other = make_supplier(email="other@example.org")
            partnership_id = PartnershipFactory(name="Northshire Partnership").id
            known_id, other_id = known.id, other.id
            db.session.commit()
            db.session.remove()

        client = app.test_client()
        n = count()

        def post(path: str, **data):
            response = client.post(path, data=data)
            assert response.status_code in (200, 302), (path, response.status_code)
            return response

        client.get("/sign-in")  # the page's templates compiled, the database connected
        first = _ms(lambda: post("/sign-in", email="first@example.org", password=PASSWORD))
        second = _ms(lambda: post("/sign-in", email="second@example.org", password=PASSWORD))
        print(f"app start {startup:.0f} ms; the process's first sign-in with an unknown "
              f"address {first:.1f} ms, its second {second:.1f} ms; repeat {args.repeat}")

        _pair("sign in (wrong password)",
              lambda: post("/sign-in", email="known@example.org", password="not it at all"),
              lambda: post("/sign-in", email="nobody@example.org", password="not it at all"),
              args.repeat)

        def supplier(email: str):
            return post("/create-account/supplier", name="Ann Smith", email=email,
                        organisation_name="Smith Reviews Ltd", password=PASSWORD,
                        confirm=PASSWORD)

        _pair("register supplier",
              lambda: supplier("known@example.org"),
              lambda: supplier(f"new{next(n)}@example.org"),
              args.repeat, ("in use", "new"))

        def partnership(email: str):
            return post("/create-account/partnership", name="Pat Jones", email=email,
                        partnership_id=str(partnership_id), password=PASSWORD,
                        confirm=PASSWORD)

        _pair("register partnership",
              lambda: partnership("known@example.org"),
              lambda: partnership(f"new{next(n)}@example.org"),
              args.repeat, ("in use", "new"))

        _pair("forgotten password",
              lambda: post("/forgotten-password", email="known@example.org"),
              lambda: post("/forgotten-password", email="nobody@example.org"),
              args.repeat)

        with app.app_context():
            from portal.models import User

            db.session.get(User, known_id).email_verified_at = None
            db.session.commit()
            db.session.remove()
        _pair("send confirmation again",
              lambda: post("/send-confirmation-link", email="known@example.org"),
              lambda: post("/send-confirmation-link", email="nobody@example.org"),
              args.repeat)

        with app.app_context():
            login_as(client, db.session.get(User, other_id))
            db.session.remove()
        _pair("change e-mail",
              lambda: post("/account/email", email="known@example.org",
                           current_password=DEFAULT_PASSWORD),
              lambda: post("/account/email", email=f"free{next(n)}@example.org",
                           current_password=DEFAULT_PASSWORD),
              args.repeat, ("in use", "free"))

        with app.app_context():
            db.session.remove()
            db.engine.dispose()
    finally:
        tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
