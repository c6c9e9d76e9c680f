"""Create the five service categories.

Revision ID: 0003_service_categories
Revises: 0002_audit_head
"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0003_service_categories"
down_revision = "0002_audit_head"
branch_labels = None
depends_on = None


def upgrade():
    from portal.models.categories import SERVICE_CATEGORIES

    table = sa.table(
        "service_categories",
        sa.column("number", sa.Integer),
        sa.column("code", sa.String),
        sa.column("name", sa.String),
        sa.column("description", sa.Text),
        sa.column("membership_criteria", sa.Text),
        sa.column("is_open", sa.Boolean),
        sa.column("membership_months", sa.Integer),
        sa.column("updated_at", sa.DateTime(timezone=True)),
    )
    now = datetime.now(UTC)
    op.bulk_insert(
        table,
        [{**row, "is_open": True, "membership_months": 24, "updated_at": now}
         for row in SERVICE_CATEGORIES],
    )


def downgrade():
    op.execute("DELETE FROM service_categories")
