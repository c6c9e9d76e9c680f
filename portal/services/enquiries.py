"""Enquiries relayed through the portal between a partnership member and a reviewer's
organisation.

- No e-mail address crosses over: the reviewer's organisation is told that an enquiry
  arrived (its members' own addresses), the sender is told a reply arrived (their own
  address); each side reads and answers in the portal.
- The thread is visible to the sender and to members of the reviewer's organisation,
  nobody else (`Enquiry.can_view`).
- Rate limit: ENQUIRY_DAILY_LIMIT enquiries per partnership member over a rolling
  24 hours, counted in the database (so it holds across processes). The sender's row is
  locked first on PostgreSQL; on SQLite every transaction is BEGIN IMMEDIATE.
- A reviewer's organisation can block further enquiries from a partnership.
- Every change is audited (subjects and message bodies stay out of the audit data).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flask import current_app
from sqlalchemy import func, or_, select

from portal import audit
from portal.extensions import db
from portal.mail import queue_email
from portal.models.accounts import OrganisationMember, User
from portal.models.base import utcnow
from portal.models.directory import (
    Enquiry,
    EnquiryBlock,
    EnquiryMessage,
    EnquiryStatus,
)
from portal.models.profiles import ReviewerProfile
from portal.services.directory import DirectoryError, NotFound, listed_profile

DEFAULT_DAILY_LIMIT = 20
SUBJECT_MAX = 150
MESSAGE_MAX = 5000
WEEKS_MAX = 104
WINDOW = timedelta(hours=24)


@dataclass
class EnquiryData:
    subject: str | None
    message: str | None
    expected_start: date | None
    expected_weeks: int | None


def daily_limit() -> int:
    return int(current_app.config.get("ENQUIRY_DAILY_LIMIT", DEFAULT_DAILY_LIMIT))


def _clean_text(value: str | None) -> str:
    value = (value or "").replace("\r\n", "\n").replace("\r", "\n")
    value = re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", "", value)
    return value.strip()


def _external_url(endpoint: str, **values) -> str:
    from portal.services.accounts import external_url

    return external_url(endpoint, **values)


def is_blocked(organisation_id: int, partnership_id: int) -> bool:
    return db.session.scalar(
        select(EnquiryBlock.id).where(EnquiryBlock.organisation_id == organisation_id,
                                      EnquiryBlock.partnership_id == partnership_id)
    ) is not None


def sent_in_window(user, now: datetime) -> tuple[int, datetime | None]:
    """How many enquiries the user sent in the last 24 hours, and the oldest of them."""
    count, oldest = db.session.execute(
        select(func.count(Enquiry.id), func.min(Enquiry.created_at))
        .where(Enquiry.sender_id == user.id, Enquiry.created_at > now - WINDOW)
    ).one()
    return int(count or 0), oldest


def _lock_sender(user) -> None:
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(select(User.id).where(User.id == user.id).with_for_update())


def check_enquiry(data: EnquiryData, today: date) -> dict:
    subject = re.sub(r"\s+", " ", _clean_text(data.subject))
    message = _clean_text(data.message)
    if not subject:
        raise DirectoryError("Enter a subject", "subject")
    if len(subject) > SUBJECT_MAX:
        raise DirectoryError(f"Subject must be {SUBJECT_MAX} characters or fewer", "subject")
    if not message:
        raise DirectoryError("Enter your message", "message")
    if len(message) > MESSAGE_MAX:
        raise DirectoryError(f"Message must be {MESSAGE_MAX} characters or fewer", "message")
    if data.expected_start is None:
        raise DirectoryError("Enter the expected start date", "expected_start")
    if data.expected_start < today:
        raise DirectoryError("Expected start date must be today or in the future",
                             "expected_start")
    if data.expected_start > today + timedelta(days=3 * 365):
        raise DirectoryError("Expected start date must be within the next 3 years",
                             "expected_start")
    if data.expected_weeks is None:
        raise DirectoryError("Enter the expected length in weeks", "expected_weeks")
    if not 1 <= data.expected_weeks <= WEEKS_MAX:
        raise DirectoryError(f"Expected length must be between 1 and {WEEKS_MAX} weeks",
                             "expected_weeks")
    return {"subject": subject, "message": message}


def _organisation_emails(organisation_id: int) -> list[str]:
    return list(db.session.scalars(
        select(User.email)
        .join(OrganisationMember, OrganisationMember.user_id == User.id)
        .where(OrganisationMember.organisation_id == organisation_id,
               User.deactivated_at.is_(None), User.email_verified_at.is_not(None))
        .order_by(User.id)
    ))


def send_enquiry(user, reviewer_id: int, data: EnquiryData) -> Enquiry:
    """A partnership member asks a listed reviewer about a prospective review."""
    if not (getattr(user, "is_authenticated", False) and user.is_approved_partnership_member):
        raise NotFound()
    profile = listed_profile(user, reviewer_id)
    now = utcnow()
    today = now.date()
    clean = check_enquiry(data, today)
    if is_blocked(profile.organisation_id, user.partnership_id):
        raise DirectoryError(
            "This reviewer\u2019s organisation is not accepting enquiries from your "
            "partnership", "message")
    _lock_sender(user)
    limit = daily_limit()
    count, oldest = sent_in_window(user, now)
    if count >= limit:
        again = (oldest + WINDOW) if oldest else now + WINDOW
        raise DirectoryError(
            f"You have sent {count} enquiries in the last 24 hours, the most allowed. "
            f"You can send another after {_uk(again)}", "message")
    enquiry = Enquiry(
        sender_id=user.id, partnership_id=user.partnership_id, reviewer_id=profile.id,
        organisation_id=profile.organisation_id, subject=clean["subject"],
        expected_start=data.expected_start, expected_weeks=data.expected_weeks,
        status=EnquiryStatus.OPEN, created_at=now, last_message_at=now,
    )
    enquiry.messages.append(EnquiryMessage(author_id=user.id, side="partnership",
                                           body=clean["message"], created_at=now))
    db.session.add(enquiry)
    db.session.flush()
    audit.record("directory.enquiry_sent", actor=user, obj=enquiry, data={
        "reviewer_id": profile.id, "organisation_id": profile.organisation_id,
        "partnership_id": user.partnership_id,
    })
    link = _external_url("directory.enquiry", enquiry_id=enquiry.id)
    for email in _organisation_emails(profile.organisation_id):
        queue_email(email, f"New enquiry about {profile.name}", "enquiry_received",
                    enquiry=enquiry, reviewer=profile, partnership=user.partnership, link=link)
    return enquiry


def _uk(moment: datetime) -> str:
    from portal.templating import uk_datetime

    return uk_datetime(moment)


def enquiry_for(user, enquiry_id: int) -> Enquiry:
    enquiry = db.session.get(Enquiry, enquiry_id)
    if enquiry is None or not enquiry.can_view(user):
        raise NotFound()
    return enquiry


def reply(user, enquiry_id: int, body: str | None) -> EnquiryMessage:
    enquiry = enquiry_for(user, enquiry_id)
    if not enquiry.can_reply(user):
        raise DirectoryError("This enquiry is closed", "body")
    body = _clean_text(body)
    if not body:
        raise DirectoryError("Enter your reply", "body")
    if len(body) > MESSAGE_MAX:
        raise DirectoryError(f"Reply must be {MESSAGE_MAX} characters or fewer", "body")
    now = utcnow()
    side = "partnership" if enquiry.is_sender(user) else "reviewer"
    message = EnquiryMessage(author_id=user.id, side=side, body=body, created_at=now)
    enquiry.messages.append(message)
    enquiry.last_message_at = now
    enquiry.status = EnquiryStatus.ANSWERED if side == "reviewer" else EnquiryStatus.OPEN
    db.session.flush()
    audit.record("directory.enquiry_replied", actor=user, obj=enquiry,
                 data={"side": side, "message_id": message.id})
    link = _external_url("directory.enquiry", enquiry_id=enquiry.id)
    subject = f"Reply to your enquiry {enquiry.reference}"
    if side == "reviewer":
        sender = enquiry.sender
        if sender.deactivated_at is None:
            queue_email(sender.email, subject, "enquiry_reply", enquiry=enquiry,
                        from_side=enquiry.reviewer.name, link=link)
    else:
        for email in _organisation_emails(enquiry.organisation_id):
            queue_email(email, f"New message on enquiry {enquiry.reference}", "enquiry_reply",
                        enquiry=enquiry, from_side=enquiry.partnership.name, link=link)
    return message


def close_enquiry(user, enquiry_id: int) -> Enquiry:
    """Either side ends the conversation: no more replies; the other side is told.
    Closing a closed enquiry changes nothing."""
    enquiry = enquiry_for(user, enquiry_id)
    if enquiry.status == EnquiryStatus.CLOSED:
        return enquiry
    side = "partnership" if enquiry.is_sender(user) else "reviewer"
    enquiry.status = EnquiryStatus.CLOSED
    db.session.flush()
    audit.record("directory.enquiry_closed", actor=user, obj=enquiry, data={"side": side})
    link = _external_url("directory.enquiry", enquiry_id=enquiry.id)
    subject = f"Enquiry {enquiry.reference} closed"
    if side == "reviewer":
        if enquiry.sender.deactivated_at is None:
            queue_email(enquiry.sender.email, subject, "enquiry_closed", enquiry=enquiry,
                        by_side=enquiry.organisation.display_name, link=link)
    else:
        for email in _organisation_emails(enquiry.organisation_id):
            queue_email(email, subject, "enquiry_closed", enquiry=enquiry,
                        by_side=enquiry.partnership.name, link=link)
    return enquiry


def block_partnership(user, enquiry_id: int) -> EnquiryBlock:
    """A member of the reviewer's organisation refuses further enquiries from the
    partnership that sent this one."""
    enquiry = enquiry_for(user, enquiry_id)
    if not enquiry.can_block(user):
        raise NotFound()
    existing = db.session.scalar(select(EnquiryBlock).where(
        EnquiryBlock.organisation_id == enquiry.organisation_id,
        EnquiryBlock.partnership_id == enquiry.partnership_id))
    if existing is not None:
        return existing
    block = EnquiryBlock(organisation_id=enquiry.organisation_id,
                         partnership_id=enquiry.partnership_id, blocked_by_id=user.id)
    db.session.add(block)
    db.session.flush()
    audit.record("directory.partnership_blocked", actor=user, obj=block, data={
        "organisation_id": enquiry.organisation_id, "partnership_id": enquiry.partnership_id})
    return block


def blocks_of(user) -> list[EnquiryBlock]:
    organisation = getattr(user, "organisation", None)
    if organisation is None:
        raise NotFound()
    return list(db.session.scalars(
        select(EnquiryBlock).where(EnquiryBlock.organisation_id == organisation.id)
        .order_by(EnquiryBlock.created_at)
    ))


def unblock(user, block_id: int) -> str:
    """Lift a block; returns the partnership's name."""
    block = db.session.get(EnquiryBlock, block_id)
    organisation = getattr(user, "organisation", None)
    if block is None or organisation is None or block.organisation_id != organisation.id:
        raise NotFound()
    name = block.partnership.name
    audit.record("directory.partnership_unblocked", actor=user, obj=block, data={
        "organisation_id": block.organisation_id, "partnership_id": block.partnership_id})
    db.session.delete(block)
    db.session.flush()
    return name


def enquiries_of(user) -> list[Enquiry]:
    """The enquiries a person is a party to: sent (partnership) or received by their
    organisation's reviewers (supplier). Newest activity first."""
    conditions = []
    if getattr(user, "is_approved_partnership_member", False):
        conditions.append(Enquiry.sender_id == user.id)
    organisation = getattr(user, "organisation", None)
    if organisation is not None:
        conditions.append(Enquiry.organisation_id == organisation.id)
    if not conditions:
        raise NotFound()
    return list(db.session.scalars(
        select(Enquiry).where(or_(*conditions)).order_by(Enquiry.last_message_at.desc())
    ))


def set_unavailable(user, profile_id: int, unavailable: bool) -> ReviewerProfile:
    """A reviewer's organisation marks the reviewer as (not) taking on new work; the
    directory profile shows it at once."""
    profile = db.session.get(ReviewerProfile, profile_id)
    if profile is None or not profile.can_edit(user):
        raise NotFound()
    if profile.is_unavailable != unavailable:
        profile.is_unavailable = unavailable
        audit.record("reviewer.availability_changed", actor=user, obj=profile,
                     data={"unavailable": unavailable})
    db.session.flush()
    return profile
