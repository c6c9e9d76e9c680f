"""Use cases for the reviewer pool: applying, deciding, membership and its upkeep.

Every function takes the acting user (None for the daily job), checks the lifecycle on
the server's clock, writes the audit event and queues the e-mail, and flushes without
committing. A refused action raises PoolError with a message written for the person.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flask import current_app, has_request_context, url_for
from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from portal import audit
from portal.extensions import db
from portal.mail import queue_email
from portal.models.accounts import Organisation, OrganisationMember, OrgRole, User
from portal.models.base import utcnow
from portal.models.categories import ServiceCategory
from portal.models.pool import (
    CURRENT_MEMBERSHIP_STATUSES,
    OPEN_STATUSES,
    REMINDER_DAYS,
    SECTIONS,
    AnswerType,
    ApplicationCategory,
    ApplicationEvidence,
    ApplicationKind,
    ApplicationStatus,
    Assessment,
    Decision,
    DeclarationAnswer,
    DeclarationQuestion,
    EvidenceKind,
    MembershipEvent,
    MembershipStatus,
    PoolApplication,
    PoolMembership,
    parse_amount,
)

REASON_MAX = 2000
DETAILS_MAX = 2000
DESCRIPTION_MAX = 200
DOCUMENT_AREA = "pool"
QUEUE_PAGE_SIZE = 25
PUBLIC_PAGE_SIZE = 20
SEARCH_MAX = 100


class PoolError(Exception):
    """A refused action; `message` is shown to the person (GOV.UK error style)."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


# --- small helpers ---------------------------------------------------------------------


def add_months(when: datetime, months: int) -> datetime:
    month_index = when.month - 1 + months
    year = when.year + month_index // 12
    month = month_index % 12 + 1
    day = min(when.day, calendar.monthrange(year, month)[1])
    return when.replace(year=year, month=month, day=day)


def link(endpoint: str, **values) -> str:
    """An absolute link for an e-mail: PUBLIC_BASE_URL when set (so a forged Host header
    cannot steer it), else the request's host. The daily job without PUBLIC_BASE_URL or
    SERVER_NAME gets an empty string, and the e-mail says where to go instead."""
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


def organisation_recipients(organisation: Organisation) -> list[str]:
    """Where the organisation's pool mail goes: its owners (every member if it has
    no active owner)."""
    rows = db.session.execute(
        select(User.email, OrganisationMember.role)
        .join(OrganisationMember, OrganisationMember.user_id == User.id)
        .where(OrganisationMember.organisation_id == organisation.id)
        .where(User.deactivated_at.is_(None))
        .order_by(User.id)
    ).all()
    owners = [email for email, role in rows if role == OrgRole.OWNER]
    return owners or [email for email, _ in rows]


def _mail_organisation(organisation: Organisation, subject: str, template: str, **ctx):
    for recipient in organisation_recipients(organisation):
        queue_email(recipient, subject, template, organisation=organisation, **ctx)


def _clean_reason(reason: str | None, what: str = "a reason") -> str:
    reason = (reason or "").strip()
    if not reason:
        raise PoolError(f"Enter {what}", field="reason")
    if len(reason) > REASON_MAX:
        raise PoolError(f"The reason must be {REASON_MAX} characters or fewer", field="reason")
    return reason


def details_complete(organisation: Organisation) -> bool:
    """Organisation details done? (The profiles work package defines what that means.)"""
    value = getattr(organisation, "details_complete", None)
    if value is None:
        return bool(organisation.legal_name)
    return bool(value)


def active_questions() -> list[DeclarationQuestion]:
    """The questions in force, in the order the form shows them (section by section);
    question numbers on the page and in error messages count in this order."""
    sections = {key: index for index, key in enumerate(SECTIONS)}
    questions = db.session.scalars(
        select(DeclarationQuestion)
        .where(DeclarationQuestion.is_active.is_(True))
        .order_by(DeclarationQuestion.position, DeclarationQuestion.id)
    )
    return sorted(questions, key=lambda q: sections.get(q.section, len(sections)))


def current_memberships(organisation_id: int) -> list[PoolMembership]:
    return list(
        db.session.scalars(
            select(PoolMembership)
            .where(PoolMembership.organisation_id == organisation_id)
            .where(PoolMembership.status.in_(CURRENT_MEMBERSHIP_STATUSES))
        )
    )


def open_application(organisation_id: int) -> PoolApplication | None:
    return db.session.scalars(
        select(PoolApplication)
        .where(PoolApplication.organisation_id == organisation_id)
        .where(PoolApplication.kind == ApplicationKind.JOIN)
        .where(PoolApplication.status.in_(OPEN_STATUSES))
    ).first()


