"""Independence and the two envelopes, on every page and export:

- an evaluator sees no other evaluator's scores until they have submitted their own; the
  commissioner sees none until every evaluator has submitted;
- a quality evaluator sees no price, day rate, expense or commercial document anywhere
  until the commissioner opens the price envelope (after moderation).
"""

from __future__ import annotations

import csv
import io

from openpyxl import load_workbook
from sqlalchemy import select

from portal.extensions import db
from portal.models.audit import AuditEvent
from portal.models.bids import Bid
from portal.models.commissions import Commission
from portal.services import evaluation as service
from tests.evaluation_support import (
    JUSTIFICATION,
    add_panel,
    declare_all,
    entries,
    moderate,
    opened,
    score_all,
)
from tests.fixtures.users import login_as, make_staff

# What the price envelope holds for the bids built by tests/bids_support.complete_bid
# (10 and 12 days at £600 a day, £250 travel, a commercial "Pricing schedule").
PRICE_MARKERS = ("£", "6,250", "7,450", "625000", "745000", "6250.00", "Day rate",
                 "Pricing schedule", "prices.pdf", "Travel", "Price (GBP)")

EVAN_TEXT = ("Evan reasons: the methodology is thin on case file reading and "
             "the plan leaves little time for interviews.")


def _xlsx_text(data: bytes) -> str:
    sheet = load_workbook(io.BytesIO(data)).active
    return "\n".join(
        "\t".join("" if v is None else str(v) for v in row)
        for row in sheet.iter_rows(values_only=True)
    )


def _evaluator_pages(setup, assignment_is_moderator: bool, submitted: bool,
                     moderation_ready: bool = True) -> list[str]:
    cid = setup.commission.id
    urls = ["/evaluation", f"/evaluation/commissions/{cid}",
            f"/evaluation/commissions/{cid}/submit"]
    for bid in setup.bids:
        urls += [f"/evaluation/commissions/{cid}/bids/{bid.id}/declaration",
                 f"/evaluation/commissions/{cid}/bids/{bid.id}",
                 f"/evaluation/commissions/{cid}/bids/{bid.id}/scores"]
    if submitted:
        urls.append(f"/evaluation/commissions/{cid}/panel-scores")
    if assignment_is_moderator:
        urls.append(f"/evaluation/commissions/{cid}/moderation")
        if moderation_ready:
            urls += [f"/evaluation/commissions/{cid}/moderation/bids/{b.id}"
                     for b in setup.bids]
    return urls


def _texts(client, setup, urls) -> dict[str, str]:
    texts = {}
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
        texts[url] = response.text
    cid = setup.commission.id
    texts["csv"] = client.get(f"/evaluation/commissions/{cid}/scores.csv").text
    texts["xlsx"] = _xlsx_text(client.get(f"/evaluation/commissions/{cid}/scores.xlsx").data)
    return texts


def _assert_no_price(texts: dict[str, str]) -> None:
    for where, text in texts.items():
        for marker in PRICE_MARKERS:
            assert marker not in text, f"{marker!r} shown on {where}"


def test_quality_evaluators_never_see_the_price_envelope_until_it_is_opened(app, client):
    setup = opened(days=(10, 12))
    moderator, other = add_panel(setup, 2)
    for evaluator in (moderator, other):
        score_all(setup, evaluator)
    moderate(setup, complete=False)

    for evaluator, is_moderator in ((moderator, True), (other, False)):
        login_as(client, evaluator)
        _assert_no_price(_texts(client, setup,
                                _evaluator_pages(setup, is_moderator, submitted=True)))
        for bid in setup.bids:
            commercial = next(d for d in bid.current_documents if d.commercial)
            quality = next(d for d in bid.current_documents if not d.commercial)
            assert client.get(f"/documents/{commercial.document_id}").status_code == 404
            assert client.get(f"/documents/{quality.document_id}").status_code == 200
            # the commissioners' bid pages and exports are not theirs at all
            assert client.get(f"/commissioning/commissions/{setup.commission.id}/bids/"
                              f"{bid.id}").status_code == 404
        assert client.get(f"/commissioning/commissions/{setup.commission.id}/bids.csv"
                          ).status_code == 404

    # moderation done, envelope still closed: still nothing
    service.complete_moderation(moderator, setup.commission)
    db.session.commit()
    login_as(client, other)
    _assert_no_price(_texts(client, setup, _evaluator_pages(setup, False, submitted=True)))

    service.open_price(setup.commissioner, setup.commission)
    db.session.commit()
    login_as(client, other)
    cid = setup.commission.id
    page = client.get(f"/evaluation/commissions/{cid}/bids/{setup.bids[0].id}")
    assert "£6,250" in page.text and "Pricing schedule" in page.text
    export = client.get(f"/evaluation/commissions/{cid}/scores.csv").text
    assert "Price (GBP)" in export and "6250.00" in export
    commercial = next(d for d in setup.bids[0].current_documents if d.commercial)
    assert client.get(f"/documents/{commercial.document_id}").status_code == 200


