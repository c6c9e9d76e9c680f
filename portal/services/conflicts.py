"""Potential conflicts of interest between an evaluator and a bidder, detected so the
evaluator can confirm or explain them when they declare (issue 6).

`potential_conflicts(evaluator, organisation)` returns the reasons found, as sentences
to show the evaluator (and to keep on the declaration); `potential_conflicts_for` does the
same for every pair of a panel and the bidders in a fixed number of queries:

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

from dataclasses import dataclass, field
from urllib.parse import urlsplit

from sqlalchemy import select

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


@dataclass
class _Facts:
    """What the checks need about some evaluators and some organisations, read in a
    fixed number of queries however many pairs are checked."""

    member_emails: dict[int, list[str]] = field(default_factory=dict)  # by organisation
    joined: dict[int, set[int]] = field(default_factory=dict)  # user -> organisations
    history: dict[int, set[int]] = field(default_factory=dict)  # organisation -> users
    panels: dict[int, set[int]] = field(default_factory=dict)  # user -> commissions
    awards: dict[int, list] = field(default_factory=dict)  # organisation -> award rows


_HISTORY_KEYS = ("owner_id", "user_id", "from_user_id", "to_user_id")


def _facts(evaluators: list[User], organisations: list[Organisation],
           exclude_commission_id: int | None) -> _Facts:
    facts = _Facts()
    user_ids = [u.id for u in evaluators]
    org_ids = [o.id for o in organisations]
    if not user_ids or not org_ids:
        return facts
    for org_id, email in db.session.execute(
        select(OrganisationMember.organisation_id, User.email)
        .join(User, OrganisationMember.user_id == User.id)
        .where(OrganisationMember.organisation_id.in_(org_ids))
    ):
        facts.member_emails.setdefault(org_id, []).append(email)
    for actor_id, data in db.session.execute(
        select(AuditEvent.actor_id, AuditEvent.data).where(
            AuditEvent.action == "organisation.member_joined",
            AuditEvent.actor_id.in_(user_ids),
        )
    ):
        facts.joined.setdefault(actor_id, set()).add((data or {}).get("organisation_id"))
    for object_id, data in db.session.execute(
        select(AuditEvent.object_id, AuditEvent.data).where(
            AuditEvent.object_type == Organisation.__tablename__,
            AuditEvent.object_id.in_([str(i) for i in org_ids]),
            AuditEvent.action.in_(MEMBERSHIP_ACTIONS_ON_ORGANISATION),
        )
    ):
        users = facts.history.setdefault(int(object_id), set())
        users.update((data or {}).get(key) for key in _HISTORY_KEYS)
    for user_id, commission_id in db.session.execute(
        select(EvaluatorAssignment.user_id, EvaluatorAssignment.commission_id).where(
            EvaluatorAssignment.user_id.in_(user_ids),
            EvaluatorAssignment.removed_at.is_(None),
        )
    ):
        facts.panels.setdefault(user_id, set()).add(commission_id)
    awards = (
        select(Award.organisation_id, Commission.id, Commission.reference, Commission.title,
               Commission.created_by_id, Award.proposed_by_id, Award.approved_by_id,
               Award.confirmed_by_id)
        .join(Commission, Award.commission_id == Commission.id)
        .where(Award.organisation_id.in_(org_ids), Award.status.in_(WORKED_FOR_STATUSES))
        .order_by(Award.approved_at, Commission.id)
    )
    if exclude_commission_id is not None:
        awards = awards.where(Commission.id != exclude_commission_id)
    for row in db.session.execute(awards):
        facts.awards.setdefault(row.organisation_id, []).append(row)
    return facts


def _domain_reasons(evaluator: User, organisation: Organisation, facts: _Facts) -> list[str]:
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
    if any(
        _full_email_domain(e) not in WEBMAIL_DOMAINS and email_domain(e) == mine
        for e in facts.member_emails.get(organisation.id, ())
        if e != evaluator.email
    ):
        reasons.append(
            f"Your e-mail domain ({mine}) matches the e-mail domain of a user of "
            f"{organisation.display_name}."
        )
    return reasons


def _was_ever_member(evaluator: User, organisation: Organisation, facts: _Facts) -> bool:
    membership = getattr(evaluator, "membership", None)
    return (
        (membership is not None and membership.organisation_id == organisation.id)
        or organisation.id in facts.joined.get(evaluator.id, ())
        or evaluator.id in facts.history.get(organisation.id, ())
    )


def _previous_work_reasons(evaluator: User, organisation: Organisation,
                           facts: _Facts) -> list[str]:
    reasons = []
    panels = facts.panels.get(evaluator.id, set())
    for row in facts.awards.get(organisation.id, ()):
        if row.created_by_id == evaluator.id:
            part = "you commissioned"
        elif row.id in panels:
            part = "you evaluated"
        elif evaluator.id in (row.proposed_by_id, row.approved_by_id, row.confirmed_by_id):
            part = "you took part in awarding"
        else:
            continue
        reasons.append(
            f"{organisation.display_name} was awarded {row.reference} ({row.title}), "
            f"a commission {part}."
        )
    return reasons


def _reasons(evaluator: User, organisation: Organisation, facts: _Facts) -> list[str]:
    reasons = _domain_reasons(evaluator, organisation, facts)
    if _was_ever_member(evaluator, organisation, facts):
        reasons.append(f"You are, or were, a user of {organisation.display_name}.")
    return reasons + _previous_work_reasons(evaluator, organisation, facts)


def potential_conflicts_for(evaluators: list[User], organisations: list[Organisation],
                            commission: Commission | None = None
                            ) -> dict[tuple[int, int], list[str]]:
    """{(evaluator id, organisation id): reasons} for every pair, in five queries."""
    facts = _facts(evaluators, organisations,
                   commission.id if commission is not None else None)
    return {
        (evaluator.id, organisation.id): _reasons(evaluator, organisation, facts)
        for evaluator in evaluators
        for organisation in organisations
    }


def potential_conflicts(evaluator: User, organisation: Organisation,
                        commission: Commission | None = None) -> list[str]:
    """Every reason found, in a stable order; [] when none. `commission` is the one being
    evaluated: its own award is not 'earlier' work."""
    return potential_conflicts_for([evaluator], [organisation], commission)[
        (evaluator.id, organisation.id)]


def was_ever_member(evaluator: User, organisation: Organisation) -> bool:
    return _was_ever_member(evaluator, organisation, _facts([evaluator], [organisation], None))
