"""The award: propose (top-ranked by default, another bid only with a reason, only once
ranking is complete), four-eyes approval or return, outcome letters for every bidder,
standstill, confirmation, withdrawal, no suitable bid; every step audited."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from portal.extensions import db
from portal.models.audit import AuditEvent
from portal.models.award import Award, AwardStatus, OcdsRelease, OutcomeLetter
from portal.models.base import utcnow
from portal.models.commissions import CommissionState
from portal.models.outbox import OutboxEmail
from portal.services import award as service
from portal.services import commissions as commission_service
from tests.award_support import admin, evaluated_commission, rationale
from tests.fixtures.users import login_as, make_staff


def _actions(prefix: str = "award.") -> list[str]:
    return list(db.session.scalars(
        select(AuditEvent.action).where(AuditEvent.action.like(prefix + "%"))
        .order_by(AuditEvent.sequence)))


def _mail_to(email: str) -> list[OutboxEmail]:
    return list(db.session.scalars(select(OutboxEmail).where(OutboxEmail.recipient == email)))


def _approved(ev, approver=None):
    award = service.propose(ev.commissioner, ev.commission, None, "")
    db.session.commit()
    service.approve(approver or admin(), award)
    db.session.commit()
    return award


# --- the journey -------------------------------------------------------------------------


def test_propose_approve_standstill_confirm(app):
    ev = evaluated_commission()
    approver = admin()
    award = service.propose(ev.commissioner, ev.commission, None, "")
    db.session.commit()
    assert award.status == AwardStatus.PROPOSED
    assert award.bid_id == ev.bids[0].id and award.top_ranked and award.ranked_position == 1
    assert award.value_pence == ev.bids[0].latest_version.total_price_pence
    assert ev.commission.state == CommissionState.AWARD_PROPOSED
    # the admin is told there is an award to approve
    assert any(m.template == "award_proposed" for m in _mail_to(approver.email))

    service.approve(approver, award)
    db.session.commit()
    assert award.status == AwardStatus.APPROVED
    assert ev.commission.state == CommissionState.STANDSTILL
    assert award.standstill_ends_at > utcnow()
    letters = award.letters
    assert sorted(letter.organisation_id for letter in letters) == sorted(
        o.id for o in ev.organisations)
    assert {letter.kind for letter in letters} == {"successful", "unsuccessful"}
    for user in ev.suppliers:
        assert [m.template for m in _mail_to(user.email)].count("outcome_letter") == 1

    with pytest.raises(service.AwardError, match="standstill period has not ended"):
        service.confirm(ev.commissioner, award)
    db.session.rollback()

    with time_machine.travel(award.standstill_ends_at + timedelta(seconds=1), tick=False):
        service.confirm(ev.commissioner, award)
        db.session.commit()
        assert award.status == AwardStatus.CONFIRMED
        assert ev.commission.awarded_at is not None
        assert ev.commission.delivery_started_at is not None
        assert ev.commission.state == CommissionState.IN_DELIVERY
    assert any(m.template == "award_confirmed" for m in _mail_to(ev.suppliers[0].email))
    assert _actions() == ["award.proposed", "award.approved", "award.confirmed"]
    tags = list(db.session.scalars(select(OcdsRelease.tag).order_by(OcdsRelease.id)))
    assert tags == ["tender", "award", "contract"]


def test_a_bid_not_confirmed_again_is_not_evaluated_but_its_bidder_hears_the_outcome(
        app, client):
    from portal.models.bids import BidStatus
    from portal.services.ranking import rank_bids, submitted_bids
    from tests.fixtures.users import login_as

    ev = evaluated_commission()
    unconfirmed = ev.bids[2]
    # A material change before the deadline, and the bidder never confirmed again.
    unconfirmed.status = BidStatus.NEEDS_RECONFIRMATION
    db.session.commit()
    assert unconfirmed not in submitted_bids(ev.commission)
    assert unconfirmed.id not in [row.bid_id for row in rank_bids(ev.commission).rows]
    award = _approved(ev)
    letters = {letter.organisation_id: letter for letter in award.letters}
    assert set(letters) == {o.id for o in ev.organisations}
    letter = letters[unconfirmed.organisation_id]
    assert letter.kind == "unsuccessful" and letter.content["own"] is None
    assert "not confirmed again" in letter.content["not_evaluated"]
    assert [m.template for m in _mail_to(ev.suppliers[2].email)].count("outcome_letter") == 1
    login_as(client, ev.suppliers[2])
    page = client.get(f"/opportunities/{ev.commission.id}/outcome")
    assert page.status_code == 200
    assert "Your bid was not evaluated" in page.text and "Your scores" not in page.text


def test_letters_hold_own_scores_and_the_winners_never_another_bidders(app):
    ev = evaluated_commission()
    award = _approved(ev)
    alpha, beta, gamma = ev.organisations
    letter_b = next(letter for letter in award.letters if letter.organisation_id == beta.id)
    content = letter_b.content
    assert content["kind"] == "unsuccessful"
    assert [c["name"] for c in content["criteria"]] == ["Methodology", "Experience"]
    assert [c["weight"] for c in content["criteria"]] == [40, 30]
    assert content["price_weight"] == 30
    own = content["own"]
    assert [c["score"] for c in own["criteria"]] == [2, 2]
    assert own["criteria"][0]["reason"] == rationale(beta.legal_name, "Methodology", 2)
    assert content["winner"]["name"] == alpha.display_name
    assert [c["score"] for c in content["winner"]["criteria"]] == [4, 3]
    assert "reason" not in content["winner"]["criteria"][0]
    advantages = {a["criterion"]: a for a in content["advantages"]}
    assert advantages["Methodology"]["rationale"] == rationale(alpha.legal_name,
                                                               "Methodology", 4)
    assert advantages["Experience"]["winner_score"] == 3
    assert content["standstill_ends_at"] == award.standstill_ends_at.isoformat()
    # nothing of Gamma's (the other unsuccessful bidder) is in Beta's letter or e-mail
    mail = next(m for m in _mail_to(ev.suppliers[1].email) if m.template == "outcome_letter")
    for text in (str(content), mail.text_body):
        assert gamma.legal_name not in text
        assert "Rationale for Gamma" not in text
    assert alpha.display_name in mail.text_body
    assert content["standstill_ends_text"] in mail.text_body
    assert rationale(beta.legal_name, "Experience", 2) in mail.text_body

    letter_a = next(letter for letter in award.letters if letter.organisation_id == alpha.id)
    assert letter_a.kind == "successful" and letter_a.content["advantages"] == []


def test_another_bid_needs_a_reason(app):
    ev = evaluated_commission()
    second = ev.bids[1]
    with pytest.raises(service.AwardError, match="reason") as refused:
        service.propose(ev.commissioner, ev.commission, second.id, "   ")
    assert refused.value.field == "reason"
    db.session.rollback()
    assert db.session.scalar(select(func.count(Award.id))) == 0
    assert ev.commission.award_proposed_at is None

    award = service.propose(ev.commissioner, ev.commission, second.id,
                            "The top-ranked bidder cannot start before the autumn.")
    db.session.commit()
    assert not award.top_ranked and award.ranked_position == 2


def test_a_bid_outside_the_ranking_is_refused(app):
    ev = evaluated_commission()
    with pytest.raises(service.AwardError, match="Choose a bid"):
        service.propose(ev.commissioner, ev.commission, 999_999, "reason")
    db.session.rollback()


@pytest.mark.parametrize(("moderated", "price_open", "message"), [
    (False, False, "moderation is complete"),
    (True, False, "price envelope"),
])
def test_proposing_before_ranking_is_complete_is_refused(app, moderated, price_open,
                                                         message):
    ev = evaluated_commission(moderated=moderated, price_open=price_open)
    with pytest.raises(service.AwardError, match=message):
        service.propose(ev.commissioner, ev.commission, None, "")
    db.session.rollback()
    assert db.session.scalar(select(func.count(Award.id))) == 0
    assert _actions() == []


def test_proposing_with_an_undecided_abnormally_low_price_is_refused(app):
    ev = evaluated_commission(days=(20, 20, 5))  # the third is far below the mean
    with pytest.raises(service.AwardError, match="abnormally low"):
        service.propose(ev.commissioner, ev.commission, None, "")
    db.session.rollback()


def test_the_proposer_can_never_approve_even_as_admin(app):
    ev = evaluated_commission(commissioner=make_staff("commissioner", "admin"))
    award = service.propose(ev.commissioner, ev.commission, None, "")
    db.session.commit()
    with pytest.raises(service.AwardError, match="another admin"):
        service.approve(ev.commissioner, award)
    db.session.rollback()
    with pytest.raises(service.AwardError, match="another admin"):
        service.return_award(ev.commissioner, award, "No")
    db.session.rollback()
    assert award.status == AwardStatus.PROPOSED
    assert db.session.scalar(select(func.count(OutcomeLetter.id))) == 0
    assert not award.can_approve(ev.commissioner)
    assert award.can_approve(admin())


def test_the_database_refuses_self_approval(app):
    ev = evaluated_commission(commissioner=make_staff("commissioner", "admin"))
    award = service.propose(ev.commissioner, ev.commission, None, "")
    db.session.commit()
    award.status = AwardStatus.APPROVED
    award.approved_at = award.standstill_ends_at = utcnow()
    award.approved_by_id = ev.commissioner.id
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


def test_only_admins_approve(app):
    ev = evaluated_commission()
    award = service.propose(ev.commissioner, ev.commission, None, "")
    db.session.commit()
    with pytest.raises(service.NotFound):
        service.approve(make_staff("commissioner"), award)
    db.session.rollback()


def test_one_live_award_per_commission(app):
    ev = evaluated_commission()
    service.propose(ev.commissioner, ev.commission, None, "")
    db.session.commit()
    with pytest.raises(service.AwardError, match="already been proposed"):
        service.propose(ev.commissioner, ev.commission, None, "")
    db.session.rollback()
    # the partial unique index, not only the code
    db.session.add(Award(commission_id=ev.commission.id, bid_id=ev.bids[1].id,
                         status=AwardStatus.PROPOSED, proposed_by_id=ev.commissioner.id))
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()
    # ended awards do not count
    db.session.add(Award(commission_id=ev.commission.id, bid_id=ev.bids[1].id,
                         status=AwardStatus.RETURNED, proposed_by_id=ev.commissioner.id))
    db.session.commit()


def test_approving_twice_gives_one_set_of_letters(app):
    ev = evaluated_commission()
    approver = admin()
    award = service.propose(ev.commissioner, ev.commission, None, "")
    db.session.commit()
    service.approve(approver, award)
    db.session.commit()
    with pytest.raises(service.AwardError, match="already been decided"):
        service.approve(admin("second-admin@panel.example"), award)
    db.session.rollback()
    assert db.session.scalar(select(func.count(OutcomeLetter.id))) == 3
    assert _actions().count("award.approved") == 1


# --- return, withdraw, no suitable bid ---------------------------------------------------


def test_return_then_propose_again(app):
    ev = evaluated_commission()
    award = service.propose(ev.commissioner, ev.commission, None, "")
    db.session.commit()
    approver = admin()
    with pytest.raises(service.AwardError, match="reason"):
        service.return_award(approver, award, "")
    db.session.rollback()
    service.return_award(approver, award, "Check the tie-break with the moderator.")
    db.session.commit()
    assert award.status == AwardStatus.RETURNED
    assert ev.commission.state == CommissionState.MODERATED
    assert any(m.template == "award_returned" for m in _mail_to(ev.commissioner.email))
    again = service.propose(ev.commissioner, ev.commission, None, "")
    db.session.commit()
    assert again.id != award.id
    assert _actions() == ["award.proposed", "award.returned", "award.proposed"]


def test_withdraw_during_standstill_tells_the_bidders(app):
    ev = evaluated_commission()
    award = _approved(ev)
    with pytest.raises(service.AwardError, match="reason"):
        service.withdraw(ev.commissioner, award, " ")
    db.session.rollback()
    service.withdraw(ev.commissioner, award, "A challenge showed an error in the scores.")
    db.session.commit()
    assert award.status == AwardStatus.WITHDRAWN
    assert ev.commission.state == CommissionState.MODERATED
    withdrawn = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "award.withdrawn")).one()
    assert withdrawn.actor_id == ev.commissioner.id
    assert withdrawn.object_id == str(award.id)
    assert withdrawn.data["reason"] == "A challenge showed an error in the scores."
    assert withdrawn.data["emails"] == len(ev.suppliers)
    for user in ev.suppliers:
        assert any(m.template == "award_withdrawn" for m in _mail_to(user.email))
    with pytest.raises(service.AwardError):
        service.confirm(ev.commissioner, award)
    db.session.rollback()
    tags = list(db.session.scalars(select(OcdsRelease.tag).order_by(OcdsRelease.id)))
    assert tags == ["tender", "award", "awardCancellation"]
    # a new award can be proposed
    service.propose(ev.commissioner, ev.commission, None, "")
    db.session.commit()


def test_confirmed_awards_cannot_be_withdrawn(app):
    ev = evaluated_commission()
    award = _approved(ev)
    with time_machine.travel(award.standstill_ends_at, tick=False):
        service.confirm(ev.commissioner, award)
        db.session.commit()
    with pytest.raises(service.AwardError):
        service.withdraw(ev.commissioner, award, "Too late")
    db.session.rollback()
    with pytest.raises(service.AwardError, match="already been confirmed"):
        service.confirm(ev.commissioner, award)
    db.session.rollback()


def test_no_suitable_bid_sends_letters_to_all(app):
    ev = evaluated_commission()
    award = service.close_no_suitable_bid(ev.commissioner, ev.commission,
                                          "No bid met the minimum quality threshold.")
    db.session.commit()
    assert award.status == AwardStatus.NO_SUITABLE_BID and award.bid_id is None
    assert ev.commission.state == CommissionState.CANCELLED
    assert ev.commission.cancellation_reason.startswith("No suitable bid")
    assert len(award.letters) == 3
    for user in ev.suppliers:
        mails = [m for m in _mail_to(user.email) if m.template == "outcome_no_suitable_bid"]
        assert len(mails) == 1
        assert "minimum quality threshold" in mails[0].text_body
        assert user.organisation.legal_name in mails[0].text_body
    letter = award.letters[0]
    assert letter.content["own"]["criteria"][0]["score"] is not None
    with pytest.raises(service.AwardError):
        service.propose(ev.commissioner, ev.commission, None, "")
    db.session.rollback()
    assert _actions() == ["award.no_suitable_bid"]


def test_no_suitable_bid_needs_a_reason_and_no_live_award(app):
    ev = evaluated_commission()
    with pytest.raises(service.AwardError, match="Enter why"):
        service.close_no_suitable_bid(ev.commissioner, ev.commission, "")
    db.session.rollback()
    service.propose(ev.commissioner, ev.commission, None, "")
    db.session.commit()
    with pytest.raises(service.AwardError, match="cannot close"):
        service.close_no_suitable_bid(ev.commissioner, ev.commission, "None fits")
    db.session.rollback()


def test_no_suitable_bid_waits_for_sealed_bids_to_be_opened(app, client):
    from portal.services import bids as bid_service
    from tests.bids_support import complete_bid, open_commission
    from tests.fixtures.users import OrganisationFactory, make_supplier

    commissioner = make_staff("commissioner")
    bidder = OrganisationFactory(legal_name="Sealed Bidder Ltd")
    owner = make_supplier(bidder, role="owner")
    commission = open_commission(commissioner, bidder)
    empty = open_commission(commissioner, OrganisationFactory(), number=2)
    complete_bid(owner, commission, submit=True)
    later = max(commission.submission_deadline, empty.submission_deadline)
    with time_machine.travel(later + timedelta(seconds=1), tick=False):
        assert commission.state == CommissionState.CLOSED
        assert not service.can_close_no_suitable_bid(commission)
        with pytest.raises(service.AwardError, match="Open the bids"):
            service.close_no_suitable_bid(commissioner, commission, "None fits")
        db.session.rollback()
        assert _actions() == [] and not db.session.scalars(select(Award)).all()
        login_as(client, commissioner)
        url = f"/commissioning/commissions/{commission.id}/award/no-suitable-bid"
        assert client.post(url, data={"reason": "None fits"}).status_code == 302
        assert db.session.scalars(select(Award)).all() == []

        # Nothing sealed when nobody bid: it may close at once.
        assert service.can_close_no_suitable_bid(empty)
        service.close_no_suitable_bid(commissioner, empty, "Nobody bid.")
        db.session.commit()

        bid_service.open_bids(commissioner, commission)
        db.session.commit()
        assert service.can_close_no_suitable_bid(commission)
        award = service.close_no_suitable_bid(commissioner, commission, "None fits")
        db.session.commit()
    assert [letter.organisation_id for letter in award.letters] == [bidder.id]


def test_cancelling_in_standstill_withdraws_the_award(app):
    ev = evaluated_commission()
    award = _approved(ev)
    commission_service.cancel(ev.commissioner, ev.commission, "Funding withdrawn.")
    db.session.commit()
    assert award.status == AwardStatus.WITHDRAWN
    assert ev.commission.state == CommissionState.CANCELLED
    assert service.live_award(ev.commission) is None