def test_a_commissioner_on_the_panel_is_a_quality_evaluator_too(app, client):
    setup = opened(days=(10, 12))
    dual = make_staff("commissioner", "evaluator", name="Dual Role")
    other = make_staff("evaluator", name="Other Evaluator")
    service.assign_evaluator(setup.commissioner, setup.commission, dual.id, moderator=True)
    service.assign_evaluator(setup.commissioner, setup.commission, other.id)
    service.start_evaluation(setup.commissioner, setup.commission)
    db.session.commit()
    declare_all(setup, dual)
    bid = db.session.get(Bid, setup.bids[0].id)
    assert bid.can_view(dual) is True
    assert bid.can_view_commercial(dual) is False
    assert bid.can_view_commercial(setup.commissioner) is True
    login_as(client, dual)
    cid = setup.commission.id
    for url in (f"/commissioning/commissions/{cid}/bids/{bid.id}",
                f"/commissioning/commissions/{cid}/bids",
                f"/evaluation/commissions/{cid}/bids/{bid.id}"):
        page = client.get(url)
        assert page.status_code == 200
        assert "£6,250" not in page.text and "Pricing schedule" not in page.text, url
    commercial = next(d for d in bid.current_documents if d.commercial)
    assert client.get(f"/documents/{commercial.document_id}").status_code == 404


def test_a_commissioner_on_the_panel_sees_no_bid_before_declaring_nor_one_they_conflict_with(
        app, client):
    setup = opened(days=(10, 12))
    dual = make_staff("commissioner", "evaluator", name="Dual Role")
    other = make_staff("evaluator", name="Other Evaluator")
    service.assign_evaluator(setup.commissioner, setup.commission, dual.id)
    service.assign_evaluator(setup.commissioner, setup.commission, other.id, moderator=True)
    service.start_evaluation(setup.commissioner, setup.commission)
    db.session.commit()
    cid = setup.commission.id
    first, second = (db.session.get(Bid, b.id) for b in setup.bids)
    login_as(client, dual)

    def staff_page(bid):
        return client.get(f"/commissioning/commissions/{cid}/bids/{bid.id}").status_code

    # On the panel, not yet declared: the commissioner's own bid page is closed as well.
    assert (staff_page(first), staff_page(second)) == (404, 404)
    declare_all(setup, dual, conflict_with=(first,))
    assert (staff_page(first), staff_page(second)) == (404, 200)
    assert first.can_view(dual) is False and second.can_view(dual) is True
    # A commissioner who is not on the panel sees every opened bid, as before.
    assert first.can_view(setup.commissioner) and second.can_view(setup.commissioner)


