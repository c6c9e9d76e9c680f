"""Sealed bids on the audit page: before a commission's bids are opened, the admin page
and its CSV export do not say who bid (no events on its bids, no bid document uploads).
The chain itself still holds and verifies every event."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import select

from portal.audit import AuditFilters, count_events, sealed_bid_events, verify_chain
from portal.extensions import db
from portal.models.audit import AuditEvent
from portal.models.base import utcnow
from portal.services import bids as bid_service
from tests.bids_support import complete_bid, open_commission
from tests.fixtures.users import OrganisationFactory, make_staff, make_supplier


@pytest.fixture
def sealed(app):
    """A commission past its deadline with two submitted bids, still sealed."""
    commissioner = make_staff("commissioner")
    org_a = OrganisationFactory(legal_name="Alpha Bidders Ltd")
    org_b = OrganisationFactory(legal_name="Beta Bidders Ltd")
    owner_a = make_supplier(org_a, role="owner", email="alpha@alpha.example")
    owner_b = make_supplier(org_b, role="owner", email="beta@beta.example")
    with time_machine.travel(utcnow() - timedelta(days=20), tick=True):
        commission = open_commission(commissioner, org_a, org_b)
        complete_bid(owner_a, commission, submit=True)
        complete_bid(owner_b, commission, submit=True)
    return commission, commissioner


def sealed_ids() -> set[int]:
    return set(db.session.scalars(select(AuditEvent.id).where(sealed_bid_events())))


def predicate_ids() -> set[int]:
    events = db.session.scalars(select(AuditEvent)).all()
    return {e.id for e in events if bid_service.is_sealed_audit_event(e)}


def test_sql_rule_agrees_with_the_bids_service(sealed):
    commission, commissioner = sealed
    hidden = sealed_ids()
    assert hidden, "the bids should have written events"
    assert hidden == predicate_ids()
    bid_service.open_bids(commissioner, commission)
    db.session.commit()
    assert sealed_ids() == predicate_ids() == set()


def test_page_and_export_hide_who_bid_until_opening(sealed, client, sign_in):
    commission, commissioner = sealed
    total = db.session.scalar(select(db.func.count()).select_from(AuditEvent))
    hidden = len(sealed_ids())
    assert count_events(AuditFilters()) == total - hidden
    assert count_events(AuditFilters(hide_sealed=False)) == total

    sign_in(make_staff("admin"))
    html = client.get("/admin/audit").get_data(as_text=True)
    for secret in ("alpha@alpha.example", "beta@beta.example"):
        assert secret not in html
        assert (
            client.get(f"/admin/audit?actor_email={secret}")
            .get_data(as_text=True)
            .count('id="event-')
            == 0
        )
    response = client.get("/admin/audit.csv")
    db.session.remove()  # see tests/test_audit_admin.py: body()
    exported = response.get_data(as_text=True)
    assert "alpha@alpha.example" not in exported and "beta@beta.example" not in exported
    assert len(list(csv.DictReader(io.StringIO(exported)))) == total - hidden

    # The chain still has every event.
    report = verify_chain()
    db.session.rollback()
    assert report.ok and report.events_checked >= total

    # Once the bids are opened, the events appear.
    bid_service.open_bids(db.session.merge(commissioner), db.session.merge(commission))
    db.session.commit()
    html = client.get("/admin/audit?actor_email=alpha%40alpha.example").get_data(as_text=True)
    assert 'id="event-' in html


def _bids_of_every_kind(submitted: int):
    """A commission with `submitted` submitted bids, then one draft and one withdrawn."""
    commissioner = make_staff("commissioner")
    bidders = [OrganisationFactory(legal_name=f"Bidder {n} Ltd") for n in range(submitted + 2)]
    owners = [make_supplier(org, role="owner", email=f"owner{n}@bidder{n}.example")
              for n, org in enumerate(bidders)]
    commission = open_commission(commissioner, *bidders)
    for owner in owners[:submitted]:
        complete_bid(owner, commission, submit=True)
    complete_bid(owners[submitted], commission)  # a draft
    withdrawn = complete_bid(owners[submitted + 1], commission, submit=True)
    bid_service.withdraw(owners[submitted + 1], withdrawn)
    db.session.commit()
    return commission, commissioner


def _close(commission) -> None:
    from portal.services import commissions as commissions_service

    with time_machine.travel(commission.submission_deadline + timedelta(seconds=1)):
        assert commissions_service.close_due() == 1
        db.session.commit()


def _event(action: str) -> AuditEvent:
    return db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)).one()


def _mailed(template: str) -> list[str]:
    from portal.models.outbox import OutboxEmail

    return sorted(db.session.scalars(
        select(OutboxEmail.recipient).where(OutboxEmail.template == template)))


def test_closing_and_a_material_change_record_how_many_bids_not_whose(app):
    """The commission's own events are not hidden, so they must not name the bidders:
    they carry counts."""
    from portal.services import commissions as commissions_service
    from tests.commissions_support import criterion, details

    commission, commissioner = _bids_of_every_kind(submitted=2)
    commissions_service.change_material(
        commissioner, commission,
        details(1, specification="A new specification", max_budget_pence=10_000_00),
        [criterion()], 30, commission.clarification_deadline,
        commission.submission_deadline, "We changed the specification")
    db.session.commit()
    _close(commission)

    material = _event("commission.material_change").data
    assert material["bids_to_reconfirm"] == 2
    assert set(material) == {"version", "fields", "bids_to_reconfirm"}
    # Bids waiting for re-confirmation were still made: their bidders hear of the close.
    assert _event("commission.closed").data == {"bidders": 2, "emails": 2}
    assert _mailed("commission_bid_reconfirm") == [
        "owner0@bidder0.example", "owner1@bidder1.example"]


def test_closing_tells_only_the_submitted_bidders(app):
    commission, _commissioner = _bids_of_every_kind(submitted=1)
    _close(commission)
    assert _event("commission.closed").data == {"bidders": 1, "emails": 1}
    assert _mailed("commission_closed") == ["owner0@bidder0.example"]