def offered_categories(application: PoolApplication) -> list[ServiceCategory]:
    """The categories the applicant may choose: open ones it is not already a member
    of, plus those already on the application (so a closed one can be seen to remove)."""
    member_of = {m.category_id for m in current_memberships(application.organisation_id)}
    chosen = {c.category_id for c in application.categories}
    categories = db.session.scalars(select(ServiceCategory).order_by(ServiceCategory.number))
    return [
        c
        for c in categories
        if c.id in chosen or (c.is_open and c.id not in member_of)
    ]


# --- the supplier journey --------------------------------------------------------------


def start_application(actor: User, organisation: Organisation) -> PoolApplication:
    if not organisation.has_member(actor):
        raise PoolError("You can only apply for your own organisation")
    if open_application(organisation.id) is not None:
        raise PoolError("Your organisation already has an application in progress")
    application = PoolApplication(
        organisation_id=organisation.id,
        kind=ApplicationKind.JOIN,
        status=ApplicationStatus.DRAFT,
        created_by_id=actor.id,
    )
    db.session.add(application)
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError:
        # Someone else in the organisation started one at the same moment.
        raise PoolError("Your organisation already has an application in progress") from None
    audit.record("pool_application.started", actor=actor, obj=application)
    return application


def _require_editable(actor: User, application: PoolApplication) -> None:
    if not application.can_edit(actor):
        raise PoolError("This application can no longer be changed")


def set_categories(
    actor: User, application: PoolApplication, category_ids: list[int]
) -> None:
    _require_editable(actor, application)
    wanted = set(category_ids)
    if not wanted:
        raise PoolError("Select at least one service category", field="categories")
    chosen_now = {c.category_id: c for c in application.categories}
    categories = {c.id: c for c in db.session.scalars(select(ServiceCategory))}
    member_of = {m.category_id for m in current_memberships(application.organisation_id)}
    for category_id in sorted(wanted):
        category = categories.get(category_id)
        if category is None:
            raise PoolError("Select service categories from the list", field="categories")
        if category_id in chosen_now:
            continue
        if category_id in member_of:
            raise PoolError(
                f"Your organisation is already a member for {category.name}",
                field="categories",
            )
        if not category.is_open:
            raise PoolError(
                f"{category.name} is closed to new applications", field="categories"
            )
    for category_id, entry in chosen_now.items():
        if entry.is_final and category_id not in wanted:
            raise PoolError(
                f"{entry.category.name} has been decided and cannot be removed",
                field="categories",
            )
    added = sorted(wanted - set(chosen_now))
    removed = sorted(set(chosen_now) - wanted)
    for category_id in removed:
        application.categories.remove(chosen_now[category_id])
        for item in [e for e in application.evidence if e.category_id == category_id]:
            application.evidence.remove(item)
    for category_id in added:
        application.categories.append(ApplicationCategory(category_id=category_id))
    db.session.flush()
    audit.record(
        "pool_application.categories_saved",
        actor=actor,
        obj=application,
        data={"added": added, "removed": removed},
    )


@dataclass
class AnswerInput:
    value: str
    details: str | None = None


def validate_answer(
    question: DeclarationQuestion, given: AnswerInput | None, today: date, number: int
) -> tuple[str, str | None, Assessment]:
    """Check one answer; return (stored value, details, assessment) or raise PoolError.
    Messages name the question by its `number`: a dozen 'Select yes or no' in an error
    summary would not say which question each one means."""
    field = f"q_{question.key}"
    value = (given.value if given else "") or ""
    value = value.strip()
    details = ((given.details if given else None) or "").strip() or None
    if question.answer_type == AnswerType.YES_NO:
        if value not in ("yes", "no"):
            raise PoolError(f"Select yes or no for question {number}", field=field)
    elif question.answer_type == AnswerType.AMOUNT:
        if not value:
            raise PoolError(f"Enter the amount of cover in pounds for question {number}",
                            field=field)
        amount = parse_amount(value)
        if amount is None:
            raise PoolError(f"Enter the amount of cover for question {number} in whole "
                            "pounds, like 1000000", field=field)
        value = str(amount)
    elif question.answer_type == AnswerType.DATE:
        try:
            when = date.fromisoformat(value)
        except ValueError:
            raise PoolError(f"Enter a real date for question {number}, like 27 3 2027",
                            field=field) from None
        if when.year < 1900 or when.year > today.year + 50:
            raise PoolError(f"Enter a real date for question {number}, like 27 3 2027",
                            field=field)
        value = when.isoformat()
    if details is not None and len(details) > DETAILS_MAX:
        raise PoolError(
            f"Details for question {number} must be {DETAILS_MAX} characters or fewer",
            field=f"{field}_details",
        )
    if question.details_required_on and value == question.details_required_on:
        if not details:
            raise PoolError(f"Give details of your answer to question {number}",
                            field=f"{field}_details")
    elif question.answer_type == AnswerType.YES_NO:
        details = None  # details only belong with the answer that asks for them
    return value, details, question.assess(value, today)


