"""Seed the audit chain's head row.

Revision ID: 0002_audit_head
Revises: 0001_initial
"""

import sqlalchemy as sa
from alembic import op

revision = "0002_audit_head"
down_revision = "0001_initial"
branch_labels = None
depends_on = None


def upgrade():
    audit_head = sa.table(
        "audit_head",
        sa.column("id", sa.Integer),
        sa.column("last_sequence", sa.Integer),
        sa.column("last_hash", sa.String),
    )
    op.bulk_insert(audit_head, [{"id": 1, "last_sequence": 0, "last_hash": "0" * 64}])


def downgrade():
    op.execute("DELETE FROM audit_head WHERE id = 1")
