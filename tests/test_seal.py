"""Sealed bids: before the commission's bids are opened, no panel role (commissioner,
evaluator, admin) can see who bid, what they bid or any document: every route, export
and download that could reveal a bid answers 404, and no presigned URL is ever made.
Staff see at most how many bids were submitted. After the deadline a commissioner opens
the bids (an audit event) and only then can commissioners see them."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import select

from portal.extensions import db
from portal.models.audit import AuditEvent
from portal.models.bids import Bid
from portal.models.commissions import Commission
from portal.services import bids as service
from portal.storage.s3 import S3Storage
from tests.bids_support import complete_bid, open_commission
from tests.fixtures.users import OrganisationFactory, login_as, make_staff, make_supplier

STAFF_ROLES = ("commissioner", "evaluator", "admin")
SECRET_METHOD = "Our secret methodology 7f3a"


@pytest.fixture
def sealed(app):
    """A commission past its deadline with two submitted bids, still sealed."""
    commissioner = make_staff("commissioner")
    org_a = OrganisationFactory(legal_name="Alpha Bidders Ltd")
    org_b = OrganisationFactory(legal_name="Beta Bidders Ltd")
    owner_a = make_supplier(org_a, role="owner")
    owner_b = make_supplier(org_b, role="owner")
    with time_machine.travel(_past(), tick=True):
        commission = open_commission(commissioner, org_a, org_b)
        bid_a = complete_bid(owner_a, commission)
        service.save_understanding(owner_a, bid_a, "Understanding", SECRET_METHOD)
        db.session.commit()
        service.submit(owner_a, bid_a)
        db.session.commit()
        bid_b = complete_bid(owner_b, commission, submit=True)
    staff = {role: make_staff(role) for role in STAFF_ROLES}
    staff["commissioner"] = commissioner
    return commission, staff, (bid_a, bid_b)


def _past():
    from portal.models.base import utcnow

    return utcnow() - timedelta(days=20)


def _bid_urls(commission: Commission, bids) -> list[str]:
    urls = [f"/commissioning/commissions/{commission.id}/bids.csv"]
    for bid in bids:
        urls.append(f"/commissioning/commissions/{commission.id}/bids/{bid.id}")
        urls += [f"/documents/{d.document_id}" for d in bid.documents]
    return urls


def _all_reveal_nothing(client, commission, bids):
    for url in _bid_urls(commission, bids):
        response = client.get(url)
        assert response.status_code == 404, url
        assert "Location" not in response.headers


@pytest.mark.parametrize("role", STAFF_ROLES)
def test_nothing_is_visible_before_opening(app, sealed, role):
    commission, staff, bids = sealed
    with app.test_client() as client:
        login_as(client, staff[role])
        _all_reveal_nothing(client, commission, bids)
        listing = client.get(f"/commissioning/commissions/{commission.id}/bids")
        if role == "commissioner":
            assert listing.status_code == 200
            assert b"Submitted bids: <strong>2</strong>" in listing.data
            for name in (b"Alpha Bidders", b"Beta Bidders", SECRET_METHOD.encode()):
                assert name not in listing.data
        else:
            assert listing.status_code == 403


@pytest.mark.parametrize("role", STAFF_ROLES)
def test_nothing_is_visible_while_bidding_is_open(app, role):
    commissioner = make_staff("commissioner")
    organisation = OrganisationFactory()
    owner = make_supplier(organisation, role="owner")
    commission = open_commission(commissioner, organisation)
    bid = complete_bid(owner, commission, submit=True)
    person = commissioner if role == "commissioner" else make_staff(role)
    with app.test_client() as client:
        login_as(client, person)
        _all_reveal_nothing(client, commission, [bid])
        # Opening before the deadline is refused and changes nothing.
        response = client.post(f"/commissioning/commissions/{commission.id}/bids/open",
                               follow_redirects=True)
        if role == "commissioner":
            assert b"only be opened after the submission deadline" in response.data
        else:
            assert response.status_code == 403
    db.session.refresh(commission)
    assert commission.bids_opened_at is None


def test_commission_pages_show_no_bid_content(app, sealed):
    commission, staff, _bids = sealed
    with app.test_client() as client:
        login_as(client, staff["commissioner"])
        page = client.get(f"/commissioning/commissions/{commission.id}")
        assert page.status_code == 200
        assert SECRET_METHOD.encode() not in page.data


def test_opening_unseals_for_commissioners_only(app, sealed):
    commission, staff, bids = sealed
    with app.test_client() as client:
        login_as(client, staff["commissioner"])
        response = client.post(f"/commissioning/commissions/{commission.id}/bids/open")
        assert response.status_code == 302
        listing = client.get(f"/commissioning/commissions/{commission.id}/bids")
        assert b"Alpha Bidders" in listing.data and b"Beta Bidders" in listing.data
        for url in _bid_urls(commission, bids):
            assert client.get(url).status_code in (200, 302), url
        page = client.get(f"/commissioning/commissions/{commission.id}/bids/{bids[0].id}")
        assert SECRET_METHOD.encode() in page.data
        csv = client.get(f"/commissioning/commissions/{commission.id}/bids.csv")
        assert bids[0].latest_version.content_sha256.encode() in csv.data
        # Opening twice is refused.
        again = client.post(f"/commissioning/commissions/{commission.id}/bids/open",
                            follow_redirects=True)
        assert b"cannot be opened now" in again.data
    event = db.session.scalar(select(AuditEvent).where(
        AuditEvent.action == "commission.bids_opened"))
    assert event.actor_id == staff["commissioner"].id and event.data["submitted_bids"] == 2
    for role in ("evaluator", "admin"):
        with app.test_client() as client:
            login_as(client, staff[role])
            _all_reveal_nothing(client, commission, bids)


def test_withdrawn_and_draft_bids_stay_hidden_after_opening(app):
    commissioner = make_staff("commissioner")
    org_a, org_b = OrganisationFactory(), OrganisationFactory()
    owner_a, owner_b = make_supplier(org_a), make_supplier(org_b)
    with time_machine.travel(_past(), tick=True):
        commission = open_commission(commissioner, org_a, org_b)
        withdrawn = complete_bid(owner_a, commission, submit=True)
        service.withdraw(owner_a, withdrawn)
        draft = complete_bid(owner_b, commission)
        db.session.commit()
    service.open_bids(commissioner, commission)
    db.session.commit()
    assert service.bids_for_staff(commissioner, commission) == []
    with app.test_client() as client:
        login_as(client, commissioner)
        for url in _bid_urls(commission, [withdrawn, draft])[1:]:
            assert client.get(url).status_code == 404, url
        csv = client.get(f"/commissioning/commissions/{commission.id}/bids.csv")
        assert csv.data.decode().strip().count("\n") == 0  # the header only


def test_s3_no_presigned_url_for_sealed_bids(s3_app, sealed, monkeypatch):
    commission, staff, bids = sealed
    made = []
    original = S3Storage.presigned_url

    def spy(self, *args, **kwargs):
        made.append(args[0])
        return original(self, *args, **kwargs)

    monkeypatch.setattr(S3Storage, "presigned_url", spy)
    # The documents were stored before the switch to S3: put them there too.
    from portal.storage import get_storage

    storage = get_storage(s3_app)
    import io

    for bid in bids:
        for link in bid.documents:
            storage.put(link.document.storage_key, io.BytesIO(b"%PDF-1.4\n"),
                        link.document.content_type, 9)
    for role in STAFF_ROLES:
        with s3_app.test_client() as client:
            login_as(client, staff[role])
            _all_reveal_nothing(client, commission, bids)
    assert made == []
    # After opening, the commissioner gets a presigned link.
    service.open_bids(staff["commissioner"], commission)
    db.session.commit()
    with s3_app.test_client() as client:
        login_as(client, staff["commissioner"])
        document_id = bids[0].documents[0].document_id
        response = client.get(f"/documents/{document_id}")
        assert response.status_code == 302
    assert len(made) == 1


def test_download_rule_for_staff_is_false_before_opening(sealed):
    _commission, staff, bids = sealed
    for bid in bids:
        for link in bid.documents:
            for person in staff.values():
                assert link.document.can_download(person) is False
    fresh = db.session.get(Bid, bids[0].id)
    assert all(not fresh.can_view(p) for p in staff.values())


def test_sealed_audit_events_are_recognised(sealed):
    commission, staff, _bids = sealed
    events = db.session.scalars(select(AuditEvent).where(
        AuditEvent.object_type == "bids")).all()
    assert events and all(service.is_sealed_audit_event(e) for e in events)
    uploads = db.session.scalars(select(AuditEvent).where(
        AuditEvent.action == "document.uploaded")).all()
    assert uploads and all(service.is_sealed_audit_event(e) for e in uploads)
    service.open_bids(staff["commissioner"], commission)
    db.session.commit()
    assert not any(service.is_sealed_audit_event(e) for e in events + uploads)


def _sweep_urls(app, commission: Commission, bids) -> list[str]:
    """Every GET page a signed-in person could open about this commission or its bids,
    and every page that needs no identifier at all (lists, exports, the audit trail, open
    data): the whole surface through which a sealed bid could show."""
    fillers = {"commission_id": [commission.id], "bid_id": [bid.id for bid in bids]}
    urls = []
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.endpoint in ("static", "assets"):
            continue
        if not set(rule.arguments) <= set(fillers):
            continue
        choices = [{}]
        for name in rule.arguments:
            choices = [{**c, name: value} for c in choices for value in fillers[name]]
        with app.test_request_context():
            from flask import url_for

            urls += [url_for(rule.endpoint, **values) for values in choices]
    return sorted(set(urls))


@pytest.mark.parametrize("role", STAFF_ROLES)
def test_no_page_or_export_shows_a_sealed_bid(app, sealed, role):
    commission, staff, bids = sealed
    documents = [str(d.document_id) for bid in bids for d in bid.documents]
    titles = {d.title for bid in bids for d in bid.documents}
    bid_ids = [bid.id for bid in bids]
    urls = _sweep_urls(app, commission, bids)
    assert f"/evaluation/commissions/{commission.id}" in urls  # the sweep reaches them
    assert f"/commissioning/commissions/{commission.id}/award" in urls
    db.session.commit()  # nothing held open while the app answers
    with app.test_client() as client:
        login_as(client, staff[role])
        for url in urls:
            response = client.get(url)
            # A streamed export reads on its own connection after the request; let the
            # test's session (and SQLite's lock) go first, as a real request's would.
            # See tests/test_audit_admin.py: body().
            db.session.remove()
            body = response.get_data(as_text=True) + response.headers.get("Location", "")
            assert SECRET_METHOD not in body, url
            for document_id in documents:
                assert document_id not in body, url
            for title in titles:
                assert title not in body, url
            for bid_id in bid_ids:
                assert f"/bids/{bid_id}" not in body, url


def test_the_sweep_finds_the_bid_once_opened(app, sealed):
    """The control for the test above: after opening, the same sweep shows the bid to
    the commissioner, so the sweep does reach the pages that would leak it."""
    commission, staff, bids = sealed
    service.open_bids(staff["commissioner"], commission)
    db.session.commit()
    urls = _sweep_urls(app, commission, bids)
    with app.test_client() as client:
        login_as(client, staff["commissioner"])
        showing = []
        for url in urls:
            response = client.get(url)
            db.session.remove()
            if SECRET_METHOD in response.get_data(as_text=True):
                showing.append(url)
    assert f"/commissioning/commissions/{commission.id}/bids/{bids[0].id}" in showing
