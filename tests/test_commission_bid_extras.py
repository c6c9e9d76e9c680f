"""Behaviours an audit found working but untested:

1. the commission documents form refuses an oversize upload (the per-file limit, with a
   GOV.UK error; a whole request over MAX_CONTENT_LENGTH, with the 413 page) and leaves
   no Document row, no link row and no stored or temporary file;
2. bidders see their bid's history and receipts after the deadline and after the bids
   are opened, and another invited supplier never sees them;
3. after a material change an invited supplier sees what changed and when on the
   opportunity page, and a supplier who was not invited gets 404.
"""

from __future__ import annotations

import io
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from sqlalchemy import func, select

from portal.extensions import db
from portal.models.audit import AuditEvent
from portal.models.base import utcnow
from portal.models.bids import Bid, BidStatus
from portal.models.commissions import (
    CommissionDocument,
    CommissionState,
    VersionKind,
)
from portal.models.document import Document
from portal.services import bids as bids_service
from portal.services import commissions as service
from portal.ukdatetime import format_uk
from tests.bids_support import complete_bid, open_commission
from tests.commissions_support import attach_document, criterion, make_draft, make_open
from tests.fixtures.users import OrganisationFactory, login_as, make_staff, make_supplier
from tests.pool_support import PDF_BYTES, make_membership

UPLOAD_LIMIT = 2048


@pytest.fixture
def app_overrides(tmp_path):
    """A small per-file limit, and a temporary folder of our own for uploads in flight so
    the tests can see that a refused upload leaves nothing there either."""
    upload_tmp = tmp_path / "upload-tmp"
    upload_tmp.mkdir()
    return {"UPLOAD_MAX_BYTES": UPLOAD_LIMIT, "UPLOAD_TEMP_DIR": str(upload_tmp)}


@pytest.fixture
def commissioner():
    return make_staff("commissioner", email="commissioner@panel.example")


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def _files(folder: str | Path) -> list[Path]:
    root = Path(folder)
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def _actions() -> list[str]:
    return list(db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.sequence)))


def _oversize_pdf() -> bytes:
    """A real PDF (so only its size is wrong), bigger than the per-file limit."""
    return PDF_BYTES + b"%" + b"x" * (UPLOAD_LIMIT * 2) + b"\n"


# --- 1. the commission documents form and oversize uploads --------------------------------


def _stored_state(app) -> tuple:
    db.session.expire_all()
    return (
        _count(Document),
        _count(CommissionDocument),
        _files(app.config["STORAGE_LOCAL_PATH"]),
        _files(app.config["UPLOAD_TEMP_DIR"]),
    )


def test_oversize_commission_document_is_refused_and_nothing_is_kept(
    app, client, sign_in, commissioner
):
    commission = make_draft(commissioner)
    sign_in(commissioner)
    url = f"/commissioning/commissions/{commission.id}/documents"
    # One document already attached, so "nothing more" is measured against a real store.
    response = attach_document(client, commission.id, "Terms", "terms.pdf")
    assert response.status_code == 302
    before = _stored_state(app)
    assert before[0] == 1 and before[1] == 1 and len(before[2]) == 1 and before[3] == []
    actions_before = _actions()

    big = _oversize_pdf()
    assert len(big) > UPLOAD_LIMIT
    response = client.post(url, data={"title": "Annex", "file": (io.BytesIO(big),
                                                                 "annex.pdf")},
                           content_type="multipart/form-data")
    assert response.status_code == 413
    page = response.get_data(as_text=True)
    # A GOV.UK error: the summary at the top, the message on the field, "Error:" in the
    # title, and the form shown again to choose another file.
    assert "There is a problem" in page
    assert "govuk-error-summary" in page
    assert page.count("The selected file must be smaller than 2 KB") >= 2
    assert "govuk-error-message" in page
    assert "<title>Error: Documents" in page
    assert 'enctype="multipart/form-data"' in page

    assert _stored_state(app) == before
    assert _actions() == actions_before  # no document.uploaded, no document_added
    db.session.expire_all()
    assert [d.title for d in service.current_documents(commission)] == ["Terms"]

    # The same file within the limit is accepted: the refusal was about size alone.
    response = attach_document(client, commission.id, "Annex", "annex.pdf")
    assert response.status_code == 302
    db.session.expire_all()
    assert [d.title for d in service.current_documents(commission)] == ["Terms", "Annex"]


def test_upload_exactly_at_the_limit_is_accepted(app, client, sign_in, commissioner):
    commission = make_draft(commissioner)
    sign_in(commissioner)
    exact = PDF_BYTES + b"%" + b"x" * (UPLOAD_LIMIT - len(PDF_BYTES) - 2) + b"\n"
    assert len(exact) == UPLOAD_LIMIT
    response = client.post(f"/commissioning/commissions/{commission.id}/documents",
                           data={"file": (io.BytesIO(exact), "exact.pdf")},
                           content_type="multipart/form-data")
    assert response.status_code == 302
    db.session.expire_all()
    [link] = service.current_documents(commission)
    assert link.document.size == UPLOAD_LIMIT
    # One byte more is refused.
    response = client.post(f"/commissioning/commissions/{commission.id}/documents",
                           data={"file": (io.BytesIO(exact + b" "), "over.pdf")},
                           content_type="multipart/form-data")
    assert response.status_code == 413
    assert _count(Document) == 1


