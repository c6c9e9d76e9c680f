"""The supplier's bid journey through the pages, with bad input on every form: a clear
error, and nothing saved."""

from __future__ import annotations

import hashlib
import io
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from portal import audit
from portal.extensions import db
from portal.models.audit import AuditEvent
from portal.models.bids import Bid, BidDocument, BidStatus, BidTeamMember, BidVersion
from portal.models.document import Document
from portal.models.outbox import OutboxEmail
from portal.services import bids as service
from tests.bids_support import PDF_BYTES, complete_bid, open_commission, profile
from tests.fixtures.users import OrganisationFactory, make_staff, make_supplier


@pytest.fixture
def world(app):
    commissioner = make_staff("commissioner")
    org_a = OrganisationFactory(legal_name="Northern Reviews Ltd")
    org_b = OrganisationFactory(legal_name="Southern Research CIC")
    owner_a = make_supplier(org_a, role="owner", email="owner@northern.example")
    member_b = make_supplier(org_b, role="owner", email="owner@southern.example")
    commission = open_commission(commissioner, org_a, org_b, budget_pence=10_000_00)
    ada = profile(org_a, "Dr Ada Reviewer", 500_00)
    bea = profile(org_b, "Bea Other-Org", 400_00)

    class W:
        pass

    w = W()
    w.commissioner, w.org_a, w.org_b = commissioner, org_a, org_b
    w.owner_a, w.member_b, w.commission = owner_a, member_b, commission
    w.ada, w.bea = ada, bea
    return w


def url(w, suffix=""):
    return f"/opportunities/{w.commission.id}/bid{suffix}"


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def start(client, w):
    response = client.post(url(w), data={})
    assert response.status_code == 302
    return db.session.scalar(select(Bid).where(Bid.organisation_id == w.org_a.id))


def test_whole_journey_through_the_pages(client, sign_in, world):
    w = world
    sign_in(w.owner_a)
    page = client.get(url(w))
    assert page.status_code == 200 and b"Start your bid" in page.data
    bid = start(client, w)
    assert bid.status == BidStatus.DRAFT
    assert b"Understanding of the brief" in client.get(url(w)).data

    assert client.post(url(w, "/understanding"), data={
        "understanding": "We know the brief.", "methodology": "Interviews."}).status_code == 302
    assert client.post(url(w, "/team"), data={
        "profile_id": str(w.ada.id), "role": "Lead reviewer", "days": "8",
        "day_rate": ""}).status_code == 302
    due = date.today() + timedelta(days=90)
    assert client.post(url(w, "/plan"), data={
        "title": "Final report", "description": "",
        "due_date": [str(due.day), str(due.month), str(due.year)]}).status_code == 302
    assert client.post(url(w, "/price"), data={
        "description": "Travel", "amount": "£150.50"}).status_code == 302
    assert client.post(url(w, "/price/confirm"), data={}).status_code == 302
    assert client.post(url(w, "/conflicts"), data={
        "answer": "declared", "statement": "Our lead once worked for the council."}
    ).status_code == 302
    upload = client.post(url(w, "/documents"), data={
        "title": "Work plan", "file": (io.BytesIO(PDF_BYTES), "plan.pdf"),
        "commercial": "y"}, content_type="multipart/form-data")
    assert upload.status_code == 302
    assert client.post(url(w, "/declaration"), data={"accept": "y"}).status_code == 302

    db.session.expire_all()
    bid = db.session.get(Bid, bid.id)
    assert bid.total_price_pence == 8 * 500_00 + 150_50
    assert bid.current_documents[0].commercial is True
    check = client.get(url(w, "/check"))
    assert check.status_code == 200
    assert b"Submit your bid" in check.data and b"4,150.50" in check.data

    response = client.post(url(w, "/submit"), data={})
    assert response.status_code == 302
    assert response.headers["Location"].endswith(url(w, "/versions/1"))
    db.session.expire_all()
    bid = db.session.get(Bid, bid.id)
    assert bid.status == BidStatus.SUBMITTED
    version = bid.latest_version
    assert version.content_sha256 == hashlib.sha256(
        audit.canonical_json(version.content).encode()).hexdigest()
    assert version.content == service.canonical_content(bid)
    document = bid.current_documents[0].document
    assert version.receipt.document_digests[0]["sha256"] == document.sha256
    assert document.sha256 == hashlib.sha256(PDF_BYTES).hexdigest()

    receipt = client.get(url(w, "/versions/1"))
    assert receipt.status_code == 200
    assert version.content_sha256.encode() in receipt.data
    assert document.sha256.encode() in receipt.data
    mail = db.session.scalars(select(OutboxEmail).where(OutboxEmail.template == "bid_receipt")
                              ).all()
    assert [m.recipient for m in mail] == ["owner@northern.example"]
    assert version.content_sha256 in mail[0].text_body
    assert document.sha256 in mail[0].text_body
    assert "(GMT)" in mail[0].text_body or "(BST)" in mail[0].text_body
    actions = db.session.scalars(select(AuditEvent.action)).all()
    assert "bid.submitted" in actions and "bid.started" in actions

    # The summary page, history and download of their own document.
    assert b"Submitted" in client.get(url(w)).data
    assert b"Version" in client.get(url(w, "/history")).data
    assert client.get(f"/documents/{document.id}").status_code == 200