def _write_answers(
    application: PoolApplication, answers: dict[str, AnswerInput], now: datetime
) -> dict[str, str]:
    """Validate every answer first, then store them all: all or nothing."""
    today = now.date()
    questions = active_questions()
    checked = {}
    errors = []
    for number, question in enumerate(questions, start=1):
        try:
            result = validate_answer(question, answers.get(question.key), today, number)
            checked[question.key] = (question, *result)
        except PoolError as exc:
            errors.append(exc)
    if errors:
        raise DeclarationErrors(errors)
    existing = {a.question_id: a for a in application.answers}
    for question, value, details, assessment in checked.values():
        answer = existing.get(question.id)
        if answer is None:
            answer = DeclarationAnswer(question=question)
            application.answers.append(answer)
        answer.value = value
        answer.details = details
        answer.assessment = assessment
        answer.answered_at = now
    return {key: row[3].value for key, row in checked.items()}


class DeclarationErrors(PoolError):
    def __init__(self, errors: list[PoolError]):
        super().__init__(errors[0].message, errors[0].field)
        self.errors = errors


def save_declarations(
    actor: User, application: PoolApplication, answers: dict[str, AnswerInput]
) -> None:
    _require_editable(actor, application)
    now = utcnow()
    results = _write_answers(application, answers, now)
    application.declarations_saved_at = now
    db.session.flush()
    audit.record(
        "pool_application.declarations_saved",
        actor=actor,
        obj=application,
        data={"assessments": results},
    )


def add_evidence(
    actor: User,
    application: PoolApplication,
    *,
    category_id: int,
    kind: str,
    description: str,
    document,
) -> ApplicationEvidence:
    """Attach a stored Document (from services.documents.store_upload) as evidence."""
    _require_editable(actor, application)
    entry = application.category_entry(category_id)
    if entry is None or entry.is_final:
        raise PoolError("Select a category from your application", field="category")
    if kind not in (EvidenceKind.CV, EvidenceKind.SAMPLE):
        raise PoolError("Select the kind of evidence", field="kind")
    description = (description or "").strip()
    if not description:
        raise PoolError("Enter a description", field="description")
    if len(description) > DESCRIPTION_MAX:
        raise PoolError(
            f"The description must be {DESCRIPTION_MAX} characters or fewer",
            field="description",
        )
    evidence = ApplicationEvidence(
        category_id=category_id,
        kind=kind,
        description=description,
        document=document,
        added_by_id=actor.id,
    )
    application.evidence.append(evidence)
    db.session.flush()
    audit.record(
        "pool_application.evidence_added",
        actor=actor,
        obj=application,
        data={"evidence_id": evidence.id, "document_id": document.id,
              "category_id": category_id, "kind": kind},
    )
    return evidence


def remove_evidence(actor: User, application: PoolApplication, evidence_id: int) -> None:
    _require_editable(actor, application)
    evidence = next((e for e in application.evidence if e.id == evidence_id), None)
    if evidence is None:
        raise PoolError("That document is not part of this application")
    entry = application.category_entry(evidence.category_id)
    if entry is not None and entry.is_final:
        raise PoolError("Evidence for a decided category cannot be removed")
    application.evidence.remove(evidence)
    db.session.flush()
    audit.record(
        "pool_application.evidence_removed",
        actor=actor,
        obj=application,
        data={"evidence_id": evidence_id, "document_id": evidence.document_id},
    )


def evidence_missing(application: PoolApplication) -> dict[int, list[str]]:
    """For each category still to be decided, the kinds of evidence it still lacks."""
    missing = {}
    for entry in application.categories:
        if entry.is_final:
            continue
        kinds = {e.kind for e in application.evidence if e.category_id == entry.category_id}
        lacking = [k.value for k in (EvidenceKind.CV, EvidenceKind.SAMPLE) if k not in kinds]
        if lacking:
            missing[entry.category_id] = lacking
    return missing


def declarations_complete(application: PoolApplication) -> bool:
    answered = {a.question_id for a in application.answers}
    return all(q.id in answered for q in active_questions())


