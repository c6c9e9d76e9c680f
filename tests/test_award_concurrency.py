"""Exactly one award and one set of letters under concurrency: ten admins approving the
same proposal at once, ten double-clicked proposals. The PostgreSQL tests (SELECT ...
FOR UPDATE on the commission row, the partial unique index) run when TEST_DATABASE_URL
is set; the SQLite variant (BEGIN IMMEDIATE) always runs."""

from __future__ import annotations

import os

import pytest
from sqlalchemy import func, select

from portal.extensions import db
from portal.models.accounts import User
from portal.models.audit import AuditEvent
from portal.models.award import Award, AwardStatus, OcdsRelease, OutcomeLetter
from portal.models.commissions import Commission
from portal.models.outbox import OutboxEmail
from portal.services import award as service
from tests.award_support import admin, evaluated_commission
from tests.concurrency_support import run_at_once

THREADS = 10
on_postgres = pytest.mark.skipif(not os.environ.get("TEST_DATABASE_URL"),
                                 reason="needs PostgreSQL (TEST_DATABASE_URL)")




def _count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where)) or 0


def _ten_admins_approve(app):
    ev = evaluated_commission()
    award = service.propose(ev.commissioner, ev.commission, None, "")
    db.session.commit()
    admin_ids = [admin(f"admin{n}@panel.example").id for n in range(THREADS)]
    award_id = award.id
    approved: list[int] = []
    refused: list[str] = []

    def work(number: int) -> None:
        actor = db.session.get(User, admin_ids[number])
        try:
            service.approve(actor, db.session.get(Award, award_id))
            db.session.commit()
            approved.append(number)
        except service.AwardError as error:
            db.session.rollback()
            refused.append(error.message)

    errors = run_at_once(app, THREADS, work)
    assert not errors, errors
    db.session.expire_all()
    assert len(approved) == 1, (approved, refused)
    assert len(refused) == THREADS - 1
    assert all("already been decided" in message for message in refused)
    award = db.session.get(Award, award_id)
    assert award.status == AwardStatus.APPROVED
    assert award.approved_by_id == admin_ids[approved[0]]
    # one set of letters, one e-mail per bidder's user, one event, one release
    assert _count(OutcomeLetter) == 3
    assert _count(OutboxEmail, OutboxEmail.template == "outcome_letter") == 3
    assert _count(AuditEvent, AuditEvent.action == "award.approved") == 1
    assert _count(OcdsRelease, OcdsRelease.tag == "award") == 1
    commission = db.session.get(Commission, ev.commission.id)
    assert commission.standstill_started_at == award.approved_at


def _ten_proposals(app):
    ev = evaluated_commission()
    commissioner_id = ev.commissioner.id
    commission_id = ev.commission.id
    made: list[int] = []

    def work(_number: int) -> None:
        actor = db.session.get(User, commissioner_id)
        try:
            award = service.propose(actor, db.session.get(Commission, commission_id), None, "")
            db.session.commit()
            made.append(award.id)
        except service.AwardError:
            db.session.rollback()

    errors = run_at_once(app, THREADS, work)
    assert not errors, errors
    assert len(made) == 1
    assert _count(Award) == 1
    assert _count(AuditEvent, AuditEvent.action == "award.proposed") == 1


@on_postgres
@pytest.mark.postgres
def test_ten_admins_approve_at_once_on_postgres(app):
    _ten_admins_approve(app)


@on_postgres
@pytest.mark.postgres
def test_ten_proposals_at_once_on_postgres(app):
    _ten_proposals(app)


@pytest.mark.skipif(bool(os.environ.get("TEST_DATABASE_URL")), reason="SQLite variant")
def test_ten_admins_approve_at_once_on_sqlite(app):
    _ten_admins_approve(app)