def test_price_over_budget_is_refused_and_nothing_saved(client, sign_in, world):
    w = world
    sign_in(w.owner_a)
    start(client, w)
    response = client.post(url(w, "/team"), data={
        "profile_id": str(w.ada.id), "role": "Lead", "days": "21", "day_rate": ""})
    assert response.status_code == 400
    assert b"more than the maximum budget of \xc2\xa310,000" in response.data
    assert count(BidTeamMember) == 0
    # An overridden rate that breaks the budget, and an expense that does.
    response = client.post(url(w, "/team"), data={
        "profile_id": str(w.ada.id), "role": "Lead", "days": "10", "day_rate": "£1,001"})
    assert response.status_code == 400 and count(BidTeamMember) == 0
    assert client.post(url(w, "/team"), data={
        "profile_id": str(w.ada.id), "role": "Lead", "days": "20", "day_rate": ""}
    ).status_code == 302
    response = client.post(url(w, "/price"), data={"description": "Travel", "amount": "0.01"})
    assert response.status_code == 400
    assert b"maximum budget" in response.data
    db.session.expire_all()
    assert db.session.scalar(select(Bid)).expenses == []


def test_team_member_of_another_organisation_is_refused(client, sign_in, world):
    w = world
    sign_in(w.owner_a)
    start(client, w)
    response = client.post(url(w, "/team"), data={
        "profile_id": str(w.bea.id), "role": "Lead", "days": "2", "day_rate": ""})
    assert response.status_code == 400
    assert b"Select a reviewer from your organisation" in response.data
    assert b"Bea Other-Org" not in response.data
    assert count(BidTeamMember) == 0


@pytest.mark.parametrize("data, message", [
    ({"role": "", "days": "2"}, b"Enter the reviewer&#39;s role in the team"),
    ({"role": "Lead", "days": "two"}, b"Enter the number of days as a whole number"),
    ({"role": "Lead", "days": "0"}, b"between 1 and 1000"),
    ({"role": "Lead", "days": "2", "day_rate": "lots"}, b"Enter the day rate in pounds"),
])
def test_team_form_errors(client, sign_in, world, data, message):
    w = world
    sign_in(w.owner_a)
    start(client, w)
    response = client.post(url(w, "/team"), data={"profile_id": str(w.ada.id), **data})
    assert response.status_code == 400
    assert message in response.data
    assert count(BidTeamMember) == 0


def test_profile_without_day_rate_needs_one(client, sign_in, world):
    w = world
    no_rate = profile(w.org_a, "Cy No-Rate", None)
    sign_in(w.owner_a)
    start(client, w)
    response = client.post(url(w, "/team"), data={
        "profile_id": str(no_rate.id), "role": "Analyst", "days": "2", "day_rate": ""})
    assert response.status_code == 400 and b"profile has none" in response.data
    assert client.post(url(w, "/team"), data={
        "profile_id": str(no_rate.id), "role": "Analyst", "days": "2", "day_rate": "300"}
    ).status_code == 302
    member = db.session.scalar(select(BidTeamMember))
    assert member.day_rate_pence == 300_00 and member.rate_from_profile is False


def test_sections_with_missing_answers(client, sign_in, world):
    w = world
    sign_in(w.owner_a)
    start(client, w)
    r = client.post(url(w, "/understanding"), data={"understanding": "", "methodology": ""})
    assert r.status_code == 400 and b"Enter your understanding of the brief" in r.data
    r = client.post(url(w, "/conflicts"), data={"answer": "declared", "statement": ""})
    assert r.status_code == 400 and b"Describe the conflicts of interest" in r.data
    r = client.post(url(w, "/conflicts"), data={})
    assert r.status_code == 400 and b"Select whether you have any conflicts" in r.data
    r = client.post(url(w, "/plan"), data={"title": "", "due_date": ["", "", ""]})
    assert r.status_code == 400 and b"Enter the milestone" in r.data
    r = client.post(url(w, "/plan"), data={"title": "Report", "due_date": ["31", "2", "2030"]})
    assert r.status_code == 400 and b"real date" in r.data
    r = client.post(url(w, "/declaration"), data={})
    assert r.status_code == 400 and b"Confirm the declaration" in r.data
    r = client.post(url(w, "/price/confirm"), data={})
    assert r.status_code == 400 and b"Add the team before confirming the price" in r.data
    bid = db.session.scalar(select(Bid))
    db.session.refresh(bid)
    assert bid.understanding == "" and bid.conflicts_answer is None
    assert bid.milestones == [] and bid.declaration_accepted_at is None


