"""Shared fixtures: an app per test on a fresh database, a client, and factories.

SQLite by default (a new file per test). Set TEST_DATABASE_URL to a PostgreSQL server
(for example postgresql+psycopg://postgres@127.0.0.1:5432/postgres) and the suite makes
its own database there, empties it between tests and drops it at the end.
"""

from __future__ import annotations

import os
import shutil
import uuid

import pytest
from flask import g
from jinja2 import BytecodeCache
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from portal import create_app
from portal.extensions import db

pytest_plugins = [
    "tests.fixtures.users",
    "tests.fixtures.mailserver",
    "tests.fixtures.s3server",
    "tests.fixtures.browser",
]

POSTGRES_URL = os.environ.get("TEST_DATABASE_URL")


class _MemoryBytecodeCache(BytecodeCache):
    """Compiled templates shared by the many apps a run creates (one per test): compiling
    every template again for each test was most of a simple test's time."""

    def __init__(self):
        self._store: dict[str, bytes] = {}

    def load_bytecode(self, bucket):
        if bucket.key in self._store:
            bucket.bytecode_from_string(self._store[bucket.key])

    def dump_bytecode(self, bucket):
        self._store[bucket.key] = bucket.bytecode_to_string()


TEMPLATE_BYTECODE = _MemoryBytecodeCache()


@pytest.fixture(scope="session")
def postgres_database():
    """A throwaway PostgreSQL database for the whole run, or None on SQLite."""
    if not POSTGRES_URL:
        yield None
        return
    admin_url = make_url(POSTGRES_URL)
    name = f"portal_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = admin_url.set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = :name AND pid <> pg_backend_pid()"
                ),
                {"name": name},
            )
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


def _prepare_schema() -> None:
    from portal.models.audit import ensure_audit_head
    from portal.models.categories import seed_service_categories

    db.create_all()
    ensure_audit_head()
    seed_service_categories()
    db.session.commit()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory):
    """An SQLite file with the schema, made once per run and copied for each test
    (copying is much faster than creating some sixty tables every time)."""
    path = tmp_path_factory.mktemp("schema") / "template.db"
    app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}"})
    with app.app_context():
        _prepare_schema()
        db.session.remove()
        db.engine.dispose()
    return path


@pytest.fixture
def database_url(postgres_database, tmp_path, request):
    if postgres_database:
        return postgres_database
    path = tmp_path / "portal.db"
    shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
    return f"sqlite:///{path}"


def _empty_postgres() -> None:
    tables = ", ".join(f'"{t.name}"' for t in db.metadata.sorted_tables)
    db.session.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    db.session.commit()


def _forget_request_state() -> None:
    """pytest-flask keeps a request context pushed for the whole test, and Flask reuses
    that app context for test requests, so `g` would carry Flask-Login's cached user
    from one request into the next. Production gets a fresh `g` per request; so do we."""
    g.pop("_login_user", None)
    g.pop("csrf_token", None)  # Flask-WTF caches the session's token in g as well


@pytest.fixture
def app_overrides() -> dict:
    """Override in a test module to change configuration for its app."""
    return {}


@pytest.fixture
def app(database_url, tmp_path, app_overrides):
    overrides = {
        "SQLALCHEMY_DATABASE_URI": database_url,
        "STORAGE_LOCAL_PATH": str(tmp_path / "storage"),
        **app_overrides,
    }
    app = create_app("testing", overrides)
    app.jinja_env.bytecode_cache = TEMPLATE_BYTECODE
    app.before_request_funcs.setdefault(None, []).insert(0, _forget_request_state)
    with app.app_context():
        _prepare_schema()  # no-op on a copied SQLite template; builds PostgreSQL's once
    yield app
    with app.app_context():
        db.session.remove()
        if database_url.startswith("postgresql"):
            _empty_postgres()
            db.session.remove()
        db.engine.dispose()


@pytest.fixture
def session(app):
    """The SQLAlchemy session, inside the app context pytest-flask pushed."""
    return db.session
