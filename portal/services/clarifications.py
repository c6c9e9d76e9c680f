"""Clarification questions: an invited supplier asks before the clarification deadline;
a commissioner answers publicly (the question text edited so it does not identify the
asker, e-mailed to every invitee) or privately (the asking organisation only).

The asker's identity never leaves this module towards other suppliers: the supplier
views read `questions_for_supplier`, which returns the organisation's own questions as
asked and everyone else's public ones as published.
"""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import or_, select

from portal import audit
from portal.extensions import db
from portal.mail import queue_email
from portal.models.accounts import User
from portal.models.base import utcnow
from portal.models.commissions import (
    ClarificationQuestion,
    Commission,
    CommissionState,
    QuestionStatus,
)
from portal.services.commissions import (
    CommissionError,
    _clean,
    link,
    lock_commission,
    mail_invitees,
    mail_organisations,
)
from portal.ukdatetime import format_uk

QUESTION_MAX = 2000
ANSWER_MAX = 5000
# Questions an organisation may have waiting for an answer on one commission.
MAX_AWAITING_PER_ORGANISATION = 50


def ask_question(actor: User, commission: Commission, text: str,
                 now: datetime | None = None) -> ClarificationQuestion:
    now = now or utcnow()
    if not commission.is_supplier_viewer(actor):
        raise CommissionError("You cannot ask a question about this commission")
    locked = lock_commission(commission.id)
    if locked is None or not locked.accepts_questions_at(now):
        if commission.clarification_deadline and now >= commission.clarification_deadline:
            raise CommissionError(
                "The deadline for clarification questions was "
                f"{format_uk(commission.clarification_deadline)}. You can no longer ask "
                "questions about this commission", "question")
        raise CommissionError("This commission is not open for questions", "question")
    text = _clean(text)
    if not text:
        raise CommissionError("Enter your question", "question")
    if len(text) > QUESTION_MAX:
        raise CommissionError(f"Your question must be {QUESTION_MAX:,} characters or fewer",
                              "question")
    organisation_id = actor.membership.organisation_id
    waiting = db.session.scalars(
        select(ClarificationQuestion.id)
        .where(ClarificationQuestion.commission_id == commission.id)
        .where(ClarificationQuestion.organisation_id == organisation_id)
        .where(ClarificationQuestion.status == QuestionStatus.AWAITING)
        .limit(MAX_AWAITING_PER_ORGANISATION)
    ).all()
    if len(waiting) >= MAX_AWAITING_PER_ORGANISATION:
        raise CommissionError("Your organisation already has "
                              f"{MAX_AWAITING_PER_ORGANISATION} questions waiting for an "
                              "answer on this commission", "question")
    question = ClarificationQuestion(
        commission=commission,
        organisation_id=organisation_id,
        asked_by_id=actor.id,
        question=text,
        asked_at=now,
    )
    db.session.add(question)
    db.session.flush()
    audit.record("clarification.asked", actor=actor, obj=question,
                 data={"commission_id": commission.id, "organisation_id": organisation_id})
    creator = commission.created_by
    if creator is not None and creator.is_active and creator.is_commissioner:
        queue_email(
            creator.email,
            f"New clarification question: {commission.reference}",
            "commission_question_asked",
            commission=commission,
            link=link("commissions.answer", commission_id=commission.id,
                      question_id=question.id),
        )
    return question


def identifying_words(question: ClarificationQuestion) -> list[str]:
    """Names and addresses that would identify the asker if published."""
    words: list[str] = []
    organisation = question.organisation
    for name in (organisation.legal_name, organisation.trading_name):
        if name:
            words.append(name)
    asker = question.asked_by
    if asker is not None:
        words.append(asker.email)
        if asker.name and len(asker.name) >= 4:
            words.append(asker.name)
        domain = asker.email.rsplit("@", 1)[-1]
        if domain:
            words.append(domain)
    return [w for w in words if w.strip()]


def _mentions(text: str, word: str) -> bool:
    return re.search(r"(?<!\w)" + re.escape(word.strip()) + r"(?!\w)", text,
                     re.IGNORECASE) is not None


def answer_question(
    actor: User,
    question: ClarificationQuestion,
    *,
    answer: str,
    public: bool,
    published_question: str | None,
    now: datetime | None = None,
) -> None:
    now = now or utcnow()
    commission = question.commission
    locked = lock_commission(commission.id)
    if locked is None or not question.can_answer(actor):
        raise CommissionError("This question has already been answered")
    if locked.state_at(now) != CommissionState.OPEN:
        raise CommissionError("Questions can only be answered while the commission is open "
                              "for bids")
    answer = _clean(answer)
    errors: list[tuple[str | None, str]] = []
    if not answer:
        errors.append(("answer", "Enter the answer"))
    elif len(answer) > ANSWER_MAX:
        errors.append(("answer", f"The answer must be {ANSWER_MAX:,} characters or fewer"))
    published = _clean(published_question) if public else None
    if public:
        if not published:
            errors.append(("published_question", "Enter the question as it will be published"))
        elif len(published) > QUESTION_MAX:
            errors.append(("published_question", "The published question must be "
                                                 f"{QUESTION_MAX:,} characters or fewer"))
        else:
            for word in identifying_words(question):
                for text, name in ((published, "published_question"), (answer, "answer")):
                    if _mentions(text, word):
                        errors.append((name, f"Remove “{word}”: it identifies who asked the "
                                             "question"))
    if errors:
        raise CommissionError(errors[0][1], errors[0][0], errors)
    question.status = QuestionStatus.PUBLIC if public else QuestionStatus.PRIVATE
    question.published_question = published
    question.answer = answer
    question.answered_at = now
    question.answered_by_id = actor.id
    db.session.flush()
    audit.record("clarification.answered", actor=actor, obj=question,
                 data={"commission_id": commission.id, "public": public})
    page = link("commissions.opportunity", commission_id=commission.id)
    if public:
        mail_invitees(
            commission,
            f"Clarification published: {commission.title} ({commission.reference})",
            "commission_clarification_published",
            question=question,
            link=page,
        )
    else:
        mail_organisations(
            [question.organisation_id],
            f"Your clarification question has been answered: {commission.reference}",
            "commission_clarification_private",
            commission=commission,
            question=question,
            link=page,
        )


def questions_for_supplier(commission: Commission, organisation_id: int,
                           limit: int = 500) -> list[ClarificationQuestion]:
    """What one supplier organisation may see: its own questions and the public ones."""
    return list(db.session.scalars(
        select(ClarificationQuestion)
        .where(ClarificationQuestion.commission_id == commission.id)
        .where(or_(
            ClarificationQuestion.organisation_id == organisation_id,
            ClarificationQuestion.status == QuestionStatus.PUBLIC,
        ))
        .order_by(ClarificationQuestion.id)
        .limit(limit)
    ))


def questions_for_commissioner(commission: Commission,
                               limit: int = 500) -> list[ClarificationQuestion]:
    return list(db.session.scalars(
        select(ClarificationQuestion)
        .where(ClarificationQuestion.commission_id == commission.id)
        .order_by(
            (ClarificationQuestion.status != QuestionStatus.AWAITING),
            ClarificationQuestion.id,
        )
        .limit(limit)
    ))
