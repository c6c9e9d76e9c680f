"""References are unique under concurrency (the year's counter row is locked), and a
double-clicked publish invites once. Runs on SQLite (BEGIN IMMEDIATE) and, with
TEST_DATABASE_URL, on PostgreSQL (SELECT ... FOR UPDATE)."""

from __future__ import annotations

from sqlalchemy import func, select

from portal.extensions import db
from portal.models.accounts import User
from portal.models.commissions import Commission, Invitation
from portal.models.outbox import OutboxEmail
from portal.services import commissions as service
from tests.commissions_support import details, make_draft
from tests.concurrency_support import run_at_once
from tests.fixtures.users import OrganisationFactory, make_staff, make_supplier
from tests.pool_support import make_membership


def test_concurrent_drafts_get_distinct_references(app):
    commissioner_id = make_staff("commissioner").id

    def work(number):
        actor = db.session.get(User, commissioner_id)
        service.create_draft(actor, details(1, title=f"Draft {number}"))
        db.session.commit()

    errors = run_at_once(app, 10, work)
    assert not errors, errors
    db.session.expire_all()
    references = list(db.session.scalars(select(Commission.reference)))
    assert len(references) == 10
    assert len(set(references)) == 10
    numbers = sorted(int(r.rsplit("-", 1)[1]) for r in references)
    assert numbers == list(range(1, 11))


def test_double_publish_invites_once(app):
    commissioner = make_staff("commissioner")
    organisation = OrganisationFactory()
    make_supplier(organisation)
    make_membership(organisation, number=1)
    commission_id = make_draft(commissioner).id
    commissioner_id = commissioner.id
    refused: list[str] = []

    def work(_number):
        actor = db.session.get(User, commissioner_id)
        commission = db.session.get(Commission, commission_id)
        try:
            service.publish(actor, commission)
        except service.CommissionError as error:
            db.session.rollback()
            refused.append(error.message)
            return
        db.session.commit()

    errors = run_at_once(app, 6, work)
    assert not errors, errors
    assert len(refused) == 5
    db.session.expire_all()
    assert db.session.scalar(select(func.count(Invitation.id))) == 1
    assert db.session.scalar(select(func.count(OutboxEmail.id)).where(
        OutboxEmail.template == "commission_invitation")) == 1