@dataclass
class Task:
    key: str
    title: str
    status: str  # "completed" | "incomplete" | "cannot_start"
    endpoint: str | None


def task_list(application: PoolApplication) -> list[Task]:
    org_done = details_complete(application.organisation)
    cats_done = any(not c.is_final for c in application.categories)
    decl_done = application.declarations_saved_at is not None and declarations_complete(
        application
    )
    evidence_done = cats_done and not evidence_missing(application)
    all_done = org_done and cats_done and decl_done and evidence_done
    return [
        Task("organisation", "Organisation details",
             "completed" if org_done else "incomplete", "organisation"),
        Task("categories", "Choose service categories",
             "completed" if cats_done else "incomplete", "pool.categories"),
        Task("declarations", "Declarations",
             "completed" if decl_done else "incomplete", "pool.declarations"),
        Task("evidence", "Evidence",
             "completed" if evidence_done else ("incomplete" if cats_done else "cannot_start"),
             "pool.evidence" if cats_done else None),
        Task("check", "Check your answers and submit",
             "incomplete" if all_done else "cannot_start",
             "pool.check" if all_done else None),
    ]


def submission_problems(application: PoolApplication) -> list[str]:
    problems = []
    if not details_complete(application.organisation):
        problems.append("Complete your organisation details")
    pending = [c for c in application.categories if not c.is_final]
    if not pending:
        problems.append("Select at least one service category")
    for entry in pending:
        if not entry.category.is_open:
            problems.append(
                f"{entry.category.name} is closed to new applications: remove it"
            )
    if application.declarations_saved_at is None or not declarations_complete(application):
        problems.append("Answer every declaration")
    for category_id, kinds in evidence_missing(application).items():
        entry = application.category_entry(category_id)
        for kind in kinds:
            what = "a CV" if kind == EvidenceKind.CV else "a sample of published work"
            problems.append(f"Upload {what} for {entry.category.name}")
    return problems


def submit_application(actor: User, application: PoolApplication) -> None:
    if not application.can_submit(actor):
        if application.is_editable:
            raise PoolError("Only an owner of your organisation can submit the application")
        raise PoolError("This application can no longer be submitted")
    problems = submission_problems(application)
    if problems:
        raise PoolError(problems[0])
    now = utcnow()
    # Re-assess on the day of submission (an insurance expiry date moves towards today).
    today = now.date()
    for answer in application.answers:
        answer.assessment = answer.question.assess(answer.value, today)
    resubmission = application.first_submitted_at is not None
    for entry in application.categories:
        if entry.decision == Decision.CHANGES_REQUESTED:
            entry.decision = Decision.PENDING
    application.status = ApplicationStatus.SUBMITTED
    application.submitted_at = now
    application.submitted_by_id = actor.id
    application.first_submitted_at = application.first_submitted_at or now
    db.session.flush()
    audit.record(
        "pool_application.resubmitted" if resubmission else "pool_application.submitted",
        actor=actor,
        obj=application,
        data={"categories": [c.category_id for c in application.categories
                             if c.decision == Decision.PENDING]},
    )
    recipients = set(organisation_recipients(application.organisation)) | {actor.email}
    for recipient in sorted(recipients):
        queue_email(
            recipient,
            f"Application {application.reference} received",
            "pool_submitted",
            application=application,
            organisation=application.organisation,
            resubmission=resubmission,
            link=link("pool.application", application_id=application.id),
        )


def withdraw_application(actor: User, application: PoolApplication) -> None:
    if not application.can_withdraw(actor):
        if application.is_open:
            raise PoolError("Only an owner of your organisation can withdraw the application")
        raise PoolError("This application can no longer be withdrawn")
    now = utcnow()
    for entry in application.categories:
        if entry.decision in (Decision.PENDING, Decision.CHANGES_REQUESTED):
            entry.decision = Decision.WITHDRAWN
    application.status = ApplicationStatus.WITHDRAWN
    application.withdrawn_at = now
    db.session.flush()
    audit.record("pool_application.withdrawn", actor=actor, obj=application)
    if application.first_submitted_at is not None:
        _mail_organisation(
            application.organisation,
            f"Application {application.reference} withdrawn",
            "pool_withdrawn",
            application=application,
            link=link("pool.apply"),
        )


# --- deciding ----------------------------------------------------------------------------


DECISIONS = {
    Decision.ADMITTED: "Admit",
    Decision.REJECTED: "Reject",
    Decision.CHANGES_REQUESTED: "Request changes",
}


