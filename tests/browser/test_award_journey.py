"""Issue 6 (award) in a real browser, from a commission whose quality moderation is
complete (evaluators scored and the moderator moderated through the real services):

1. the commissioner opens the price envelope, reads the ranking and proposes the award
   (first a bid that is not ranked first without a reason: the GOV.UK error summary;
   then the top-ranked bid);
2. the commissioner, who also holds the admin role, cannot approve their own proposal:
   the page says so, and posting the approval anyway is refused;
3. another admin signs in through the real pages (password, then the authenticator
   code) and approves;
4. the outbox delivers to a real SMTP server (aiosmtpd): every bidder gets exactly one
   letter naming the winner and the end of the standstill, and a losing bidder's letter
   holds their own scores and reasons and nothing of the other losing bid;
5. a losing bidder signs in and reads their letter in the portal (another bidder's
   letter is a 404).

axe-core runs on every page visited, error states included.

Delivery: the testing configuration does not deliver after the request
(OUTBOX_DELIVER_AFTER_REQUEST is a development convenience, off here as in
production). In production the worker (`flask outbox deliver`) calls
`portal.outbox.deliver_due`; the test calls that same function once the approval has
committed, so delivery is the real path and the test never races a background send."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from portal.extensions import db
from portal.models import OutboxEmail, OutboxStatus
from portal.models.award import Award, AwardStatus, OutcomeLetter
from portal.models.base import utcnow
from portal.models.commissions import CommissionState
from portal.outbox import deliver_due
from portal.services import evaluation
from portal.services.standstill import end_text
from tests.browser.journeys import TOTP_SECRET, checked, h1, sign_in, sign_out
from tests.evaluation_support import add_panel, opened, score_all
from tests.fixtures.browser import assert_no_axe_violations, sign_in_browser
from tests.fixtures.users import make_staff

pytestmark = pytest.mark.browser

WINNER, RUNNER_UP, THIRD = "Alpha Research Ltd", "Beta Reviews Ltd", "Gamma Associates"
NAMES = (WINNER, RUNNER_UP, THIRD)
# Consensus scores (Methodology 40%, Team 30%) and days (price = days x £600 + £250;
# price weight 30%): totals 92.50, 60.17 and 59.87, so the order is Alpha, Beta, Gamma.
CONSENSUS = ((4, 3), (2, 2), (1, 3))
DAYS = (10, 12, 11)
ADMIN_EMAIL = "ada.admin@panel.example"


@pytest.fixture
def app_overrides(smtp_server):
    return smtp_server.app_config()


def _rationale(name: str, criterion: str, score: int) -> str:
    return f"Consensus for {name} on {criterion}: the panel agreed {score} on the evidence."


def _moderated_commission():
    """Bids opened, two evaluators scored and submitted, the moderator recorded a
    consensus (a different score and rationale per bid) and completed moderation; the
    price envelope is still closed."""
    commissioner = make_staff("commissioner", "admin", name="Cara Commissioner",
                              email="cara@panel.example")
    setup = opened(commissioner, days=DAYS, names=list(NAMES))
    moderator, second = add_panel(setup, 2)
    score_all(setup, moderator)
    score_all(setup, second)
    for bid, name, row in zip(setup.bids, NAMES, CONSENSUS, strict=True):
        evaluation.save_consensus(moderator, setup.commission, bid, [
            evaluation.ConsensusInput(c.id, str(score), _rationale(name, c.name, score))
            for c, score in zip(setup.criteria, row, strict=True)
        ])
    db.session.commit()
    evaluation.complete_moderation(moderator, setup.commission)
    db.session.commit()
    return setup


def _banner(page):
    return page.locator(".govuk-notification-banner")


def _letter_expectations(criteria: list[str]) -> dict[str, list[str]]:
    """Each bidder's own consensus rationales."""
    return {name: [_rationale(name, criterion, score)
                   for criterion, score in zip(criteria, row, strict=True)]
            for name, row in zip(NAMES, CONSENSUS, strict=True)}


