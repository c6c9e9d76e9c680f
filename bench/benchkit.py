"""What the benchmarks share: a scratch database with an application on it, and the
latency summary they print.

    with scratch_app() as app: ...   # SQLite in a temporary folder, or a scratch
                                     # PostgreSQL database when BENCH_DATABASE_URL is set
"""

from __future__ import annotations

import contextlib
import os
import statistics
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url


@contextlib.contextmanager
def _postgres_database(base_url: str) -> Iterator[str]:
    """A database of its own on the server of `base_url`, dropped afterwards."""
    admin_url = make_url(base_url)
    name = f"portal_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin_url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextlib.contextmanager
def scratch_app():
    """The portal (testing configuration) on an empty database with every table, the
    audit chain's head row and local storage in a temporary folder; all of it removed
    afterwards."""
    from portal import create_app
    from portal.extensions import db
    from portal.models.audit import ensure_audit_head

    with tempfile.TemporaryDirectory() as folder, contextlib.ExitStack() as stack:
        base = os.environ.get("BENCH_DATABASE_URL")
        url = (stack.enter_context(_postgres_database(base)) if base
               else f"sqlite:///{Path(folder) / 'bench.db'}")
        app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": url,
                                     "STORAGE_LOCAL_PATH": str(Path(folder) / "storage")})
        with app.app_context():
            db.create_all()
            ensure_audit_head()
            db.session.commit()
        try:
            yield app
        finally:
            with app.app_context():
                db.session.remove()
                db.engine.dispose()


def analyze_if_wanted(db) -> None:
    """Planner statistics, as autovacuum keeps them in a running service: always on
    PostgreSQL (without them it picks nested loops over freshly loaded tables), on SQLite
    only with BENCH_ANALYZE=1."""
    if db.engine.dialect.name == "postgresql" or os.environ.get("BENCH_ANALYZE"):
        db.session.execute(text("ANALYZE"))
        db.session.commit()


def summary(samples: list[float]) -> str:
    samples = sorted(samples)
    p95 = samples[max(0, int(len(samples) * 0.95) - 1)]
    return f"p50 {statistics.median(samples):7.1f}  p95 {p95:7.1f}  max {samples[-1]:7.1f}"