def decide_category(
    actor: User,
    application: PoolApplication,
    entry: ApplicationCategory,
    decision: str,
    reason: str | None,
) -> PoolMembership | None:
    if not application.can_decide(actor):
        raise PoolError("Only a commissioner can decide applications")
    if entry.application_id != application.id:
        raise PoolError("That category is not part of this application")
    if decision not in DECISIONS:
        raise PoolError("Select admit, reject or request changes", field="decision")
    reason = _clean_reason(reason, "the reason for your decision")
    if application.status != ApplicationStatus.SUBMITTED:
        raise PoolError("Only a submitted application can be decided")
    if entry.decision != Decision.PENDING:
        raise PoolError("This category has already been decided")
    now = utcnow()
    entry.decision = decision
    entry.reason = reason
    entry.decided_by_id = actor.id
    entry.decided_at = now
    membership = None
    if decision == Decision.ADMITTED:
        membership = _admit(actor, application, entry, now, reason)
    remaining = [c for c in application.categories if c.decision == Decision.PENDING]
    if not remaining:
        decisions = {c.decision for c in application.categories}
        if Decision.CHANGES_REQUESTED in decisions:
            application.status = ApplicationStatus.CHANGES_REQUESTED
        elif Decision.ADMITTED in decisions:
            application.status = ApplicationStatus.ADMITTED
            application.decided_at = now
        else:
            application.status = ApplicationStatus.REJECTED
            application.decided_at = now
    db.session.flush()
    audit.record(
        "pool_application.category_decided",
        actor=actor,
        obj=application,
        data={
            "category_id": entry.category_id,
            "decision": decision,
            "reason": reason,
            "application_status": application.status,
            "membership_id": membership.id if membership else None,
        },
    )
    _mail_organisation(
        application.organisation,
        f"Application {application.reference}: {entry.category.name}",
        "pool_decision",
        application=application,
        entry=entry,
        membership=membership,
        reopened=application.status == ApplicationStatus.CHANGES_REQUESTED,
        link=link("pool.memberships") if application.is_renewal
        else link("pool.application", application_id=application.id),
    )
    return membership


def _admit(actor, application, entry, now, reason) -> PoolMembership:
    category = entry.category
    current = db.session.scalars(
        select(PoolMembership)
        .where(PoolMembership.organisation_id == application.organisation_id)
        .where(PoolMembership.category_id == entry.category_id)
        .where(PoolMembership.status.in_(CURRENT_MEMBERSHIP_STATUSES))
        .with_for_update(of=PoolMembership)
    ).first()
    if application.kind == ApplicationKind.RENEWAL and current is not None:
        _extend(actor, current, now, reason, application)
        return current
    if current is not None:
        raise PoolError("This organisation is already a member of that category")
    membership = PoolMembership(
        organisation_id=application.organisation_id,
        category_id=entry.category_id,
        application_id=application.id,
        status=MembershipStatus.ACTIVE,
        started_at=now,
        expires_at=add_months(now, category.membership_months),
    )
    db.session.add(membership)
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError:
        raise PoolError("This organisation is already a member of that category") from None
    membership.events.append(
        MembershipEvent(
            action="admitted", reason=reason, actor_id=getattr(actor, "id", None),
            occurred_at=now, expires_at=membership.expires_at,
        )
    )
    audit.record(
        "pool_membership.started",
        actor=actor,
        obj=membership,
        data={"application_id": application.id, "category_id": entry.category_id,
              "expires_at": membership.expires_at.isoformat()},
    )
    return membership


def _extend(actor, membership: PoolMembership, now, reason, application) -> None:
    base = max(membership.expires_at, now)
    before = membership.expires_at
    membership.expires_at = add_months(base, membership.category.membership_months)
    membership.renewed_at = now
    membership.reminder_sent_at = None
    membership.events.append(
        MembershipEvent(
            action="renewed", reason=reason, actor_id=getattr(actor, "id", None),
            occurred_at=now, expires_at=membership.expires_at,
        )
    )
    db.session.flush()
    audit.record(
        "pool_membership.renewed",
        actor=actor,
        obj=membership,
        data={"application_id": application.id, "expires_before": before.isoformat(),
              "expires_at": membership.expires_at.isoformat()},
    )


# --- membership --------------------------------------------------------------------------

MEMBERSHIP_ACTIONS = {
    # action: (allowed from, new status, past tense)
    "suspend": ((MembershipStatus.ACTIVE,), MembershipStatus.SUSPENDED, "suspended"),
    "reinstate": ((MembershipStatus.SUSPENDED,), MembershipStatus.ACTIVE, "reinstated"),
    "remove": (CURRENT_MEMBERSHIP_STATUSES, MembershipStatus.REMOVED, "removed"),
}