def test_commissioner_proposes_admin_approves_and_bidders_get_their_letters(
        page, live_server, smtp_server):
    setup = _moderated_commission()
    make_staff("admin", name="Ada Admin", email=ADMIN_EMAIL, totp_secret=TOTP_SECRET,
               totp_enabled_at=utcnow())
    commission = setup.commission
    cid = commission.id
    title, reference = commission.title, commission.reference
    criteria = [c.name for c in setup.criteria]
    emails = dict(zip(NAMES, (s.email for s in setup.suppliers), strict=True))
    commissioner = setup.commissioner
    db.session.commit()
    own_reasons = _letter_expectations(criteria)

    # Mail queued while setting up (invitations, receipts, the panel's notices) is not
    # this journey's: send it now and forget it, so what arrives later is only ours.
    assert deliver_due(limit=None).failed == 0
    smtp_server.clear()

    # 1. The commissioner opens the price envelope and reads the ranking ...
    sign_in_browser(page, commissioner)
    page.goto(f"/commissioning/commissions/{cid}/evaluation")
    expect(page.get_by_role("link", name="Open the price envelope")).to_be_visible()
    assert_no_axe_violations(page)
    page.get_by_role("link", name="Open the price envelope").click()
    expect(page.get_by_role("button", name="Open the price envelope")).to_be_visible()
    assert_no_axe_violations(page)
    page.get_by_role("button", name="Open the price envelope").click()
    expect(h1(page)).to_have_text("Ranking")
    expect(_banner(page)).to_contain_text("Price envelope opened")
    rows = page.locator("table tbody tr")
    expect(rows).to_have_count(3)
    for index, name in enumerate(NAMES):
        expect(rows.nth(index)).to_contain_text(name)
    expect(rows.first).to_contain_text("£6,250")
    assert_no_axe_violations(page)

    # ... goes on from the ranking to the award page (also linked from the commission) ...
    page.get_by_role("button", name="Go to the award").click()
    expect(h1(page)).to_have_text("Award")
    expect(page.get_by_label(re.compile(WINNER))).to_be_checked()  # the top-ranked default
    assert_no_axe_violations(page)

    # ... chooses a bid that is not ranked first, without a reason: refused ...
    page.get_by_label(re.compile(THIRD)).check()
    page.get_by_role("button", name="Propose the award").click()
    summary = page.locator(".govuk-error-summary")
    expect(summary).to_contain_text(
        f"Give the reason for proposing a bid that is not ranked first ({WINNER} is)")
    expect(page.locator("#reason-error")).to_contain_text("Give the reason")
    expect(page.get_by_label(re.compile(THIRD))).to_be_checked()  # the choice is kept
    assert_no_axe_violations(page)
    summary.get_by_role("link").first.click()
    expect(page.locator("#reason")).to_be_focused()
    assert db.session.scalar(select(func.count(Award.id))) == 0
    db.session.commit()

    # ... then proposes the top-ranked bid, and sees the proposal.
    page.get_by_label(re.compile(WINNER)).check()
    page.get_by_role("button", name="Propose the award").click()
    expect(_banner(page)).to_contain_text(
        "Award proposed. An admin who did not propose it must approve it.")
    current = page.locator(".govuk-summary-list")
    expect(current).to_contain_text(f"{WINNER} (ranked 1)")
    expect(current).to_contain_text("by Cara Commissioner")
    expect(page.get_by_text("Waiting for an admin who did not propose it")).to_be_visible()
    assert_no_axe_violations(page)

    # 2. Four eyes: the proposer, an admin too, cannot approve their own proposal.
    page.goto("/admin/awards")
    expect(h1(page)).to_have_text("Awards to approve")
    assert_no_axe_violations(page)
    page.get_by_role("link", name=f"{reference}: {title}").click()
    expect(h1(page)).to_have_text("Award proposal")
    expect(page.locator(".govuk-inset-text")).to_have_text(
        "You proposed this award, so another admin must approve or return it.")
    expect(page.get_by_role("button", name="Approve the award")).to_have_count(0)
    assert_no_axe_violations(page)
    review_path = urlsplit(page.url).path
    refused = page.request.post(f"{review_path}/approve", max_redirects=0)
    assert refused.status == 303
    assert urlsplit(refused.headers["location"]).path == review_path
    page.goto(review_path)
    expect(_banner(page)).to_contain_text(
        "You proposed this award, so another admin must approve it")
    assert_no_axe_violations(page)
    award = db.session.scalar(select(Award).where(Award.commission_id == cid))
    assert award.status == AwardStatus.PROPOSED and award.approved_at is None
    assert db.session.scalar(select(func.count(OutcomeLetter.id))) == 0
    db.session.commit()

    # 3. Another admin signs in (password, then the authenticator code) and approves.
    sign_out(page)
    sign_in(page, ADMIN_EMAIL, next="/admin/awards", totp_secret=TOTP_SECRET)
    expect(h1(page)).to_have_text("Awards to approve")
    assert_no_axe_violations(page)
    page.get_by_role("link", name=f"{reference}: {title}").click()
    expect(h1(page)).to_have_text("Award proposal")
    expect(page.locator(".govuk-summary-list")).to_contain_text("(the top-ranked bid)")
    assert_no_axe_violations(page)
    page.get_by_role("button", name="Approve the award").click()
    expect(_banner(page)).to_contain_text(
        "Award approved. The standstill period has started")
    expect(page.get_by_role("button", name="Approve the award")).to_have_count(0)
    assert_no_axe_violations(page)

    award = db.session.scalar(select(Award).where(Award.commission_id == cid))
    assert award.status == AwardStatus.APPROVED
    assert award.approved_by.email == ADMIN_EMAIL
    assert award.commission.state_at(utcnow()) == CommissionState.STANDSTILL
    standstill_ends = end_text(award.standstill_ends_at)
    letter_ids = {letter.content["organisation_name"]: letter.id for letter in award.letters}
    assert sorted(letter_ids) == sorted(NAMES)
    queued = db.session.scalars(
        select(OutboxEmail).where(OutboxEmail.template == "outcome_letter")).all()
    assert sorted(m.recipient for m in queued) == sorted(emails.values())
    assert {m.status for m in queued} == {OutboxStatus.PENDING}
    db.session.commit()
    expect(page.locator(".govuk-summary-list")).to_contain_text(standstill_ends)

    # 4. The outbox delivers (as the worker would): one letter to every bidder.
    assert smtp_server.messages == []  # nothing leaves except through the outbox
    report = deliver_due(limit=None)
    assert (report.sent, report.failed, report.retrying) == (4, 0, 0), report.errors
    smtp_server.wait_for(4)
    subject = f"Outcome of {title} ({reference})"
    assert sorted(r for m in smtp_server.messages for r in m.rcpt_tos) == sorted(
        [ADMIN_EMAIL, *emails.values()])  # the admin was told of the proposal
    assert "Award to approve" in smtp_server.find(to=ADMIN_EMAIL).subject
    letters = {name: smtp_server.find(to=email, subject_contains=subject).text
               for name, email in emails.items()}
    for name, text in letters.items():
        assert f"To {name}," in text
        assert WINNER in text
        assert standstill_ends in text
        assert f"/opportunities/{cid}/outcome" in text
        for reason in own_reasons[name]:
            assert reason in text
    assert "intends to award" in letters[WINNER] and "to you" in letters[WINNER]
    for loser, other in ((RUNNER_UP, THIRD), (THIRD, RUNNER_UP)):
        text = letters[loser]
        assert f"The Panel intends to award the commission to {WINNER}." in text
        methodology = CONSENSUS[NAMES.index(loser)][0]
        assert f"{criteria[0]} (40%): score {methodology} of 4" in text
        assert other not in text  # nothing of the other losing bid: no name, no reasons
        for reason in own_reasons[other]:
            assert reason not in text

    # 5. A losing bidder signs in and reads their letter in the portal.
    sign_out(page)
    sign_in(page, emails[RUNNER_UP], next=f"/opportunities/{cid}")
    expect(h1(page)).to_have_text(title)
    assert_no_axe_violations(page)
    page.get_by_role("link", name="Read the outcome of your bid").click()
    expect(h1(page)).to_have_text("Outcome of your bid")
    main = page.locator("main")
    expect(main).to_contain_text(f"To {RUNNER_UP},")
    expect(main).to_contain_text(f"The Panel intends to award the commission to {WINNER}")
    expect(main).to_contain_text(standstill_ends)
    for reason in own_reasons[RUNNER_UP]:
        expect(main).to_contain_text(reason)
    expect(main).not_to_contain_text(THIRD)
    checked(page)
    mailed_link = smtp_server.find(to=emails[RUNNER_UP]).links[-1]
    assert urlsplit(mailed_link).path == urlsplit(page.url).path
    other = page.request.get(f"/opportunities/{cid}/outcome/{letter_ids[THIRD]}")
    assert other.status == 404
    own = page.request.get(f"/opportunities/{cid}/outcome/{letter_ids[RUNNER_UP]}")
    assert own.status == 200
