"""Issue 5 in a real browser. With two windows open at once, a commissioner drafts a
commission (details, criteria with weights totalling 100, deadlines in UK time, a
document), checks it and publishes it; a supplier that is an active pool member asks a
clarification question; the commissioner publishes an answer. Then a supplier builds a bid
through its task list (team from their reviewer profile, work plan, price within the
budget, conflicts, a document uploaded through the file input, declaration), checks it,
submits it and sees the receipt with SHA-256 digests. axe-core runs on every page visited,
including pages showing validation errors; the bid task list and a form are driven from
the keyboard."""

from __future__ import annotations

import contextlib
import hashlib
import re
from datetime import date, time, timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from portal.extensions import db
from portal.models.base import utcnow
from portal.models.bids import Bid
from portal.models.commissions import Commission, Invitation
from portal.models.outbox import OutboxEmail
from portal.ukdatetime import format_uk, uk_to_utc
from tests.bids_support import open_commission, profile
from tests.browser.journeys import TOTP_SECRET, checked, h1, press_on, sign_in, small_pdf
from tests.fixtures import browser as harness
from tests.fixtures.browser import assert_keyboard_reaches
from tests.fixtures.users import OrganisationFactory, make_staff, make_supplier
from tests.pool_support import category, complete_details, make_membership

pytestmark = pytest.mark.browser

SPECIFICATION = """# Background

The Panel wants a **rapid review** of practice with infants under one.

## Questions

- What do agencies know about the risks?
- How do they share it?
"""