def test_missing_sections_on_submit(client, sign_in, world):
    w = world
    sign_in(w.owner_a)
    start(client, w)
    response = client.post(url(w, "/submit"), data={})
    assert response.status_code == 400
    for message in service.MISSING_MESSAGES.values():
        assert message.encode() in response.data
    assert count(BidVersion) == 0
    assert db.session.scalar(select(Bid)).status == BidStatus.DRAFT
    assert db.session.scalar(select(func.count()).select_from(OutboxEmail)
                             .where(OutboxEmail.template == "bid_receipt")) == 0


def test_disguised_executable_is_refused(client, sign_in, world):
    w = world
    sign_in(w.owner_a)
    start(client, w)
    from tests.storage.samples import pe_executable

    response = client.post(url(w, "/documents"), data={
        "title": "Plan", "file": (io.BytesIO(pe_executable()), "plan.pdf")},
        content_type="multipart/form-data")
    assert response.status_code == 400
    assert b"contains a program" in response.data
    assert count(Document) == 0 and count(BidDocument) == 0


@pytest.fixture
def app_overrides():
    return {"UPLOAD_MAX_BYTES": 2048}


def test_oversize_file_is_refused(client, sign_in, world):
    w = world
    sign_in(w.owner_a)
    start(client, w)
    big = PDF_BYTES + b"%" + b"x" * 4096 + b"\n"
    response = client.post(url(w, "/documents"), data={
        "title": "Plan", "file": (io.BytesIO(big), "plan.pdf")},
        content_type="multipart/form-data")
    assert response.status_code == 413
    assert b"must be smaller than 2 KB" in response.data
    assert count(Document) == 0 and count(BidDocument) == 0


def test_document_needs_a_title_and_a_file(client, sign_in, world):
    w = world
    sign_in(w.owner_a)
    start(client, w)
    r = client.post(url(w, "/documents"), data={"title": "", "file": (io.BytesIO(PDF_BYTES),
                    "plan.pdf")}, content_type="multipart/form-data")
    assert r.status_code == 400 and b"Enter a title for the document" in r.data
    r = client.post(url(w, "/documents"), data={"title": "Plan"},
                    content_type="multipart/form-data")
    assert r.status_code == 400 and b"Select a file" in r.data
    assert count(Document) == 0


def test_change_after_submitting_keeps_history_and_needs_resubmission(client, sign_in, world):
    w = world
    bid = complete_bid(w.owner_a, w.commission, reviewer=w.ada, submit=True)
    sign_in(w.owner_a)
    # Sections are locked while submitted.
    r = client.post(url(w, "/understanding"), data={"understanding": "x", "methodology": "y"})
    assert r.status_code == 302
    db.session.refresh(bid)
    assert bid.understanding == "We understand the brief."
    assert b"Change your bid" in client.get(url(w, "/change")).data
    assert client.post(url(w, "/change"), data={}).status_code == 302
    db.session.refresh(bid)
    assert bid.status == BidStatus.DRAFT and len(bid.versions) == 1
    assert client.post(url(w, "/understanding"), data={
        "understanding": "A sharper understanding.", "methodology": "Same."}).status_code == 302
    page = client.get(url(w))
    assert b"submit it again before the deadline" in page.data
    assert client.post(url(w, "/declaration"), data={"accept": "y"}).status_code == 302
    assert client.post(url(w, "/submit"), data={}).status_code == 302
    db.session.expire_all()
    bid = db.session.get(Bid, bid.id)
    assert [v.number for v in bid.versions] == [1, 2]
    assert bid.versions[0].content["understanding"] == "We understand the brief."
    assert bid.versions[1].content["understanding"] == "A sharper understanding."
    assert all(service.verify_version(v) for v in bid.versions)
    assert client.get(url(w, "/versions/1")).status_code == 200
    assert client.get(url(w, "/versions/3")).status_code == 404


