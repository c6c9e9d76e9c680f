"""The evaluation demo step: commissions at each stage of evaluation, once."""

from __future__ import annotations

from sqlalchemy import func, select

from portal.demo import DemoContext
from portal.demo_evaluation import (
    IN_EVALUATION_TITLE,
    MODERATED_SEALED_TITLE,
    MODERATED_TITLE,
    OPENED_TITLE,
    seed_demo_evaluation,
)
from portal.demo_pool import seed_demo_pool
from portal.extensions import db
from portal.models.audit import AuditEvent
from portal.models.commissions import Commission, CommissionState
from portal.models.outbox import OutboxEmail
from portal.services import evaluation as service
from portal.services.ranking import rank_bids
from tests.fixtures.users import make_staff


def test_demo_evaluation_in_every_stage_and_idempotent(app):
    commissioner = make_staff("commissioner")
    evaluator = make_staff("evaluator", name="Daniel Okoye")
    seed_demo_pool(commissioner)
    db.session.commit()
    ctx = DemoContext(users={"commissioner": commissioner, "evaluator": evaluator})
    counts = seed_demo_evaluation(ctx)
    db.session.commit()
    assert counts["commissions"] == 4

    def by_title(title):
        return db.session.scalar(select(Commission).where(Commission.title == title))

    opened = by_title(OPENED_TITLE)
    assert opened.state == CommissionState.OPENED
    assert len(service.assignments(opened)) == 3
    in_evaluation = by_title(IN_EVALUATION_TITLE)
    assert in_evaluation.state == CommissionState.IN_EVALUATION
    assert [a.has_submitted for a in service.assignments(in_evaluation)] == [True, False, False]
    assert len(service.declared_conflicts(in_evaluation)) == 1
    moderated = by_title(MODERATED_TITLE)
    assert moderated.state == CommissionState.MODERATED
    assert moderated.price_opened_at is not None
    ranking = rank_bids(moderated)
    assert ranking.complete and len(ranking.rows) == 3
    assert len(ranking.flagged) == 1
    # Moderated through the real service, with the price envelope still closed: the
    # ranking is complete on quality alone and the commissioner can open the price.
    sealed = by_title(MODERATED_SEALED_TITLE)
    assert sealed.state == CommissionState.MODERATED
    assert sealed.moderated_at is not None and sealed.price_opened_at is None
    assert all(a.has_submitted for a in service.assignments(sealed))
    sealed_ranking = rank_bids(sealed)
    assert sealed_ranking.moderated and not sealed_ranking.price_open
    assert len(sealed_ranking.rows) == 3
    assert service.can_open_price(commissioner, sealed)

    def actions(commission):
        return set(db.session.scalars(select(AuditEvent.action).where(
            AuditEvent.object_type == "commissions",
            AuditEvent.object_id == str(commission.id))))

    assert "evaluation.moderation_completed" in actions(sealed)
    assert "evaluation.price_opened" not in actions(sealed)
    assert "evaluation.price_opened" in actions(moderated)
    assert db.session.scalar(select(OutboxEmail.id).where(
        OutboxEmail.template.like("evaluation%"))) is None

    commissions = db.session.scalar(select(func.count(Commission.id)))
    events = db.session.scalar(select(func.count(AuditEvent.id)))
    ctx = DemoContext(users={"commissioner": commissioner, "evaluator": evaluator})
    assert seed_demo_evaluation(ctx) == {"commissions": 0, "evaluators": 0}
    db.session.commit()
    assert db.session.scalar(select(func.count(Commission.id))) == commissions
    assert db.session.scalar(select(func.count(AuditEvent.id))) == events
