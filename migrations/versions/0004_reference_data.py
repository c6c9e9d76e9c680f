"""Reference data: expertise tags and the pool's declaration questions.

Revision ID: 0004_reference_data
Revises: 0003_service_categories
"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0004_reference_data"
down_revision = "0003_service_categories"
branch_labels = None
depends_on = None


def upgrade():
    from portal.models.pool import DECLARATION_QUESTIONS
    from portal.models.profiles import EXPERTISE_TAG_SEED

    # Explicit columns, so later columns added to these tables do not break this step.
    tags = sa.table(
        "expertise_tags",
        sa.column("name", sa.String),
        sa.column("created_at", sa.DateTime(timezone=True)),
    )
    now = datetime.now(UTC)
    op.bulk_insert(tags, [{"name": name, "created_at": now} for name in EXPERTISE_TAG_SEED])

    questions = sa.table(
        "declaration_questions",
        sa.column("key", sa.String),
        sa.column("section", sa.String),
        sa.column("position", sa.Integer),
        sa.column("text", sa.Text),
        sa.column("hint", sa.Text),
        sa.column("answer_type", sa.String),
        sa.column("rule", sa.JSON),
        sa.column("details_required_on", sa.String),
        sa.column("is_active", sa.Boolean),
    )
    op.bulk_insert(
        questions,
        [
            {
                "key": row["key"],
                "section": row["section"],
                "position": position,
                "text": row["text"],
                "hint": row.get("hint"),
                "answer_type": row.get("answer_type", "yes_no"),
                "rule": row["rule"],
                "details_required_on": row.get("details_required_on"),
                "is_active": True,
            }
            for position, row in enumerate(DECLARATION_QUESTIONS, start=1)
        ],
    )


def downgrade():
    op.execute("DELETE FROM declaration_questions")
    op.execute("DELETE FROM expertise_tags")
