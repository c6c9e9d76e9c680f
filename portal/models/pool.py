"""Applying to the pool, deciding applications, and pool membership.

An organisation applies for one or more service categories. Each category on an
application gets its own decision (admit, reject, request changes). Admission creates a
PoolMembership for that category, which can be suspended, reinstated, removed, renewed,
and which expires.

The declaration questions are data (DeclarationQuestion), each with an assessment rule
that turns an answer into pass, fail or needs judgement. The result is stored with the
answer and shown to the commissioner; nothing is decided from it automatically except a
renewal whose every answer passes.
"""

from __future__ import annotations

import enum
import re
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    and_,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import db
from portal.models.base import UTCDateTime, utcnow
from portal.models.document import register_download_rule


class ApplicationKind(enum.StrEnum):
    JOIN = "join"
    RENEWAL = "renewal"


class ApplicationStatus(enum.StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    CHANGES_REQUESTED = "changes_requested"
    ADMITTED = "admitted"  # every category decided, at least one admitted
    REJECTED = "rejected"  # every category decided, none admitted
    WITHDRAWN = "withdrawn"


OPEN_STATUSES = (
    ApplicationStatus.DRAFT,
    ApplicationStatus.SUBMITTED,
    ApplicationStatus.CHANGES_REQUESTED,
)
EDITABLE_STATUSES = (ApplicationStatus.DRAFT, ApplicationStatus.CHANGES_REQUESTED)

STATUS_LABELS = {
    ApplicationStatus.DRAFT: "Draft",
    ApplicationStatus.SUBMITTED: "Submitted",
    ApplicationStatus.CHANGES_REQUESTED: "Changes requested",
    ApplicationStatus.ADMITTED: "Decided: admitted",
    ApplicationStatus.REJECTED: "Decided: rejected",
    ApplicationStatus.WITHDRAWN: "Withdrawn",
}


class Decision(enum.StrEnum):
    PENDING = "pending"
    ADMITTED = "admitted"
    REJECTED = "rejected"
    CHANGES_REQUESTED = "changes_requested"
    WITHDRAWN = "withdrawn"


DECISION_LABELS = {
    Decision.PENDING: "Waiting for a decision",
    Decision.ADMITTED: "Admitted",
    Decision.REJECTED: "Rejected",
    Decision.CHANGES_REQUESTED: "Changes requested",
    Decision.WITHDRAWN: "Withdrawn",
}


class Assessment(enum.StrEnum):
    PASS = "pass"  # noqa: S105 - not a password
    FAIL = "fail"
    NEEDS_JUDGEMENT = "needs_judgement"


ASSESSMENT_LABELS = {
    Assessment.PASS: "Pass",
    Assessment.FAIL: "Fail",
    Assessment.NEEDS_JUDGEMENT: "Needs judgement",
}


class AnswerType(enum.StrEnum):
    YES_NO = "yes_no"
    AMOUNT = "amount"  # whole pounds
    DATE = "date"


class EvidenceKind(enum.StrEnum):
    CV = "cv"
    SAMPLE = "sample"


EVIDENCE_LABELS = {
    EvidenceKind.CV: "CV of a reviewer",
    EvidenceKind.SAMPLE: "Sample of published work",
}


class MembershipStatus(enum.StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"
    REMOVED = "removed"
    EXPIRED = "expired"


CURRENT_MEMBERSHIP_STATUSES = (MembershipStatus.ACTIVE, MembershipStatus.SUSPENDED)


def _in(column: str, values) -> str:
    return f"{column} in ({', '.join(repr(str(v)) for v in values)})"


# --- Declaration questions and their assessment rules --------------------------------


class DeclarationQuestion(db.Model):
    """A question asked of every applicant, with its assessment rule as data.

    `rule` by answer type:
      yes_no: {"yes": <assessment>, "no": <assessment>}
      amount: {"pass_at_least": <pounds>, "below": <assessment>, "zero": <assessment>}
      date:   {"past": <assessment>, "within_days": <n>, "soon": <assessment>}
              (a date in the past, within n days from today, otherwise pass)
    """

    __tablename__ = "declaration_questions"
    __table_args__ = (
        CheckConstraint(
            "answer_type in ('yes_no', 'amount', 'date')", name="answer_type_known"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(60), unique=True)
    section: Mapped[str] = mapped_column(String(60))
    position: Mapped[int] = mapped_column(default=0)
    text: Mapped[str] = mapped_column(Text)
    hint: Mapped[str | None] = mapped_column(Text)
    answer_type: Mapped[str] = mapped_column(String(20), default=AnswerType.YES_NO)
    rule: Mapped[dict] = mapped_column(JSON)
    # Ask for details when the answer is this value ("yes" or "no"); None: never.
    details_required_on: Mapped[str | None] = mapped_column(String(10))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)

    def assess(self, value: str, today: date) -> Assessment:
        return assess_answer(self.answer_type, self.rule, value, today)


def parse_amount(value: str) -> int | None:
    """Whole pounds from '£1,000,000' or '1000000'; None when it is not a whole amount."""
    cleaned = re.sub(r"[£,\s]", "", value or "")
    if not re.fullmatch(r"\d{1,12}(\.00?)?", cleaned):
        return None
    try:
        return int(Decimal(cleaned))
    except InvalidOperation:
        return None


def assess_answer(answer_type: str, rule: dict, value: str, today: date) -> Assessment:
    if answer_type == AnswerType.YES_NO:
        return Assessment(rule[value])
    if answer_type == AnswerType.AMOUNT:
        pounds = parse_amount(value)
        if pounds is None:
            raise ValueError("not an amount")
        if pounds == 0:
            return Assessment(rule.get("zero", rule["below"]))
        if pounds >= rule["pass_at_least"]:
            return Assessment.PASS
        return Assessment(rule["below"])
    if answer_type == AnswerType.DATE:
        when = date.fromisoformat(value)
        if when < today:
            return Assessment(rule["past"])
        if when <= today + timedelta(days=rule.get("within_days", 0)):
            return Assessment(rule["soon"])
        return Assessment.PASS
    raise ValueError(f"unknown answer type {answer_type!r}")


SECTIONS = {
    "mandatory": "Mandatory grounds for exclusion",
    "discretionary": "Discretionary grounds for exclusion",
    "insurance": "Professional indemnity insurance",
    "data_protection": "Data protection",
    "safeguarding": "Safeguarding",
}

_MANDATORY = {"yes": "fail", "no": "pass"}
_DISCRETIONARY = {"yes": "needs_judgement", "no": "pass"}

DECLARATION_QUESTIONS = [
    {
        "key": "conviction_fraud_corruption",
        "section": "mandatory",
        "text": "In the last 5 years, has the organisation, or anyone with powers of "
        "representation, decision or control in it, been convicted of fraud, bribery "
        "or corruption?",
        "answer_type": "yes_no",
        "rule": _MANDATORY,
        "details_required_on": "yes",
    },
    {
        "key": "conviction_child_offence",
        "section": "mandatory",
        "text": "Has anyone in the organisation who would work on a review been convicted "
        "of, or cautioned for, an offence against a child, or been barred from working "
        "with children?",
        "answer_type": "yes_no",
        "rule": _MANDATORY,
        "details_required_on": "yes",
    },
    {
        "key": "conviction_other",
        "section": "mandatory",
        "text": "In the last 5 years, has the organisation, or anyone with powers of "
        "representation, decision or control in it, been convicted of terrorist "
        "offences, money laundering, or modern slavery and human trafficking offences?",
        "answer_type": "yes_no",
        "rule": _MANDATORY,
        "details_required_on": "yes",
    },
    {
        "key": "tax_breach",
        "section": "mandatory",
        "text": "Has a court or binding decision found that the organisation failed to "
        "pay tax or social security contributions?",
        "answer_type": "yes_no",
        "rule": _MANDATORY,
        "details_required_on": "yes",
    },
    {
        "key": "insolvency",
        "section": "discretionary",
        "text": "Is the organisation bankrupt, insolvent, in administration or being wound "
        "up, or has it made an arrangement with its creditors?",
        "answer_type": "yes_no",
        "rule": _DISCRETIONARY,
        "details_required_on": "yes",
    },
    {
        "key": "professional_misconduct",
        "section": "discretionary",
        "text": "In the last 3 years, has the organisation or anyone who would work on a "
        "review been found guilty of grave professional misconduct, or been struck off "
        "or suspended by a professional or regulatory body?",
        "answer_type": "yes_no",
        "rule": _DISCRETIONARY,
        "details_required_on": "yes",
    },
    {
        "key": "conflict_of_interest",
        "section": "discretionary",
        "text": "Does the organisation, or anyone who would work on a review, have a "
        "conflict of interest with the Panel, a local safeguarding partnership or an "
        "agency whose practice might be reviewed?",
        "hint": "For example current employment by, or a contract with, a local authority, "
        "police force or health body in England.",
        "answer_type": "yes_no",
        "rule": _DISCRETIONARY,
        "details_required_on": "yes",
    },
    {
        "key": "contract_terminated",
        "section": "discretionary",
        "text": "In the last 3 years, has a contract with the organisation been ended early "
        "because of significant or persistent failings in its delivery?",
        "answer_type": "yes_no",
        "rule": _DISCRETIONARY,
        "details_required_on": "yes",
    },
    {
        "key": "indemnity_amount",
        "section": "insurance",
        "text": "How much professional indemnity insurance cover do you hold?",
        "hint": "In pounds, for each claim. The Panel normally expects at least "
        "£1,000,000.",
        "answer_type": "amount",
        "rule": {"pass_at_least": 1_000_000, "below": "needs_judgement", "zero": "fail"},
    },
    {
        "key": "indemnity_expiry",
        "section": "insurance",
        "text": "When does your professional indemnity insurance expire?",
        "hint": "For example, 27 3 2027",
        "answer_type": "date",
        "rule": {"past": "fail", "within_days": 60, "soon": "needs_judgement"},
    },
    {
        "key": "data_protection",
        "section": "data_protection",
        "text": "Does the organisation comply with UK GDPR and the Data Protection Act "
        "2018, including registration with the Information Commissioner's Office where "
        "required and secure handling of case records?",
        "answer_type": "yes_no",
        "rule": {"yes": "pass", "no": "fail"},
        "details_required_on": "no",
    },
    {
        "key": "safeguarding_policy",
        "section": "safeguarding",
        "text": "Does the organisation have a written safeguarding policy, reviewed in the "
        "last 12 months?",
        "hint": "An individual reviewer may follow the policy of a professional body; say "
        "which in the details.",
        "answer_type": "yes_no",
        "rule": {"yes": "pass", "no": "needs_judgement"},
        "details_required_on": "no",
    },
    {
        "key": "dbs_checks",
        "section": "safeguarding",
        "text": "Will everyone who would work on a review hold an enhanced DBS check with "
        "a children's barred list check, issued in the last 3 years or kept up to date "
        "through the DBS update service?",
        "answer_type": "yes_no",
        "rule": {"yes": "pass", "no": "fail"},
        "details_required_on": "no",
    },
]


def seed_declaration_questions() -> int:
    """Insert any missing questions (tests, demo data, `flask pool seed-questions`).
    Returns how many were added."""
    existing = {key for (key,) in db.session.query(DeclarationQuestion.key)}
    added = 0
    for position, row in enumerate(DECLARATION_QUESTIONS, start=1):
        if row["key"] not in existing:
            db.session.add(DeclarationQuestion(position=position, **row))
            added += 1
    db.session.flush()
    return added


# --- Applications ----------------------------------------------------------------------


class PoolApplication(db.Model):
    __tablename__ = "pool_applications"
    __table_args__ = (
        CheckConstraint(
            "status in ('draft', 'submitted', 'changes_requested', 'admitted', "
            "'rejected', 'withdrawn')",
            name="status_known",
        ),
        CheckConstraint("kind in ('join', 'renewal')", name="kind_known"),
        # One open application to join per organisation, whatever the code does.
        Index(
            "uq_pool_applications_one_open",
            "organisation_id",
            unique=True,
            sqlite_where=text(
                "kind = 'join' and status in ('draft', 'submitted', 'changes_requested')"
            ),
            postgresql_where=text(
                "kind = 'join' and status in ('draft', 'submitted', 'changes_requested')"
            ),
        ),
        Index("ix_pool_applications_status_submitted", "status", "submitted_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(20), default=ApplicationKind.JOIN)
    status: Mapped[str] = mapped_column(String(20), default=ApplicationStatus.DRAFT)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    declarations_saved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    first_submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    organisation = relationship("Organisation")
    created_by = relationship("User", foreign_keys=[created_by_id])
    submitted_by = relationship("User", foreign_keys=[submitted_by_id])
    categories = relationship(
        "ApplicationCategory",
        back_populates="application",
        cascade="all, delete-orphan",
        order_by="ApplicationCategory.id",
    )
    answers = relationship(
        "DeclarationAnswer", back_populates="application", cascade="all, delete-orphan"
    )
    evidence = relationship(
        "ApplicationEvidence",
        back_populates="application",
        cascade="all, delete-orphan",
        order_by="ApplicationEvidence.id",
    )

    @property
    def reference(self) -> str:
        return f"PA-{self.id:06d}"

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[ApplicationStatus(self.status)]

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def is_editable(self) -> bool:
        return self.status in EDITABLE_STATUSES

    @property
    def is_renewal(self) -> bool:
        return self.kind == ApplicationKind.RENEWAL

    def days_waited(self, now: datetime) -> int | None:
        if self.submitted_at is None:
            return None
        return (now - self.submitted_at).days

    def category_entry(self, category_id: int) -> ApplicationCategory | None:
        return next((c for c in self.categories if c.category_id == category_id), None)

    # Access predicates: the one place that says who may do what with an application.
    def can_view(self, user) -> bool:
        """Members of the organisation; commissioners once it has been submitted."""
        if self.organisation.has_member(user):
            return True
        return self.first_submitted_at is not None and self.can_decide(user)

    def can_edit(self, user) -> bool:
        return self.organisation.has_member(user) and self.is_editable

    def can_submit(self, user) -> bool:
        return self.organisation.can_manage_team(user) and self.is_editable

    def can_withdraw(self, user) -> bool:
        return self.organisation.can_manage_team(user) and self.is_open

    def can_decide(self, user) -> bool:
        return bool(user is not None and getattr(user, "is_commissioner", False))


class ApplicationCategory(db.Model):
    """A category chosen on an application, with the commissioner's decision on it."""

    __tablename__ = "pool_application_categories"
    __table_args__ = (
        UniqueConstraint("application_id", "category_id", name="uq_pool_app_cat"),
        CheckConstraint(
            "decision in ('pending', 'admitted', 'rejected', 'changes_requested', "
            "'withdrawn')",
            name="decision_known",
        ),
        CheckConstraint(
            "decision in ('pending', 'withdrawn') or "
            "(reason is not null and decided_at is not null)",
            name="decision_has_reason",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(
        ForeignKey("pool_applications.id", ondelete="CASCADE"), index=True
    )
    category_id: Mapped[int] = mapped_column(ForeignKey("service_categories.id"), index=True)
    decision: Mapped[str] = mapped_column(String(20), default=Decision.PENDING)
    # Kept when a resubmission resets the decision, so the last request stays visible.
    reason: Mapped[str | None] = mapped_column(Text)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    application = relationship("PoolApplication", back_populates="categories")
    category = relationship("ServiceCategory", lazy="joined", innerjoin=True)
    decided_by = relationship("User")

    @property
    def decision_label(self) -> str:
        return DECISION_LABELS[Decision(self.decision)]

    @property
    def is_final(self) -> bool:
        return self.decision in (Decision.ADMITTED, Decision.REJECTED)


class DeclarationAnswer(db.Model):
    __tablename__ = "pool_declaration_answers"
    __table_args__ = (
        UniqueConstraint("application_id", "question_id", name="uq_pool_answer"),
        CheckConstraint(
            "assessment in ('pass', 'fail', 'needs_judgement')", name="assessment_known"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(
        ForeignKey("pool_applications.id", ondelete="CASCADE"), index=True
    )
    question_id: Mapped[int] = mapped_column(ForeignKey("declaration_questions.id"))
    value: Mapped[str] = mapped_column(String(40))
    details: Mapped[str | None] = mapped_column(Text)
    assessment: Mapped[str] = mapped_column(String(20))
    answered_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    application = relationship("PoolApplication", back_populates="answers")
    question = relationship("DeclarationQuestion", lazy="joined", innerjoin=True)

    @property
    def assessment_label(self) -> str:
        return ASSESSMENT_LABELS[Assessment(self.assessment)]

    @property
    def display_value(self) -> str:
        kind = self.question.answer_type
        if kind == AnswerType.YES_NO:
            return self.value.capitalize()
        if kind == AnswerType.AMOUNT:
            amount = parse_amount(self.value)
            return f"£{amount:,}" if amount is not None else self.value
        if kind == AnswerType.DATE:
            return date.fromisoformat(self.value).strftime("%-d %B %Y")
        return self.value


class ApplicationEvidence(db.Model):
    """A document uploaded as evidence for one category of an application."""

    __tablename__ = "pool_application_evidence"
    __table_args__ = (CheckConstraint("kind in ('cv', 'sample')", name="kind_known"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(
        ForeignKey("pool_applications.id", ondelete="CASCADE"), index=True
    )
    category_id: Mapped[int] = mapped_column(ForeignKey("service_categories.id"))
    kind: Mapped[str] = mapped_column(String(20))
    description: Mapped[str] = mapped_column(String(200))
    document_id: Mapped[str] = mapped_column(ForeignKey("documents.id"), unique=True)
    added_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    added_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    application = relationship("PoolApplication", back_populates="evidence")
    category = relationship("ServiceCategory")
    document = relationship("Document", lazy="joined", innerjoin=True)

    @property
    def kind_label(self) -> str:
        return EVIDENCE_LABELS[EvidenceKind(self.kind)]

    def can_download(self, user) -> bool:
        return self.application.can_view(user)


def _evidence_download_rule(document, user) -> bool:
    """Pool documents: whoever may see the application they are evidence for."""
    evidence = db.session.scalars(
        db.select(ApplicationEvidence).where(ApplicationEvidence.document_id == document.id)
    ).first()
    return evidence is not None and evidence.can_download(user)


# Documents in the "pool" area are downloadable by whoever may see their application.
register_download_rule("pool", _evidence_download_rule)


# --- Membership ------------------------------------------------------------------------


class PoolMembership(db.Model):
    __tablename__ = "pool_memberships"
    __table_args__ = (
        CheckConstraint(
            "status in ('active', 'suspended', 'removed', 'expired')", name="status_known"
        ),
        CheckConstraint("expires_at > started_at", name="expires_after_start"),
        # At most one current (active or suspended) membership per organisation and
        # category, enforced by the database.
        Index(
            "uq_pool_memberships_current",
            "organisation_id",
            "category_id",
            unique=True,
            sqlite_where=text("status in ('active', 'suspended')"),
            postgresql_where=text("status in ('active', 'suspended')"),
        ),
        Index("ix_pool_memberships_status_expires", "status", "expires_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), index=True
    )
    category_id: Mapped[int] = mapped_column(ForeignKey("service_categories.id"), index=True)
    application_id: Mapped[int | None] = mapped_column(
        ForeignKey("pool_applications.id", ondelete="SET NULL")
    )
    status: Mapped[str] = mapped_column(String(20), default=MembershipStatus.ACTIVE)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    suspended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    expired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    renewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reminder_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    organisation = relationship("Organisation")
    category = relationship("ServiceCategory", lazy="joined", innerjoin=True)
    application = relationship("PoolApplication", foreign_keys=[application_id])
    events = relationship(
        "MembershipEvent",
        back_populates="membership",
        cascade="all, delete-orphan",
        order_by="MembershipEvent.id",
    )

    @property
    def is_current(self) -> bool:
        return self.status in CURRENT_MEMBERSHIP_STATUSES

    @property
    def is_active(self) -> bool:
        return self.status == MembershipStatus.ACTIVE

    @classmethod
    def in_force(cls, now: datetime):
        """SQL condition: active and not past its expiry date, even if the nightly
        `flask pool expire` has not run yet."""
        return and_(cls.status == MembershipStatus.ACTIVE, cls.expires_at > now)

    @property
    def status_label(self) -> str:
        return self.status.capitalize()

    def renewal_window_opens(self) -> datetime:
        return self.expires_at - timedelta(days=RENEWAL_WINDOW_DAYS)

    def can_renew_now(self, now: datetime) -> bool:
        return self.is_active and self.renewal_window_opens() <= now < self.expires_at

    # Access predicates.
    def can_view(self, user) -> bool:
        return self.organisation.has_member(user) or self.can_manage(user)

    def can_renew(self, user) -> bool:
        return self.organisation.can_manage_team(user)

    def can_manage(self, user) -> bool:
        return bool(user is not None and getattr(user, "is_commissioner", False))


REMINDER_DAYS = 30
RENEWAL_WINDOW_DAYS = 90


class MembershipEvent(db.Model):
    """The history of a membership: admitted, suspended, reinstated, removed, renewed,
    reminded, expired."""

    __tablename__ = "pool_membership_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    membership_id: Mapped[int] = mapped_column(
        ForeignKey("pool_memberships.id", ondelete="CASCADE"), index=True
    )
    action: Mapped[str] = mapped_column(String(30))
    reason: Mapped[str | None] = mapped_column(Text)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    membership = relationship("PoolMembership", back_populates="events")
    actor = relationship("User")
