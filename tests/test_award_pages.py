"""The award pages: the commissioner proposes (another bid without a reason is a GOV.UK
error and nothing is saved), an admin approves (never the proposer), the commissioner
cannot confirm during the standstill, bidders read their own letter and never another's
(404)."""

from __future__ import annotations

from datetime import timedelta

import time_machine
from sqlalchemy import func, select

from portal.extensions import db
from portal.models.award import Award, AwardStatus, OutcomeLetter
from portal.services import award as service
from tests.award_support import admin, evaluated_commission
from tests.fixtures.users import login_as, make_staff


def _manage_url(ev) -> str:
    return f"/commissioning/commissions/{ev.commission.id}/award"


def test_propose_page_defaults_to_the_top_ranked_bid(app, client):
    ev = evaluated_commission()
    login_as(client, ev.commissioner)
    page = client.get(_manage_url(ev)).get_data(as_text=True)
    assert "Propose the award" in page
    assert f'value="{ev.bids[0].id}" checked' in page
    for organisation in ev.organisations:
        assert organisation.display_name in page


def test_another_bid_without_a_reason_is_an_error_and_nothing_is_saved(app, client):
    ev = evaluated_commission()
    login_as(client, ev.commissioner)
    response = client.post(_manage_url(ev) + "/propose",
                           data={"bid_id": str(ev.bids[2].id), "reason": ""})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "govuk-error-summary" in page
    assert "Give the reason for proposing a bid that is not ranked first" in page
    assert db.session.scalar(select(func.count(Award.id))) == 0

    response = client.post(_manage_url(ev) + "/propose",
                           data={"bid_id": str(ev.bids[2].id),
                                 "reason": "The others cannot meet the timescale."})
    assert response.status_code == 302
    award = db.session.scalar(select(Award))
    assert award.bid_id == ev.bids[2].id and not award.top_ranked


def test_proposing_before_moderation_is_complete_shows_why(app, client):
    ev = evaluated_commission(moderated=False)
    login_as(client, ev.commissioner)
    page = client.get(_manage_url(ev)).get_data(as_text=True)
    assert "once moderation is complete" in page
    assert 'action="' + _manage_url(ev) + '/propose"' not in page
    response = client.post(_manage_url(ev) + "/propose", data={})
    assert response.status_code == 400
    assert db.session.scalar(select(func.count(Award.id))) == 0


def test_the_proposer_cannot_approve_on_the_page(app, client):
    both = make_staff("commissioner", "admin")
    ev = evaluated_commission(both)
    award = service.propose(both, ev.commission, None, "")
    db.session.commit()
    login_as(client, both)
    page = client.get(f"/admin/awards/{award.id}").get_data(as_text=True)
    assert "You proposed this award, so another admin must approve or return it" in page
    assert "Approve the award" not in page
    response = client.post(f"/admin/awards/{award.id}/approve", data={})
    assert response.status_code == 303
    db.session.expire_all()
    assert db.session.get(Award, award.id).status == AwardStatus.PROPOSED
    assert db.session.scalar(select(func.count(OutcomeLetter.id))) == 0


def test_admin_approves_then_confirming_in_standstill_is_refused(app, client):
    ev = evaluated_commission()
    award = service.propose(ev.commissioner, ev.commission, None, "")
    db.session.commit()
    approver = admin()
    login_as(client, approver)
    listing = client.get("/admin/awards").get_data(as_text=True)
    assert ev.commission.reference in listing
    response = client.post(f"/admin/awards/{award.id}/approve", data={})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Award, award.id).status == AwardStatus.APPROVED

    with client.session_transaction() as sess:
        sess.clear()
    login_as(client, ev.commissioner)
    page = client.get(_manage_url(ev)).get_data(as_text=True)
    assert "Standstill: nobody can confirm the award until" in page
    response = client.post(_manage_url(ev) + f"/{award.id}/confirm", data={},
                           follow_redirects=True)
    assert "The standstill period has not ended" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Award, award.id).status == AwardStatus.APPROVED

    end = db.session.get(Award, award.id).standstill_ends_at
    with time_machine.travel(end + timedelta(seconds=5), tick=False):
        login_as(client, ev.commissioner)
        assert "Confirm the award" in client.get(_manage_url(ev)).get_data(as_text=True)
        response = client.post(_manage_url(ev) + f"/{award.id}/confirm", data={})
        assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Award, award.id).status == AwardStatus.CONFIRMED


