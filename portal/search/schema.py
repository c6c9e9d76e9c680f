"""The search index's engine-specific schema, and keeping the index in step on write.

- SQLite: an FTS5 virtual table over `directory_search_documents` (external content),
  kept in step by three triggers. Created after the table by `create_all` (a DDL
  listener) and by migration 0005 (which runs the same statements).
- PostgreSQL: nothing extra; the TSVECTOR column and its GIN index are in the model.

`refresh_documents(connection, reviewer_ids)` rewrites the index rows of some profiles
from the database. A session listener calls it after every flush that touched a
profile, its publications or expertise, an expertise tag or an organisation's name, so
the index is always written in the same transaction as the change.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from itertools import chain

from sqlalchemy import delete, event, insert, literal_column, select, text, update
from sqlalchemy.engine import Connection

from portal.models.base import utcnow
from portal.models.directory import FTS_TABLE, DirectorySearchDocument
from portal.models.profiles import (
    PROFESSIONAL_BACKGROUND_LABELS,
    ExpertiseTag,
    ReviewerProfile,
    ReviewerPublication,
    reviewer_expertise,
)
from portal.search.tokens import index_text

# Literal statements (the names are those of FTS_TABLE and SEARCH_TABLE); migration 0005
# runs the same list.
SQLITE_CREATE = [
    """CREATE VIRTUAL TABLE IF NOT EXISTS directory_search_fts USING fts5(
        name_text, expertise_text, body_text,
        content='directory_search_documents', content_rowid='reviewer_id',
        tokenize='unicode61 remove_diacritics 0'
    )""",
    """CREATE TRIGGER IF NOT EXISTS directory_search_fts_ai
    AFTER INSERT ON directory_search_documents BEGIN
        INSERT INTO directory_search_fts(rowid, name_text, expertise_text, body_text)
        VALUES (new.reviewer_id, new.name_text, new.expertise_text, new.body_text);
    END""",
    """CREATE TRIGGER IF NOT EXISTS directory_search_fts_ad
    AFTER DELETE ON directory_search_documents BEGIN
        INSERT INTO directory_search_fts(
            directory_search_fts, rowid, name_text, expertise_text, body_text)
        VALUES ('delete', old.reviewer_id, old.name_text, old.expertise_text, old.body_text);
    END""",
    """CREATE TRIGGER IF NOT EXISTS directory_search_fts_au
    AFTER UPDATE ON directory_search_documents BEGIN
        INSERT INTO directory_search_fts(
            directory_search_fts, rowid, name_text, expertise_text, body_text)
        VALUES ('delete', old.reviewer_id, old.name_text, old.expertise_text, old.body_text);
        INSERT INTO directory_search_fts(rowid, name_text, expertise_text, body_text)
        VALUES (new.reviewer_id, new.name_text, new.expertise_text, new.body_text);
    END""",
    # Index whatever rows the content table already holds (empty after create_all).
    "INSERT INTO directory_search_fts(directory_search_fts) VALUES ('rebuild')",
]
SQLITE_DROP = [
    "DROP TRIGGER IF EXISTS directory_search_fts_ai",
    "DROP TRIGGER IF EXISTS directory_search_fts_ad",
    "DROP TRIGGER IF EXISTS directory_search_fts_au",
    "DROP TABLE IF EXISTS directory_search_fts",
]


def fts_table_names(name: str) -> bool:
    """True for the FTS5 table and its shadow tables (for Alembic's include_name: they
    are not in the metadata and must not be dropped by autogenerate)."""
    return name == FTS_TABLE or name.startswith(FTS_TABLE + "_")


def alembic_include_name(name, type_, parent_names) -> bool:
    """For Alembic's `include_name`: leave the FTS5 tables out of autogenerate and of
    schema comparisons (they are made by migration 0005, not by the metadata)."""
    return not (type_ == "table" and name is not None and fts_table_names(name))


def _after_create(target, connection: Connection, **kw) -> None:
    if connection.dialect.name == "sqlite":
        for statement in SQLITE_CREATE:
            connection.exec_driver_sql(statement)


def _before_drop(target, connection: Connection, **kw) -> None:
    if connection.dialect.name == "sqlite":
        for statement in SQLITE_DROP:
            connection.exec_driver_sql(statement)


event.listen(DirectorySearchDocument.__table__, "after_create", _after_create)
event.listen(DirectorySearchDocument.__table__, "before_drop", _before_drop)


# --- writing the index ----------------------------------------------------------------------


def _documents(connection: Connection, ids: list[int]) -> list[dict]:
    from portal.models.accounts import Organisation

    rp = ReviewerProfile.__table__
    org = Organisation.__table__
    profiles = connection.execute(
        select(rp.c.id, rp.c.name, rp.c.professional_background, rp.c.summary,
               org.c.legal_name, org.c.trading_name)
        .select_from(rp.join(org, org.c.id == rp.c.organisation_id))
        .where(rp.c.id.in_(ids))
    ).all()
    if not profiles:
        return []
    tags: dict[int, list[str]] = defaultdict(list)
    tag_table = ExpertiseTag.__table__
    for reviewer_id, name in connection.execute(
        select(reviewer_expertise.c.reviewer_id, tag_table.c.name)
        .join(tag_table, tag_table.c.id == reviewer_expertise.c.tag_id)
        .where(reviewer_expertise.c.reviewer_id.in_(ids))
    ):
        tags[reviewer_id].append(name)
    titles: dict[int, list[str]] = defaultdict(list)
    pub = ReviewerPublication.__table__
    for reviewer_id, title in connection.execute(
        select(pub.c.reviewer_id, pub.c.title).where(pub.c.reviewer_id.in_(ids))
    ):
        titles[reviewer_id].append(title)
    now = utcnow()
    rows = []
    for pid, name, background, summary, legal, trading in profiles:
        rows.append({
            "reviewer_id": pid,
            "name_text": index_text(name),
            "expertise_text": index_text(*tags[pid], *titles[pid]),
            "body_text": index_text(
                PROFESSIONAL_BACKGROUND_LABELS.get(background, background or ""),
                summary, trading, legal,
            ),
            "updated_at": now,
        })
    return rows


def refresh_documents(connection: Connection, reviewer_ids: Iterable[int]) -> int:
    """Rewrite the index rows of these profiles (deleted profiles lose theirs)."""
    ids = sorted({int(i) for i in reviewer_ids if i is not None})
    if not ids:
        return 0
    table = DirectorySearchDocument.__table__
    written = 0
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        rows = _documents(connection, chunk)
        connection.execute(delete(table).where(table.c.reviewer_id.in_(chunk)))
        if rows:
            connection.execute(insert(table), rows)
            written += len(rows)
            if connection.dialect.name == "postgresql":
                simple = literal_column("'simple'")
                vector = (
                    _weighted(simple, table.c.name_text, "A")
                    .op("||")(_weighted(simple, table.c.expertise_text, "B"))
                    .op("||")(_weighted(simple, table.c.body_text, "C"))
                )
                connection.execute(
                    update(table).where(table.c.reviewer_id.in_(chunk))
                    .values(search_vector=vector)
                )
    return written


def _weighted(config, column, weight: str):
    from sqlalchemy import func

    return func.setweight(func.to_tsvector(config, column), literal_column(f"'{weight}'"))


def rebuild_all(connection: Connection) -> int:
    """Re-index every profile (after a migration or a restore): `flask directory reindex`."""
    rp = ReviewerProfile.__table__
    ids = list(connection.execute(select(rp.c.id)).scalars())
    table = DirectorySearchDocument.__table__
    connection.execute(delete(table))
    written = refresh_documents(connection, ids)
    if connection.dialect.name == "sqlite":
        connection.execute(text(
            "INSERT INTO directory_search_fts(directory_search_fts) VALUES ('rebuild')"))
    return written


# --- the session listener -------------------------------------------------------------------


def _touched_profiles(session) -> set[int]:
    from portal.models.accounts import Organisation

    ids: set[int] = set()
    organisations: set[int] = set()
    tags: set[int] = set()
    for obj in chain(session.new, session.dirty, session.deleted):
        if isinstance(obj, ReviewerProfile):
            ids.add(obj.id)
        elif isinstance(obj, ReviewerPublication):
            ids.add(obj.reviewer_id)
        elif isinstance(obj, ExpertiseTag) and obj not in session.new:
            tags.add(obj.id)
        elif isinstance(obj, Organisation) and obj not in session.new:
            organisations.add(obj.id)
    if organisations or tags:
        connection = session.connection()
        rp = ReviewerProfile.__table__
        if organisations:
            ids.update(connection.execute(
                select(rp.c.id).where(rp.c.organisation_id.in_(organisations))
            ).scalars())
        if tags:
            ids.update(connection.execute(
                select(reviewer_expertise.c.reviewer_id)
                .where(reviewer_expertise.c.tag_id.in_(tags))
            ).scalars())
    ids.discard(None)
    return ids


def _after_flush(session, flush_context) -> None:
    if not session.info.get("directory_index", True):
        return
    ids = _touched_profiles(session)
    if ids:
        refresh_documents(session.connection(), ids)


def install_session_listener(session_class) -> None:
    if not event.contains(session_class, "after_flush", _after_flush):
        event.listen(session_class, "after_flush", _after_flush)
