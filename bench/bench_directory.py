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
import random
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchkit import analyze_if_wanted, scratch_app, summary
from sqlalchemy import select

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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reviewers", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()

    from werkzeug.datastructures import MultiDict

    from portal.extensions import db
    from portal.search import search
    from portal.services.directory import parse_search
    from tests.fixtures.users import login_as, make_partnership_member

    with scratch_app() as app:
        with app.app_context():
            rng = random.Random(2020)
            index_seconds = seed(args.reviewers, rng)
            # (SQLite is measured without sqlite_stat1 unless BENCH_ANALYZE is set: with
            # it, its planner currently picks slower plans for broad searches.)
            analyze_if_wanted(db)
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
            print(f"{label:22} {'search':7} {summary(_time(call, args.repeat))}"
                  f"   ({total} found)")
            page = _time(lambda q=query: client.get(f"/directory?{q}"), args.repeat)
            print(f"{'':22} {'page':7} {summary(page)}")
            api = _time(lambda q=query: client.get(f"/api/directory/reviewers?{q}"),
                        args.repeat)
            print(f"{'':22} {'api':7} {summary(api)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
