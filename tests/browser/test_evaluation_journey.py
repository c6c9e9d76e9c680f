"""Issue 6 (evaluation) in a real browser: an evaluator declares conflicts of interest
and scores two bids (with a refused, error-summary attempt on the way) and submits; the
moderator (who scored through the service) moderates both bids side by side and
completes moderation; the commissioner sees progress, opens the price envelope and reads
the ranking and the printable report. axe-core runs on every page visited."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from portal.extensions import db
from portal.models.commissions import CommissionState
from tests.evaluation_support import JUSTIFICATION, RATIONALE, add_panel, opened, score_all
from tests.fixtures.browser import assert_no_axe_violations, sign_in_browser

pytestmark = pytest.mark.browser


def _visit(page, path: str) -> None:
    page.goto(path)
    assert_no_axe_violations(page)


def _fill_scores(page, criteria_ids, values, text, name="justification") -> None:
    for criterion_id, value in zip(criteria_ids, values, strict=True):
        page.check(f"input[name='score_{criterion_id}'][value='{value}']")
        page.fill(f"#{name}_{criterion_id}", text)


def test_evaluators_declare_score_and_moderate(page, live_server):
    setup = opened(days=(10, 12))
    moderator, evaluator = add_panel(setup, 2)
    score_all(setup, moderator)
    commission = setup.commission
    cid = commission.id
    bid_ids = [b.id for b in setup.bids]
    names = [b.organisation.display_name for b in setup.bids]
    criteria_ids = [c.id for c in setup.criteria]
    reference = commission.reference
    db.session.commit()

    # The evaluator: declare, read, score, submit.
    sign_in_browser(page, evaluator)
    _visit(page, "/evaluation")
    page.get_by_role("link", name=reference, exact=False).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Evaluate bids")
    assert_no_axe_violations(page)
    for bid_id, name in zip(bid_ids, names, strict=True):
        page.get_by_role("link", name=name, exact=True).click()
        expect(page.get_by_role("heading", level=1)).to_have_text(
            f"Conflict of interest: {name}")
        assert_no_axe_violations(page)
        page.get_by_role("button", name="Make the declaration").click()  # no answer
        expect(page.locator(".govuk-error-summary")).to_contain_text(
            "Select whether you have a conflict of interest")
        assert_no_axe_violations(page)
        page.get_by_label("No", exact=True).check()
        page.get_by_role("button", name="Make the declaration").click()
        expect(page.locator(".govuk-notification-banner")).to_contain_text(
            "Declaration recorded")
        _visit(page, f"/evaluation/commissions/{cid}/bids/{bid_id}")
        expect(page.get_by_text("Prices, day rates, expenses and commercial documents "
                                "are hidden")).to_be_visible()
        assert "£" not in page.content()
        page.get_by_role("link", name="Score this bid").click()
        expect(page.get_by_role("button", name="Save as draft")).to_be_visible()
        assert_no_axe_violations(page)
        # a short justification is refused, with the GOV.UK error summary
        _fill_scores(page, criteria_ids, (3, 2), "Too short.")
        page.get_by_role("button", name="Save as draft").click()
        expect(page.locator(".govuk-error-summary")).to_contain_text(
            "must be at least 50 characters")
        assert_no_axe_violations(page)
        _fill_scores(page, criteria_ids, (3, 1), JUSTIFICATION)
        page.get_by_role("button", name="Save as draft").click()
        expect(page.locator(".govuk-notification-banner")).to_contain_text("saved as a draft")
        assert_no_axe_violations(page)
    page.get_by_role("link", name="Submit your scores").click()
    expect(page.get_by_role("button", name="Submit your scores")).to_be_visible()
    assert_no_axe_violations(page)
    page.get_by_role("button", name="Submit your scores").click()
    expect(page.locator(".govuk-notification-banner")).to_contain_text("Scores submitted")
    _visit(page, f"/evaluation/commissions/{cid}/panel-scores")

    # The moderator: side by side, consensus, complete.
    sign_in_browser(page, moderator)
    _visit(page, f"/evaluation/commissions/{cid}/moderation")
    expect(page.get_by_text("Spread of 2").first).to_be_visible()  # 3 v 1 on Team
    for bid_id, name in zip(bid_ids, names, strict=True):
        page.goto(f"/evaluation/commissions/{cid}/moderation/bids/{bid_id}")
        assert_no_axe_violations(page)
        page.get_by_role("button", name="Save consensus scores").click()
        expect(page.locator(".govuk-error-summary")).to_contain_text(
            "Choose a consensus score from 0 to 4")
        assert_no_axe_violations(page)
        _fill_scores(page, criteria_ids, (3, 2), RATIONALE, name="rationale")
        page.get_by_role("button", name="Save consensus scores").click()
        expect(page.locator(".govuk-notification-banner")).to_contain_text(name)
    assert_no_axe_violations(page)
    page.get_by_role("button", name="Complete moderation").click()
    expect(page.locator(".govuk-notification-banner")).to_contain_text("Moderation complete")
    assert_no_axe_violations(page)

    # The commissioner: progress, price envelope, ranking, report.
    sign_in_browser(page, setup.commissioner)
    _visit(page, f"/commissioning/commissions/{cid}/evaluation")
    _visit(page, f"/commissioning/commissions/{cid}/evaluation/progress")
    page.goto(f"/commissioning/commissions/{cid}/evaluation")
    page.get_by_role("link", name="Open the price envelope").click()
    expect(page.get_by_role("button", name="Open the price envelope")).to_be_visible()
    assert_no_axe_violations(page)
    page.get_by_role("button", name="Open the price envelope").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Ranking")
    expect(page.get_by_role("table")).to_contain_text("£6,250")
    assert_no_axe_violations(page)
    _visit(page, f"/commissioning/commissions/{cid}/evaluation/report")
    page.emulate_media(media="print")
    expect(page.locator(".govuk-footer")).to_be_hidden()
    page.emulate_media(media="screen")

    db.session.expire_all()
    assert commission.state == CommissionState.MODERATED
    assert commission.price_opened_at is not None
    db.session.commit()
