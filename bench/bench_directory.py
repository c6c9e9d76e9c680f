"""Directory search latency on ~2,000 seeded reviewers.

    .venv/bin/python bench/bench_directory.py                 # SQLite (a temporary file)
    BENCH_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/postgres \\
        .venv/bin/python bench/bench_directory.py              # PostgreSQL (a scratch database)

Options: --reviewers N (default 2000), --repeat N (default 30).

Seeds organisations with active memberships and N reviewer profiles (varied expertise,
regions, review counts, publications; 85% consented), then times, per query kind:
- `search()`: the service call (page of ids, facets, page loads), p50 / p95 / max in ms;
- `page`: GET /directory through the test client (rendering included);
- `api`: GET /api/directory/reviewers.
Also reports the time to write the index for all profiles. Runs ANALYZE after seeding on
PostgreSQL (a live database has planner statistics; a freshly loaded one does not); on
SQLite only with BENCH_ANALYZE=1.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url

QUERIES = {
    "no filters": "",
    "one word": "q=neglect",
    "three words": "q=criminal+exploitation+adolescents",
    "prefix of a name": "q=pat",
    "filters only": "region=london&region=north_west&competence=race&dbs=current",
    "text + filters": "q=neglect&region=yorkshire_humber&review_type=lcspr&min_reviews=2",
    "expertise all": "expertise=1&expertise=3&expertise_mode=all",
    "deep page": "page=40&per_page=20",
    "awkward input": "q=%27%3B+DROP+TABLE+users%3B+--+%22%22%22+OR+1%3D1",
}


def _postgres_database(base_url: str):
    admin_url = make_url(base_url)
    name = f"portal_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = admin_url.set(database=name).render_as_string(hide_password=False)

    def drop():
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return url, drop


def seed(count: int, rng: random.Random) -> float:
    from portal.demo_profiles import FIRST_NAMES, SURNAMES
    from portal.extensions import db
    from portal.models import (
        DirectoryConsent,
        ExpertiseTag,
        Organisation,
        PoolMembership,
        ReviewerCompetence,
        ReviewerProfile,
        ReviewerPublication,
        ReviewerRegion,
        ServiceCategory,
        utcnow,
    )
    from portal.models.categories import seed_service_categories
    from portal.models.profiles import REGION_CODES, CompetenceArea, seed_expertise_tags

    seed_service_categories()
    seed_expertise_tags()
    tags = list(db.session.scalars(select(ExpertiseTag)))
    categories = list(db.session.scalars(select(ServiceCategory)))
    now = utcnow()
    organisations = []
    for i in range(count // 10):
        organisation = Organisation(legal_name=f"Bench Reviews {i} Ltd")
        db.session.add(organisation)
        organisations.append(organisation)
    db.session.flush()
    for organisation in organisations:
        for category in rng.sample(categories, k=rng.randint(1, 3)):
            status = "active" if rng.random() < 0.9 else "suspended"
            db.session.add(PoolMembership(
                organisation_id=organisation.id, category_id=category.id, status=status,
                started_at=now - timedelta(days=100), expires_at=now + timedelta(days=600)))
    backgrounds = ["social_work", "health", "police", "education", "law",
                   "academic_research", "other"]
    words = ["neglect", "exploitation", "adolescents", "county", "lines", "infancy",
             "systems", "methodology", "appreciative", "inquiry", "families",
             "practitioners", "thematic", "analysis"]
    for i in range(count):
        organisation = organisations[i % len(organisations)]
        profile = ReviewerProfile(
            organisation_id=organisation.id,
            name=f"{rng.choice(FIRST_NAMES)} {rng.choice(SURNAMES)} {i}",
            professional_background=rng.choice(backgrounds),
            years_experience=rng.randint(2, 35),
            summary=" ".join(rng.choices(words, k=25)),
            reviews_lcspr=rng.randint(0, 12), reviews_serious_case=rng.randint(0, 6),
            reviews_rapid=rng.randint(0, 10), reviews_thematic=rng.randint(0, 3),
            reviews_national=rng.randint(0, 1), reviews_literature=rng.randint(0, 4),
            dbs_current=rng.random() < 0.6, is_unavailable=rng.random() < 0.08,
            day_rate_pence=rng.randrange(35000, 92500, 2500), days_per_month=4,
        )
        profile.expertise = rng.sample(tags, k=rng.randint(1, 6))
        for region in rng.sample(REGION_CODES, k=rng.randint(1, 3)):
            profile.region_links.append(ReviewerRegion(region=region))
        for area in CompetenceArea:
            yes = rng.random() < 0.6
            profile.competences.append(ReviewerCompetence(
                area=area.value, has_competence=yes, example="Example." if yes else None))
        for j in range(rng.randint(0, 3)):
            profile.publications.append(ReviewerPublication(
                title=f"Practice review {i}-{j}: " + " ".join(rng.choices(words, k=4)),
                url="https://example.org/r", year=2020, review_type="lcspr"))
        if rng.random() < 0.85:
            profile.consents.append(DirectoryConsent(text_version="bench"))
        db.session.add(profile)
    started = time.perf_counter()
    db.session.flush()  # the index is written by the flush listener
    elapsed = time.perf_counter() - started
    db.session.commit()
    return elapsed


def _time(fn, repeat: int) -> list[float]:
    fn()  # warm up
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def _summary(samples: list[float]) -> str:
    samples = sorted(samples)
    p95 = samples[max(0, int(len(samples) * 0.95) - 1)]
    return f"p50 {statistics.median(samples):7.1f}  p95 {p95:7.1f}  max {samples[-1]:7.1f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reviewers", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()

    from werkzeug.datastructures import MultiDict

    from portal import create_app
    from portal.extensions import db
    from portal.search import search
    from portal.services.directory import parse_search
    from tests.fixtures.users import login_as, make_partnership_member

    drop = None
    base = os.environ.get("BENCH_DATABASE_URL")
    tmp = tempfile.TemporaryDirectory()
    if base:
        url, drop = _postgres_database(base)
    else:
        url = f"sqlite:///{Path(tmp.name) / 'bench.db'}"
    app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": url,
                                 "STORAGE_LOCAL_PATH": str(Path(tmp.name) / "storage")})
    try:
        with app.app_context():
            db.create_all()
            from portal.models.audit import ensure_audit_head

            ensure_audit_head()
            rng = random.Random(2020)
            index_seconds = seed(args.reviewers, rng)
            if db.engine.dialect.name == "postgresql" or os.environ.get("BENCH_ANALYZE"):
                # Planner statistics, as autovacuum keeps them in a running service;
                # without them PostgreSQL picks nested loops over freshly loaded tables
                # and broad queries are 10 to 30 times slower. (SQLite is measured
                # without sqlite_stat1 unless BENCH_ANALYZE is set: with it, its planner
                # currently picks slower plans for broad searches.)
                db.session.execute(text("ANALYZE"))
                db.session.commit()
            member = make_partnership_member()
            engine_name = db.engine.dialect.name
            listed = search(parse_search(MultiDict()).params).total
            client = app.test_client()
            login_as(client, member)
            db.session.remove()
        print(f"engine: {engine_name}; reviewers: {args.reviewers}; listed: {listed}; "
              f"index written in {index_seconds:.2f} s; repeat {args.repeat}")
        print(f"{'query':22} {'kind':7} latency in ms")
        for label, query in QUERIES.items():
            params = parse_search(MultiDict(
                [tuple(p.split("=", 1)) for p in query.split("&") if p])).params

            def call(params=params):
                # A fresh application context per search, as a request has.
                with app.app_context():
                    return search(params).total

            total = call()
            print(f"{label:22} {'search':7} {_summary(_time(call, args.repeat))}"
                  f"   ({total} found)")
            page = _time(lambda q=query: client.get(f"/directory?{q}"), args.repeat)
            print(f"{'':22} {'page':7} {_summary(page)}")
            api = _time(lambda q=query: client.get(f"/api/directory/reviewers?{q}"),
                        args.repeat)
            print(f"{'':22} {'api':7} {_summary(api)}")
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
    finally:
        if drop:
            drop()
        tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
