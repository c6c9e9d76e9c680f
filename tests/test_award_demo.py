"""`flask seed-demo` shows every award state (proposed, standstill, a confirmed contract,
no suitable bid), its OCDS feed holds award and contract releases that validate, and
running it again adds nothing."""

from __future__ import annotations

import importlib.util
from datetime import datetime

import pytest
from sqlalchemy import func, select

from portal import demo
from portal.demo_award import CONTRACT_TITLE, NO_SUITABLE_TITLE, PROPOSED_TITLE, STANDSTILL_TITLE
from portal.extensions import db
from portal.models.award import OcdsRelease, OutcomeLetter
from portal.models.base import utcnow
from portal.models.commissions import Commission, CommissionState
from portal.models.outbox import OutboxEmail
from tests.award_support import OCDS_DIR

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("portal.demo_evaluation") is None,
    reason="needs the evaluation demo step")


def _state(title: str):
    return db.session.scalar(select(Commission).where(Commission.title == title)).state


def test_demo_award_states_and_open_data(app, client):
    demo.seed()
    db.session.commit()
    assert _state(PROPOSED_TITLE) == CommissionState.AWARD_PROPOSED
    assert _state(STANDSTILL_TITLE) == CommissionState.STANDSTILL
    assert _state(CONTRACT_TITLE) == CommissionState.IN_DELIVERY
    assert _state(NO_SUITABLE_TITLE) == CommissionState.CANCELLED
    assert db.session.scalar(select(func.count(OutcomeLetter.id))) >= 8
    assert db.session.scalar(select(func.count(OutboxEmail.id)).where(
        OutboxEmail.template.like("outcome%") | OutboxEmail.template.like("award%"))) == 0
    tags = set(db.session.scalars(select(OcdsRelease.tag)))
    assert {"tender", "award", "contract", "tenderUpdate"} <= tags

    package = client.get("/api/ocds/releases?per_page=250").get_json()
    # Nothing in the story is dated after the moment it was seeded.
    seeded = utcnow()
    assert max(db.session.scalars(select(OcdsRelease.date))) <= seeded
    assert datetime.fromisoformat(package["publishedDate"]) <= seeded
    if OCDS_DIR.is_dir():
        from tests.test_ocds import assert_valid

        assert_valid(package)
        contract = db.session.scalar(select(OcdsRelease).where(OcdsRelease.tag == "contract"))
        record = client.get(f"/api/ocds/records/{contract.ocid}").get_json()
        assert_valid(record, "record-package-schema.json")

    before = db.session.scalar(select(func.count(OcdsRelease.id)))
    demo.seed()
    db.session.commit()
    assert db.session.scalar(select(func.count(OcdsRelease.id))) == before