@pytest.fixture
def second_page(browser, live_server, request):
    """A second window (its own cookies) on the live server, held to the same standard as
    the `page` fixture: a CSP violation or a JavaScript error fails the test."""
    context = browser.new_context(base_url=live_server, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(harness.DEFAULT_TIMEOUT_MS)
    window = context.new_page()
    log = harness._PageLog(base_url=live_server)
    harness._LOGS[window] = log
    window.on("console", lambda message: harness._on_console(log, message))
    window.on("pageerror", lambda error: log.page_errors.append(str(error)))
    try:
        yield window
        report = getattr(request.node, "_report_call", None)
        if report is not None and report.failed:
            with contextlib.suppress(Exception):  # a courtesy, never the failure itself
                harness.screenshot(window, re.sub(r"[^A-Za-z0-9_.-]+", "_",
                                                  request.node.nodeid) + "-second")
    finally:
        context.close()
    problems = [f"CSP violation: {text}" for text in log.csp_violations]
    problems += [f"JavaScript error: {text}" for text in log.page_errors]
    if problems:
        pytest.fail("The second window reported problems:\n" + "\n".join(problems),
                    pytrace=False)


def _deadline(page, legend: str, day: date, at: str) -> None:
    group = page.get_by_role("group", name=legend)
    group.get_by_label("Day").fill(str(day.day))
    group.get_by_label("Month").fill(str(day.month))
    group.get_by_label("Year").fill(str(day.year))
    group.get_by_label("Time").fill(at)


def test_commission_drafted_published_and_clarified(page, second_page, live_server, tmp_path):
    commissioner_page, supplier_page = page, second_page
    make_staff("commissioner", name="Cara Commissioner", email="cara@panel.example",
               totp_secret=TOTP_SECRET, totp_enabled_at=utcnow())
    organisation = OrganisationFactory(legal_name="Hartley Review Associates")
    complete_details(organisation)
    make_supplier(organisation, role="owner", name="Helen Hartley",
                  email="helen@hartley.example")
    make_membership(organisation, number=2)
    lot = category(2)
    lot_label = f"{lot.number}. {lot.name}"
    today = date.today()
    clarification_day, submission_day = today + timedelta(days=7), today + timedelta(days=14)
    clarification_shown = format_uk(uk_to_utc(clarification_day, time(17, 0)))
    submission_shown = format_uk(uk_to_utc(submission_day, time(12, 0)))
    brief = small_pdf(tmp_path / "terms-and-conditions.pdf", "Terms and conditions")
    db.session.commit()

    # --- the commissioner drafts and publishes --------------------------------------
    sign_in(commissioner_page, "cara@panel.example", next="/commissioning/commissions",
            totp_secret=TOTP_SECRET)
    checked(commissioner_page)
    commissioner_page.get_by_role("button", name="Create a commission").click()
    expect(h1(commissioner_page)).to_have_text("Create a commission")
    checked(commissioner_page)
    commissioner_page.get_by_role("button", name="Save and continue").click()
    expect(commissioner_page.locator(".govuk-error-summary")).to_be_visible()
    checked(commissioner_page)
    commissioner_page.get_by_label("Service category").select_option(label=lot_label)
    commissioner_page.get_by_label("Title").fill("Rapid review of practice with infants")
    commissioner_page.get_by_label("Summary").fill("A literature review on infant safety.")
    commissioner_page.get_by_label("Specification").fill(SPECIFICATION)
    commissioner_page.get_by_label("Deliverables").fill("- an interim report\n- a final report")
    commissioner_page.get_by_label("Timescale").fill("Start in June; report within 3 months.")
    commissioner_page.get_by_label("Maximum budget").fill("25000")
    commissioner_page.get_by_role("button", name="Save and continue").click()
    expect(h1(commissioner_page)).to_have_text("Rapid review of practice with infants")
    checked(commissioner_page)

    commissioner_page.get_by_role("link", name="Evaluation criteria and weights").click()
    checked(commissioner_page)
    commissioner_page.get_by_label("Name of criterion 1").fill("Methodology")
    commissioner_page.get_by_label("What bidders must show for criterion 1").fill(
        "A sound, ethical method.")
    commissioner_page.get_by_label("Weight of criterion 1").fill("60")
    commissioner_page.get_by_role("button", name="Add another criterion").click()
    commissioner_page.get_by_label("Name of criterion 2").fill("Team experience")
    commissioner_page.get_by_label("What bidders must show for criterion 2").fill(
        "Reviews of a similar kind.")
    commissioner_page.get_by_label("Weight of criterion 2").fill("20")
    commissioner_page.get_by_label("Price weight").fill("30")  # 110: refused
    # Enter in a field saves (here: refused), it does not add another criterion
    commissioner_page.get_by_label("Price weight").press("Enter")
    expect(commissioner_page.locator(".govuk-error-summary")).to_contain_text("100")
    expect(commissioner_page.get_by_label("Name of criterion 3")).to_have_count(0)
    checked(commissioner_page)
    commissioner_page.get_by_label("Price weight").fill("20")
    commissioner_page.get_by_role("button", name="Save and continue").click()
    expect(h1(commissioner_page)).to_have_text("Rapid review of practice with infants")

    commissioner_page.get_by_role("link", name="Deadlines").click()
    checked(commissioner_page)
    _deadline(commissioner_page, "Clarification deadline", clarification_day, "5pm")
    _deadline(commissioner_page, "Submission deadline", submission_day, "12:00")
    commissioner_page.get_by_role("button", name="Save and continue").click()
    expect(h1(commissioner_page)).to_have_text("Rapid review of practice with infants")

    commissioner_page.get_by_role("link", name="Documents (optional)").click()
    checked(commissioner_page)
    commissioner_page.get_by_label("Title (optional)").fill("Terms and conditions")
    commissioner_page.get_by_label("Upload a file").set_input_files(brief)
    commissioner_page.get_by_role("button", name="Upload document").click()
    expect(commissioner_page.locator(".govuk-notification-banner")).to_contain_text(
        "Document uploaded")
    checked(commissioner_page)
    commissioner_page.get_by_role("link", name="Return to the commission").click()
    checked(commissioner_page)

    commissioner_page.get_by_role("button", name="Check and publish").click()
    expect(h1(commissioner_page)).to_have_text("Check the commission before publishing it")
    main = commissioner_page.locator("main")
    expect(main).to_contain_text(clarification_shown)
    expect(main).to_contain_text(submission_shown)
    expect(main).to_contain_text("1 organisation that is an active member")
    checked(commissioner_page)
    commissioner_page.get_by_role("button", name="Publish commission").click()
    expect(commissioner_page.locator(".govuk-notification-banner")).to_contain_text(
        "1 organisation invited to bid")
    checked(commissioner_page)
    reference = commissioner_page.locator(".govuk-caption-l").inner_text()

    # --- the supplier asks a question -----------------------------------------------
    sign_in(supplier_page, "helen@hartley.example")
    supplier_page.goto("/opportunities")
    checked(supplier_page)
    supplier_page.get_by_role("link", name="Rapid review of practice with infants").click()
    expect(h1(supplier_page)).to_have_text("Rapid review of practice with infants")
    expect(supplier_page.locator("main")).to_contain_text(submission_shown)
    checked(supplier_page)
    supplier_page.get_by_role("button", name="Ask a question").click()
    checked(supplier_page)
    supplier_page.get_by_role("button", name="Send question").click()
    expect(supplier_page.locator(".govuk-error-summary")).to_be_visible()
    checked(supplier_page)
    supplier_page.get_by_label("Your question").fill(
        "Hartley here: may the interim report be a slide deck?")
    supplier_page.get_by_role("button", name="Send question").click()
    expect(supplier_page.locator("main")).to_contain_text("Waiting for an answer")
    checked(supplier_page)

    # --- the commissioner publishes an answer ---------------------------------------
    commissioner_page.reload()
    commissioner_page.get_by_role("link", name=re.compile(r"^Answer question \d+$")).click()
    expect(h1(commissioner_page)).to_have_text("Answer a clarification question")
    checked(commissioner_page)
    commissioner_page.get_by_role("button", name="Send answer").click()
    expect(commissioner_page.locator(".govuk-error-summary")).to_be_visible()
    checked(commissioner_page)
    commissioner_page.get_by_label("Every organisation invited").check()
    commissioner_page.get_by_label("Question as it will be published").fill(
        "May the interim report be a slide deck?")
    commissioner_page.get_by_label("Answer", exact=True).fill(
        "Yes, with speaker notes.")
    commissioner_page.get_by_role("button", name="Send answer").click()
    expect(commissioner_page.locator("main")).to_contain_text("Yes, with speaker notes.")
    checked(commissioner_page)

    # The supplier sees the published answer, without who asked.
    supplier_page.reload()
    clarifications = supplier_page.locator("#clarifications + dl")
    expect(clarifications).to_contain_text("May the interim report be a slide deck?")
    expect(clarifications).to_contain_text("Yes, with speaker notes.")
    expect(clarifications).not_to_contain_text("Hartley")
    checked(supplier_page)

    # --- what was stored and sent ---------------------------------------------------
    commission = db.session.scalars(select(Commission)).one()
    assert commission.reference == reference
    assert commission.state_at(utcnow()) == "open"
    assert [(c.name, c.weight) for c in commission.criteria] == [
        ("Methodology", 60), ("Team experience", 20)]
    assert commission.price_weight == 20
    assert format_uk(commission.clarification_deadline) == clarification_shown
    assert format_uk(commission.submission_deadline) == submission_shown
    assert db.session.scalars(select(Invitation)).one().organisation_id == organisation.id
    mail = {m.template for m in db.session.scalars(
        select(OutboxEmail).where(OutboxEmail.recipient == "helen@hartley.example"))}
    assert {"commission_invitation", "commission_clarification_published"} <= mail, mail
    db.session.commit()


def test_supplier_bids_with_a_document_and_gets_a_receipt(page, live_server, tmp_path):
    """The bid task list on a commission published through the real services."""
    supplier_page = page
    commissioner = make_staff("commissioner", name="Cara Commissioner")
    organisation = OrganisationFactory(legal_name="Hartley Review Associates")
    complete_details(organisation)
    make_supplier(organisation, role="owner", name="Helen Hartley",
                  email="helen@hartley.example")
    reviewer = profile(organisation, name="Dr Helen Hartley", day_rate_pence=650_00)
    reviewer_name = reviewer.name
    commission = open_commission(commissioner, organisation, budget_pence=25_000_00,
                                 title="Rapid review of practice with infants")
    commission_id = commission.id
    today = date.today()
    plan = small_pdf(tmp_path / "detailed-plan.pdf", "Detailed work plan")
    plan_sha256 = hashlib.sha256(plan.read_bytes()).hexdigest()
    db.session.commit()

    sign_in(supplier_page, "helen@hartley.example")
    supplier_page.get_by_role("navigation", name="Menu").get_by_role(
        "link", name="Opportunities").click()
    checked(supplier_page)
    supplier_page.get_by_role("link", name="Rapid review of practice with infants").click()
    checked(supplier_page)
    supplier_page.get_by_role("button", name="Your bid").click()
    expect(h1(supplier_page)).to_have_text("Bid for this commission")
    checked(supplier_page)
    supplier_page.get_by_role("button", name="Start your bid").click()
    expect(h1(supplier_page)).to_have_text("Your bid")
    checked(supplier_page)

    # The task list from the keyboard: every section can be reached; Enter opens one.
    assert_keyboard_reaches(supplier_page, [
        "Understanding of the brief and methodology", "Team", "Work plan and milestones",
        "Price", "Conflicts of interest", "Documents", "Declaration", "Withdraw from bidding"])
    press_on(supplier_page, "Understanding of the brief and methodology")
    expect(h1(supplier_page)).to_have_text("Understanding of the brief and methodology")
    checked(supplier_page)
    supplier_page.get_by_label("Your understanding of the brief").fill(
        "The Panel needs to know what agencies knew about risks to infants.")
    supplier_page.get_by_label("Your methodology").fill(
        "A systematic search, screening by two reviewers, and a narrative synthesis.")
    supplier_page.get_by_role("button", name="Save and continue").click()
    expect(h1(supplier_page)).to_have_text("Your bid")

    # The price before there is a team: refused with a clear message.
    supplier_page.get_by_role("link", name="Price", exact=True).click()
    checked(supplier_page)
    supplier_page.get_by_role("button", name="The price is right: save and continue").click()
    expect(supplier_page.locator(".govuk-error-summary")).to_contain_text(
        "Add the team before confirming the price")
    checked(supplier_page)
    supplier_page.get_by_role("link", name="Back to your bid").click()

    supplier_page.get_by_role("link", name="Team", exact=True).click()
    checked(supplier_page)
    supplier_page.get_by_role("button", name="Add to the team").click()  # empty
    expect(supplier_page.locator(".govuk-error-summary")).to_be_visible()
    checked(supplier_page)
    # A form from the keyboard: type into the fields reached with Tab, Enter submits.
    supplier_page.get_by_label("Reviewer").select_option(label=f"{reviewer_name} (£650 a day)")
    supplier_page.get_by_label("Role in the team").fill("Lead reviewer")
    supplier_page.get_by_label("Number of days").focus()
    supplier_page.keyboard.type("20")
    press_on(supplier_page, "Add to the team")
    expect(supplier_page.locator("main")).to_contain_text("£13,000")
    checked(supplier_page)
    # A link styled as a button acts as one: Space follows it.
    press_on(supplier_page, "Return to your bid", key="Space")
    expect(h1(supplier_page)).to_have_text("Your bid")

    supplier_page.get_by_role("link", name="Work plan and milestones").click()
    checked(supplier_page)
    supplier_page.get_by_label("Milestone").fill("Final report")
    due = today + timedelta(days=90)
    group = supplier_page.get_by_role("group", name="Due date")
    group.get_by_label("Day").fill(str(due.day))
    group.get_by_label("Month").fill(str(due.month))
    group.get_by_label("Year").fill(str(due.year))
    supplier_page.get_by_role("button", name="Add milestone").click()
    expect(supplier_page.locator("main")).to_contain_text("Final report")
    checked(supplier_page)
    supplier_page.get_by_role("button", name="Return to your bid").click()

    supplier_page.get_by_role("link", name="Price", exact=True).click()
    checked(supplier_page)
    # Over the budget: refused with a clear message, nothing added.
    supplier_page.get_by_label("Expense").fill("Translation")
    supplier_page.get_by_label("Amount").fill("15000")
    supplier_page.get_by_role("button", name="Add expense").click()
    expect(supplier_page.locator(".govuk-error-summary")).to_contain_text("budget")
    checked(supplier_page)
    supplier_page.get_by_label("Expense").fill("Travel to interviews")
    supplier_page.get_by_label("Amount").fill("250")
    supplier_page.get_by_role("button", name="Add expense").click()
    expect(supplier_page.locator("main")).to_contain_text("£13,250")
    checked(supplier_page)
    supplier_page.get_by_role("button", name="The price is right: save and continue").click()
    expect(h1(supplier_page)).to_have_text("Your bid")

    supplier_page.get_by_role("link", name="Conflicts of interest").click()
    checked(supplier_page)
    supplier_page.get_by_label("No", exact=True).check()
    supplier_page.get_by_role("button", name="Save and continue").click()
    expect(h1(supplier_page)).to_have_text("Your bid")

    supplier_page.get_by_role("link", name="Documents", exact=True).click()
    checked(supplier_page)
    supplier_page.get_by_label("Document title").fill("Detailed plan")
    supplier_page.get_by_label("Upload a file").set_input_files(plan)
    supplier_page.get_by_role("button", name="Upload document").click()
    expect(supplier_page.locator(".govuk-notification-banner")).to_contain_text(
        "Document uploaded")
    checked(supplier_page)
    supplier_page.get_by_role("button", name="Return to your bid").click()

    supplier_page.get_by_role("link", name="Declaration").click()
    checked(supplier_page)
    supplier_page.get_by_role("button", name="Save and continue").click()  # not ticked
    expect(supplier_page.locator(".govuk-error-summary")).to_be_visible()
    checked(supplier_page)
    supplier_page.get_by_label("I confirm the declaration on behalf of my organisation").check()
    supplier_page.get_by_role("button", name="Save and continue").click()
    expect(h1(supplier_page)).to_have_text("Your bid")
    checked(supplier_page)

    supplier_page.get_by_role("link", name="Check your answers and submit").click()
    expect(h1(supplier_page)).to_have_text("Check your answers before submitting your bid")
    checked(supplier_page)
    supplier_page.get_by_role("button", name="Submit your bid").click()
    expect(supplier_page.locator(".govuk-panel")).to_contain_text("Bid received")
    checked(supplier_page)
    receipt = supplier_page.locator("main")
    expect(receipt).to_contain_text(f"SHA-256 of {plan.name}")
    expect(receipt).to_contain_text(plan_sha256)
    content_digest = supplier_page.locator("dd code").first.inner_text()
    assert re.fullmatch(r"[0-9a-f]{64}", content_digest)

    # --- what was stored and sent ---------------------------------------------------
    bid = db.session.scalars(select(Bid)).one()
    assert (bid.commission_id, bid.organisation_id) == (commission_id, organisation.id)
    assert bid.status == "submitted"
    assert bid.total_price_pence == 13_250_00
    assert [m.profile.name for m in bid.team] == [reviewer_name]
    version = bid.latest_version
    assert version.receipt.content_sha256 == content_digest
    assert [d["sha256"] for d in version.receipt.document_digests] == [plan_sha256]
    receipts = db.session.scalars(select(OutboxEmail).where(
        OutboxEmail.template == "bid_receipt")).all()
    assert [m.recipient for m in receipts] == ["helen@hartley.example"]
    assert content_digest in receipts[0].text_body
    db.session.commit()
