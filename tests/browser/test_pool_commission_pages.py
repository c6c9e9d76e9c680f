"""The pool, profile, commission and bid pages that the journeys do not pass through, in a
real browser: axe-core finds nothing on each, nor on the forms submitted empty."""

from __future__ import annotations

from datetime import date

import pytest
from playwright.sync_api import expect

from portal.extensions import db
from portal.models import ReviewerProfile, ReviewerRegion, ReviewerSensitiveData
from portal.models.pool import seed_declaration_questions
from portal.models.profiles import seed_expertise_tags
from tests.bids_support import complete_bid, open_commission
from tests.browser.journeys import checked
from tests.commissions_support import make_draft
from tests.fixtures.browser import sign_in_browser
from tests.fixtures.users import OrganisationFactory, make_staff, make_supplier
from tests.pool_support import complete_details, make_application, make_membership

pytestmark = pytest.mark.browser


def _visit(page, path: str, empty_submit: str | None = None) -> None:
    """Open `path`, check it; then, if given, press the button called `empty_submit`
    without filling anything in and check the page with its errors."""
    response = page.goto(path)
    assert response is not None and response.status == 200, (path, response and response.status)
    checked(page)
    if empty_submit:
        page.get_by_role("button", name=empty_submit, exact=True).click()
        expect(page.locator(".govuk-error-summary")).to_be_visible()
        checked(page)


def _reviewer(organisation) -> int:
    reviewer = ReviewerProfile(
        organisation_id=organisation.id, name="Dr Ada Reviewer",
        professional_background="social_work", years_experience=12,
        summary="Independent reviewer.", day_rate_pence=600_00,
    )
    reviewer.region_links.append(ReviewerRegion(region="london"))
    reviewer.sensitive = ReviewerSensitiveData(
        ethnicity="white", dbs_type="enhanced", dbs_certificate_date=date(2025, 1, 6),
        dbs_update_service=True,
    )
    db.session.add(reviewer)
    db.session.commit()
    return reviewer.id


@pytest.fixture
def world(app):
    seed_declaration_questions()
    seed_expertise_tags()
    commissioner = make_staff("commissioner", name="Cara Commissioner")
    organisation = OrganisationFactory(legal_name="Hartley Review Associates")
    complete_details(organisation)
    owner = make_supplier(organisation, role="owner", name="Helen Hartley")
    reviewer_id = _reviewer(organisation)
    renewable = make_membership(organisation, number=3, expires_in_days=30)
    application = make_application(organisation, categories=(2,), user=owner)
    commission = open_commission(commissioner, organisation)  # member of category 1
    draft = make_draft(commissioner, 1, title="A draft")
    bid = complete_bid(owner, commission, submit=True)
    ids = {
        "reviewer": reviewer_id, "renewable": renewable.id, "application": application.id,
        "commission": commission.id, "draft": draft.id, "bid": bid.id,
    }
    db.session.commit()
    return commissioner, owner, ids


def test_supplier_pages(page, live_server, world):
    _commissioner, owner, ids = world
    sign_in_browser(page, owner)
    reviewer = f"/organisation/reviewers/{ids['reviewer']}"
    commission = f"/opportunities/{ids['commission']}"
    _visit(page, "/organisation/details")
    _visit(page, "/organisation/details/edit")
    _visit(page, "/organisation/reviewers")
    _visit(page, "/organisation/reviewers/new", "Save and continue")
    for path in ("", "/edit", "/expertise", "/competences", "/remove", "/sensitive",
                 "/consent", "/documents"):
        _visit(page, reviewer + path)
    _visit(page, reviewer + "/publications/new", "Add review")
    _visit(page, "/pool/apply")
    _visit(page, f"/pool/apply/{ids['application']}")
    _visit(page, f"/pool/apply/{ids['application']}/withdraw")
    _visit(page, "/pool/memberships")
    _visit(page, f"/pool/memberships/{ids['renewable']}/renew")
    _visit(page, "/opportunities")
    _visit(page, commission)
    _visit(page, commission + "/bid")
    _visit(page, commission + "/bid/history")
    _visit(page, commission + "/bid/versions/1")
    _visit(page, commission + "/bid/withdraw")
    _visit(page, commission + "/bid/change")


def test_commissioner_pages(page, live_server, world):
    commissioner, _owner, ids = world
    sign_in_browser(page, commissioner)
    commission = f"/commissioning/commissions/{ids['commission']}"
    for query in ("", "?status=all&age=0-7", "?status=withdrawn"):
        _visit(page, "/commissioning/applications" + query)
    _visit(page, f"/commissioning/applications/{ids['application']}")
    _visit(page, "/commissioning/members")
    _visit(page, "/commissioning/members?status=all&q=hartley")
    _visit(page, f"/commissioning/members/{ids['renewable']}")
    _visit(page, f"/commissioning/members/{ids['renewable']}/suspend", "Suspend membership")
    for view in ("open", "draft", "past"):
        _visit(page, f"/commissioning/commissions?view={view}")
    _visit(page, f"/commissioning/commissions/{ids['draft']}")
    _visit(page, f"/commissioning/commissions/{ids['draft']}/check")
    _visit(page, commission)
    _visit(page, commission + "/extend")
    _visit(page, commission + "/amend")
    _visit(page, commission + "/cancel", "Cancel commission")
    _visit(page, commission + "/bids")


def test_public_pool_pages(page, live_server, world):
    for path in ("/pool", "/pool?q=hartley", "/pool?q=nobody-at-all"):
        _visit(page, path)
