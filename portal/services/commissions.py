"""Commissions, commissioner side: drafting, publishing to the pool, amendments and
cancellation, and the supplier's list of opportunities.

One function per use case. Each takes the acting user, checks the commission's
predicate and state (from the server's clock), writes the audit event and queues the
mail, flushes, and never commits.

Hooks for the bids work package (portal/services/bids.py), looked up when needed so this
module works before that one exists:

    bids.on_material_change(actor, commission, version) -> list[Organisation]
        put every submitted bid back to "needs re-confirmation"; return the bidders'
        organisations (this module e-mails their users).
    bids.submitted_bidder_organisations(commission) -> list[Organisation]
        organisations with a submitted bid (e-mailed by `close_due`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation

from flask import current_app, has_request_context, url_for
from sqlalchemy import and_, case, func, select
from sqlalchemy.exc import IntegrityError

from portal import audit, ocds
from portal.extensions import db
from portal.mail import queue_email
from portal.models.accounts import Organisation, OrganisationMember, User
from portal.models.base import utcnow
from portal.models.categories import ServiceCategory
from portal.models.commissions import (
    DOCUMENT_AREA,
    SCORE_SCALE,
    Commission,
    CommissionDocument,
    CommissionReferenceCounter,
    CommissionVersion,
    EvaluationCriterion,
    Invitation,
    VersionKind,
)
from portal.models.pool import PoolMembership
from portal.ukdatetime import UK, format_uk

REFERENCE_PREFIX = "CSPRP"
DEFAULT_MIN_TENDER_DAYS = 10
MAX_CRITERIA = 10

TITLE_MAX = 200
SUMMARY_MAX = 2000
SPECIFICATION_MAX = 50_000
DELIVERABLES_MAX = 20_000
TIMESCALE_MAX = 2000
CRITERION_NAME_MAX = 200
CRITERION_TEXT_MAX = 4000
NOTE_MAX = 4000
REASON_MAX = 4000
DOCUMENT_TITLE_MAX = 200
BUDGET_MAX_PENCE = 100_000_000_00  # £100 million


class CommissionError(Exception):
    """A refused action; `message` is shown to the person (GOV.UK error style).
    `errors` may carry several (field, message) pairs."""

    def __init__(
        self,
        message: str,
        field: str | None = None,
        errors: list[tuple[str | None, str]] | None = None,
    ):
        super().__init__(message)
        self.message = message
        self.field = field
        self.errors = errors or [(field, message)]


def _refuse(errors: list[tuple[str | None, str]]) -> None:
    if errors:
        field_name, message = errors[0]
        raise CommissionError(message, field_name, errors)


# --- small helpers ------------------------------------------------------------------------


def min_tender_days() -> int:
    return int(current_app.config.get("MIN_TENDER_DAYS", DEFAULT_MIN_TENDER_DAYS))


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


def parse_pounds(text: str | None) -> int | None:
    """Pence from '£25,000', '25000' or '25000.50'; None when it is not an amount."""
    cleaned = re.sub(r"[£,\s]", "", text or "")
    if not re.fullmatch(r"\d{1,12}(\.\d{1,2})?", cleaned):
        return None
    try:
        return int(Decimal(cleaned) * 100)
    except InvalidOperation:
        return None


def format_pence(pence: int | None) -> str:
    if pence is None:
        return ""
    pounds, rem = divmod(pence, 100)
    return f"£{pounds:,}" + (f".{rem:02d}" if rem else "")


def lock_commission(commission_id: int) -> Commission | None:
    """The commission row, locked for the rest of the transaction (SELECT ... FOR UPDATE
    on PostgreSQL; SQLite's BEGIN IMMEDIATE already serialises writers) and refreshed.
    Anything that depends on the deadline reads it after this."""
    return db.session.execute(
        select(Commission)
        .where(Commission.id == commission_id)
        .with_for_update(of=Commission)
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()


def next_reference(now: datetime) -> str:
    """The next reference for the year (UK time): CSPRP-2026-0007. The year's counter
    row is locked, so two drafts created at once never get the same number (and the
    unique reference column would refuse it anyway)."""
    year = now.astimezone(UK).year
    query = (
        select(CommissionReferenceCounter)
        .where(CommissionReferenceCounter.year == year)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    counter = db.session.execute(query).scalar_one_or_none()
    if counter is None:
        try:
            with db.session.begin_nested():
                db.session.add(CommissionReferenceCounter(year=year, last_number=0))
        except IntegrityError:
            pass  # another transaction created it first: lock theirs
        counter = db.session.execute(query).scalar_one()
    counter.last_number += 1
    db.session.flush()
    return f"{REFERENCE_PREFIX}-{year}-{counter.last_number:04d}"


def categories() -> list[ServiceCategory]:
    return list(db.session.scalars(select(ServiceCategory).order_by(ServiceCategory.number)))


def _require(allowed: bool, message: str) -> None:
    if not allowed:
        raise CommissionError(message)


# --- inputs and validation ---------------------------------------------------------------


@dataclass
class DetailsInput:
    category_id: int | None
    title: str
    summary: str
    specification: str
    deliverables: str
    timescale: str
    max_budget_pence: int | None


@dataclass
class CriterionInput:
    name: str
    description: str
    weight: int | None
    guidance: list[str] = field(default_factory=lambda: [""] * len(SCORE_SCALE))


def _clean(text: str | None) -> str:
    return (text or "").replace("\r\n", "\n").strip()


def validate_details(details: DetailsInput, *, with_category: bool = True) -> list:
    errors: list[tuple[str | None, str]] = []
    if with_category:
        if details.category_id is None:
            errors.append(("category_id", "Select a service category"))
        elif db.session.get(ServiceCategory, details.category_id) is None:
            errors.append(("category_id", "Select a service category from the list"))
    checks = (
        ("title", "a title", "The title", TITLE_MAX),
        ("summary", "a summary", "The summary", SUMMARY_MAX),
        ("specification", "the specification", "The specification", SPECIFICATION_MAX),
        ("deliverables", "the deliverables", "The deliverables", DELIVERABLES_MAX),
        ("timescale", "the timescale", "The timescale", TIMESCALE_MAX),
    )
    for name, what, label, limit in checks:
        value = _clean(getattr(details, name))
        setattr(details, name, value)
        if not value:
            errors.append((name, f"Enter {what}"))
        elif len(value) > limit:
            errors.append((name, f"{label} must be {limit:,} characters or fewer"))
    if details.max_budget_pence is None:
        errors.append(("max_budget", "Enter the maximum budget in pounds, like 25000"))
    elif details.max_budget_pence <= 0:
        errors.append(("max_budget", "The maximum budget must be more than £0"))
    elif details.max_budget_pence > BUDGET_MAX_PENCE:
        errors.append(("max_budget", "The maximum budget must be £100,000,000 or less"))
    return errors


def validate_criteria(criteria: list[CriterionInput], price_weight: int | None) -> list:
    errors: list[tuple[str | None, str]] = []
    if not criteria:
        errors.append(("criteria-0-name", "Enter at least one quality criterion"))
    if len(criteria) > MAX_CRITERIA:
        errors.append((None, f"Enter {MAX_CRITERIA} criteria or fewer"))
    for index, criterion in enumerate(criteria):
        prefix = f"criteria-{index}-"
        n = index + 1
        criterion.name = _clean(criterion.name)
        criterion.description = _clean(criterion.description)
        criterion.guidance = [_clean(g) for g in criterion.guidance]
        if not criterion.name:
            errors.append((prefix + "name", f"Enter a name for criterion {n}"))
        elif len(criterion.name) > CRITERION_NAME_MAX:
            errors.append((prefix + "name", f"The name of criterion {n} must be "
                                            f"{CRITERION_NAME_MAX} characters or fewer"))
        if not criterion.description:
            errors.append((prefix + "description", f"Enter a description for criterion {n}"))
        elif len(criterion.description) > CRITERION_TEXT_MAX:
            errors.append((prefix + "description", f"The description of criterion {n} must "
                                                   f"be {CRITERION_TEXT_MAX:,} characters "
                                                   "or fewer"))
        if criterion.weight is None:
            errors.append((prefix + "weight", f"Enter the weight of criterion {n} as a whole "
                                              "number, like 20"))
        elif not 1 <= criterion.weight <= 100:
            errors.append((prefix + "weight", f"The weight of criterion {n} must be between "
                                              "1 and 100"))
        for score, text in zip(SCORE_SCALE, criterion.guidance, strict=True):
            if not text:
                errors.append((f"{prefix}guidance_{score}",
                               f"Enter the guidance for a score of {score} on criterion {n}"))
            elif len(text) > CRITERION_TEXT_MAX:
                errors.append((f"{prefix}guidance_{score}",
                               f"The guidance for a score of {score} on criterion {n} must "
                               f"be {CRITERION_TEXT_MAX:,} characters or fewer"))
    if price_weight is None:
        errors.append(("price_weight", "Enter the price weight as a whole number, like 30"))
    elif not 0 <= price_weight <= 100:
        errors.append(("price_weight", "The price weight must be between 0 and 100"))
    weights = [c.weight for c in criteria]
    if price_weight is not None and all(w is not None for w in weights) and criteria:
        total = sum(weights) + price_weight
        if total != 100:
            errors.append(("price_weight", "The weights of the criteria and price must add up "
                                           f"to 100. They add up to {total}"))
    return errors


def validate_deadlines(
    clarification: datetime | None,
    submission: datetime | None,
    now: datetime,
    *,
    tender_starts: datetime | None = None,
) -> list:
    """`tender_starts`: when the tender period starts (publication, or now for a material
    change); the submission deadline must leave MIN_TENDER_DAYS after it."""
    errors: list[tuple[str | None, str]] = []
    if submission is None:
        errors.append(("submission_deadline", "Enter the submission deadline"))
    if clarification is None:
        errors.append(("clarification_deadline", "Enter the clarification deadline"))
    if errors:
        return errors
    if submission <= now:
        errors.append(("submission_deadline", "The submission deadline must be in the future"))
    if clarification <= now:
        errors.append(("clarification_deadline",
                       "The clarification deadline must be in the future"))
    if clarification >= submission:
        errors.append(("clarification_deadline",
                       "The clarification deadline must be before the submission deadline"))
    start = tender_starts or now
    days = min_tender_days()
    earliest = start + timedelta(days=days)
    if submission > now and submission < earliest:
        errors.append(("submission_deadline",
                       f"The submission deadline must leave at least {days} days for bids: "
                       f"{format_uk(earliest)} or later"))
    return errors


# --- snapshots (what a version records) --------------------------------------------------


def _same_minute(a: datetime | None, b: datetime | None) -> bool:
    if a is None or b is None:
        return False
    return a.replace(second=0, microsecond=0) == b.replace(second=0, microsecond=0)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def snapshot(commission: Commission) -> dict:
    return {
        "title": commission.title,
        "summary": commission.summary,
        "specification": commission.specification,
        "deliverables": commission.deliverables,
        "timescale": commission.timescale,
        "max_budget_pence": commission.max_budget_pence,
        "price_weight": commission.price_weight,
        "criteria": [c.snapshot() for c in commission.criteria],
        "clarification_deadline": _iso(commission.clarification_deadline),
        "submission_deadline": _iso(commission.submission_deadline),
        "documents": [
            {"id": d.document_id, "title": d.title}
            for d in commission.documents
            if d.removed_at is None
        ],
    }


FIELD_LABELS = {
    "title": "Title",
    "summary": "Summary",
    "specification": "Specification",
    "deliverables": "Deliverables",
    "timescale": "Timescale",
    "max_budget_pence": "Maximum budget",
    "price_weight": "Price weight",
    "criteria": "Evaluation criteria",
    "clarification_deadline": "Clarification deadline",
    "submission_deadline": "Submission deadline",
    "documents": "Documents",
}
MATERIAL_FIELDS = (
    "title", "summary", "specification", "deliverables", "timescale", "max_budget_pence",
    "price_weight", "criteria",
)


def diff(before: dict, after: dict) -> dict:
    return {
        key: {"old": before.get(key), "new": after.get(key)}
        for key in FIELD_LABELS
        if before.get(key) != after.get(key)
    }


def _add_version(actor, commission: Commission, kind: VersionKind, note: str,
                 changes: dict, now: datetime) -> CommissionVersion:
    number = (db.session.scalar(
        select(func.max(CommissionVersion.number)).where(
            CommissionVersion.commission_id == commission.id)
    ) or 0) + 1
    version = CommissionVersion(
        commission=commission,
        number=number,
        kind=kind,
        note=note,
        changes=changes,
        snapshot=snapshot(commission),
        created_at=now,
        created_by_id=getattr(actor, "id", None),
    )
    db.session.add(version)
    return version


# --- recipients --------------------------------------------------------------------------


def organisation_users(organisation_ids: Iterable[int]) -> list[tuple[str, int]]:
    """(e-mail, organisation id) for every active user of those organisations, one query."""
    ids = sorted(set(organisation_ids))
    if not ids:
        return []
    rows = db.session.execute(
        select(User.email, OrganisationMember.organisation_id)
        .join(OrganisationMember, OrganisationMember.user_id == User.id)
        .where(OrganisationMember.organisation_id.in_(ids))
        .where(User.deactivated_at.is_(None))
        .order_by(OrganisationMember.organisation_id, User.id)
    ).all()
    return [(email, org_id) for email, org_id in rows]


def invited_organisation_ids(commission: Commission) -> list[int]:
    return list(db.session.scalars(
        select(Invitation.organisation_id).where(Invitation.commission_id == commission.id)
    ))


def mail_organisations(organisation_ids: Iterable[int], subject: str, template: str,
                       **context) -> int:
    count = 0
    for email, _org_id in organisation_users(organisation_ids):
        queue_email(email, subject, template, **context)
        count += 1
    return count


def mail_invitees(commission: Commission, subject: str, template: str, **context) -> int:
    return mail_organisations(invited_organisation_ids(commission), subject, template,
                              commission=commission, **context)


# --- drafting ----------------------------------------------------------------------------


def _apply_details(commission: Commission, details: DetailsInput, with_category=True):
    if with_category:
        commission.category_id = details.category_id
    commission.title = details.title
    commission.summary = details.summary
    commission.specification = details.specification
    commission.deliverables = details.deliverables
    commission.timescale = details.timescale
    commission.max_budget_pence = details.max_budget_pence


def create_draft(actor: User, details: DetailsInput, now: datetime | None = None) -> Commission:
    now = now or utcnow()
    _require(getattr(actor, "is_commissioner", False), "Only commissioners can do this")
    _refuse(validate_details(details))
    commission = Commission(
        reference=next_reference(now),
        created_by_id=actor.id,
        created_at=now,
        price_weight=0,
    )
    _apply_details(commission, details)
    db.session.add(commission)
    db.session.flush()
    audit.record("commission.created", actor=actor, obj=commission,
                 data={"reference": commission.reference, "category_id": details.category_id})
    return commission


def _require_draft(actor: User, commission: Commission) -> None:
    _require(commission.can_edit(actor),
             "This commission has been published or cancelled, so it can no longer be "
             "changed here")


def update_details(actor: User, commission: Commission, details: DetailsInput) -> dict:
    _require_draft(actor, commission)
    _refuse(validate_details(details))
    before = snapshot(commission) | {"category_id": commission.category_id}
    _apply_details(commission, details)
    after = snapshot(commission) | {"category_id": commission.category_id}
    changed = sorted(k for k in after if before.get(k) != after.get(k))
    if changed:
        audit.record("commission.details_changed", actor=actor, obj=commission,
                     data={"fields": changed})
    db.session.flush()
    return {k: after[k] for k in changed}


def _replace_criteria(commission: Commission, criteria: list[CriterionInput]) -> None:
    """Update rows in place by position (a unique key), add new ones, delete the rest."""
    existing = list(commission.criteria)
    for position, item in enumerate(criteria, start=1):
        if position <= len(existing):
            row = existing[position - 1]
        else:
            row = EvaluationCriterion(position=position)
            commission.criteria.append(row)
        row.name = item.name
        row.description = item.description
        row.weight = item.weight
        for score, text in zip(SCORE_SCALE, item.guidance, strict=True):
            setattr(row, f"guidance_{score}", text)
    for row in existing[len(criteria):]:
        commission.criteria.remove(row)
        db.session.delete(row)


def set_criteria(actor: User, commission: Commission, criteria: list[CriterionInput],
                 price_weight: int | None) -> None:
    _require_draft(actor, commission)
    _refuse(validate_criteria(criteria, price_weight))
    _replace_criteria(commission, criteria)
    commission.price_weight = price_weight
    db.session.flush()
    audit.record("commission.criteria_set", actor=actor, obj=commission,
                 data={"criteria": [[c.name, c.weight] for c in criteria],
                       "price_weight": price_weight})


def set_deadlines(actor: User, commission: Commission, clarification: datetime | None,
                  submission: datetime | None, now: datetime | None = None) -> None:
    now = now or utcnow()
    _require_draft(actor, commission)
    _refuse(validate_deadlines(clarification, submission, now))
    commission.clarification_deadline = clarification
    commission.submission_deadline = submission
    db.session.flush()
    audit.record("commission.deadlines_set", actor=actor, obj=commission,
                 data={"clarification_deadline": _iso(clarification),
                       "submission_deadline": _iso(submission)})


def add_document(actor: User, commission: Commission, file, title: str) -> CommissionDocument:
    """Attach a document to a draft. Raises CommissionError, UploadRejected or
    StorageError (nothing saved)."""
    from portal.services.documents import store_upload

    _require_draft(actor, commission)
    title = _clean(title)
    if len(title) > DOCUMENT_TITLE_MAX:
        raise CommissionError(f"The title must be {DOCUMENT_TITLE_MAX} characters or fewer",
                              "title")
    document = store_upload(actor, file, area=DOCUMENT_AREA)
    link_row = CommissionDocument(
        commission=commission,
        document=document,
        title=title or document.original_name,
        added_by_id=actor.id,
    )
    db.session.add(link_row)
    db.session.flush()
    audit.record("commission.document_added", actor=actor, obj=commission,
                 data={"document_id": document.id, "title": link_row.title})
    return link_row


def remove_document(actor: User, commission: Commission, link_id: int) -> None:
    _require_draft(actor, commission)
    row = db.session.get(CommissionDocument, link_id)
    if row is None or row.commission_id != commission.id or row.removed_at is not None:
        raise CommissionError("That document is not attached to this commission")
    row.removed_at = utcnow()
    db.session.flush()
    audit.record("commission.document_removed", actor=actor, obj=commission,
                 data={"document_id": row.document_id})


def current_documents(commission: Commission) -> list[CommissionDocument]:
    return [d for d in commission.documents if d.removed_at is None]


# --- publishing --------------------------------------------------------------------------


@dataclass
class Task:
    title: str
    endpoint: str
    done: bool


def task_list(commission: Commission) -> list[Task]:
    return [
        Task("Details of the commission", "commissions.details", _details_done(commission)),
        Task("Evaluation criteria and weights", "commissions.criteria",
             bool(commission.criteria) and commission.total_weight == 100),
        Task("Deadlines", "commissions.deadlines",
             commission.submission_deadline is not None),
        Task("Documents (optional)", "commissions.documents",
             bool(current_documents(commission))),
    ]


def _details_done(commission: Commission) -> bool:
    return all((commission.title, commission.summary, commission.specification,
                commission.deliverables, commission.timescale, commission.max_budget_pence))


def active_memberships(category_id: int, now: datetime) -> list[PoolMembership]:
    """Members who can be invited: active (not suspended, removed or expired), and not
    past their expiry date even if the nightly expiry job has not run yet."""
    return list(db.session.scalars(
        select(PoolMembership)
        .where(PoolMembership.category_id == category_id)
        .where(PoolMembership.in_force(now))
        .order_by(PoolMembership.organisation_id)
    ))


def publish_problems(commission: Commission, now: datetime) -> list[tuple[str | None, str]]:
    problems: list[tuple[str | None, str]] = []
    if not _details_done(commission):
        problems.append(("details", "Complete the details of the commission"))
    if not commission.criteria:
        problems.append(("criteria", "Add the evaluation criteria"))
    elif commission.total_weight != 100:
        problems.append(("criteria", "The weights of the criteria and price must add up to "
                                     f"100. They add up to {commission.total_weight}"))
    deadline_errors = validate_deadlines(
        commission.clarification_deadline, commission.submission_deadline, now,
        tender_starts=now,
    )
    problems.extend(("deadlines", message) for _field, message in deadline_errors)
    if not active_memberships(commission.category_id, now):
        problems.append(("category", "No organisation is an active member of "
                                     f"{commission.category.name}, so nobody can be invited"))
    return problems


def publish(actor: User, commission: Commission, now: datetime | None = None) -> int:
    """Publish a draft: invite every active member of its category and e-mail each of
    their users. Returns the number of organisations invited."""
    now = now or utcnow()
    locked = lock_commission(commission.id)
    _require(locked is not None and locked.can_edit(actor),
             "This commission has already been published or cancelled")
    _refuse(publish_problems(commission, now))
    commission.published_at = now
    commission.published_by_id = actor.id
    memberships = active_memberships(commission.category_id, now)
    for membership in memberships:
        db.session.add(Invitation(
            commission=commission,
            organisation_id=membership.organisation_id,
            membership_id=membership.id,
            invited_at=now,
        ))
    db.session.flush()
    version = _add_version(actor, commission, VersionKind.PUBLISHED, "", {}, now)
    db.session.flush()
    ocds.on_published(commission, now)  # open data: the tender release
    audit.record("commission.published", actor=actor, obj=commission,
                 data={"reference": commission.reference, "version": version.number,
                       "invited_organisations": [m.organisation_id for m in memberships],
                       "submission_deadline": _iso(commission.submission_deadline)})
    mail_invitees(
        commission,
        f"Invitation to bid: {commission.title} ({commission.reference})",
        "commission_invitation",
        link=link("commissions.opportunity", commission_id=commission.id),
    )
    db.session.flush()
    return len(memberships)


# --- amendments --------------------------------------------------------------------------


def _require_amendable(actor: User, commission: Commission) -> Commission:
    locked = lock_commission(commission.id)
    _require(locked is not None and locked.can_amend(actor),
             "This commission can only be amended while it is open for bids")
    return locked


def extend_deadline(actor: User, commission: Commission, clarification: datetime | None,
                    submission: datetime | None, note: str,
                    now: datetime | None = None) -> CommissionVersion:
    now = now or utcnow()
    commission = _require_amendable(actor, commission)
    note = _clean(note)
    if _same_minute(clarification, commission.clarification_deadline):
        clarification = commission.clarification_deadline  # shown to the minute, unchanged
    errors: list[tuple[str | None, str]] = []
    if submission is None:
        errors.append(("submission_deadline", "Enter the new submission deadline"))
    elif submission <= commission.submission_deadline:
        errors.append(("submission_deadline", "The new submission deadline must be later "
                                              f"than the current one, "
                                              f"{format_uk(commission.submission_deadline)}"))
    if clarification is None:
        errors.append(("clarification_deadline", "Enter the clarification deadline"))
    elif clarification != commission.clarification_deadline and clarification <= now:
        errors.append(("clarification_deadline",
                       "The clarification deadline must be in the future"))
    if clarification and submission and clarification >= submission:
        errors.append(("clarification_deadline",
                       "The clarification deadline must be before the submission deadline"))
    if len(note) > NOTE_MAX:
        errors.append(("note", f"The note must be {NOTE_MAX:,} characters or fewer"))
    _refuse(errors)
    before = snapshot(commission)
    commission.clarification_deadline = clarification
    commission.submission_deadline = submission
    changes = diff(before, snapshot(commission))
    version = _add_version(actor, commission, VersionKind.DEADLINE_EXTENDED, note, changes, now)
    db.session.flush()
    ocds.on_amended(commission, now)  # open data: a tenderAmendment release
    audit.record("commission.deadline_extended", actor=actor, obj=commission,
                 data={"version": version.number, "changes": changes})
    mail_invitees(
        commission,
        f"Deadline extended: {commission.title} ({commission.reference})",
        "commission_deadline_extended",
        version=version,
        link=link("commissions.opportunity", commission_id=commission.id),
    )
    return version


def _bids_hook(name: str):
    try:
        from portal.services import bids
    except ImportError:
        return None
    return getattr(bids, name, None)


def on_material_change(actor: User, commission: Commission,
                       version: CommissionVersion) -> list[Organisation]:
    """Every submitted bid goes back to "needs re-confirmation"; returns the bidders'
    organisations. Delegates to the bids work package (see the module docstring)."""
    hook = _bids_hook("on_material_change")
    if hook is None:
        return []
    return list(hook(actor, commission, version) or [])


def submitted_bidder_organisations(commission: Commission) -> list[Organisation]:
    hook = _bids_hook("submitted_bidder_organisations")
    if hook is None:
        return []
    return list(hook(commission) or [])


def change_material(
    actor: User,
    commission: Commission,
    details: DetailsInput,
    criteria: list[CriterionInput],
    price_weight: int | None,
    clarification: datetime | None,
    submission: datetime | None,
    note: str,
    now: datetime | None = None,
) -> CommissionVersion:
    """A material change to the specification or criteria: recorded as a new version,
    submitted bids need re-confirmation, and the deadline must again leave the minimum
    tender period from now."""
    now = now or utcnow()
    commission = _require_amendable(actor, commission)
    note = _clean(note)
    errors = validate_details(details, with_category=False)
    errors += validate_criteria(criteria, price_weight)
    errors += validate_deadlines(clarification, submission, now, tender_starts=now)
    if not note:
        errors.append(("note", "Describe the change for the organisations invited to bid"))
    elif len(note) > NOTE_MAX:
        errors.append(("note", f"The description must be {NOTE_MAX:,} characters or fewer"))
    _refuse(errors)
    before = snapshot(commission)
    proposed = dict(before)
    proposed.update(
        title=details.title, summary=details.summary, specification=details.specification,
        deliverables=details.deliverables, timescale=details.timescale,
        max_budget_pence=details.max_budget_pence, price_weight=price_weight,
        criteria=[
            {"name": c.name, "description": c.description, "weight": c.weight,
             "guidance": list(c.guidance)}
            for c in criteria
        ],
    )
    if not any(before[k] != proposed[k] for k in MATERIAL_FIELDS):
        raise CommissionError(
            "You have not changed the specification or criteria. To move the deadline "
            "only, extend the deadline instead", "specification")
    _apply_details(commission, details, with_category=False)
    _replace_criteria(commission, criteria)
    commission.price_weight = price_weight
    commission.clarification_deadline = clarification
    commission.submission_deadline = submission
    db.session.flush()
    changes = diff(before, snapshot(commission))
    version = _add_version(actor, commission, VersionKind.MATERIAL_CHANGE, note, changes, now)
    db.session.flush()
    ocds.on_amended(commission, now)  # open data: a tenderAmendment release
    bidders = on_material_change(actor, commission, version)
    # Counts, not organisations: the bids are still sealed, and the audit trail is read
    # by the panel (the bidders' own e-mails are sealed in the outbox the same way).
    audit.record("commission.material_change", actor=actor, obj=commission,
                 data={"version": version.number, "fields": sorted(changes),
                       "bids_to_reconfirm": len(bidders)})
    page = link("commissions.opportunity", commission_id=commission.id)
    mail_invitees(
        commission,
        f"Commission changed: {commission.title} ({commission.reference})",
        "commission_amended",
        version=version,
        changed=[FIELD_LABELS[k] for k in changes],
        link=page,
    )
    mail_organisations(
        [o.id for o in bidders],
        f"Confirm your bid again: {commission.title} ({commission.reference})",
        "commission_bid_reconfirm",
        commission=commission,
        version=version,
        link=page,
    )
    return version


def cancel(actor: User, commission: Commission, reason: str,
           now: datetime | None = None) -> None:
    now = now or utcnow()
    locked = lock_commission(commission.id)
    _require(locked is not None and locked.can_cancel(actor),
             "This commission can no longer be cancelled")
    reason = _clean(reason)
    if not reason:
        raise CommissionError("Enter the reason for cancelling the commission", "reason")
    if len(reason) > REASON_MAX:
        raise CommissionError(f"The reason must be {REASON_MAX:,} characters or fewer",
                              "reason")
    was_published = commission.published_at is not None
    state_before = commission.state_at(now)
    from portal.services.award import on_commission_cancelled

    on_commission_cancelled(actor, commission, now)  # an award in progress ends (issue 6)
    commission.cancelled_at = now
    commission.cancelled_by_id = actor.id
    commission.cancellation_reason = reason
    version = None
    if was_published:
        version = _add_version(actor, commission, VersionKind.CANCELLED, reason,
                               {"state": {"old": str(state_before), "new": "cancelled"}}, now)
    db.session.flush()
    ocds.on_cancelled(commission, now)  # open data: a tenderCancellation release
    audit.record("commission.cancelled", actor=actor, obj=commission,
                 data={"reason": reason, "state_before": str(state_before),
                       "version": version.number if version else None})
    if was_published:
        mail_invitees(
            commission,
            f"Commission cancelled: {commission.title} ({commission.reference})",
            "commission_cancelled",
            reason=reason,
            link=link("commissions.opportunity", commission_id=commission.id),
        )


# --- closing -----------------------------------------------------------------------------


def close_due(now: datetime | None = None) -> int:
    """Tell the bidders of every commission whose deadline has passed that it has
    closed, once (closed_notice_sent_at). Safe to run repeatedly. Returns how many
    commissions were handled."""
    now = now or utcnow()
    due = db.session.scalars(
        select(Commission)
        .where(Commission.published_at.is_not(None))
        .where(Commission.cancelled_at.is_(None))
        .where(Commission.closed_notice_sent_at.is_(None))
        .where(Commission.submission_deadline <= now)
        .order_by(Commission.id)
        .with_for_update(of=Commission)
    ).all()
    for commission in due:
        commission.closed_notice_sent_at = now
        bidders = submitted_bidder_organisations(commission)
        sent = mail_organisations(
            [o.id for o in bidders],
            f"Bidding has closed: {commission.title} ({commission.reference})",
            "commission_closed",
            commission=commission,
            link=link("commissions.opportunity", commission_id=commission.id),
        )
        # A count, not the organisations: the bids stay sealed until they are opened.
        audit.record("commission.closed", obj=commission,
                     data={"bidders": len(bidders), "emails": sent})
    db.session.flush()
    return len(due)


# --- lists -------------------------------------------------------------------------------


@dataclass
class Page:
    items: list
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def _paginate(query, count_query, page: int, per_page: int) -> Page:
    total = db.session.scalar(count_query) or 0
    page = max(1, min(page, max(1, -(-total // per_page))))
    items = list(db.session.scalars(query.limit(per_page).offset((page - 1) * per_page)))
    return Page(items, total, page, per_page)


def _open_condition(now: datetime):
    return and_(
        Commission.published_at.is_not(None),
        Commission.cancelled_at.is_(None),
        Commission.bids_opened_at.is_(None),
        Commission.submission_deadline > now,
    )


def commission_list(*, view: str, page: int, now: datetime, per_page: int = 25) -> Page:
    """Commissioners' list: drafts, open, or past (closed, opened, cancelled...)."""
    query = select(Commission)
    if view == "draft":
        condition = and_(Commission.published_at.is_(None), Commission.cancelled_at.is_(None))
        order = (Commission.created_at.desc(),)
    elif view == "open":
        condition = _open_condition(now)
        order = (Commission.submission_deadline.asc(),)
    else:
        condition = and_(
            ~_open_condition(now),
            ~and_(Commission.published_at.is_(None), Commission.cancelled_at.is_(None)),
        )
        order = (Commission.submission_deadline.desc(), Commission.id.desc())
    query = query.where(condition).order_by(*order, Commission.id.desc())
    count = select(func.count(Commission.id)).where(condition)
    return _paginate(query, count, page, per_page)


def opportunities(organisation_id: int, *, page: int, now: datetime,
                  per_page: int = 20) -> Page:
    """The commissions an organisation is invited to: open ones first (nearest deadline
    first), then past ones (latest first). Two queries, whatever the page size."""
    is_open = case((_open_condition(now), 0), else_=1)
    query = (
        select(Commission)
        .join(Invitation, Invitation.commission_id == Commission.id)
        .where(Invitation.organisation_id == organisation_id)
        .where(Commission.published_at.is_not(None))
        .order_by(
            is_open,
            case((_open_condition(now), Commission.submission_deadline), else_=None).asc(),
            Commission.submission_deadline.desc(),
            Commission.id.desc(),
        )
    )
    count = (
        select(func.count(Invitation.id))
        .join(Commission, Invitation.commission_id == Commission.id)
        .where(Invitation.organisation_id == organisation_id)
        .where(Commission.published_at.is_not(None))
    )
    return _paginate(query, count, page, per_page)


def invitations_with_organisations(commission: Commission, limit: int = 500) -> list:
    return list(db.session.execute(
        select(Invitation, Organisation)
        .join(Organisation, Organisation.id == Invitation.organisation_id)
        .where(Invitation.commission_id == commission.id)
        .order_by(Organisation.legal_name)
        .limit(limit)
    ).all())


def invitation_count(commission: Commission) -> int:
    return db.session.scalar(
        select(func.count(Invitation.id)).where(Invitation.commission_id == commission.id)
    ) or 0