def test_independence_between_evaluators_and_for_the_commissioner(app, client):
    setup = opened(days=(10, 12))
    eva, evan = add_panel(setup, 2)
    cid = setup.commission.id
    score_all(setup, eva)
    declare_all(setup, evan)
    for bid in setup.bids:
        service.save_scores(evan, setup.commission, bid, entries(setup, 1, text=EVAN_TEXT))
    db.session.commit()

    # Evan has not submitted: no one else's scores anywhere
    login_as(client, evan)
    assert client.get(f"/evaluation/commissions/{cid}/panel-scores").status_code == 403
    texts = _texts(client, setup, _evaluator_pages(setup, False, submitted=False))
    for where, text in texts.items():
        assert JUSTIFICATION not in text, where
    assert EVAN_TEXT in texts["csv"]  # his own drafts, yes

    # Eva has submitted, but Evan's drafts are not submitted scores
    login_as(client, eva)
    texts = _texts(client, setup, _evaluator_pages(setup, True, submitted=True,
                                                   moderation_ready=False))
    for where, text in texts.items():
        assert EVAN_TEXT not in text, where
    assert JUSTIFICATION in texts[f"/evaluation/commissions/{cid}/panel-scores"]

    # The commissioner: statuses only, no scores, until everyone has submitted
    login_as(client, setup.commissioner)
    progress = client.get(f"/commissioning/commissions/{cid}/evaluation/progress")
    assert "Scored" in progress.text
    commissioner_views = [
        progress.text,
        client.get(f"/commissioning/commissions/{cid}/evaluation").text,
        client.get(f"/commissioning/commissions/{cid}/evaluation/report").text,
        client.get(f"/commissioning/commissions/{cid}/evaluation/scores.csv").text,
        _xlsx_text(client.get(f"/commissioning/commissions/{cid}/evaluation/scores.xlsx").data),
    ]
    for text in commissioner_views:
        assert JUSTIFICATION not in text and EVAN_TEXT not in text
    rows = list(csv.reader(io.StringIO(commissioner_views[3])))
    assert len(rows) == 1  # the header only

    # The audit trail does not give the draft scores away either
    saved = db.session.scalars(select(AuditEvent).where(
        AuditEvent.action == "evaluation.scores_saved")).all()
    assert saved and all("score" not in str(e.data).lower().replace("scores_saved", "")
                         for e in saved)

    service.submit_scores(evan, setup.commission)
    db.session.commit()
    login_as(client, eva)
    assert EVAN_TEXT in client.get(f"/evaluation/commissions/{cid}/panel-scores").text
    login_as(client, setup.commissioner)
    text = client.get(f"/commissioning/commissions/{cid}/evaluation/progress").text
    assert EVAN_TEXT in text and JUSTIFICATION in text
    rows = list(csv.reader(io.StringIO(
        client.get(f"/commissioning/commissions/{cid}/evaluation/scores.csv").text)))
    assert len(rows) == 1 + 2 * 2 * 2


def test_exports_are_safe_from_formula_injection(app, client):
    setup = opened(days=(10,), names=["=HYPERLINK(\"http://evil.example\",\"x\") Ltd"])
    eva, evan = add_panel(setup, 2)
    nasty = "=cmd|' /C calc'!A0 " + "and enough words to pass the minimum length rule"
    declare_all(setup, eva)
    service.save_scores(eva, setup.commission, setup.bids[0], entries(setup, 2, text=nasty))
    db.session.commit()
    login_as(client, eva)
    cid = setup.commission.id
    rows = list(csv.reader(io.StringIO(
        client.get(f"/evaluation/commissions/{cid}/scores.csv").text)))
    bidder_column, justification_column = 1, 6
    for row in rows[1:]:
        assert row[bidder_column].startswith("'=HYPERLINK")
        assert row[justification_column].startswith("'=cmd")
    sheet = load_workbook(io.BytesIO(
        client.get(f"/evaluation/commissions/{cid}/scores.xlsx").data)).active
    for cells in sheet.iter_rows(min_row=2):
        for cell in cells:
            assert cell.data_type != "f"
        assert cells[justification_column].value.startswith("'=cmd")
    assert evan  # the second evaluator is only there to make a panel


def test_commission_and_bid_predicates_for_evaluators(app):
    setup = opened(days=(10, 12))
    eva, evan = add_panel(setup, 2, start=False)
    commission = db.session.get(Commission, setup.commission.id)
    bid = setup.bids[0]
    # assigned, but the evaluation has not started: nothing yet
    assert commission.can_view(eva) is False
    assert bid.can_view(eva) is False
    service.start_evaluation(setup.commissioner, commission)
    db.session.commit()
    assert commission.can_view(eva) is True
    assert commission.is_assigned_evaluator(eva) is True
    assert bid.can_view(eva) is False  # not declared yet
    declare_all(setup, eva, conflict_with=[bid])
    assert bid.can_view(eva) is False  # conflict
    assert setup.bids[1].can_view(eva) is True
    outsider = make_staff("evaluator")
    assert commission.can_view(outsider) is False
    assert setup.bids[1].can_view(outsider) is False
    assert evan is not None