def change_membership(actor: User, membership: PoolMembership, action: str, reason: str | None):
    if not membership.can_manage(actor):
        raise PoolError("Only a commissioner can change a membership")
    if action not in MEMBERSHIP_ACTIONS:
        raise PoolError("Unknown action")
    allowed_from, new_status, done = MEMBERSHIP_ACTIONS[action]
    reason = _clean_reason(reason)
    if membership.status not in allowed_from:
        raise PoolError(f"A {membership.status} membership cannot be {done}")
    now = utcnow()
    before = membership.status
    membership.status = new_status
    if action == "suspend":
        membership.suspended_at = now
    elif action == "reinstate":
        membership.suspended_at = None
    else:
        membership.removed_at = now
    membership.events.append(
        MembershipEvent(action=done, reason=reason, actor_id=actor.id, occurred_at=now)
    )
    db.session.flush()
    audit.record(
        f"pool_membership.{done}",
        actor=actor,
        obj=membership,
        data={"from": before, "to": new_status, "reason": reason},
    )
    _mail_organisation(
        membership.organisation,
        f"Your pool membership for {membership.category.name} has been {done}",
        "pool_membership_changed",
        membership=membership,
        action=done,
        reason=reason,
        link=link("pool.memberships"),
    )


def open_renewal(membership: PoolMembership) -> PoolApplication | None:
    return db.session.scalars(
        select(PoolApplication)
        .join(ApplicationCategory)
        .where(PoolApplication.organisation_id == membership.organisation_id)
        .where(PoolApplication.kind == ApplicationKind.RENEWAL)
        .where(PoolApplication.status.in_(OPEN_STATUSES))
        .where(ApplicationCategory.category_id == membership.category_id)
    ).first()


def renew_membership(
    actor: User, membership: PoolMembership, answers: dict[str, AnswerInput]
) -> PoolApplication:
    """Re-confirm the declarations. Every answer passing its rule extends the membership
    at once; anything else goes to the commissioners' queue as a renewal application."""
    if not membership.can_renew(actor):
        raise PoolError("Only an owner of your organisation can renew a membership")
    now = utcnow()
    if not membership.can_renew_now(now):
        raise PoolError("This membership cannot be renewed now")
    if open_renewal(membership) is not None:
        raise PoolError("A renewal of this membership is already waiting for a decision")
    application = PoolApplication(
        organisation_id=membership.organisation_id,
        kind=ApplicationKind.RENEWAL,
        status=ApplicationStatus.SUBMITTED,
        created_by_id=actor.id,
        submitted_by_id=actor.id,
        submitted_at=now,
        first_submitted_at=now,
        declarations_saved_at=now,
    )
    application.organisation = membership.organisation
    entry = ApplicationCategory(category_id=membership.category_id)
    application.categories.append(entry)
    results = _write_answers(application, answers, now)
    db.session.add(application)
    db.session.flush()
    audit.record(
        "pool_application.renewal_submitted",
        actor=actor,
        obj=application,
        data={"membership_id": membership.id, "assessments": results},
    )
    if all(result == Assessment.PASS for result in results.values()):
        entry.decision = Decision.ADMITTED
        entry.reason = "Declarations re-confirmed: every answer passed its assessment rule."
        entry.decided_at = now
        application.status = ApplicationStatus.ADMITTED
        application.decided_at = now
        _extend(actor, membership, now, entry.reason, application)
        _mail_organisation(
            membership.organisation,
            f"Your pool membership for {membership.category.name} has been renewed",
            "pool_renewed",
            membership=membership,
            link=link("pool.memberships"),
        )
    else:
        _mail_organisation(
            membership.organisation,
            f"Renewal {application.reference} received",
            "pool_submitted",
            application=application,
            resubmission=False,
            link=link("pool.memberships"),
        )
    return application