def test_withdraw_and_reopen(client, sign_in, world):
    w = world
    bid = complete_bid(w.owner_a, w.commission, reviewer=w.ada, submit=True)
    sign_in(w.owner_a)
    assert client.get(url(w, "/withdraw")).status_code == 200
    assert client.post(url(w, "/withdraw"), data={}).status_code == 302
    db.session.refresh(bid)
    assert bid.status == BidStatus.WITHDRAWN and bid.withdrawn_at is not None
    assert service.submitted_count(w.commission) == 0
    assert db.session.scalar(select(OutboxEmail).where(OutboxEmail.template == "bid_withdrawn"))
    assert client.post(url(w, "/change"), data={}).status_code == 302
    db.session.refresh(bid)
    assert bid.status == BidStatus.DRAFT
    # The declaration vouched for the bid as it was: it is given again before submitting.
    assert bid.declaration_accepted_at is None
    assert service.section_status(bid)["declaration"] == "not_started"
    refused = client.post(url(w, "/submit"), data={})
    assert refused.status_code == 400 and b"declaration" in refused.data.lower()
    db.session.refresh(bid)
    assert bid.status == BidStatus.DRAFT and len(bid.versions) == 1
    assert client.post(url(w, "/declaration"), data={"accept": "y"}).status_code == 302
    assert client.post(url(w, "/submit"), data={}).status_code == 302
    db.session.refresh(bid)
    assert bid.status == BidStatus.SUBMITTED and len(bid.versions) == 2


def test_material_change_asks_for_reconfirmation(client, sign_in, world):
    w = world
    bid = complete_bid(w.owner_a, w.commission, reviewer=w.ada, submit=True)
    organisations = service.on_material_change(w.commissioner, w.commission, None)
    db.session.commit()
    assert [o.id for o in organisations] == [w.org_a.id]
    db.session.refresh(bid)
    assert bid.status == BidStatus.NEEDS_RECONFIRMATION
    assert service.submitted_count(w.commission) == 1
    sign_in(w.owner_a)
    page = client.get(url(w))
    assert b"confirm your bid again" in page.data
    assert b"Confirm your bid again" in client.get(url(w, "/check")).data
    assert client.post(url(w, "/submit"), data={}).status_code == 302
    db.session.refresh(bid)
    assert bid.status == BidStatus.SUBMITTED and len(bid.versions) == 2
    assert "bid.reconfirmed" in db.session.scalars(select(AuditEvent.action)).all()


def test_material_change_through_the_commissions_service(world):
    from portal.services import commissions as commissions_service
    from tests.commissions_support import criterion, details

    w = world
    bid = complete_bid(w.owner_a, w.commission, reviewer=w.ada, submit=True)
    commission = w.commission
    commissions_service.change_material(
        w.commissioner, commission,
        details(1, specification="A new specification", max_budget_pence=10_000_00),
        [criterion()], 30, commission.clarification_deadline,
        commission.submission_deadline, "We changed the specification")
    db.session.commit()
    db.session.refresh(bid)
    assert bid.status == BidStatus.NEEDS_RECONFIRMATION
    mail = db.session.scalars(select(OutboxEmail.recipient).where(
        OutboxEmail.template == "commission_bid_reconfirm")).all()
    assert mail == ["owner@northern.example"]


def test_suppliers_never_see_each_other(client, sign_in, world):
    w = world
    complete_bid(w.owner_a, w.commission, reviewer=w.ada, submit=True)
    sign_in(w.member_b)
    page = client.get(url(w))
    assert page.status_code == 200
    assert b"Start your bid" in page.data and b"Northern" not in page.data
    for suffix in ("/versions/1", "/history", "/check"):
        assert client.get(url(w, suffix)).status_code == 404
    a_doc = db.session.scalar(select(BidDocument)).document_id
    assert client.get(f"/documents/{a_doc}").status_code == 404


def test_not_invited_supplier_gets_404(client, sign_in, world):
    w = world
    outsider = make_supplier(OrganisationFactory(), role="owner")
    sign_in(outsider)
    assert client.get(url(w)).status_code == 404
    assert client.post(url(w), data={}).status_code == 404
    assert count(Bid) == 0


def test_cancelled_commission_accepts_nothing(client, sign_in, world):
    from portal.services import commissions as commissions_service

    w = world
    bid = complete_bid(w.owner_a, w.commission, reviewer=w.ada)
    commissions_service.cancel(w.commissioner, w.commission, "No longer needed")
    db.session.commit()
    sign_in(w.owner_a)
    response = client.post(url(w, "/submit"), data={}, follow_redirects=True)
    assert b"This commission has been cancelled" in response.data
    db.session.refresh(bid)
    assert bid.status == BidStatus.DRAFT and bid.versions == []
    r = client.post(url(w, "/understanding"), data={"understanding": "x", "methodology": "y"},
                    follow_redirects=True)
    assert b"cancelled" in r.data


def test_unique_bid_per_organisation(world):
    w = world
    first = service.start_bid(w.owner_a, w.commission)
    second = service.start_bid(w.owner_a, w.commission)
    db.session.commit()
    assert first.id == second.id and count(Bid) == 1
