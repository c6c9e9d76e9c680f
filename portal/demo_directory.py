"""Demo data for the partnership directory: a step for `flask seed-demo`.

Wire it in portal/demo.py after the profiles step:

    Step("directory", optional_step("portal.demo_directory", "seed_directory_step")),

It (re)builds the search index for every profile, then gives the approved Leeds
partnership member (partnership@leeds-lscp.example) a shortlist of listed reviewers and
an enquiry to a reviewer of the first pool member organisation (whose owner can sign in
and reply), with a reply. Idempotent: found by owner and name, and by sender and subject.
Flushes; the caller commits.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from portal import audit
from portal.extensions import db
from portal.models import (
    Enquiry,
    EnquiryMessage,
    Organisation,
    ReviewerProfile,
    Shortlist,
    ShortlistEntry,
    User,
    utcnow,
)
from portal.search import SearchParams, search
from portal.search.schema import rebuild_all

PARTNERSHIP_EMAIL = "partnership@leeds-lscp.example"
SHORTLIST_NAME = "Child T LCSPR: possible reviewers"
ENQUIRY_SUBJECT = "Prospective LCSPR: Child T (neglect, Leeds)"


def _member_org_name() -> str | None:
    try:
        from portal.demo_pool import MEMBERS
    except ImportError:
        return None
    return MEMBERS[0][0]


def seed_demo_directory() -> dict:
    # Rebuilding the index creates no demo rows, so it is not counted: a second
    # `seed-demo` must report "nothing new".
    rebuild_all(db.session.connection())
    counts = {"shortlists": 0, "enquiries": 0}
    member = db.session.scalar(select(User).where(User.email == PARTNERSHIP_EMAIL))
    if member is None or not member.is_approved_partnership_member:
        return counts

    listed = search(SearchParams(text="neglect", per_page=10)).hits
    shortlist = db.session.scalar(select(Shortlist).where(
        Shortlist.owner_id == member.id, Shortlist.name == SHORTLIST_NAME))
    if shortlist is None and listed:
        shortlist = Shortlist(owner_id=member.id, partnership_id=member.partnership_id,
                              name=SHORTLIST_NAME)
        for hit in listed[:4]:
            shortlist.entries.append(ShortlistEntry(reviewer_id=hit.profile.id))
        db.session.add(shortlist)
        counts["shortlists"] += 1

    existing = db.session.scalar(select(Enquiry.id).where(
        Enquiry.sender_id == member.id, Enquiry.subject == ENQUIRY_SUBJECT))
    name = _member_org_name()
    target = None
    if existing is None and name:
        organisation = db.session.scalar(select(Organisation).where(
            Organisation.legal_name == name))
        if organisation is not None:
            listed_ids = {h.profile.id for h in search(SearchParams(per_page=50)).hits}
            target = next((p for p in db.session.scalars(
                select(ReviewerProfile).where(ReviewerProfile.organisation_id == organisation.id)
                .order_by(ReviewerProfile.id)) if p.id in listed_ids), None)
    if target is not None:
        now = utcnow()
        owner = next((m.user for m in target.organisation.members if m.role == "owner"), None)
        enquiry = Enquiry(
            sender_id=member.id, partnership_id=member.partnership_id, reviewer_id=target.id,
            organisation_id=target.organisation_id, subject=ENQUIRY_SUBJECT,
            expected_start=(now + timedelta(days=45)).date(), expected_weeks=26,
            status="answered" if owner else "open", created_at=now - timedelta(days=2),
            last_message_at=now - timedelta(days=1),
        )
        enquiry.messages.append(EnquiryMessage(
            author_id=member.id, side="partnership", created_at=now - timedelta(days=2),
            body="We are commissioning a local child safeguarding practice review about "
            "chronic neglect of a 7-year-old, with health, school and children's social "
            "care involved. Would you be available to lead it from next month?",
        ))
        if owner is not None:
            enquiry.messages.append(EnquiryMessage(
                author_id=owner.id, side="reviewer", created_at=now - timedelta(days=1),
                body="Thank you. Yes, we could start then. Could you share the terms of "
                "reference and the expected number of practitioner events?",
            ))
        db.session.add(enquiry)
        db.session.flush()
        audit.record("directory.enquiry_sent", actor=member, obj=enquiry,
                     data={"reviewer_id": target.id, "demo": True})
        counts["enquiries"] += 1
    db.session.flush()
    return counts


def seed_directory_step(ctx=None) -> dict:
    return seed_demo_directory()
