"""`flask seed-demo` shows every award state (proposed, returned by the approving admin,
standstill, withdrawn during the standstill, a confirmed contract, no suitable bid), each
reached through the award services with their audit events, its OCDS feed holds award and
contract releases that validate, and running it again adds nothing."""

from __future__ import annotations

import importlib.util
from datetime import UTC, datetime, time

import pytest
from sqlalchemy import func, select

from portal import demo
from portal.demo_award import (
    CONTRACT_TITLE,
    NO_SUITABLE_TITLE,
    PROPOSED_TITLE,
    RETURN_REASON,
    RETURNED_TITLE,
    STANDSTILL_TITLE,
    WITHDRAWAL_REASON,
    WITHDRAWN_TITLE,
    _working_day_at,
)
from portal.extensions import db
from portal.models.accounts import User
from portal.models.audit import AuditEvent
from portal.models.award import Award, AwardStatus, OcdsRelease, OutcomeLetter
from portal.models.base import utcnow
from portal.models.commissions import Commission, CommissionState
from portal.models.outbox import OutboxEmail
from tests.award_support import OCDS_DIR
from tests.fixtures.users import login_as

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("portal.demo_evaluation") is None,
    reason="needs the evaluation demo step")


def _commission(title: str) -> Commission:
    return db.session.scalar(select(Commission).where(Commission.title == title))


def _state(title: str):
    return _commission(title).state


def _only_award(title: str) -> Award:
    awards = db.session.scalars(
        select(Award).where(Award.commission_id == _commission(title).id)).all()
    assert len(awards) == 1
    return awards[0]


def _audited(award: Award) -> list[AuditEvent]:
    return list(db.session.scalars(
        select(AuditEvent).where(AuditEvent.object_type == "awards",
                                 AuditEvent.object_id == str(award.id))
        .order_by(AuditEvent.sequence)))


def _counts() -> dict:
    return {model.__name__: db.session.scalar(select(func.count(model.id)))
            for model in (Commission, Award, OutcomeLetter, OcdsRelease, AuditEvent,
                          OutboxEmail)}


def test_demo_award_states_and_open_data(app, client):
    demo.seed()
    db.session.commit()
    assert _state(PROPOSED_TITLE) == CommissionState.AWARD_PROPOSED
    assert _state(STANDSTILL_TITLE) == CommissionState.STANDSTILL
    assert _state(CONTRACT_TITLE) == CommissionState.IN_DELIVERY
    assert _state(NO_SUITABLE_TITLE) == CommissionState.CANCELLED
    seeded = utcnow()

    # Proposed (the second-ranked bid, with a reason) and returned by a different admin,
    # with a reason: the commission is moderated again, waiting for a new proposal.
    admin = db.session.scalar(select(User).where(User.email == "admin@panel.example"))
    commissioner = db.session.scalar(
        select(User).where(User.email == "commissioner@panel.example"))
    assert _state(RETURNED_TITLE) == CommissionState.MODERATED
    returned = _only_award(RETURNED_TITLE)
    assert returned.status == AwardStatus.RETURNED
    assert returned.return_reason == RETURN_REASON
    assert not returned.top_ranked and returned.reason
    assert returned.proposed_by_id == commissioner.id
    assert returned.returned_by_id == admin.id
    assert returned.letters == []
    assert returned.proposed_at < returned.returned_at <= seeded
    assert returned.commission.price_opened_at < returned.proposed_at
    assert [(e.action, e.actor_id) for e in _audited(returned)] == [
        ("award.proposed", commissioner.id), ("award.returned", admin.id)]

    # Approved, letters written, then withdrawn by the commissioner during the
    # standstill, with a reason: moderated again, an awardCancellation release.
    assert _state(WITHDRAWN_TITLE) == CommissionState.MODERATED
    withdrawn = _only_award(WITHDRAWN_TITLE)
    assert withdrawn.status == AwardStatus.WITHDRAWN
    assert withdrawn.withdrawal_reason == WITHDRAWAL_REASON
    assert withdrawn.approved_by_id == admin.id
    assert withdrawn.withdrawn_by_id == commissioner.id
    assert len(withdrawn.letters) == 2
    assert (withdrawn.proposed_at < withdrawn.approved_at < withdrawn.withdrawn_at
            < withdrawn.standstill_ends_at)
    assert withdrawn.withdrawn_at <= seeded
    assert [e.action for e in _audited(withdrawn)] == [
        "award.proposed", "award.approved", "award.withdrawn"]
    assert db.session.scalar(select(OcdsRelease.tag).where(
        OcdsRelease.commission_id == withdrawn.commission_id,
        OcdsRelease.tag == "awardCancellation")) == "awardCancellation"

    # The commissioner's award page shows each returned or withdrawn award and its reason.
    login_as(client, commissioner)
    page = client.get(f"/commissioning/commissions/{returned.commission_id}/award")
    assert page.status_code == 200
    assert "start date was not an award criterion" in page.get_data(as_text=True)
    page = client.get(f"/commissioning/commissions/{withdrawn.commission_id}/award")
    assert page.status_code == 200
    assert "leaves out the two practitioner workshops" in page.get_data(as_text=True)
    assert db.session.scalar(select(func.count(OutcomeLetter.id))) >= 8
    assert db.session.scalar(select(func.count(OutboxEmail.id)).where(
        OutboxEmail.template.like("outcome%") | OutboxEmail.template.like("award%"))) == 0
    tags = set(db.session.scalars(select(OcdsRelease.tag)))
    assert {"tender", "award", "contract", "tenderUpdate"} <= tags

    package = client.get("/api/ocds/releases?per_page=250").get_json()
    # Nothing in the story is dated after the moment it was seeded.
    assert max(db.session.scalars(select(OcdsRelease.date))) <= seeded
    assert datetime.fromisoformat(package["publishedDate"]) <= seeded
    if OCDS_DIR.is_dir():
        from tests.test_ocds import assert_valid

        assert_valid(package)
        contract = db.session.scalar(select(OcdsRelease).where(OcdsRelease.tag == "contract"))
        record = client.get(f"/api/ocds/records/{contract.ocid}").get_json()
        assert_valid(record, "record-package-schema.json")

    assert max(db.session.scalars(select(Award.proposed_at))) <= seeded
    assert max(db.session.scalars(select(OutcomeLetter.created_at))) <= seeded

    # Seeding again adds nothing: no commission, award, letter, release, event or mail.
    before = _counts()
    result = demo.seed()
    db.session.commit()
    assert not any(result.counts["award"].values())
    assert not any(result.counts["evaluation"].values())
    assert _counts() == before


def test_demo_moments_fall_on_past_working_days_in_office_hours():
    # Tuesday 29 December 2026: Christmas Day is a Friday, Boxing Day's bank holiday is
    # moved to Monday 28 December.
    now = datetime(2026, 12, 29, 8, 0, tzinfo=UTC)
    assert _working_day_at(now, 1, time(14, 15)) == datetime(2026, 12, 24, 14, 15, tzinfo=UTC)
    assert _working_day_at(now, 2, time(10, 30)) == datetime(2026, 12, 23, 10, 30, tzinfo=UTC)
    # In British Summer Time the UK time of day is an hour ahead of UTC.
    summer = datetime(2026, 6, 15, 9, 0, tzinfo=UTC)  # a Monday
    assert _working_day_at(summer, 6, time(9, 45)) == datetime(2026, 6, 5, 8, 45, tzinfo=UTC)
