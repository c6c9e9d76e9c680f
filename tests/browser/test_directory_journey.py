"""The directory in a real browser: a partnership member searches with filters, opens a
profile, shortlists, sends an enquiry; the reviewer's organisation replies. axe-core finds
nothing on any page on the way, error states included."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from portal.extensions import db
from portal.models import Enquiry, utcnow
from tests.directory_support import member_organisation, reviewer
from tests.fixtures.browser import assert_no_axe_violations, sign_in_browser
from tests.fixtures.users import make_partnership_member, make_supplier

pytestmark = pytest.mark.browser


def test_search_shortlist_enquire_and_reply(page, live_server):
    organisation = member_organisation("Hartley Reviews Ltd", categories=(1, 4))
    owner = make_supplier(organisation, role="owner", name="Helen Hartley")
    ada = reviewer("Ada Achebe", organisation, expertise=["Neglect", "Domestic abuse"],
                   regions=["yorkshire_humber"], lcspr=5, dbs=True, competences=["race"],
                   summary="Independent reviewer; led practice reviews into neglect.",
                   publications=[("Child Safeguarding Practice Review: Baby Q", "lcspr")])
    reviewer("Ben Baxter", organisation, expertise=["Criminal exploitation"],
             regions=["london"], lcspr=1)
    for i in range(25):
        reviewer(f"Reviewer {i:02d}", organisation, expertise=["Neglect"], regions=["wales"])
    member = make_partnership_member(name="Sarah Bennett")
    ada_id = ada.id
    db.session.commit()

    sign_in_browser(page, member)
    page.goto("/directory")
    expect(page.get_by_role("heading", level=1)).to_have_text("Find a reviewer")
    expect(page.get_by_role("heading", name="27 reviewers found")).to_be_visible()
    assert_no_axe_violations(page)

    # An error state.
    page.get_by_label("At least this many").fill("lots")
    page.get_by_role("button", name="Apply filters").click()
    expect(page.get_by_text("There is a problem")).to_be_visible()
    assert_no_axe_violations(page)

    # Filters and free text.
    page.get_by_label("At least this many").fill("3")
    page.get_by_label("Reviews authored of type").select_option("lcspr")
    page.get_by_role("searchbox", name="Search").fill("neglect")
    page.get_by_label("Yorkshire and the Humber").check()
    page.get_by_label("Current enhanced DBS check").check()
    page.get_by_role("button", name="Apply filters").click()
    expect(page.get_by_role("heading", name="1 reviewer found")).to_be_visible()
    expect(page.get_by_text("Why this reviewer matched")).to_be_visible()
    assert_no_axe_violations(page)

    # Pagination.
    page.goto("/directory?per_page=10")
    page.get_by_role("link", name="Next").click()
    expect(page.get_by_text("Showing 11 to 20")).to_be_visible()
    assert_no_axe_violations(page)

    # The profile.
    page.goto("/directory?q=achebe")
    page.get_by_role("link", name="Ada Achebe").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Ada Achebe")
    expect(page.get_by_text("Current enhanced DBS check")).to_be_visible()
    assert_no_axe_violations(page)

    # Shortlist.
    page.get_by_label("Save to a new shortlist called").fill("Child T LCSPR")
    page.get_by_role("button", name="Save to shortlist").click()
    expect(page.get_by_text("Saved to \u2018Child T LCSPR\u2019")).to_be_visible()
    assert_no_axe_violations(page)
    page.get_by_role("link", name="Child T LCSPR").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Child T LCSPR")
    expect(page.get_by_role("link", name="Ada Achebe")).to_be_visible()
    assert_no_axe_violations(page)
    page.goto("/directory/shortlists")
    assert_no_axe_violations(page)

    # Enquiry, first with a mistake.
    page.goto(f"/directory/reviewers/{ada_id}")
    page.get_by_role("link", name="Send an enquiry").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Send an enquiry")
    assert_no_axe_violations(page)
    page.get_by_label("Subject").fill("Prospective LCSPR: Child T")
    page.get_by_role("button", name="Send enquiry").click()
    expect(page.get_by_text("There is a problem")).to_be_visible()
    assert_no_axe_violations(page)
    start = utcnow().date().replace(day=1)
    page.get_by_label("Message").fill("We are commissioning an LCSPR.\nAre you available?")
    page.get_by_label("Day").fill(str(start.day))
    page.get_by_label("Month").fill(str(start.month))
    page.get_by_label("Year").fill(str(start.year + 1))
    page.get_by_label("Expected length, in weeks").fill("26")
    page.get_by_role("button", name="Send enquiry").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Prospective LCSPR: Child T")
    assert_no_axe_violations(page)

    # The reviewer's organisation replies.
    enquiry_id = db.session.scalar(select(Enquiry.id))
    db.session.commit()
    page.context.clear_cookies()
    sign_in_browser(page, owner)
    page.goto("/directory/enquiries")
    expect(page.get_by_role("heading", level=1)).to_have_text("Enquiries")
    assert_no_axe_violations(page)
    page.get_by_role("link", name="Prospective LCSPR: Child T").click()
    expect(page.get_by_text("Are you available?")).to_be_visible()
    assert_no_axe_violations(page)
    page.get_by_label("Your reply").fill("Yes, we could start then.")
    page.get_by_role("button", name="Send reply").click()
    expect(page.get_by_text("Reply sent")).to_be_visible()
    assert_no_axe_violations(page)
    page.get_by_role("button", name="Show as not taking on new work").click()
    expect(page.get_by_role("button", name="Show as taking on new work")).to_be_visible()
    assert_no_axe_violations(page)
    page.goto("/directory/blocked")
    assert_no_axe_violations(page)

    # The partnership member sees the reply.
    page.context.clear_cookies()
    sign_in_browser(page, member)
    page.goto(f"/directory/enquiries/{enquiry_id}")
    expect(page.get_by_text("Yes, we could start then.")).to_be_visible()
    assert_no_axe_violations(page)
    page.goto("/directory/enquiries")
    expect(page.get_by_role("cell", name="Replied")).to_be_visible()
    assert_no_axe_violations(page)
    page.goto(f"/directory/reviewers/{ada_id}")
    expect(page.get_by_text("This reviewer is not taking on new work")).to_be_visible()
    assert_no_axe_violations(page)
