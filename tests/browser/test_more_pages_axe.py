"""Pages no journey passes through, in a real browser: the abnormally low price decision,
the award page in standstill and after confirmation, withdrawing an award, closing with no
suitable bid, the open data policy, and the admin and commissioner pool pages. axe-core
finds nothing on each, nor on each form after an empty or invalid submit.

The data is made through the services and factories; the browser only visits."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from playwright.sync_api import expect

from portal.extensions import db
from portal.models import ReviewerSensitiveData
from portal.models.award import AwardStatus
from portal.models.base import utcnow
from portal.models.pool import MembershipStatus
from portal.models.profiles import seed_expertise_tags
from portal.services import award as award_service
from portal.services import evaluation
from portal.services import profiles as profile_service
from portal.services.ranking import rank_bids
from tests.award_support import admin, evaluated_commission
from tests.bids_support import profile
from tests.browser.journeys import h1
from tests.evaluation_support import opened, through_moderation
from tests.fixtures.browser import assert_no_axe_violations, sign_in_browser
from tests.fixtures.users import OrganisationFactory, make_staff
from tests.pool_support import category, make_membership

pytestmark = pytest.mark.browser


def _visit(page, path: str, heading: str, submit: str | None = None,
           clear: tuple[str, ...] = (), error: str | None = None) -> None:
    """Open `path` and check it once its h1 reads `heading`; then, if `submit` is given,
    empty the fields labelled `clear`, press the button called `submit` and check the
    page with its error summary (which shows `error`, when given)."""
    response = page.goto(path)
    assert response is not None and response.status == 200, (path, response and response.status)
    expect(h1(page)).to_contain_text(heading)
    assert_no_axe_violations(page)
    if submit:
        for label in clear:
            page.get_by_label(label, exact=True).fill("")
        page.get_by_role("button", name=submit, exact=True).click()
        summary = page.locator(".govuk-error-summary")
        expect(summary).to_be_visible()
        if error:
            expect(summary).to_contain_text(error)
        expect(h1(page)).to_contain_text(heading)
        assert_no_axe_violations(page)


# --- evaluation and award ----------------------------------------------------------------


def test_abnormally_low_price_and_no_suitable_bid_pages(page, live_server):
    # £12,250, £12,250 and £3,250: the last is more than 30% below the mean (£9,250).
    setup = opened(days=(20, 20, 5))
    through_moderation(setup)
    evaluation.open_price(setup.commissioner, setup.commission)
    db.session.commit()
    low = setup.bids[2]
    assert [row.bid_id for row in rank_bids(setup.commission).flagged] == [low.id]
    low_id, low_name = low.id, low.organisation.display_name
    base = f"/commissioning/commissions/{setup.commission.id}"
    title = setup.commission.title
    db.session.commit()

    sign_in_browser(page, setup.commissioner)
    _visit(page, f"{base}/evaluation/bids/{low_id}/abnormally-low",
           f"Possibly abnormally low price: {low_name}", submit="Save the decision",
           error="Enter the reason for your decision")
    expect(page.locator(".govuk-error-summary")).to_contain_text("Select your decision")
    _visit(page, f"{base}/award/no-suitable-bid", f"Close {title} with no suitable bid",
           submit="Close with no suitable bid", error="Enter why no bid is suitable")

    # Nothing was decided or closed by the empty submits.
    assert rank_bids(setup.commission).row_for(low_id).decision is None
    assert award_service.live_award(setup.commission) is None
    db.session.commit()


def _approved(commissioner, approver, number: int):
    """An evaluated commission whose top-ranked bid was proposed and approved."""
    ev = evaluated_commission(commissioner, number=number)
    award = award_service.propose(commissioner, ev.commission, None, "")
    db.session.commit()
    award_service.approve(approver, award)
    db.session.commit()
    return ev, award


def test_award_pages_in_standstill_after_confirmation_and_withdrawing(page, live_server):
    commissioner = make_staff("commissioner", name="Cara Commissioner")
    approver = admin()
    # Proposed and approved six weeks ago, so the standstill has ended: confirmed now.
    with time_machine.travel(utcnow() - timedelta(days=42), tick=True):
        confirmed, award = _approved(commissioner, approver, number=1)
    award_service.confirm(commissioner, award)
    db.session.commit()
    # Approved just now: in standstill.
    standstill, live = _approved(commissioner, approver, number=2)
    assert award.status == AwardStatus.CONFIRMED and live.status == AwardStatus.APPROVED
    winner = live.organisation.display_name
    confirmed_url = f"/commissioning/commissions/{confirmed.commission.id}/award"
    standstill_url = f"/commissioning/commissions/{standstill.commission.id}/award"
    withdraw_url = f"{standstill_url}/{live.id}/withdraw"
    db.session.commit()

    _visit(page, "/open-data", "Open data: publication policy")

    sign_in_browser(page, commissioner)
    _visit(page, standstill_url, "Award")
    expect(page.get_by_text("Standstill: nobody can confirm the award until")).to_be_visible()
    expect(page.get_by_role("link", name="Withdraw the award")).to_be_visible()
    _visit(page, withdraw_url, f"Withdraw the award to {winner}",
           submit="Withdraw the award", error="Enter the reason for withdrawing the award")

    _visit(page, confirmed_url, "Award")
    expect(page.locator(".govuk-summary-list").first).to_contain_text("Confirmed")

    db.session.refresh(live)
    assert live.status == AwardStatus.APPROVED  # the empty submit withdrew nothing
    db.session.commit()


# --- admin and commissioner pool pages ---------------------------------------------------


def _respondents(count: int) -> None:
    """Reviewers who answered the diversity questions, enough for the report to show
    numbers (counts under 5 are suppressed)."""
    organisation = OrganisationFactory(legal_name="Diverse Reviews Ltd")
    for index in range(count):
        reviewer = profile(organisation, name=f"Reviewer {index}")
        reviewer.sensitive = ReviewerSensitiveData(
            sex="female" if index % 2 else "male", ethnicity="white")
    db.session.commit()


def test_admin_pool_pages(page, live_server):
    seed_expertise_tags()
    administrator = make_staff("admin", name="Ada Admin")
    tag = profile_service.all_tags()[0]
    tag_id, tag_name = tag.id, tag.name
    category_id, category_name = category(2).id, category(2).name
    _respondents(12)
    db.session.commit()

    sign_in_browser(page, administrator)
    _visit(page, "/admin/categories", "Service categories")
    _visit(page, f"/admin/categories/{category_id}", "Change the category",
           submit="Save changes", clear=("Name", "Membership period, in months"),
           error="Enter a name")
    _visit(page, "/admin/expertise", "Areas of expertise")
    expect(page.get_by_text(tag_name).first).to_be_visible()
    _visit(page, "/admin/expertise/new", "Add an area of expertise", submit="Save",
           error="Enter the name of the area of expertise")
    _visit(page, f"/admin/expertise/{tag_id}/edit", "Rename an area of expertise",
           submit="Save", clear=("Rename an area of expertise",),
           error="Enter the name of the area of expertise")
    _visit(page, "/admin/reports/diversity", "Reviewer diversity")
    expect(page.locator("main table").first).to_be_visible()

    db.session.refresh(tag)
    assert tag.name == tag_name  # the invalid submits changed nothing
    assert category(2).name == category_name
    db.session.commit()


def test_commissioner_reinstate_and_remove_pages(page, live_server):
    commissioner = make_staff("commissioner", name="Cara Commissioner")
    organisation = OrganisationFactory(legal_name="Hartley Review Associates")
    membership = make_membership(organisation, number=1, status=MembershipStatus.SUSPENDED)
    base = f"/commissioning/members/{membership.id}"
    db.session.commit()

    sign_in_browser(page, commissioner)
    _visit(page, f"{base}/reinstate", "Reinstate membership",
           submit="Reinstate membership", error="Enter a reason")
    _visit(page, f"{base}/remove", "Remove from the pool",
           submit="Remove from the pool", error="Enter a reason")

    db.session.refresh(membership)
    assert membership.status == MembershipStatus.SUSPENDED
    db.session.commit()
