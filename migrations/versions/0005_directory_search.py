"""Directory search: the SQLite FTS5 index over directory_search_documents, and the
first fill of the index from existing reviewer profiles.

The tables themselves (directory_search_documents with its PostgreSQL TSVECTOR column
and GIN index, shortlists, enquiries) come from the models through 0001_initial. On
PostgreSQL there is nothing engine-specific to add; on SQLite this creates the FTS5
virtual table and the three triggers that keep it in step (the same statements that
`db.create_all()` runs, portal/search/schema.py).

Revision ID: 0005_directory_search
Revises: 0004_reference_data
"""

from alembic import op

revision = "0005_directory_search"
down_revision = "0004_reference_data"
branch_labels = None
depends_on = None


def upgrade():
    from portal.search.schema import SQLITE_CREATE, rebuild_all

    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        for statement in SQLITE_CREATE:
            op.execute(statement)
    # Index any profiles that already exist (none on a new database).
    rebuild_all(bind)


def downgrade():
    from portal.search.schema import SQLITE_DROP

    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        for statement in SQLITE_DROP:
            op.execute(statement)
    else:
        op.execute("DELETE FROM directory_search_documents")
