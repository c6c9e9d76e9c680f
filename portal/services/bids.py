"""Bids, supplier side, and the seal around them.

One function per use case. Each takes the acting user, writes the audit event and
queues the mail, flushes, and never commits.

The deadline: every change to a bid first locks the commission row
(`SELECT ... FOR UPDATE` on PostgreSQL; on SQLite every transaction is already
`BEGIN IMMEDIATE`, see portal/database.py), then reads the server's clock
(`portal.models.base.utcnow`) and checks the commission is still open, inside that same
transaction. A change at or after the deadline is refused (`BidClosed`) and nothing is
written. The deadline cannot move while a submission holds the lock, since amendments take
the same lock.

The seal: panel roles get nothing from here before the commission's bids are opened but
`submitted_count`. `open_bids` (a commissioner, after the deadline) unseals them.

Hooks used by the commissions work package:
    on_material_change(actor, commission, version) -> [Organisation]
    submitted_bidder_organisations(commission) -> [Organisation]   (alias: bidders_of)
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from flask import current_app, has_request_context, url_for
from sqlalchemy import func, select

from portal import audit
from portal.extensions import db
from portal.mail import queue_email
from portal.models.accounts import Organisation, OrganisationMember, OrgRole, User
from portal.models.base import utcnow
from portal.models.bids import (
    DOCUMENT_AREA,
    SUBMITTED_STATUSES,
    Bid,
    BidDocument,
    BidExpense,
    BidMilestone,
    BidReceipt,
    BidStatus,
    BidTeamMember,
    BidVersion,
    ConflictsAnswer,
)
from portal.models.commissions import Commission, CommissionState
from portal.models.profiles import ReviewerProfile
from portal.services.documents import store_upload

TEXT_MAX = 20_000
STATEMENT_MAX = 10_000
ROLE_MAX = 200
TITLE_MAX = 200
DESCRIPTION_MAX = 2_000
MAX_TEAM = 30
MAX_MILESTONES = 30
MAX_EXPENSES = 50
MAX_DOCUMENTS = 20
MAX_DAYS = 1000
MAX_DAY_RATE_PENCE = 10_000_00
CONTENT_FORMAT = 1


class BidError(Exception):
    """A refused action; `message` is shown to the person (GOV.UK error style).
    `errors` may carry several (field, message) pairs."""

    def __init__(self, message: str, field: str | None = None,
                 errors: list[tuple[str | None, str]] | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
        self.errors = errors or [(field, message)]


class BidClosed(BidError):
    """Bidding is not open (deadline passed, cancelled, not yet published)."""


# --- small helpers ------------------------------------------------------------------------

UK = ZoneInfo("Europe/London")


def format_uk(value: datetime | None) -> str:
    """'5pm on 14 March 2026 (GMT)': a UTC moment in UK time, to the second when it
    has seconds (a receipt must say exactly when)."""
    if value is None:
        return ""
    local = value.astimezone(UK)
    hour = local.hour % 12 or 12
    suffix = "am" if local.hour < 12 else "pm"
    if local.second or local.microsecond:
        clock = f"{hour}:{local:%M:%S}{suffix}"
    elif local.minute:
        clock = f"{hour}:{local:%M}{suffix}"
    else:
        clock = f"{hour}{suffix}"
    return f"{clock} on {local:%-d %B %Y} ({local.tzname()})"


def format_pence(pence: int | None) -> str:
    if pence is None:
        return ""
    pounds, rem = divmod(pence, 100)
    return f"£{pounds:,}" + (f".{rem:02d}" if rem else "")


def parse_pounds(text: str | None) -> int | None:
    """Pence from '£25,000', '25000' or '450.50'; None when it is not an amount."""
    cleaned = re.sub(r"[£,\s]", "", text or "")
    if not re.fullmatch(r"\d{1,10}(\.\d{1,2})?", cleaned):
        return None
    try:
        return int(Decimal(cleaned) * 100)
    except InvalidOperation:
        return None


def link(endpoint: str, **values) -> str:
    """An absolute link for an e-mail (PUBLIC_BASE_URL when set)."""
    base = current_app.config.get("PUBLIC_BASE_URL")
    if has_request_context():
        if base:
            return base.rstrip("/") + url_for(endpoint, **values)
        return url_for(endpoint, _external=True, **values)
    if base:
        with current_app.test_request_context(base_url=base):
            return url_for(endpoint, _external=True, **values)
    try:
        return url_for(endpoint, _external=True, **values)
    except RuntimeError:
        return ""


def lock_commission(commission_id: int) -> Commission | None:
    """The commission row, locked for the rest of the transaction (SELECT ... FOR UPDATE
    on PostgreSQL; SQLite's BEGIN IMMEDIATE already serialises writers) and re-read."""
    return db.session.execute(
        select(Commission)
        .where(Commission.id == commission_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()


def _refuse(errors: list[tuple[str | None, str]]) -> None:
    if errors:
        field, message = errors[0]
        raise BidError(message, field, errors)


def _clean(text: str | None) -> str:
    return (text or "").replace("\r\n", "\n").strip()


def closed_message(commission: Commission, now: datetime) -> str:
    state = commission.state_at(now)
    if state == CommissionState.CANCELLED:
        return "This commission has been cancelled. Bids can no longer be submitted or changed"
    if state == CommissionState.DRAFT:
        return "This commission is not open for bids"
    return (
        f"The deadline for bids was {format_uk(commission.submission_deadline)}. "
        "Bids can no longer be submitted or changed"
    )


# --- the lock and the clock --------------------------------------------------------------


def _lock_open(commission_id: int) -> tuple[Commission, datetime]:
    """Lock the commission row, then read the clock: raises BidClosed unless bidding is
    open at this moment. Everything that changes a bid starts here."""
    commission = lock_commission(commission_id)
    if commission is None:
        raise BidClosed("This commission is not open for bids")
    now = utcnow()
    if not commission.is_open_at(now):
        raise BidClosed(closed_message(commission, now))
    return commission, now


def _fresh_bid(commission: Commission, organisation_id: int) -> Bid | None:
    bid = db.session.execute(
        select(Bid)
        .where(Bid.commission_id == commission.id, Bid.organisation_id == organisation_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()
    if bid is not None:
        db.session.expire(bid, ["team", "milestones", "expenses", "documents", "versions"])
    return bid


def _locked(actor: User, bid: Bid, *statuses: BidStatus) -> tuple[Bid, datetime]:
    """The bid re-read under the commission lock, open for bids, in one of `statuses`
    (draft when none are named), and the actor one of its bidders."""
    if not bid.is_bidder(actor):
        raise BidError("You cannot change this bid")
    commission, now = _lock_open(bid.commission_id)
    fresh = _fresh_bid(commission, bid.organisation_id)
    if fresh is None:
        raise BidError("You cannot change this bid")
    allowed = statuses or (BidStatus.DRAFT,)
    if fresh.status not in allowed:
        if fresh.status == BidStatus.WITHDRAWN:
            raise BidError("You have withdrawn this bid. Reopen it to make changes")
        if fresh.status in SUBMITTED_STATUSES and BidStatus.DRAFT in allowed:
            raise BidError("You have submitted this bid. Choose to change it first, then "
                           "submit it again")
        raise BidError("This bid cannot be changed now")
    return fresh, now


# --- starting ----------------------------------------------------------------------------


def bid_for(commission: Commission, organisation_id: int | None) -> Bid | None:
    if organisation_id is None:
        return None
    return db.session.scalar(
        select(Bid).where(Bid.commission_id == commission.id,
                          Bid.organisation_id == organisation_id)
    )


def start_bid(actor: User, commission: Commission) -> Bid:
    """The organisation's bid for this commission, created (as a draft) if need be."""
    organisation_id = actor.membership.organisation_id if actor.membership else None
    if organisation_id is None or not commission.is_supplier_viewer(actor):
        raise BidError("Your organisation is not invited to bid for this commission")
    commission, now = _lock_open(commission.id)
    existing = _fresh_bid(commission, organisation_id)
    if existing is not None:
        return existing
    bid = Bid(commission_id=commission.id, organisation_id=organisation_id,
              status=BidStatus.DRAFT, created_at=now, created_by_id=actor.id)
    db.session.add(bid)
    db.session.flush()
    audit.record("bid.started", actor=actor, obj=bid,
                 data={"commission_id": commission.id})
    return bid


# --- sections ----------------------------------------------------------------------------


def save_understanding(actor: User, bid: Bid, understanding: str, methodology: str) -> None:
    understanding, methodology = _clean(understanding), _clean(methodology)
    errors = []
    if not understanding:
        errors.append(("understanding", "Enter your understanding of the brief"))
    elif len(understanding) > TEXT_MAX:
        errors.append(("understanding",
                       f"Your understanding of the brief must be {TEXT_MAX:,} characters "
                       "or fewer"))
    if not methodology:
        errors.append(("methodology", "Enter your methodology"))
    elif len(methodology) > TEXT_MAX:
        errors.append(("methodology",
                       f"Your methodology must be {TEXT_MAX:,} characters or fewer"))
    _refuse(errors)
    bid, _now = _locked(actor, bid)
    bid.understanding, bid.methodology = understanding, methodology
    db.session.flush()
    audit.record("bid.section_saved", actor=actor, obj=bid,
                 data={"section": "understanding"})


def team_choices(bid: Bid) -> list[ReviewerProfile]:
    """The organisation's reviewer profiles not yet in the team."""
    taken = {m.profile_id for m in bid.team}
    profiles = db.session.scalars(
        select(ReviewerProfile)
        .where(ReviewerProfile.organisation_id == bid.organisation_id)
        .where(ReviewerProfile.removed_at.is_(None))
        .order_by(ReviewerProfile.name)
    ).all()
    return [p for p in profiles if p.id not in taken]


def _budget_check(bid: Bid, total: int, field: str) -> None:
    budget = bid.commission.max_budget_pence
    if budget is not None and total > budget:
        raise BidError(
            f"The total price would be {format_pence(total)}, more than the maximum budget "
            f"of {format_pence(budget)}. Reduce the days, day rates or expenses", field)


def parse_days(text: str | None) -> int | None:
    value = (text or "").strip()
    if not re.fullmatch(r"\d{1,4}", value):
        return None
    return int(value)


def add_team_member(actor: User, bid: Bid, profile_id: int | None, role: str,
                    days_text: str, day_rate_text: str | None) -> BidTeamMember:
    """Refused, with nothing saved, for a profile of another organisation (or a removed
    one), a bad number of days or day rate, or a price over the maximum budget."""
    role = _clean(role)
    errors = []
    profile = db.session.get(ReviewerProfile, profile_id) if profile_id else None
    if profile is None or profile.organisation_id != bid.organisation_id or profile.is_removed:
        errors.append(("profile_id", "Select a reviewer from your organisation"))
    if not role:
        errors.append(("role", "Enter the reviewer's role in the team"))
    elif len(role) > ROLE_MAX:
        errors.append(("role", f"The role must be {ROLE_MAX} characters or fewer"))
    days = parse_days(days_text)
    if days is None:
        errors.append(("days", "Enter the number of days as a whole number, like 12"))
    elif not 1 <= days <= MAX_DAYS:
        errors.append(("days", f"The number of days must be between 1 and {MAX_DAYS}"))
    rate = None
    rate_text = (day_rate_text or "").strip()
    if rate_text:
        rate = parse_pounds(rate_text)
        if rate is None:
            errors.append(("day_rate", "Enter the day rate in pounds, like £450"))
        elif rate > MAX_DAY_RATE_PENCE:
            errors.append(("day_rate",
                           f"The day rate must be {format_pence(MAX_DAY_RATE_PENCE)} or less"))
    elif profile is not None and profile.day_rate_pence is None and not errors:
        errors.append(("day_rate", f"Enter a day rate: {profile.name}'s profile has none"))
    _refuse(errors)
    bid, _now = _locked(actor, bid)
    if any(m.profile_id == profile.id for m in bid.team):
        raise BidError(f"{profile.name} is already in the team", "profile_id")
    if len(bid.team) >= MAX_TEAM:
        raise BidError(f"A team can have at most {MAX_TEAM} people", "profile_id")
    from_profile = rate is None
    rate = profile.day_rate_pence if from_profile else rate
    _budget_check(bid, bid.total_price_pence + days * rate, "days")
    member = BidTeamMember(bid=bid, profile_id=profile.id, role=role, days=days,
                           day_rate_pence=rate, rate_from_profile=from_profile)
    db.session.add(member)
    bid.price_confirmed_at = None
    db.session.flush()
    audit.record("bid.team_member_added", actor=actor, obj=bid,
                 data={"profile_id": profile.id, "days": days})
    return member


def remove_team_member(actor: User, bid: Bid, member_id: int) -> None:
    bid, _now = _locked(actor, bid)
    member = next((m for m in bid.team if m.id == member_id), None)
    if member is None:
        raise BidError("That person is not in the team")
    bid.team.remove(member)
    bid.price_confirmed_at = None
    db.session.flush()
    audit.record("bid.team_member_removed", actor=actor, obj=bid,
                 data={"profile_id": member.profile_id})


def parse_date(day: str | None, month: str | None, year: str | None) -> date | None:
    try:
        return date(int(year or ""), int(month or ""), int(day or ""))
    except (TypeError, ValueError):
        return None


def add_milestone(actor: User, bid: Bid, title: str, description: str,
                  due: date | None) -> BidMilestone:
    title, description = _clean(title), _clean(description)
    errors = []
    if not title:
        errors.append(("title", "Enter the milestone"))
    elif len(title) > TITLE_MAX:
        errors.append(("title", f"The milestone must be {TITLE_MAX} characters or fewer"))
    if len(description) > DESCRIPTION_MAX:
        errors.append(("description",
                       f"The description must be {DESCRIPTION_MAX:,} characters or fewer"))
    if due is None:
        errors.append(("due_date", "Enter the date the milestone is due, like 27 3 2026"))
    elif due.year < 2000 or due.year > 2100:
        errors.append(("due_date", "The due date must be a real date"))
    _refuse(errors)
    bid, now = _locked(actor, bid)
    if due < now.date():
        raise BidError("The due date must be in the future", "due_date")
    if len(bid.milestones) >= MAX_MILESTONES:
        raise BidError(f"A work plan can have at most {MAX_MILESTONES} milestones", "title")
    milestone = BidMilestone(bid=bid, title=title, description=description, due_date=due)
    db.session.add(milestone)
    db.session.flush()
    audit.record("bid.milestone_added", actor=actor, obj=bid, data={"title": title})
    return milestone


def remove_milestone(actor: User, bid: Bid, milestone_id: int) -> None:
    bid, _now = _locked(actor, bid)
    milestone = next((m for m in bid.milestones if m.id == milestone_id), None)
    if milestone is None:
        raise BidError("That milestone is not in the work plan")
    bid.milestones.remove(milestone)
    db.session.flush()
    audit.record("bid.milestone_removed", actor=actor, obj=bid, data={"title": milestone.title})


def add_expense(actor: User, bid: Bid, description: str, amount_text: str) -> BidExpense:
    description = _clean(description)
    errors = []
    if not description:
        errors.append(("description", "Enter what the expense is for"))
    elif len(description) > TITLE_MAX:
        errors.append(("description", f"The description must be {TITLE_MAX} characters or fewer"))
    amount = parse_pounds(amount_text)
    if amount is None:
        errors.append(("amount", "Enter the amount in pounds, like £250"))
    elif amount <= 0:
        errors.append(("amount", "The amount must be more than £0"))
    _refuse(errors)
    bid, _now = _locked(actor, bid)
    if len(bid.expenses) >= MAX_EXPENSES:
        raise BidError(f"A bid can have at most {MAX_EXPENSES} expense lines", "description")
    _budget_check(bid, bid.total_price_pence + amount, "amount")
    expense = BidExpense(bid=bid, description=description, amount_pence=amount)
    db.session.add(expense)
    bid.price_confirmed_at = None
    db.session.flush()
    audit.record("bid.expense_added", actor=actor, obj=bid, data={"amount_pence": amount})
    return expense


def remove_expense(actor: User, bid: Bid, expense_id: int) -> None:
    bid, _now = _locked(actor, bid)
    expense = next((e for e in bid.expenses if e.id == expense_id), None)
    if expense is None:
        raise BidError("That expense is not in the price")
    bid.expenses.remove(expense)
    bid.price_confirmed_at = None
    db.session.flush()
    audit.record("bid.expense_removed", actor=actor, obj=bid,
                 data={"amount_pence": expense.amount_pence})


def confirm_price(actor: User, bid: Bid) -> None:
    bid, now = _locked(actor, bid)
    if not bid.team:
        raise BidError("Add the team before confirming the price", "confirm")
    _budget_check(bid, bid.total_price_pence, "confirm")
    bid.price_confirmed_at = now
    db.session.flush()
    audit.record("bid.price_confirmed", actor=actor, obj=bid,
                 data={"total_price_pence": bid.total_price_pence})


def save_conflicts(actor: User, bid: Bid, answer: str | None, statement: str) -> None:
    statement = _clean(statement)
    errors = []
    if answer not in (ConflictsAnswer.NONE, ConflictsAnswer.DECLARED):
        errors.append(("answer", "Select whether you have any conflicts of interest"))
    elif answer == ConflictsAnswer.DECLARED and not statement:
        errors.append(("statement", "Describe the conflicts of interest and how you would "
                                    "manage them"))
    if len(statement) > STATEMENT_MAX:
        errors.append(("statement",
                       f"The statement must be {STATEMENT_MAX:,} characters or fewer"))
    _refuse(errors)
    bid, _now = _locked(actor, bid)
    bid.conflicts_answer = answer
    bid.conflicts_statement = statement if answer == ConflictsAnswer.DECLARED else ""
    db.session.flush()
    audit.record("bid.section_saved", actor=actor, obj=bid,
                 data={"section": "conflicts", "answer": answer})


def add_document(actor: User, bid: Bid, file, title: str, commercial: bool) -> BidDocument:
    """Through the one upload pipeline (`store_upload`): raises UploadRejected (nothing
    stored) or StorageError. The commission lock and deadline are checked first."""
    title = _clean(title)
    if not title:
        raise BidError("Enter a title for the document", "title")
    if len(title) > TITLE_MAX:
        raise BidError(f"The title must be {TITLE_MAX} characters or fewer", "title")
    bid, now = _locked(actor, bid)
    if len(bid.current_documents) >= MAX_DOCUMENTS:
        raise BidError(f"A bid can have at most {MAX_DOCUMENTS} documents", "file")
    document = store_upload(actor, file, area=DOCUMENT_AREA)
    link_row = BidDocument(bid=bid, document=document, title=title, commercial=bool(commercial),
                           added_at=now, added_by_id=actor.id)
    db.session.add(link_row)
    db.session.flush()
    audit.record("bid.document_added", actor=actor, obj=bid,
                 data={"document_id": document.id, "sha256": document.sha256,
                       "commercial": bool(commercial)})
    return link_row


def remove_document(actor: User, bid: Bid, link_id: int) -> None:
    bid, now = _locked(actor, bid)
    link_row = next((d for d in bid.current_documents if d.id == link_id), None)
    if link_row is None:
        raise BidError("That document is not in the bid")
    link_row.removed_at = now
    db.session.flush()
    audit.record("bid.document_removed", actor=actor, obj=bid,
                 data={"document_id": link_row.document_id})


def accept_declaration(actor: User, bid: Bid, accepted: bool) -> None:
    if not accepted:
        raise BidError("Confirm the declaration to continue", "accept")
    bid, now = _locked(actor, bid)
    bid.declaration_accepted_at = now
    bid.declaration_accepted_by_id = actor.id
    db.session.flush()
    audit.record("bid.declaration_accepted", actor=actor, obj=bid)


# --- the task list -----------------------------------------------------------------------


@dataclass
class Task:
    key: str
    title: str
    endpoint: str
    status: str  # completed | incomplete | not_started | optional | cannot_start


def section_status(bid: Bid) -> dict[str, str]:
    budget = bid.commission.max_budget_pence
    within_budget = budget is None or bid.total_price_pence <= budget
    understanding = bool(bid.understanding and bid.methodology)
    return {
        "understanding": "completed" if understanding else (
            "incomplete" if bid.understanding or bid.methodology else "not_started"),
        "team": "completed" if bid.team else "not_started",
        "plan": "completed" if bid.milestones else "not_started",
        "price": ("completed" if bid.team and bid.price_confirmed_at and within_budget
                  else "incomplete" if bid.team or bid.expenses else "not_started"),
        "conflicts": "completed" if bid.conflicts_answer else "not_started",
        "documents": "completed" if bid.current_documents else "optional",
        "declaration": "completed" if bid.declaration_accepted_at else "not_started",
    }


SECTIONS = (
    ("understanding", "Understanding of the brief and methodology", "bids.understanding"),
    ("team", "Team", "bids.team"),
    ("plan", "Work plan and milestones", "bids.plan"),
    ("price", "Price", "bids.price"),
    ("conflicts", "Conflicts of interest", "bids.conflicts"),
    ("documents", "Documents", "bids.documents"),
    ("declaration", "Declaration", "bids.declaration"),
)

MISSING_MESSAGES = {
    "understanding": "Complete your understanding of the brief and methodology",
    "team": "Add at least one person to the team",
    "plan": "Add at least one milestone to the work plan",
    "price": "Check and confirm the price",
    "conflicts": "Answer the conflicts of interest question",
    "declaration": "Confirm the declaration",
}


def task_list(bid: Bid) -> list[Task]:
    statuses = section_status(bid)
    tasks = [Task(key, title, endpoint, statuses[key]) for key, title, endpoint in SECTIONS]
    ready = not missing_sections(bid)
    tasks.append(Task("check", "Check your answers and submit", "bids.check",
                      "incomplete" if ready else "cannot_start"))
    return tasks


def missing_sections(bid: Bid) -> list[str]:
    statuses = section_status(bid)
    return [key for key in MISSING_MESSAGES if statuses[key] != "completed"]


# --- the canonical content and its digest ------------------------------------------------


def canonical_content(bid: Bid) -> dict:
    """The whole bid as one JSON value: what a version stores and the digest covers."""
    commission = bid.commission
    return {
        "format": CONTENT_FORMAT,
        "commission": {"id": commission.id, "reference": commission.reference,
                       "version": commission.version_number},
        "organisation": {"id": bid.organisation_id, "name": bid.organisation.display_name},
        "understanding": bid.understanding,
        "methodology": bid.methodology,
        "team": [
            {"profile_id": m.profile_id, "name": m.profile.name, "role": m.role,
             "days": m.days, "day_rate_pence": m.day_rate_pence,
             "rate_from_profile": m.rate_from_profile, "cost_pence": m.cost_pence}
            for m in bid.team
        ],
        "milestones": [
            {"title": m.title, "description": m.description,
             "due_date": m.due_date.isoformat()}
            for m in bid.milestones
        ],
        "expenses": [
            {"description": e.description, "amount_pence": e.amount_pence}
            for e in bid.expenses
        ],
        "price": {"team_pence": bid.team_cost_pence, "expenses_pence": bid.expenses_pence,
                  "total_pence": bid.total_price_pence},
        "conflicts": {"answer": bid.conflicts_answer, "statement": bid.conflicts_statement},
        "documents": [
            {"document_id": d.document_id, "title": d.title,
             "original_name": d.document.original_name,
             "content_type": d.document.content_type, "size": d.document.size,
             "sha256": d.document.sha256, "commercial": d.commercial}
            for d in bid.current_documents
        ],
        "declaration": {
            "accepted_at": bid.declaration_accepted_at.isoformat()
            if bid.declaration_accepted_at else None,
            "accepted_by_id": bid.declaration_accepted_by_id,
        },
    }


def content_digest(content: dict) -> str:
    return hashlib.sha256(audit.canonical_json(content).encode("utf-8")).hexdigest()


def verify_version(version: BidVersion) -> bool:
    """The version's content still hashes to its stored digest (and its receipt's)."""
    digest = content_digest(version.content)
    receipt = version.receipt
    return digest == version.content_sha256 and (
        receipt is None or receipt.content_sha256 == digest)


# --- submitting, changing, withdrawing ---------------------------------------------------


def _recipients(actor: User, bid: Bid) -> list[str]:
    """The person who acted and the organisation's owners."""
    emails = [actor.email]
    owners = db.session.scalars(
        select(User.email)
        .join(OrganisationMember, OrganisationMember.user_id == User.id)
        .where(OrganisationMember.organisation_id == bid.organisation_id)
        .where(OrganisationMember.role == OrgRole.OWNER)
        .where(User.deactivated_at.is_(None))
        .order_by(User.id)
    ).all()
    for email in owners:
        if email not in emails:
            emails.append(email)
    return emails


def _new_receipt_reference(commission: Commission) -> str:
    return f"{commission.reference}-{secrets.token_hex(4).upper()}"


def submit(actor: User, bid: Bid) -> BidVersion:
    """Submit (or re-confirm) the bid. Under the commission lock and the server clock:
    at or after the deadline nothing changes (BidClosed)."""
    bid, now = _locked(actor, bid, BidStatus.DRAFT, BidStatus.NEEDS_RECONFIRMATION)
    missing = missing_sections(bid)
    if missing:
        _refuse([(key, MISSING_MESSAGES[key]) for key in missing])
    _budget_check(bid, bid.total_price_pence, "price")
    return record_submission(actor, bid, now)


def record_submission(actor: User, bid: Bid, now: datetime) -> BidVersion:
    """Store a submission made at `now`: the version, its receipt, the status, the audit
    event and the receipt e-mails. Only `submit` (which has checked the deadline under
    the lock) and the demo data call this."""
    content = canonical_content(bid)
    digest = content_digest(content)
    number = (max((v.number for v in bid.versions), default=0)) + 1
    reconfirming = bid.status == BidStatus.NEEDS_RECONFIRMATION
    version = BidVersion(bid=bid, number=number, submitted_at=now, submitted_by_id=actor.id,
                         content=content, content_sha256=digest,
                         total_price_pence=bid.total_price_pence,
                         commission_version=bid.commission.version_number)
    documents = [
        {"title": d["title"], "original_name": d["original_name"], "sha256": d["sha256"],
         "size": d["size"], "commercial": d["commercial"]}
        for d in content["documents"]
    ]
    receipt = BidReceipt(reference=_new_receipt_reference(bid.commission), version=version,
                         issued_at=now, content_sha256=digest, document_digests=documents)
    db.session.add_all([version, receipt])
    bid.status = BidStatus.SUBMITTED
    bid.submitted_at = now
    bid.submitted_by_id = actor.id
    bid.withdrawn_at = None
    bid.reconfirmation_requested_at = None
    db.session.flush()
    audit.record("bid.reconfirmed" if reconfirming else "bid.submitted", actor=actor, obj=bid,
                 data={"commission_id": bid.commission_id, "version": number,
                       "content_sha256": digest, "receipt": receipt.reference,
                       "documents": [d["sha256"] for d in documents]})
    commission = bid.commission
    for email in _recipients(actor, bid):
        queue_email(
            email,
            f"Bid received: {commission.title} ({commission.reference})",
            "bid_receipt",
            commission=commission,
            organisation=bid.organisation,
            version=version,
            receipt=receipt,
            submitted_at=format_uk(now),
            total=format_pence(version.total_price_pence),
            link=link("bids.receipt", commission_id=commission.id, number=number),
        )
    return version


def reopen(actor: User, bid: Bid) -> None:
    """Take a submitted, re-confirmation or withdrawn bid back to draft to change it. The
    submitted versions stay in the history; the bid must be submitted again."""
    bid, _now = _locked(actor, bid, BidStatus.SUBMITTED, BidStatus.NEEDS_RECONFIRMATION,
                        BidStatus.WITHDRAWN)
    before = bid.status
    bid.status = BidStatus.DRAFT
    bid.withdrawn_at = None
    # The declaration vouches for the bid as it was: a changed bid is declared again
    # (the submitted versions keep who declared what, and when).
    bid.declaration_accepted_at = None
    bid.declaration_accepted_by_id = None
    db.session.flush()
    audit.record("bid.reopened", actor=actor, obj=bid,
                 data={"status_before": str(before)})


def withdraw(actor: User, bid: Bid) -> None:
    bid, now = _locked(actor, bid, BidStatus.DRAFT, BidStatus.SUBMITTED,
                       BidStatus.NEEDS_RECONFIRMATION)
    before = bid.status
    bid.status = BidStatus.WITHDRAWN
    bid.withdrawn_at = now
    bid.withdrawn_by_id = actor.id
    db.session.flush()
    audit.record("bid.withdrawn", actor=actor, obj=bid, data={"status_before": str(before)})
    commission = bid.commission
    for email in _recipients(actor, bid):
        queue_email(
            email,
            f"Bid withdrawn: {commission.title} ({commission.reference})",
            "bid_withdrawn",
            commission=commission,
            organisation=bid.organisation,
            withdrawn_at=format_uk(now),
            link=link("bids.bid", commission_id=commission.id),
        )


# --- hooks for the commissions work package ----------------------------------------------


def on_material_change(actor: User, commission: Commission, version) -> list[Organisation]:
    """The specification or criteria changed materially: every submitted bid must be
    confirmed again. Returns the bidders' organisations; the commissions service
    e-mails their users (template commission_bid_reconfirm). Runs inside the amendment's
    transaction, which holds the commission row lock."""
    now = utcnow()
    bids = db.session.scalars(
        select(Bid).where(Bid.commission_id == commission.id,
                          Bid.status == BidStatus.SUBMITTED).order_by(Bid.id)
    ).all()
    for bid in bids:
        bid.status = BidStatus.NEEDS_RECONFIRMATION
        bid.reconfirmation_requested_at = now
        audit.record("bid.needs_reconfirmation", actor=actor, obj=bid,
                     data={"commission_id": commission.id,
                           "commission_version": getattr(version, "number", None)})
    db.session.flush()
    return [bid.organisation for bid in bids]


def submitted_bidder_organisations(commission: Commission) -> list[Organisation]:
    """Organisations with a submitted (or to-be-reconfirmed) bid, for `close-due`."""
    return list(db.session.scalars(
        select(Organisation)
        .join(Bid, Bid.organisation_id == Organisation.id)
        .where(Bid.commission_id == commission.id, Bid.status.in_(SUBMITTED_STATUSES))
        .order_by(Organisation.id)
    ))


bidders_of = submitted_bidder_organisations


# --- the panel ---------------------------------------------------------------------------


def submitted_count(commission: Commission) -> int:
    """All that staff may know about a sealed commission's bids."""
    return db.session.scalar(
        select(func.count(Bid.id)).where(Bid.commission_id == commission.id,
                                         Bid.status.in_(SUBMITTED_STATUSES))
    ) or 0


def can_open_bids(actor: User, commission: Commission, now: datetime | None = None) -> bool:
    now = now or utcnow()
    return commission.can_manage(actor) and commission.state_at(now) == CommissionState.CLOSED


def open_bids(actor: User, commission: Commission) -> int:
    """Unseal the bids of a commission whose deadline has passed (a commissioner)."""
    locked = lock_commission(commission.id)
    now = utcnow()
    if locked is None or not locked.can_manage(actor):
        raise BidError("You cannot open the bids for this commission")
    state = locked.state_at(now)
    if state == CommissionState.OPEN:
        raise BidError("The bids can only be opened after the submission deadline, "
                       f"{format_uk(locked.submission_deadline)}")
    if state != CommissionState.CLOSED:
        raise BidError("The bids for this commission cannot be opened now")
    count = submitted_count(locked)
    locked.bids_opened_at = now
    locked.bids_opened_by_id = actor.id
    db.session.flush()
    audit.record("commission.bids_opened", actor=actor, obj=locked,
                 data={"submitted_bids": count})
    return count


def bids_for_staff(actor: User, commission: Commission) -> list[Bid]:
    """The submitted bids of an opened commission that `actor` may see; [] while sealed."""
    if commission.bids_opened_at is None:
        return []
    bids = db.session.scalars(
        select(Bid).where(Bid.commission_id == commission.id,
                          Bid.status.in_(SUBMITTED_STATUSES)).order_by(Bid.id)
    ).all()
    return [bid for bid in bids if bid.can_view(actor)]


def is_sealed_audit_event(event) -> bool:
    """True when an audit event would tell the panel who bid before the bids are opened:
    an event on a bid of a commission not yet opened, or the upload of a bid document.
    For the admin audit page and its export to hide until opening (see the report)."""
    if event.object_type == "bids" and str(event.object_id or "").isdigit():
        bid = db.session.get(Bid, int(event.object_id))
        return bid is not None and bid.commission.bids_opened_at is None
    data = event.data or {}
    if event.object_type == "documents" and data.get("area") == DOCUMENT_AREA:
        link_row = db.session.scalar(
            select(BidDocument).where(BidDocument.document_id == str(event.object_id)))
        return link_row is None or link_row.bid.commission.bids_opened_at is None
    return False


SEALED_MAIL_TEMPLATES = ("bid_receipt", "bid_withdrawn", "commission_bid_reconfirm",
                         "commission_closed")
