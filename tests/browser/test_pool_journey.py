"""Issue 4 in a real browser: a supplier owner completes the pool application task list
(organisation details, two categories, declarations, evidence uploaded through the file
input, check your answers, submit); a commissioner signs in with a password and a TOTP
code, admits one category and rejects the other. axe-core runs on every page visited,
including pages that show validation errors; the task list and a form are driven from
the keyboard."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from portal.extensions import db
from portal.models.base import utcnow
from portal.models.outbox import OutboxEmail
from portal.models.pool import (
    ApplicationStatus,
    DeclarationQuestion,
    MembershipStatus,
    PoolApplication,
    PoolMembership,
    seed_declaration_questions,
)
from tests.browser.journeys import TOTP_SECRET, checked, h1, press_on, sign_in, sign_out, small_pdf
from tests.fixtures.browser import assert_keyboard_reaches
from tests.fixtures.users import OrganisationFactory, make_staff, make_supplier
from tests.pool_support import category

pytestmark = pytest.mark.browser


def _answer_declarations(page, questions) -> None:
    """Answer every question so that it passes (the rule says which answer passes)."""
    expiry = date.today() + timedelta(days=365)
    for key, answer_type, rule in questions:
        name = f"q_{key}"
        if answer_type == "yes_no":
            value = "yes" if rule.get("yes") == "pass" else "no"
            page.locator(f"input[name='{name}'][value='{value}']").check()
        elif answer_type == "amount":
            page.locator(f"#{name}").fill("2,000,000")
        else:
            page.locator(f"#{name}-day").fill(str(expiry.day))
            page.locator(f"#{name}-month").fill(str(expiry.month))
            page.locator(f"#{name}-year").fill(str(expiry.year))


def test_supplier_applies_and_commissioner_decides(page, live_server, tmp_path):
    seed_declaration_questions()
    organisation = OrganisationFactory(legal_name="Hartley Review Associates")
    make_supplier(organisation, role="owner", name="Helen Hartley",
                  email="helen@hartley.example")
    make_staff("commissioner", name="Cara Commissioner", email="cara@panel.example",
               totp_secret=TOTP_SECRET, totp_enabled_at=utcnow())
    first, second = category(1), category(4)
    first_id, second_id = first.id, second.id
    first_name, second_name = first.name, second.name
    questions = [(q.key, q.answer_type, dict(q.rule)) for q in db.session.scalars(
        select(DeclarationQuestion).where(DeclarationQuestion.is_active.is_(True)))]
    cv = small_pdf(tmp_path / "helen-hartley-cv.pdf", "Helen Hartley CV")
    sample = small_pdf(tmp_path / "infant-review-2023.pdf", "Review of infant deaths 2023")
    db.session.commit()

    # --- the supplier ---------------------------------------------------------------
    sign_in(page, "helen@hartley.example")
    checked(page)
    page.goto("/pool/apply")
    checked(page)
    page.get_by_role("button", name="Start an application").click()
    expect(h1(page)).to_have_text("Your application to join the reviewer pool")
    checked(page)

    # The task list from the keyboard: every task that can be started is reached with
    # Tab (with a visible focus style), and Enter follows one.
    assert_keyboard_reaches(page, ["Organisation details", "Choose service categories",
                                   "Declarations", "Withdraw this application"])
    press_on(page, "Organisation details")
    expect(h1(page)).to_have_text("Organisation details")
    checked(page)
    page.get_by_label("University").check()
    page.get_by_label("Address line 1").fill("1 University Road")
    page.get_by_label("Town or city").fill("Leeds")
    page.get_by_label("Postcode").fill("LS2 9JT")
    page.get_by_label("Yorkshire and the Humber").check()
    page.locator("input[name='is_sme'][value='no']").check()
    page.get_by_role("button", name="Save and continue").click()
    expect(h1(page)).to_have_text("Your application to join the reviewer pool")
    checked(page)

    page.get_by_role("link", name="Choose service categories").click()
    expect(h1(page)).to_have_text("Which service categories are you applying for?")
    checked(page)
    # Submitted empty: the error summary and the inline error.
    page.get_by_role("button", name="Save and continue").click()
    expect(page.locator(".govuk-error-summary")).to_contain_text(
        "Select at least one service category")
    checked(page)
    # A form from the keyboard: Space ticks a box, Enter sends the form.
    press_on(page, str(first_id), key="Space")
    assert page.locator(f"input[name='categories'][value='{first_id}']").is_checked()
    press_on(page, str(second_id), key="Space")
    press_on(page, "Save and continue")
    expect(h1(page)).to_have_text("Your application to join the reviewer pool")

    page.get_by_role("link", name="Declarations").click()
    expect(h1(page)).to_have_text("Declarations")
    checked(page)
    page.get_by_role("button", name="Save and continue").click()
    expect(page.locator(".govuk-error-summary")).to_be_visible()
    checked(page)
    _answer_declarations(page, questions)
    page.get_by_role("button", name="Save and continue").click()
    expect(h1(page)).to_have_text("Your application to join the reviewer pool")

    page.get_by_role("link", name="Evidence").click()
    expect(h1(page)).to_have_text("Evidence")
    checked(page)
    page.get_by_role("button", name="Upload", exact=True).click()  # nothing chosen
    expect(page.locator(".govuk-error-summary")).to_be_visible()
    checked(page)
    for category_name in (first_name, second_name):
        for kind, description, path in (
            ("CV of a reviewer", "Helen Hartley", cv),
            ("Sample of published work", "Review of infant deaths, 2023", sample),
        ):
            page.get_by_label("Service category").select_option(label=category_name)
            page.get_by_label(kind).check()
            page.get_by_label("Description").fill(description)
            page.get_by_label("Upload a file").set_input_files(path)
            page.get_by_role("button", name="Upload", exact=True).click()
            expect(page.locator(".govuk-notification-banner")).to_contain_text(
                f"{path.name} uploaded")
    expect(page.locator("main")).not_to_contain_text("Still needed")
    checked(page)
    page.get_by_role("link", name="Return to your application").click()
    checked(page)

    page.get_by_role("link", name="Check your answers and submit").click()
    expect(h1(page)).to_have_text("Check your answers before submitting your application")
    checked(page)
    page.get_by_role("button", name="Accept and send").click()
    expect(page.locator(".govuk-panel")).to_contain_text("Application submitted")
    reference = page.locator(".govuk-panel strong").inner_text()
    checked(page)
    page.get_by_role("link", name="See your application").click()
    checked(page)
    sign_out(page)

    # --- the commissioner -----------------------------------------------------------
    sign_in(page, "cara@panel.example", next="/commissioning/applications",
            totp_secret=TOTP_SECRET)
    checked(page)
    page.get_by_role("link", name=reference).click()
    expect(h1(page)).to_have_text(f"Application {reference}")
    checked(page)

    page.get_by_role("link", name=f"Decide {first_name}").click()
    expect(h1(page)).to_have_text(first_name)
    checked(page)
    page.get_by_role("button", name="Record decision").click()
    expect(page.locator(".govuk-error-summary")).to_contain_text(
        "Select admit, reject or request changes")
    checked(page)
    page.get_by_label("Admit to this category").check()
    page.get_by_label("Reason").fill("Strong national review experience; criteria met.")
    page.get_by_role("button", name="Record decision").click()
    expect(page.locator(".govuk-notification-banner")).to_contain_text(
        f"Decision recorded for {first_name}")
    checked(page)

    page.get_by_role("link", name=f"Decide {second_name}").click()
    checked(page)
    page.get_by_label("Reject").check()
    page.get_by_label("Reason").fill("No sample of LCSPR analysis was provided.")
    page.get_by_role("button", name="Record decision").click()
    expect(page.locator(".govuk-notification-banner")).to_contain_text(
        f"Decision recorded for {second_name}")
    checked(page)
    page.goto("/commissioning/applications?status=admitted")
    checked(page)

    # --- what was stored and sent ---------------------------------------------------
    application = db.session.scalars(select(PoolApplication)).one()
    assert application.reference == reference
    assert application.status == ApplicationStatus.ADMITTED
    assert {c.category_id: c.decision for c in application.categories} == {
        first_id: "admitted", second_id: "rejected"}
    assert len(application.evidence) == 4
    assert all(e.document.original_name.endswith(".pdf") for e in application.evidence)
    membership = db.session.scalars(select(PoolMembership)).one()
    assert (membership.category_id, membership.status) == (first_id, MembershipStatus.ACTIVE)
    decisions = db.session.scalars(
        select(OutboxEmail).where(OutboxEmail.template == "pool_decision")
        .order_by(OutboxEmail.id)).all()
    assert [m.recipient for m in decisions] == ["helen@hartley.example"] * 2
    assert first_name in decisions[0].subject and second_name in decisions[1].subject
    assert "No sample of LCSPR analysis was provided." in decisions[1].text_body
    db.session.commit()
