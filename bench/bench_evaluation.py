"""Evaluation page latency and SQL query counts for one commission after moderation.

    .venv/bin/python bench/bench_evaluation.py                # SQLite (a temporary file)
    BENCH_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/postgres \\
        .venv/bin/python bench/bench_evaluation.py             # PostgreSQL (a scratch database)

Options: --bids N (default 30), --evaluators N (default 4), --repeat N (default 20).

Seeds, through the real services (the helpers in tests/evaluation_support.py), one
commission with two quality criteria and a 30% price weight whose deadline has passed
with N submitted bids (each with a team, a plan, expenses and two documents; prices from
10 to 39 days at £600 plus £250), bids opened, a panel of E evaluators (the first one
moderates) who each declare no conflict and score every bid (varied 0-4 scores) and
submit, consensus recorded for every bid, moderation completed and the price envelope
opened (services.evaluation.open_price). Then times GET through the Flask test client,
after one warm-up request, and prints per page p50 / p95 / max in ms over --repeat
requests, the number of SQL statements each request sent (the most seen; "a-b" if it
varied) and the size of the response:
- signed in as the commissioner: the evaluation overview, progress, ranking, report,
  scores.csv and the award page (/commissioning/commissions/<id>/...);
- signed in as the moderator: the evaluator's commission page, moderation and panel
  scores (/evaluation/commissions/<id>/...).
The pages are the ones tests/test_evaluation_queries.py checks for a bounded query
count; this shows what they cost at a realistic size. Each request runs in its own
application context with a fresh session, as a real request does. Runs ANALYZE after
seeding on PostgreSQL (as bench_directory.py does); on SQLite only with BENCH_ANALYZE=1.

Measured on this machine, 2026-11-29 (SQLite, 2 CPUs, defaults: 30 bids, 4 evaluators,
20 requests; seeding 9 s; load average about 3 from other work, so the p95 and max
columns are noisy; the query counts are exact). After scores, declarations and
submissions were read once for the whole panel:

    who          page          p50 ms  p95 ms  max ms  queries    size
    commissioner overview        28.2    40.4   183.1       30   17.5 kB
    commissioner progress        25.8    28.9    30.5       18  157.3 kB
    commissioner ranking         15.4    21.9    24.3       13   42.8 kB
    commissioner report          27.6    38.8   177.3       20  178.9 kB
    commissioner scores.csv      41.0    52.1   196.2       30   65.7 kB
    commissioner award           20.9    27.1    29.1       15   28.7 kB
    moderator    commission      27.5    39.8   177.1       15   31.9 kB
    moderator    moderation      33.3    38.0    43.3       18  155.2 kB
    moderator    panel-scores    48.2   192.5   211.7       25  126.7 kB

Before that change the same run made 38, 31, 13, 26, 33, 15, 17, 24 and 24 queries, each
further evaluator adding a query or more per page; now the counts change neither with
--bids nor with --evaluators (tests/test_evaluation_queries.py checks both).
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchkit import analyze_if_wanted, scratch_app, summary
from sqlalchemy import event

COMMISSIONER_PAGES = (
    ("overview", "/commissioning/commissions/{id}/evaluation"),
    ("progress", "/commissioning/commissions/{id}/evaluation/progress"),
    ("ranking", "/commissioning/commissions/{id}/evaluation/ranking"),
    ("report", "/commissioning/commissions/{id}/evaluation/report"),
    ("scores.csv", "/commissioning/commissions/{id}/evaluation/scores.csv"),
    ("award", "/commissioning/commissions/{id}/award"),
)
MODERATOR_PAGES = (
    ("commission", "/evaluation/commissions/{id}"),
    ("moderation", "/evaluation/commissions/{id}/moderation"),
    ("panel-scores", "/evaluation/commissions/{id}/panel-scores"),
)


def seed(bids: int, evaluators: int, rng: random.Random):
    """The commission through moderation with the price envelope open; returns
    (commission id, commissioner, moderator)."""
    from portal.extensions import db
    from portal.services import evaluation as evaluation_service
    from tests.evaluation_support import add_panel, moderate, opened, score_all

    setup = opened(days=tuple(10 + i % 30 for i in range(bids)),
                   names=[f"Bench Bidder {i} Ltd" for i in range(bids)])
    add_panel(setup, evaluators)
    criteria = len(setup.criteria)
    for evaluator in setup.evaluators:
        score_all(setup, evaluator, {
            bid.id: [rng.randint(0, 4) for _ in range(criteria)] for bid in setup.bids})
    moderate(setup, {bid.id: [rng.randint(1, 4) for _ in range(criteria)]
                     for bid in setup.bids})
    evaluation_service.open_price(setup.commissioner, setup.commission)
    db.session.commit()
    return setup.commission.id, setup.commissioner, setup.evaluators[0]


def _measure(client, engine, url: str, repeat: int) -> tuple[list[float], list[int], int]:
    """Latency samples in ms, SQL statements per request, response size in bytes."""
    statements = 0

    def count(conn, cursor, statement, parameters, context, executemany):
        nonlocal statements
        statements += 1

    response = client.get(url)  # warm up: templates compiled, statements cached
    if response.status_code != 200:
        raise SystemExit(f"GET {url} answered {response.status_code}, not 200")
    size = len(response.get_data())
    samples, counts = [], []
    event.listen(engine, "before_cursor_execute", count)
    try:
        for _ in range(repeat):
            statements = 0
            started = time.perf_counter()
            response = client.get(url)
            samples.append((time.perf_counter() - started) * 1000)
            if response.status_code != 200:
                raise SystemExit(f"GET {url} answered {response.status_code}, not 200")
            counts.append(statements)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return samples, counts, size


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bids", type=int, default=30)
    parser.add_argument("--evaluators", type=int, default=4)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    if min(args.bids, args.evaluators, args.repeat) < 1:
        parser.error("--bids, --evaluators and --repeat must be at least 1")

    from portal.extensions import db
    from portal.models.categories import seed_service_categories
    from tests.fixtures.users import login_as

    with scratch_app() as app:
        with app.app_context():
            seed_service_categories()
            db.session.commit()
            started = time.perf_counter()
            commission_id, commissioner, moderator = seed(
                args.bids, args.evaluators, random.Random(2020))
            seed_seconds = time.perf_counter() - started
            analyze_if_wanted(db)
            engine = db.engine
            clients = {}
            for role, user in (("commissioner", commissioner), ("moderator", moderator)):
                clients[role] = app.test_client()
                login_as(clients[role], user)
            db.session.remove()
        print(f"engine: {engine.dialect.name}; bids: {args.bids}; evaluators: "
              f"{args.evaluators}; seeded in {seed_seconds:.1f} s; repeat {args.repeat}")
        print(f"{'who':12} {'page':13} {'latency in ms':38} {'queries':>7} {'size':>8}")
        for role, pages in (("commissioner", COMMISSIONER_PAGES),
                            ("moderator", MODERATOR_PAGES)):
            for label, page in pages:
                samples, counts, size = _measure(
                    clients[role], engine, page.format(id=commission_id), args.repeat)
                low, high = min(counts), max(counts)
                queries = str(high) if low == high else f"{low}-{high}"
                print(f"{role:12} {label:13} {summary(samples)} {queries:>7} "
                      f"{size / 1024:6.1f} kB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