def expire_and_remind(now: datetime | None = None) -> tuple[int, int]:
    """End memberships past their expiry date and send the reminders now due.
    Safe to run any number of times: each membership is expired, and reminded, once."""
    now = now or utcnow()
    expired = 0
    due = db.session.scalars(
        select(PoolMembership)
        .where(PoolMembership.status.in_(CURRENT_MEMBERSHIP_STATUSES))
        .where(PoolMembership.expires_at <= now)
        .order_by(PoolMembership.id)
        .with_for_update(of=PoolMembership)
    ).all()
    for membership in due:
        before = membership.status
        membership.status = MembershipStatus.EXPIRED
        membership.expired_at = now
        membership.events.append(MembershipEvent(action="expired", occurred_at=now))
        audit.record("pool_membership.expired", obj=membership, data={"from": before})
        _mail_organisation(
            membership.organisation,
            f"Your pool membership for {membership.category.name} has ended",
            "pool_expired",
            membership=membership,
            link=link("pool.apply"),
        )
        expired += 1
    reminded = 0
    due = db.session.scalars(
        select(PoolMembership)
        .where(PoolMembership.status == MembershipStatus.ACTIVE)
        .where(PoolMembership.reminder_sent_at.is_(None))
        .where(PoolMembership.expires_at > now)
        .where(PoolMembership.expires_at <= now + timedelta(days=REMINDER_DAYS))
        .order_by(PoolMembership.id)
        .with_for_update(of=PoolMembership)
    ).all()
    for membership in due:
        membership.reminder_sent_at = now
        membership.events.append(MembershipEvent(action="reminded", occurred_at=now))
        audit.record("pool_membership.reminded", obj=membership)
        _mail_organisation(
            membership.organisation,
            f"Your pool membership for {membership.category.name} ends soon",
            "pool_expiry_reminder",
            membership=membership,
            link=link("pool.memberships"),
        )
        reminded += 1
    db.session.flush()
    return expired, reminded


# --- admin: categories --------------------------------------------------------------------


def update_category(actor: User, category: ServiceCategory, **changes) -> dict:
    """Change a category's wording, whether it is open, or its membership period; audit
    exactly what changed. A new period applies to memberships started or renewed later."""
    changed = {}
    for field, value in changes.items():
        before = getattr(category, field)
        if before != value:
            changed[field] = {"from": before, "to": value}
            setattr(category, field, value)
    if changed:
        db.session.flush()
        audit.record("service_category.updated", actor=actor, obj=category, data=changed)
    return changed


# --- queries for pages -------------------------------------------------------------------

AGE_FILTERS = {
    "": ("Any age", None, None),
    "0-7": ("Up to 7 days", 0, 7),
    "8-28": ("8 to 28 days", 8, 28),
    "29+": ("More than 28 days", 29, None),
}
QUEUE_STATUSES = {
    "submitted": "Waiting for a decision",
    "changes_requested": "Changes requested",
    "admitted": "Decided: admitted",
    "rejected": "Decided: rejected",
    "withdrawn": "Withdrawn",
    "all": "All",
}