def test_request_over_max_content_length_gets_the_413_page(app, client, sign_in,
                                                           commissioner):
    commission = make_draft(commissioner)
    sign_in(commissioner)
    app.config["MAX_CONTENT_LENGTH"] = UPLOAD_LIMIT * 2
    before = _stored_state(app)
    assert before[:2] == (0, 0)
    actions_before = _actions()
    response = client.post(
        f"/commissioning/commissions/{commission.id}/documents",
        data={"title": "Huge", "file": (io.BytesIO(PDF_BYTES + b"x" * UPLOAD_LIMIT * 3),
                                        "huge.pdf")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 413
    page = response.get_data(as_text=True)
    assert "The file or form you sent is too large" in page
    assert "govuk-heading-l" in page
    assert "Nothing has been saved" in page
    assert "Each file must be smaller than 2 KB." in page  # the limit as people read it
    assert _stored_state(app) == before
    assert _actions() == actions_before


# --- 2. bid history and receipts after the deadline and after opening --------------------

METHOD_A = "Alpha methodology 51c2: interviews first"
METHOD_B = "Beta methodology 9d4e: case files first"


@pytest.fixture
def closed_world(app, commissioner):
    """A commission whose deadline has passed: Alpha submitted twice (versions 1 and 2),
    Beta once, and Gamma (also invited) never started a bid."""
    org_a = OrganisationFactory(legal_name="Alpha Bidders Ltd")
    org_b = OrganisationFactory(legal_name="Beta Bidders Ltd")
    org_c = OrganisationFactory(legal_name="Gamma Bidders Ltd")
    users = {
        "owner_a": make_supplier(org_a, role="owner"),
        "member_a": make_supplier(org_a, role="member"),
        "owner_b": make_supplier(org_b, role="owner"),
        "owner_c": make_supplier(org_c, role="owner"),
    }
    with time_machine.travel(utcnow() - timedelta(days=20), tick=True):
        commission = open_commission(commissioner, org_a, org_b, org_c)
        bid_a = complete_bid(users["owner_a"], commission)
        bids_service.save_understanding(users["owner_a"], bid_a, "Understanding A",
                                        "First methodology")
        db.session.commit()
        bids_service.submit(users["owner_a"], bid_a)
        db.session.commit()
        bids_service.reopen(users["member_a"], bid_a)
        bids_service.save_understanding(users["member_a"], bid_a, "Understanding A",
                                        METHOD_A)
        bids_service.accept_declaration(users["member_a"], bid_a, True)
        db.session.commit()
        bids_service.submit(users["member_a"], bid_a)
        db.session.commit()
        bid_b = complete_bid(users["owner_b"], commission)
        bids_service.save_understanding(users["owner_b"], bid_b, "Understanding B", METHOD_B)
        db.session.commit()
        bids_service.submit(users["owner_b"], bid_b)
        db.session.commit()
    db.session.expire_all()
    assert commission.state_at(utcnow()) == CommissionState.CLOSED
    assert [v.number for v in bid_a.versions] == [1, 2]
    assert [v.number for v in bid_b.versions] == [1]
    return commission, users, bid_a, bid_b


def _bidder_pages(app, commission, users, bid_a, bid_b) -> None:
    base = f"/opportunities/{commission.id}/bid"
    a_digests = [v.content_sha256 for v in bid_a.versions]
    a_receipts = [v.receipt.reference for v in bid_a.versions]
    b_version = bid_b.versions[0]

    # Every user of the bidding organisation sees the history and every receipt.
    for who in ("owner_a", "member_a"):
        with app.test_client() as client:
            login_as(client, users[who])
            history = client.get(f"{base}/history")
            assert history.status_code == 200, who
            text = history.get_data(as_text=True)
            assert "Your submitted versions and receipts" in text
            for reference in a_receipts:
                assert reference in text
            assert "Beta Bidders" not in text and b_version.receipt.reference not in text
            for version, digest in zip(bid_a.versions, a_digests, strict=True):
                receipt = client.get(f"{base}/versions/{version.number}")
                assert receipt.status_code == 200, (who, version.number)
                text = receipt.get_data(as_text=True)
                assert f"Receipt for your bid, version {version.number}" in text
                assert digest in text
                assert version.receipt.reference in text
                assert "Alpha Bidders Ltd" in text
                assert "Beta Bidders" not in text and METHOD_B not in text
                assert b_version.content_sha256 not in text
            latest = client.get(f"{base}/versions/2").get_data(as_text=True)
            assert METHOD_A in latest
            assert client.get(f"{base}/versions/3").status_code == 404

    # An invited supplier with no bid: 404 for the history and for every receipt.
    with app.test_client() as client:
        login_as(client, users["owner_c"])
        for url in (f"{base}/history", f"{base}/versions/1", f"{base}/versions/2"):
            response = client.get(url)
            assert response.status_code == 404, url
            assert b"Alpha Bidders" not in response.data

    # An invited supplier with a bid of its own sees only its own: Alpha's version 2 is
    # not there for it, and its pages name nothing of Alpha's bid.
    with app.test_client() as client:
        login_as(client, users["owner_b"])
        assert client.get(f"{base}/versions/2").status_code == 404
        for url in (f"{base}/history", f"{base}/versions/1"):
            response = client.get(url)
            assert response.status_code == 200, url
            text = response.get_data(as_text=True)
            assert b_version.receipt.reference in text
            assert "Alpha Bidders" not in text and METHOD_A not in text
            for digest in a_digests:
                assert digest not in text
            for reference in a_receipts:
                assert reference not in text


def test_bidders_see_history_and_receipts_after_the_deadline(app, closed_world):
    commission, users, bid_a, bid_b = closed_world
    assert commission.bids_opened_at is None
    _bidder_pages(app, commission, users, bid_a, bid_b)


def test_bidders_see_history_and_receipts_after_the_bids_are_opened(app, closed_world,
                                                                    commissioner):
    commission, users, bid_a, bid_b = closed_world
    bids_service.open_bids(commissioner, commission)
    db.session.commit()
    db.session.expire_all()
    assert commission.state_at(utcnow()) == CommissionState.OPENED
    _bidder_pages(app, commission, users, bid_a, bid_b)


# --- 3. what changed, for invitees, after a material change -------------------------------

NOTE = "We have added a second site visit in Leeds."
NEW_SPEC = "# Scope\n\nTwo sites: **Leeds** and Hull."


def test_invitees_see_a_material_change_and_outsiders_get_404(app, commissioner):
    bidder_org = OrganisationFactory(legal_name="Bidding Reviews Ltd")
    watcher_org = OrganisationFactory(legal_name="Watching Reviews Ltd")
    bidder = make_supplier(bidder_org, email="bidder@bidding.example")
    watcher = make_supplier(watcher_org, email="watcher@watching.example")
    commission = make_open(commissioner, members=[bidder_org, watcher_org])
    bid = complete_bid(bidder, commission, submit=True)
    # Not invited: an active member of the same category who joined after publication,
    # and a supplier of another category altogether.
    late_org = OrganisationFactory(legal_name="Late Joiners Ltd")
    late = make_supplier(late_org)
    make_membership(late_org, number=1)
    stranger_org = OrganisationFactory(legal_name="Other Category Ltd")
    stranger = make_supplier(stranger_org)
    make_membership(stranger_org, number=2)

    when = (utcnow() + timedelta(days=1)).replace(microsecond=0)
    old_deadline = commission.submission_deadline
    with time_machine.travel(when, tick=False):
        details = service.DetailsInput(
            category_id=None, title=commission.title, summary=commission.summary,
            specification=NEW_SPEC, deliverables=commission.deliverables,
            timescale=commission.timescale, max_budget_pence=commission.max_budget_pence,
        )
        version = service.change_material(
            commissioner, commission, details, [criterion("Methodology", 60)], 40,
            commission.clarification_deadline, old_deadline, NOTE,
        )
        db.session.commit()
    db.session.expire_all()
    assert version.number == 2
    assert version.kind == VersionKind.MATERIAL_CHANGE
    assert version.created_at == when
    assert set(version.changes) == {"specification", "criteria", "price_weight"}
    assert db.session.get(Bid, bid.id).status == BidStatus.NEEDS_RECONFIRMATION

    page_url = f"/opportunities/{commission.id}"

    def seen_by(supplier):
        """The commission's page and the opportunities list, an hour after the change."""
        with time_machine.travel(when + timedelta(hours=1), tick=False), \
                app.test_client() as client:
            login_as(client, supplier)
            return client.get(page_url), client.get("/opportunities")

    for supplier in (bidder, watcher):
        response, _ = seen_by(supplier)
        assert response.status_code == 200, supplier.email
        text = response.get_data(as_text=True)
        assert "This commission has changed since it was published" in text
        assert f"Last change: {format_uk(when)}" in text
        history = text[text.index('id="history"'):]
        assert "Version 2: Specification or criteria changed" in history
        assert format_uk(when) in history
        assert NOTE in history
        for label in ("Specification changed", "Evaluation criteria changed",
                      "Price weight changed"):
            assert label in history, label
        assert "Submission deadline moved" not in history  # it did not move
        # And the page shows the content as it now is.
        assert "<strong>Leeds</strong>" in text

    for supplier in (late, stranger):
        response, opportunities = seen_by(supplier)
        assert response.status_code == 404, supplier.email
        assert NOTE.encode() not in response.data
        assert b"Leeds" not in response.data
        assert commission.reference.encode() not in opportunities.data
