"""Ranking maths: consensus / 4 x weight + lowest compliant price / price x price weight,
Decimal to 2 decimal places; abnormally low prices; ties shown as ties, with the rule
that broke them recorded."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import pytest
from sqlalchemy import select

from portal.extensions import db
from portal.models.audit import AuditEvent
from portal.models.evaluation import AbnormallyLowOutcome
from portal.services import evaluation as service
from portal.services.ranking import (
    RankedBid,
    _order,
    abnormally_low_threshold,
    price_points,
    quality_points,
    rank_bids,
)
from tests.evaluation_support import opened, through_moderation
from tests.fixtures.users import login_as

D = Decimal


def test_quality_points_are_decimal_to_2_dp():
    assert quality_points(3, 40) == D("30.00")
    assert quality_points(3, 30) == D("22.50")
    assert quality_points(1, 33) == D("8.25")
    assert quality_points(1, 7) == D("1.75")
    assert quality_points(2, 7) == D("3.50")
    assert quality_points(4, 15) == D("15.00")
    assert quality_points(0, 50) == D("0.00")
    assert str(quality_points(1, 3)) == "0.75"


def test_price_points_formula_and_rounding_half_up():
    assert price_points(6250_00, 6250_00, 30) == D("30.00")
    assert price_points(7450_00, 6250_00, 30) == D("25.17")  # 25.1677...
    assert price_points(12250_00, 6250_00, 30) == D("15.31")  # 15.3061...
    # exactly half a penny of a point rounds up
    assert price_points(8, 1, 1) == D("0.13")  # 0.125
    assert price_points(100, 100, 0) == D("0.00")
    assert price_points(0, 0, 30) == D("30.00")


def test_abnormally_low_threshold_is_30_percent_below_the_mean(app):
    assert abnormally_low_threshold([100, 200, 300]) == D("140.0")
    assert abnormally_low_threshold([]) is None
    assert abnormally_low_threshold([100, 100], percent=10) == D("90.0")


def _row(bid_id, total, quality, price, minute):
    return RankedBid(bid=None, bid_id=bid_id, organisation_id=bid_id,
                     organisation_name=f"Bidder {bid_id}",
                     submitted_at=datetime(2026, 3, 1, 12, minute), criteria=[],
                     quality_points=D(quality), price_pence=price,
                     price_points=None, total=D(total))


def test_ties_are_shown_and_broken_by_quality_then_price_then_submission():
    rows = [
        _row(1, "80.00", "50.00", 1000, 5),   # tied with 2 and 3; lower quality
        _row(2, "80.00", "55.00", 2000, 9),   # tied: highest quality
        _row(3, "80.00", "50.00", 900, 7),    # tied with 1 on quality, cheaper
        _row(4, "90.00", "60.00", 1000, 1),   # clear leader
        _row(5, "70.00", "40.00", 1000, 3),
        _row(6, "70.00", "40.00", 1000, 2),   # same quality and price as 5, earlier
    ]
    _order(rows, with_price=True)
    assert [r.bid_id for r in rows] == [4, 2, 3, 1, 6, 5]
    assert [r.rank for r in rows] == [1, 2, 2, 2, 5, 5]
    assert [r.rank_label for r in rows] == ["1", "2=", "2=", "2=", "5=", "5="]
    assert [r.position for r in rows] == [1, 2, 3, 4, 5, 6]
    by_id = {r.bid_id: r for r in rows}
    assert by_id[4].tied is False and by_id[4].tie_break is None
    assert by_id[2].tie_break == "higher total quality score"
    assert by_id[3].tie_break == "lower price"
    assert by_id[1].tie_break == "lower price"
    assert by_id[6].tie_break == "earlier submission"
    assert by_id[5].tie_break == "earlier submission"


def test_ties_without_price_skip_the_price_rule():
    rows = [_row(1, "50.00", "50.00", None, 9), _row(2, "50.00", "50.00", None, 1)]
    _order(rows, with_price=False)
    assert [r.bid_id for r in rows] == [2, 1]
    assert all(r.tie_break == "earlier submission" for r in rows)


def test_rank_bids_full_maths(app):
    setup = opened(days=(10, 12, 20))  # £6,250, £7,450, £12,250
    a, b, c = setup.bids
    through_moderation(setup, consensus={a.id: [3, 3], b.id: [4, 2], c.id: [4, 4]})
    ranking = rank_bids(setup.commission)
    assert ranking.price_open is False
    assert all(row.price_pence is None and row.price_points is None for row in ranking.rows)
    assert [row.total for row in ranking.rows] == [D("70.00"), D("55.00"), D("52.50")]

    service.open_price(setup.commissioner, setup.commission)
    db.session.commit()
    ranking = rank_bids(setup.commission)
    assert ranking.price_open and ranking.moderated and ranking.complete
    rows = {row.bid_id: row for row in ranking.rows}
    # quality: a 30 + 22.5; b 40 + 15; c 40 + 30
    assert rows[a.id].quality_points == D("52.50")
    assert rows[b.id].quality_points == D("55.00")
    assert rows[c.id].quality_points == D("70.00")
    assert [x.points for x in rows[b.id].criteria] == [D("40.00"), D("15.00")]
    assert rows[a.id].price_points == D("30.00")
    assert rows[b.id].price_points == D("25.17")
    assert rows[c.id].price_points == D("15.31")
    assert rows[a.id].total == D("82.50")
    assert rows[b.id].total == D("80.17")
    assert rows[c.id].total == D("85.31")
    assert [row.bid_id for row in ranking.rows] == [c.id, a.id, b.id]
    assert ranking.leader.bid_id == c.id
    assert ranking.lowest_price_pence == 6250_00
    assert ranking.mean_price_pence == D("865000.00")
    assert ranking.ties == []
    for row in ranking.rows:
        assert row.total.as_tuple().exponent == -2


def test_rank_bids_tie_on_equal_bids_broken_by_earlier_submission(app):
    setup = opened(days=(10, 10))
    first, second = setup.bids
    through_moderation(setup)
    service.open_price(setup.commissioner, setup.commission)
    db.session.commit()
    ranking = rank_bids(setup.commission)
    assert [r.rank_label for r in ranking.rows] == ["1=", "1="]
    assert ranking.ties == [[first.id, second.id]]
    assert ranking.leader.bid_id == first.id  # submitted first
    assert {r.tie_break for r in ranking.rows} == {"earlier submission"}


def test_abnormally_low_flag_decision_and_exclusion(app):
    setup = opened(days=(3, 12, 14))  # £2,050, £7,450, £8,650: mean £6,050
    low, mid, high = setup.bids
    through_moderation(setup)
    service.open_price(setup.commissioner, setup.commission)
    db.session.commit()
    ranking = rank_bids(setup.commission)
    assert [r.bid_id for r in ranking.flagged] == [low.id]
    assert ranking.threshold_pence == D("423500.00")
    assert not ranking.complete  # a decision is pending
    assert ranking.row_for(low.id).price_points == D("30.00")

    # a bid that is not flagged cannot get a decision
    with pytest.raises(service.EvaluationError):
        service.decide_abnormally_low(setup.commissioner, setup.commission, mid,
                                      "rejected", "No reason")
    db.session.rollback()
    # bad input
    with pytest.raises(service.EvaluationError) as refused:
        service.decide_abnormally_low(setup.commissioner, setup.commission, low, "maybe", "")
    assert {f for f, _ in refused.value.errors} == {"outcome", "reason"}
    db.session.rollback()

    service.decide_abnormally_low(setup.commissioner, setup.commission, low,
                                  AbnormallyLowOutcome.REJECTED,
                                  "The bidder could not explain the day rates.")
    db.session.commit()
    ranking = rank_bids(setup.commission)
    assert ranking.complete
    assert [r.bid_id for r in ranking.excluded] == [low.id]
    assert [r.bid_id for r in ranking.rows] == [mid.id, high.id]
    # the lowest COMPLIANT price is now the middle bid's
    assert ranking.lowest_price_pence == 7450_00
    assert ranking.row_for(mid.id).price_points == D("30.00")
    assert ranking.row_for(high.id).price_points == D("25.84")  # 7450/8650*30 = 25.838
    assert ranking.row_for(low.id).rank is None

    service.decide_abnormally_low(setup.commissioner, setup.commission, low,
                                  AbnormallyLowOutcome.ACCEPTED,
                                  "The bidder explained the price: a university subsidy.")
    db.session.commit()
    ranking = rank_bids(setup.commission)
    assert ranking.excluded == [] and ranking.leader.bid_id == low.id
    decisions = list(db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "evaluation.abnormally_low_decided")
        .order_by(AuditEvent.sequence)))
    assert [(e.object_id, e.data["outcome_before"], e.data["outcome"]) for e in decisions] == [
        (str(low.id), None, "rejected"), (str(low.id), "rejected", "accepted")]
    assert all(e.actor_id == setup.commissioner.id for e in decisions)
    assert decisions[1].data["reason"] == "The bidder explained the price: a university subsidy."


def test_no_price_before_the_envelope_even_when_asked(app):
    setup = opened(days=(10, 12))
    through_moderation(setup)
    ranking = rank_bids(setup.commission, include_price=True)
    assert ranking.price_open is False
    assert ranking.flagged == []
    assert all(r.price_pence is None for r in ranking.rows)


def test_rank_bids_before_moderation_gives_zero_quality(app):
    setup = opened(days=(10,), names=["Solo Ltd"])
    ranking = rank_bids(setup.commission)
    assert ranking.moderated is False
    assert ranking.rows[0].total == D("0.00")
    assert ranking.rows[0].criteria[0].consensus is None


def test_the_commissioner_notes_a_decision_on_an_abnormally_low_price_on_its_page(app, client):
    setup = opened(days=(3, 12, 14))  # the £2,050 bid is flagged
    low, mid, _high = setup.bids
    through_moderation(setup)
    service.open_price(setup.commissioner, setup.commission)
    db.session.commit()
    login_as(client, setup.commissioner)
    base = f"/commissioning/commissions/{setup.commission.id}/evaluation"
    ranking_page = client.get(f"{base}/ranking").text
    assert "Note a decision on every possibly abnormally low price" in ranking_page
    url = f"{base}/bids/{low.id}/abnormally-low"
    assert client.get(url).status_code == 200
    assert client.get(f"{base}/bids/{mid.id}/abnormally-low").status_code == 404  # not flagged
    refused = client.post(url, data={"outcome": "rejected", "reason": ""})
    assert refused.status_code == 400 and "There is a problem" in refused.text
    assert rank_bids(setup.commission).row_for(low.id).decision is None
    saved = client.post(url, data={"outcome": AbnormallyLowOutcome.REJECTED,
                                   "reason": "The bidder could not explain the day rates."})
    assert saved.status_code == 302 and saved.location.endswith(f"{base}/ranking")
    db.session.expire_all()
    assert [r.bid_id for r in rank_bids(setup.commission).excluded] == [low.id]
    again = client.get(url).text  # the decision is shown for a change of mind
    assert "The bidder could not explain the day rates." in again


def test_the_ranking_page_shows_a_tie_and_the_rule_that_broke_it(app, client):
    setup = opened(days=(10, 10))
    through_moderation(setup)
    service.open_price(setup.commissioner, setup.commission)
    db.session.commit()
    login_as(client, setup.commissioner)
    page = client.get(f"/commissioning/commissions/{setup.commission.id}/evaluation/ranking")
    text = " ".join(page.text.split())
    assert text.count("1=") >= 2
    assert "placed 1 by earlier submission" in text and "placed 2 by earlier submission" in text