@dataclass
class Page:
    items: list
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def _paginate(query, page: int, per_page: int, count_query) -> Page:
    total = db.session.scalar(count_query) or 0
    page = max(1, min(page, max(1, -(-total // per_page))))
    items = list(db.session.scalars(query.limit(per_page).offset((page - 1) * per_page)))
    return Page(items, total, page, per_page)


def application_queue(
    *, status: str, category_id: int | None, age: str, page: int, now: datetime
) -> Page:
    conditions = [PoolApplication.first_submitted_at.is_not(None)]
    if status != "all":
        conditions.append(PoolApplication.status == status)
    if category_id is not None:
        conditions.append(
            exists()
            .where(ApplicationCategory.application_id == PoolApplication.id)
            .where(ApplicationCategory.category_id == category_id)
        )
    _, low, high = AGE_FILTERS[age]
    if low is not None:
        conditions.append(PoolApplication.submitted_at <= now - timedelta(days=low))
    if high is not None:
        conditions.append(PoolApplication.submitted_at > now - timedelta(days=high + 1))
    query = (
        select(PoolApplication)
        .where(and_(*conditions))
        .options(
            selectinload(PoolApplication.categories),
            selectinload(PoolApplication.organisation),
        )
        .order_by(PoolApplication.submitted_at, PoolApplication.id)
    )
    count = select(func.count()).select_from(PoolApplication).where(and_(*conditions))
    return _paginate(query, page, QUEUE_PAGE_SIZE, count)


def membership_list(*, status: str, category_id: int | None, search: str, page: int) -> Page:
    conditions = []
    if status != "all":
        conditions.append(PoolMembership.status == status)
    if category_id is not None:
        conditions.append(PoolMembership.category_id == category_id)
    query = select(PoolMembership).join(Organisation)
    count = select(func.count()).select_from(PoolMembership).join(Organisation)
    if search:
        conditions.append(_name_matches(search))
    query = query.where(and_(*conditions)).options(selectinload(PoolMembership.organisation))
    query = query.order_by(func.lower(Organisation.legal_name), PoolMembership.id)
    return _paginate(query, page, QUEUE_PAGE_SIZE, count.where(and_(*conditions)))


def _like_pattern(search: str) -> str:
    """A LIKE pattern (escape character backslash) matching `search` anywhere, in lower
    case; the wildcards % and _ typed in a search match themselves."""
    escaped = search.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _name_matches(search: str):
    """The organisation's legal or trading name contains `search`."""
    pattern = _like_pattern(search)
    return or_(
        func.lower(Organisation.legal_name).like(pattern, escape="\\"),
        func.lower(func.coalesce(Organisation.trading_name, "")).like(pattern, escape="\\"),
    )


def _reviewer_matches(search: str):
    """One of the organisation's reviewers (not removed) has a name containing `search`:
    an EXISTS subquery, so an organisation with several matching reviewers is still one
    row. Only the name: what the public list shows, nothing else of the profile."""
    from portal.models.profiles import ReviewerProfile

    return (
        select(ReviewerProfile.id)
        .where(ReviewerProfile.organisation_id == Organisation.id)
        .where(ReviewerProfile.removed_at.is_(None))
        .where(func.lower(ReviewerProfile.name).like(_like_pattern(search), escape="\\"))
        .exists()
    )


@dataclass
class PublicMember:
    organisation: Organisation
    categories: list[ServiceCategory]
    reviewers: list[str]


def _reviewer_names(organisation_ids: list[int]) -> dict[int, list[str]]:
    try:
        from portal.models.profiles import ReviewerProfile
    except ImportError:  # profiles not installed
        return {}
    names: dict[int, list[str]] = {}
    rows = db.session.execute(
        select(ReviewerProfile.organisation_id, ReviewerProfile.name)
        .where(ReviewerProfile.organisation_id.in_(organisation_ids))
        .where(ReviewerProfile.removed_at.is_(None))
        .order_by(ReviewerProfile.name)
    )
    for organisation_id, name in rows:
        names.setdefault(organisation_id, []).append(name)
    return names


def _public_conditions(search: str, category_id: int | None):
    membership = (
        select(PoolMembership.id)
        .where(PoolMembership.organisation_id == Organisation.id)
        .where(PoolMembership.in_force(utcnow()))
    )
    if category_id is not None:
        membership = membership.where(PoolMembership.category_id == category_id)
    conditions = [membership.exists()]
    if search:
        # The page shows organisation and reviewer names, so a search matches either.
        conditions.append(or_(_name_matches(search), _reviewer_matches(search)))
    return and_(*conditions)


def _members_for(organisations: list[Organisation]) -> list[PublicMember]:
    ids = [o.id for o in organisations]
    categories: dict[int, list[ServiceCategory]] = {}
    for membership in db.session.scalars(
        select(PoolMembership)
        .where(PoolMembership.organisation_id.in_(ids))
        .where(PoolMembership.in_force(utcnow()))
    ):
        categories.setdefault(membership.organisation_id, []).append(membership.category)
    reviewers = _reviewer_names(ids)
    return [
        PublicMember(
            o,
            sorted(categories.get(o.id, []), key=lambda c: c.number),
            reviewers.get(o.id, []),
        )
        for o in organisations
    ]


def public_pool(*, search: str, category_id: int | None, page: int) -> Page:
    where = _public_conditions(search, category_id)
    query = select(Organisation).where(where).order_by(
        func.lower(func.coalesce(Organisation.trading_name, Organisation.legal_name)),
        Organisation.id,
    )
    count = select(func.count()).select_from(Organisation).where(where)
    result = _paginate(query, page, PUBLIC_PAGE_SIZE, count)
    result.items = _members_for(result.items)
    return result


def public_pool_rows(*, search: str, category_id: int | None):
    """Every active membership for the CSV, one row each, in batches."""
    where = _public_conditions(search, category_id)
    organisations = list(
        db.session.scalars(
            select(Organisation).where(where).order_by(
                func.lower(func.coalesce(Organisation.trading_name, Organisation.legal_name)),
                Organisation.id,
            )
        )
    )
    for start in range(0, len(organisations), 500):
        batch = organisations[start : start + 500]
        ids = [o.id for o in batch]
        reviewers = _reviewer_names(ids)
        memberships = db.session.scalars(
            select(PoolMembership)
            .where(PoolMembership.organisation_id.in_(ids))
            .where(PoolMembership.in_force(utcnow()))
            .order_by(PoolMembership.organisation_id)
        )
        by_org: dict[int, list[PoolMembership]] = {}
        for m in memberships:
            by_org.setdefault(m.organisation_id, []).append(m)
        for organisation in batch:
            for m in sorted(by_org.get(organisation.id, []), key=lambda m: m.category.number):
                if category_id is not None and m.category_id != category_id:
                    continue
                yield organisation, m, reviewers.get(organisation.id, [])