def test_return_without_a_reason_is_an_error(app, client):
    ev = evaluated_commission()
    award = service.propose(ev.commissioner, ev.commission, None, "")
    db.session.commit()
    login_as(client, admin())
    response = client.post(f"/admin/awards/{award.id}/return", data={"reason": " "})
    assert response.status_code == 400
    assert "Enter the reason for returning the proposal" in response.get_data(as_text=True)
    response = client.post(f"/admin/awards/{award.id}/return",
                           data={"reason": "Recheck the price scores."})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Award, award.id).status == AwardStatus.RETURNED


def test_bidders_see_their_own_letter_and_never_another(app, client):
    ev = evaluated_commission(extra_invited=1)
    award = service.propose(ev.commissioner, ev.commission, None, "")
    db.session.commit()
    service.approve(admin(), award)
    db.session.commit()
    letters = {letter.organisation_id: letter for letter in award.letters}
    alpha, beta, gamma = ev.suppliers
    outcome = f"/opportunities/{ev.commission.id}/outcome"

    login_as(client, beta)
    page = client.get(outcome).get_data(as_text=True)
    assert "We are sorry to tell you that it was not successful" in page
    assert alpha.organisation.display_name in page  # the winner
    assert "Rationale for Beta Reviews Ltd on Methodology" in page  # own reasons
    assert "Relative advantages of the winning bid" in page
    assert gamma.organisation.legal_name not in page
    own = letters[beta.organisation.id].id
    assert client.get(f"{outcome}/{own}").status_code == 200
    for other in (letters[alpha.organisation.id].id, letters[gamma.organisation.id].id):
        assert client.get(f"{outcome}/{other}").status_code == 404

    login_as(client, alpha)
    page = client.get(outcome).get_data(as_text=True)
    assert "the Panel intends to award" in page
    assert client.get(f"{outcome}/{own}").status_code == 404

    # invited but did not bid: no letter
    login_as(client, ev.others[0])
    assert client.get(outcome).status_code == 404
    assert client.get(f"{outcome}/{own}").status_code == 404


def test_withdraw_and_no_suitable_bid_pages(app, client):
    ev = evaluated_commission()
    award = service.propose(ev.commissioner, ev.commission, None, "")
    db.session.commit()
    service.approve(admin(), award)
    db.session.commit()
    login_as(client, ev.commissioner)
    url = _manage_url(ev) + f"/{award.id}/withdraw"
    assert client.get(url).status_code == 200
    response = client.post(url, data={"reason": ""})
    assert response.status_code == 400
    assert "Enter the reason for withdrawing the award" in response.get_data(as_text=True)
    assert client.post(url, data={"reason": "Error found"}).status_code == 302
    db.session.expire_all()
    assert db.session.get(Award, award.id).status == AwardStatus.WITHDRAWN

    # the bidders' page says so
    login_as(client, ev.suppliers[1])
    page = client.get(f"/opportunities/{ev.commission.id}/outcome").get_data(as_text=True)
    assert "This award was withdrawn" in page

    login_as(client, ev.commissioner)
    url = _manage_url(ev) + "/no-suitable-bid"
    assert client.get(url).status_code == 200
    assert client.post(url, data={"reason": ""}).status_code == 400
    assert client.post(url, data={"reason": "None is suitable"}).status_code == 302
    login_as(client, ev.suppliers[2])
    page = client.get(f"/opportunities/{ev.commission.id}/outcome").get_data(as_text=True)
    assert "no bid is suitable" in page and "None is suitable" in page


def test_links_to_the_award_pages(app, client):
    ev = evaluated_commission()
    login_as(client, ev.commissioner)
    overview = client.get(f"/commissioning/commissions/{ev.commission.id}").get_data(
        as_text=True)
    assert _manage_url(ev) in overview
    award = service.propose(ev.commissioner, ev.commission, None, "")
    db.session.commit()
    approver = admin()
    login_as(client, approver)
    assert "/admin/awards" in client.get("/admin/").get_data(as_text=True)
    service.approve(approver, award)
    db.session.commit()
    login_as(client, ev.suppliers[1])
    opportunity = client.get(f"/opportunities/{ev.commission.id}").get_data(as_text=True)
    assert f"/opportunities/{ev.commission.id}/outcome" in opportunity
