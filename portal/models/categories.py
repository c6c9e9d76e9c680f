"""The five service categories (the DPS "lots") that suppliers are admitted to."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from portal.extensions import db
from portal.models.base import UTCDateTime, utcnow


class ServiceCategory(db.Model):
    __tablename__ = "service_categories"
    __table_args__ = (
        CheckConstraint("membership_months between 1 and 120", name="membership_months_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[int] = mapped_column(unique=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    membership_criteria: Mapped[str] = mapped_column(Text)
    is_open: Mapped[bool] = mapped_column(Boolean, default=True)
    membership_months: Mapped[int] = mapped_column(default=24)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


# The seed data; migration 0003 inserts the same rows.
SERVICE_CATEGORIES = [
    {
        "number": 1,
        "code": "national-fieldwork",
        "name": "Fieldwork and analysis for national reviews of serious child safeguarding "
        "incidents",
        "description": "Carrying out fieldwork (interviews, case file reading, practitioner "
        "events) and analysis for the Panel's national reviews, and writing up findings.",
        "membership_criteria": "Experience of leading or contributing to serious case reviews, "
        "child safeguarding practice reviews or comparable national reviews; qualitative "
        "research skills; enhanced DBS checks for everyone doing fieldwork.",
    },
    {
        "number": 2,
        "code": "literature-reviews",
        "name": "Literature reviews on national review topics",
        "description": "Rapid and systematic reviews of research and practice literature on "
        "the topics of national reviews.",
        "membership_criteria": "A track record of published literature or evidence reviews "
        "in social policy, health or children's services; access to academic databases.",
    },
    {
        "number": 3,
        "code": "thematic-analysis",
        "name": "Thematic analysis of Serious Incident Notifications and Rapid Reviews",
        "description": "Analysing serious incident notifications and rapid reviews to "
        "identify themes, patterns and learning for the Panel's annual and thematic reports.",
        "membership_criteria": "Experience of qualitative and mixed-methods analysis of "
        "case material; secure handling of sensitive personal data.",
    },
    {
        "number": 4,
        "code": "lcspr-analysis",
        "name": "Analysis of Local Child Safeguarding Practice Reviews",
        "description": "Analysing published and unpublished local child safeguarding practice "
        "reviews to draw out national learning.",
        "membership_criteria": "Knowledge of local safeguarding arrangements and review "
        "methodology; experience of analysing review reports at scale.",
    },
    {
        "number": 5,
        "code": "accessible-reports",
        "name": "Producing high-quality, accessible reports",
        "description": "Writing, editing and designing reports and summaries that are clear, "
        "accessible and useful to practitioners, leaders and families.",
        "membership_criteria": "Examples of accessible publications (plain English, easy read, "
        "WCAG-conformant documents) on sensitive subjects.",
    },
]


def seed_service_categories() -> None:
    """Insert any missing categories (used by tests and demo data; the migration does it
    for real databases)."""
    existing = {c.number for c in db.session.query(ServiceCategory.number)}
    for row in SERVICE_CATEGORIES:
        if row["number"] not in existing:
            db.session.add(ServiceCategory(**row))
    db.session.flush()
