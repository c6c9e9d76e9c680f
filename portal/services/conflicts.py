"""Potential conflicts of interest between an evaluator and a bidder, detected so the
evaluator can confirm or explain them when they declare (issue 6).

`potential_conflicts(evaluator, organisation)` returns the reasons found, as sentences
to show the evaluator (and to keep on the declaration):

- the evaluator's e-mail domain matches the bidder organisation's website domain, or
  the e-mail domain of any of its users (common webmail domains never count);
- the evaluator is, or was ever, a user of the bidder organisation (membership now, and
  the membership history in the audit trail: created, joined, removed, left);
- the bidder worked for the evaluator on an earlier commission: the organisation holds an
  approved or confirmed award of a commission the evaluator commissioned, sat on the
  evaluation panel of, or proposed, approved or confirmed the award of. Withdrawn and
  returned awards do not count: no work was done.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from sqlalchemy import or_, select

from portal.extensions import db
from portal.models.accounts import Organisation, OrganisationMember, User
from portal.models.audit import AuditEvent
from portal.models.award import Award, AwardStatus
from portal.models.commissions import Commission
from portal.models.evaluation import EvaluatorAssignment

# Addresses at these domains say nothing about where a person works.
WEBMAIL_DOMAINS = frozenset({
    "aol.com", "aol.co.uk", "btinternet.com", "btopenworld.com", "fastmail.com",
    "gmail.com", "gmx.co.uk", "gmx.com", "googlemail.com", "hotmail.co.uk", "hotmail.com",
    "icloud.com", "live.co.uk", "live.com", "mac.com", "mail.com", "me.com", "msn.com",
    "ntlworld.com", "outlook.com", "outlook.co.uk", "pm.me", "proton.me",
    "protonmail.com", "sky.com", "talktalk.net", "tiscali.co.uk", "tutanota.com",
    "virginmedia.com", "yahoo.co.uk", "yahoo.com", "ymail.com", "zoho.com",
})

# Second-level suffixes under which an organisation's own domain has three labels.
_TWO_LEVEL_SUFFIXES = frozenset({
    "ac.uk", "co.uk", "gov.uk", "ltd.uk", "me.uk", "mod.uk", "net.uk", "nhs.uk",
    "org.uk", "plc.uk", "police.uk", "sch.uk", "com.au", "co.nz", "org.au",
})

MEMBERSHIP_ACTIONS_ON_ORGANISATION = (
    "organisation.created",
    "organisation.member_removed",
    "organisation.member_left",
    "organisation.ownership_transferred",
)

# Awards under which the supplier did (or is doing) the work.
WORKED_FOR_STATUSES = (AwardStatus.APPROVED, AwardStatus.CONFIRMED)


def organisation_domain(host: str | None) -> str | None:
    """'www.law.ox.ac.uk' -> 'ox.ac.uk'; 'mail.example.com' -> 'example.com'."""
    host = (host or "").strip().lower().rstrip(".")
    if not host or "." not in host:
        return None
    labels = [label for label in host.split(".") if label]
    if len(labels) < 2:
        return None
    if ".".join(labels[-2:]) in _TWO_LEVEL_SUFFIXES:
        return ".".join(labels[-3:]) if len(labels) >= 3 else None
    return ".".join(labels[-2:])


def email_domain(email: str | None) -> str | None:
    if not email or "@" not in email:
        return None
    return organisation_domain(email.rsplit("@", 1)[1])


def website_domain(website: str | None) -> str | None:
    website = (website or "").strip()
    if not website:
        return None
    if "://" not in website:
        website = "https://" + website
    try:
        host = urlsplit(website).hostname
    except ValueError:
        return None
    return organisation_domain(host)


def is_webmail(domain: str | None) -> bool:
    return domain is None or domain in WEBMAIL_DOMAINS


def _full_email_domain(email: str) -> str:
    return email.rsplit("@", 1)[1].strip().lower() if "@" in email else ""


def domain_reasons(evaluator: User, organisation: Organisation) -> list[str]:
    full = _full_email_domain(evaluator.email)
    if full in WEBMAIL_DOMAINS:
        return []
    mine = email_domain(evaluator.email)
    if is_webmail(mine):
        return []
    reasons = []
    if website_domain(organisation.website) == mine:
        reasons.append(
            f"Your e-mail domain ({mine}) matches the website of "
            f"{organisation.display_name} ({organisation.website})."
        )
    emails = db.session.scalars(
        select(User.email)
        .join(OrganisationMember, OrganisationMember.user_id == User.id)
        .where(OrganisationMember.organisation_id == organisation.id)
    ).all()
    if any(
        _full_email_domain(e) not in WEBMAIL_DOMAINS and email_domain(e) == mine
        for e in emails
        if e != evaluator.email
    ):
        reasons.append(
            f"Your e-mail domain ({mine}) matches the e-mail domain of a user of "
            f"{organisation.display_name}."
        )
    return reasons


def was_ever_member(evaluator: User, organisation: Organisation) -> bool:
    membership = getattr(evaluator, "membership", None)
    if membership is not None and membership.organisation_id == organisation.id:
        return True
    joined = db.session.scalars(
        select(AuditEvent.data).where(
            AuditEvent.action == "organisation.member_joined",
            AuditEvent.actor_id == evaluator.id,
        )
    ).all()
    if any((data or {}).get("organisation_id") == organisation.id for data in joined):
        return True
    events = db.session.scalars(
        select(AuditEvent.data).where(
            AuditEvent.object_type == Organisation.__tablename__,
            AuditEvent.object_id == str(organisation.id),
            AuditEvent.action.in_(MEMBERSHIP_ACTIONS_ON_ORGANISATION),
        )
    ).all()
    keys = ("owner_id", "user_id", "from_user_id", "to_user_id")
    return any(
        (data or {}).get(key) == evaluator.id for data in events for key in keys
    )


def membership_reasons(evaluator: User, organisation: Organisation) -> list[str]:
    if was_ever_member(evaluator, organisation):
        return [f"You are, or were, a user of {organisation.display_name}."]
    return []


def previous_work_reasons(evaluator: User, organisation: Organisation,
                          exclude_commission_id: int | None = None) -> list[str]:
    """One sentence per earlier commission awarded to `organisation` in which the
    evaluator had a hand (one query)."""
    on_panel = (
        select(EvaluatorAssignment.commission_id)
        .where(EvaluatorAssignment.user_id == evaluator.id,
               EvaluatorAssignment.removed_at.is_(None))
    )
    query = (
        select(Commission.reference, Commission.title, Commission.created_by_id,
               Commission.id.in_(on_panel).label("on_panel"))
        .join(Award, Award.commission_id == Commission.id)
        .where(
            Award.organisation_id == organisation.id,
            Award.status.in_(WORKED_FOR_STATUSES),
            or_(
                Commission.created_by_id == evaluator.id,
                Commission.id.in_(on_panel),
                Award.proposed_by_id == evaluator.id,
                Award.approved_by_id == evaluator.id,
                Award.confirmed_by_id == evaluator.id,
            ),
        )
        .order_by(Award.approved_at, Commission.id)
    )
    if exclude_commission_id is not None:
        query = query.where(Commission.id != exclude_commission_id)
    reasons = []
    for reference, title, created_by_id, was_on_panel in db.session.execute(query):
        if created_by_id == evaluator.id:
            part = "you commissioned"
        elif was_on_panel:
            part = "you evaluated"
        else:
            part = "you took part in awarding"
        reasons.append(
            f"{organisation.display_name} was awarded {reference} ({title}), "
            f"a commission {part}."
        )
    return reasons


def potential_conflicts(evaluator: User, organisation: Organisation,
                        commission: Commission | None = None) -> list[str]:
    """Every reason found, in a stable order; [] when none. `commission` is the one being
    evaluated: its own award is not 'earlier' work."""
    return (
        domain_reasons(evaluator, organisation)
        + membership_reasons(evaluator, organisation)
        + previous_work_reasons(evaluator, organisation,
                                commission.id if commission is not None else None)
    )
