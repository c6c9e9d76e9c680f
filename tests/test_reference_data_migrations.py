"""The reference data the migrations seed, on a fresh SQLite database upgraded to head:
the five service categories (0003) and the expertise tags and declaration questions
(0004). Literal counts and wording, not just "whatever the model lists say": the
migrations read those lists when they run, so a change to a list would otherwise change
a new database silently while existing ones keep the old rows."""

from __future__ import annotations

from collections import Counter
from datetime import date

import pytest
from alembic.script import ScriptDirectory
from flask_migrate import upgrade
from sqlalchemy import func, select, text

from portal import create_app
from portal.extensions import db
from portal.models.categories import (
    SERVICE_CATEGORIES,
    ServiceCategory,
    seed_service_categories,
)
from portal.models.pool import (
    DECLARATION_QUESTIONS,
    DeclarationQuestion,
    seed_declaration_questions,
)
from portal.models.profiles import EXPERTISE_TAG_SEED, ExpertiseTag, seed_expertise_tags

# ../shared/DESIGN.md, "Service categories (the DPS lots)".
CATEGORY_NAMES = {
    1: "Fieldwork and analysis for national reviews of serious child safeguarding "
    "incidents",
    2: "Literature reviews on national review topics",
    3: "Thematic analysis of Serious Incident Notifications and Rapid Reviews",
    4: "Analysis of Local Child Safeguarding Practice Reviews",
    5: "Producing high-quality, accessible reports",
}

# The expertise tags the issue names; the migration seeds these and seven more.
ISSUE_TAGS = {
    "Criminal exploitation", "Sudden unexpected death in infancy", "Neglect",
    "Child sexual abuse", "Domestic abuse", "Extra-familial harm", "Online harm",
    "Disabled children", "Mental health", "Parental substance misuse",
    "Elective home education", "Race and racism", "Adolescents",
}


@pytest.fixture(scope="module")
def migrated(tmp_path_factory):
    """An app on a new SQLite file, upgraded to head by Flask-Migrate (not create_all)."""
    path = tmp_path_factory.mktemp("reference") / "reference.db"
    app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}"})
    with app.app_context():
        upgrade()
        config = app.extensions["migrate"].migrate.get_config()
        heads = set(ScriptDirectory.from_config(config).get_heads())
        assert set(db.session.scalars(text("SELECT version_num FROM alembic_version"))) == heads
        db.session.remove()
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def session(migrated):
    with migrated.app_context():
        yield db.session
        db.session.rollback()
        db.session.remove()


def test_the_five_service_categories(session):
    categories = session.scalars(select(ServiceCategory).order_by(ServiceCategory.number)).all()
    assert [c.number for c in categories] == [1, 2, 3, 4, 5]
    assert {c.number: c.name for c in categories} == CATEGORY_NAMES
    assert [c.code for c in categories] == [
        "national-fieldwork", "literature-reviews", "thematic-analysis", "lcspr-analysis",
        "accessible-reports",
    ]
    for category, seed in zip(categories, SERVICE_CATEGORIES, strict=True):
        assert category.is_open is True, category.number
        assert category.membership_months == 24, category.number
        # The wording: a description and published membership criteria, word for word.
        assert category.description == seed["description"]
        assert category.membership_criteria == seed["membership_criteria"]
        assert len(category.description) > 40 and len(category.membership_criteria) > 40
        assert category.updated_at is not None
    assert categories[0].description.startswith("Carrying out fieldwork")
    assert "enhanced DBS checks" in categories[0].membership_criteria
    assert "WCAG-conformant" in categories[4].membership_criteria


def test_the_declaration_questions(session):
    questions = session.scalars(
        select(DeclarationQuestion).order_by(DeclarationQuestion.position)
    ).all()
    assert len(questions) == 13
    assert [q.position for q in questions] == list(range(1, 14))
    assert [q.key for q in questions] == [row["key"] for row in DECLARATION_QUESTIONS]
    assert all(q.is_active for q in questions)
    assert Counter(q.section for q in questions) == {
        "mandatory": 4, "discretionary": 4, "insurance": 2, "data_protection": 1,
        "safeguarding": 2,
    }
    assert Counter(q.answer_type for q in questions) == {"yes_no": 11, "amount": 1, "date": 1}
    for question, row in zip(questions, DECLARATION_QUESTIONS, strict=True):
        assert question.text == row["text"]
        assert question.hint == row.get("hint")
        assert question.rule == row["rule"]
        assert question.details_required_on == row.get("details_required_on")

    # The stored rules assess as the issue says: mandatory grounds fail, discretionary
    # ones need judgement, cover below £1,000,000 needs judgement and none fails.
    by_key = {q.key: q for q in questions}
    today = date(2026, 6, 1)
    assert by_key["conviction_child_offence"].assess("yes", today) == "fail"
    assert by_key["conviction_child_offence"].assess("no", today) == "pass"
    assert by_key["insolvency"].assess("yes", today) == "needs_judgement"
    assert by_key["indemnity_amount"].assess("£1,000,000", today) == "pass"
    assert by_key["indemnity_amount"].assess("500000", today) == "needs_judgement"
    assert by_key["indemnity_amount"].assess("0", today) == "fail"
    assert by_key["indemnity_expiry"].assess("2026-05-31", today) == "fail"
    assert by_key["indemnity_expiry"].assess("2026-07-01", today) == "needs_judgement"
    assert by_key["indemnity_expiry"].assess("2027-06-01", today) == "pass"
    assert by_key["dbs_checks"].assess("no", today) == "fail"
    assert by_key["safeguarding_policy"].assess("no", today) == "needs_judgement"


def test_the_expertise_tags(session):
    tags = session.scalars(select(ExpertiseTag)).all()
    assert len(tags) == 20
    names = {t.name for t in tags}
    assert names == set(EXPERTISE_TAG_SEED)
    assert names >= ISSUE_TAGS
    assert not [t.name for t in tags if t.is_retired]


def test_the_seed_functions_agree_with_the_migrations(session):
    """The functions tests and the demo use to seed find nothing missing."""
    counts = [session.scalar(select(func.count()).select_from(model))
              for model in (ServiceCategory, DeclarationQuestion, ExpertiseTag)]
    seed_service_categories()
    assert seed_declaration_questions() == 0
    seed_expertise_tags()
    assert [session.scalar(select(func.count()).select_from(model))
            for model in (ServiceCategory, DeclarationQuestion, ExpertiseTag)] == counts
    assert counts == [5, 13, 20]
