"""Supplier teams: invitations, joining, leaving, removing members and ownership.

Every function takes the acting user, checks what that user may do, locks the
organisation row before counting owners (so two owners cannot both step down at once),
writes an audit event and queues the e-mails a person would expect. Nothing here commits.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select

from portal import audit
from portal.extensions import db
from portal.mail import queue_email
from portal.models import (
    Organisation,
    OrganisationInvitation,
    OrganisationMember,
    OrgRole,
    User,
    utcnow,
)
from portal.services import accounts
from portal.tokens import hash_secret_token

INVITATION_LIFETIME = timedelta(days=7)
MAX_PENDING_INVITATIONS = 50
MAX_NAME_LENGTH = 200


class TeamError(Exception):
    """The action is refused; `message` is shown to the person, next to `field` if set."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


class NotInTeam(LookupError):
    """The member or invitation is not in this organisation: the route answers 404."""


class InvitationProblem(Exception):
    """The invitation link cannot be used. `reason` is one of unknown, expired, used,
    revoked."""

    def __init__(self, reason: str, invitation: OrganisationInvitation | None = None):
        super().__init__(reason)
        self.reason = reason
        self.invitation = invitation


def normalise_email(value: str, field: str = "email") -> str:
    """Check an address's syntax and return it as accounts store it (lower case)."""
    if not (value or "").strip():
        raise TeamError("Enter an email address", field)
    try:
        return accounts.valid_email(value)
    except accounts.AccountError as error:
        raise TeamError(error.message, field) from None


def _lock_organisation(organisation_id: int) -> Organisation:
    return db.session.execute(
        select(Organisation)
        .where(Organisation.id == organisation_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one()


def _owner_count(organisation_id: int) -> int:
    return db.session.execute(
        select(func.count())
        .select_from(OrganisationMember)
        .where(
            OrganisationMember.organisation_id == organisation_id,
            OrganisationMember.role == OrgRole.OWNER,
        )
    ).scalar_one()


def _owners(organisation_id: int) -> list[User]:
    return list(
        db.session.execute(
            select(User)
            .join(OrganisationMember, OrganisationMember.user_id == User.id)
            .where(
                OrganisationMember.organisation_id == organisation_id,
                OrganisationMember.role == OrgRole.OWNER,
                User.deactivated_at.is_(None),
            )
        ).scalars()
    )


def _require_owner(actor: User, organisation: Organisation) -> None:
    if not organisation.can_manage_team(actor):
        raise PermissionError("Only an owner of the organisation can do this")


def _member_in(organisation_id: int, member_id: int) -> OrganisationMember:
    member = db.session.execute(
        select(OrganisationMember)
        .where(
            OrganisationMember.id == member_id,
            OrganisationMember.organisation_id == organisation_id,
        )
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()
    if member is None:
        raise NotInTeam(member_id)
    return member


def _forget_membership(member: OrganisationMember) -> None:
    user = member.user
    organisation = member.organisation
    db.session.delete(member)
    db.session.flush()
    db.session.expire(user, ["membership"])
    db.session.expire(organisation, ["members"])


# Reading ---------------------------------------------------------------------------


@dataclass
class TeamView:
    organisation: Organisation
    members: list[OrganisationMember]
    invitations: list[OrganisationInvitation]
    owner_count: int


def team_of(user: User, now: datetime | None = None) -> TeamView:
    """What the team page shows: members, and open invitations for owners."""
    organisation = user.organisation
    if organisation is None:
        raise PermissionError("Not in an organisation")
    members = list(
        db.session.execute(
            select(OrganisationMember)
            .join(User, User.id == OrganisationMember.user_id)
            .where(OrganisationMember.organisation_id == organisation.id)
            .order_by(OrganisationMember.role.desc(), func.lower(User.name), User.id)
        ).scalars()
    )
    invitations: list[OrganisationInvitation] = []
    if organisation.can_manage_team(user):
        invitations = list(
            db.session.execute(
                select(OrganisationInvitation)
                .where(
                    OrganisationInvitation.organisation_id == organisation.id,
                    OrganisationInvitation.accepted_at.is_(None),
                    OrganisationInvitation.revoked_at.is_(None),
                )
                .order_by(OrganisationInvitation.created_at.desc())
                .limit(MAX_PENDING_INVITATIONS * 2)
            ).scalars()
        )
    owners = sum(1 for m in members if m.role == OrgRole.OWNER)
    return TeamView(organisation, members, invitations, owners)


def member_of(user: User, member_id: int) -> OrganisationMember:
    """A member of the user's own organisation, or NotInTeam (404)."""
    if user.organisation is None:
        raise NotInTeam(member_id)
    return _member_in(user.organisation.id, member_id)


def invitation_is_open(invitation: OrganisationInvitation, now: datetime | None = None) -> bool:
    now = now or utcnow()
    return (
        invitation.accepted_at is None
        and invitation.revoked_at is None
        and invitation.expires_at > now
    )


# Invitations ----------------------------------------------------------------------


def invite(actor: User, email: str, now: datetime | None = None) -> OrganisationInvitation:
    """An owner invites a colleague by e-mail. A fresh invitation to the same address
    replaces any still open, so only the newest link works."""
    now = now or utcnow()
    organisation = actor.organisation
    if organisation is None:
        raise PermissionError("Not in an organisation")
    _require_owner(actor, organisation)
    address = normalise_email(email)
    organisation = _lock_organisation(organisation.id)

    already = db.session.execute(
        select(OrganisationMember)
        .join(User, User.id == OrganisationMember.user_id)
        .where(OrganisationMember.organisation_id == organisation.id, User.email == address)
    ).scalar_one_or_none()
    if already is not None:
        raise TeamError(f"{address} is already a member of your team", "email")

    open_invitations = list(
        db.session.execute(
            select(OrganisationInvitation).where(
                OrganisationInvitation.organisation_id == organisation.id,
                OrganisationInvitation.accepted_at.is_(None),
                OrganisationInvitation.revoked_at.is_(None),
                OrganisationInvitation.expires_at > now,
            )
        ).scalars()
    )
    replaced = [i for i in open_invitations if i.email == address]
    if len(open_invitations) - len(replaced) >= MAX_PENDING_INVITATIONS:
        raise TeamError(
            f"Your team has {MAX_PENDING_INVITATIONS} invitations waiting. "
            "Withdraw some before you invite more people",
            "email",
        )
    for old in replaced:
        old.revoked_at = now

    token = secrets.token_urlsafe(32)
    invitation = OrganisationInvitation(
        organisation_id=organisation.id,
        email=address,
        token_hash=hash_secret_token(token),
        invited_by_id=actor.id,
        created_at=now,
        expires_at=now + INVITATION_LIFETIME,
    )
    db.session.add(invitation)
    db.session.flush()
    audit.record(
        "organisation.invitation_sent",
        actor=actor,
        obj=invitation,
        data={
            "organisation_id": organisation.id,
            "email": address,
            "replaced_invitation_ids": [i.id for i in replaced],
            "expires_at": invitation.expires_at.isoformat(),
        },
    )
    queue_email(
        address,
        f"{actor.name} has invited you to join {organisation.display_name}",
        "team_invitation",
        inviter=actor,
        organisation=organisation,
        link=accounts.external_url("teams.invitation", token=token),
        expires_at=invitation.expires_at,
    )
    return invitation


def revoke_invitation(actor: User, invitation_id: int, now: datetime | None = None) -> None:
    now = now or utcnow()
    organisation = actor.organisation
    if organisation is None:
        raise NotInTeam(invitation_id)
    _require_owner(actor, organisation)
    _lock_organisation(organisation.id)
    invitation = db.session.execute(
        select(OrganisationInvitation).where(
            OrganisationInvitation.id == invitation_id,
            OrganisationInvitation.organisation_id == organisation.id,
        )
    ).scalar_one_or_none()
    if invitation is None:
        raise NotInTeam(invitation_id)
    if invitation.accepted_at is not None:
        raise TeamError("This invitation has already been accepted")
    if invitation.revoked_at is not None:
        return  # already withdrawn: nothing to do
    invitation.revoked_at = now
    audit.record(
        "organisation.invitation_revoked",
        actor=actor,
        obj=invitation,
        data={"organisation_id": organisation.id, "email": invitation.email},
    )


def find_invitation(token: str, now: datetime | None = None) -> OrganisationInvitation:
    """The invitation behind a link, or InvitationProblem saying why it cannot be used."""
    now = now or utcnow()
    if not token or len(token) > 200:
        raise InvitationProblem("unknown")
    invitation = db.session.execute(
        select(OrganisationInvitation).where(
            OrganisationInvitation.token_hash == hash_secret_token(token)
        )
    ).scalar_one_or_none()
    if invitation is None:
        raise InvitationProblem("unknown")
    if invitation.accepted_at is not None:
        raise InvitationProblem("used", invitation)
    if invitation.revoked_at is not None:
        raise InvitationProblem("revoked", invitation)
    if invitation.expires_at <= now:
        raise InvitationProblem("expired", invitation)
    return invitation


def _lock_invitation(token: str, now: datetime) -> OrganisationInvitation:
    invitation = find_invitation(token, now)
    _lock_organisation(invitation.organisation_id)
    # Re-read under the lock: a second request with the same link waits, then sees it used.
    db.session.refresh(invitation)
    return find_invitation(token, now)


def existing_account_for(invitation: OrganisationInvitation) -> User | None:
    return db.session.execute(
        select(User).where(func.lower(User.email) == invitation.email.lower())
    ).scalar_one_or_none()


def _join(user: User, invitation: OrganisationInvitation, now: datetime) -> OrganisationMember:
    member = OrganisationMember(
        organisation_id=invitation.organisation_id, user=user, role=OrgRole.MEMBER, joined_at=now
    )
    db.session.add(member)
    invitation.accepted_at = now
    db.session.flush()
    organisation = invitation.organisation
    audit.record(
        "organisation.member_joined",
        actor=user,
        obj=member,
        data={
            "organisation_id": organisation.id,
            "user_id": user.id,
            "invitation_id": invitation.id,
        },
    )
    for owner in _owners(organisation.id):
        queue_email(
            owner.email,
            f"{user.name} has joined {organisation.display_name}",
            "team_member_joined",
            owner=owner,
            member=user,
            organisation=organisation,
            link=accounts.external_url("teams.team"),
        )
    return member


def register_from_invitation(
    token: str, name: str, password: str, now: datetime | None = None
) -> User:
    """A new account made from an invitation. The link reached the invited address, so
    that address counts as verified."""
    now = now or utcnow()
    name = (name or "").strip()
    if not name:
        raise TeamError("Enter your full name", "name")
    if len(name) > MAX_NAME_LENGTH:
        raise TeamError(f"Name must be {MAX_NAME_LENGTH} characters or fewer", "name")
    invitation = _lock_invitation(token, now)
    if existing_account_for(invitation) is not None:
        raise TeamError(
            "You already have an account with this email address. Sign in, then open the "
            "invitation link again"
        )
    try:
        user = accounts.create_user(
            email=invitation.email,
            name=name,
            password=password or "",
            kind="supplier_invitation",
            verified=True,  # the link reached the invited address
            data={"invitation_id": invitation.id,
                  "organisation_id": invitation.organisation_id},
        )
    except accounts.AccountError as error:
        raise TeamError(error.message, error.field) from None
    _join(user, invitation, now)
    return user


def accept_as(user: User, token: str, now: datetime | None = None) -> OrganisationMember:
    """A signed-in person joins with an invitation sent to their own address."""
    now = now or utcnow()
    invitation = _lock_invitation(token, now)
    problem = acceptance_problem(user, invitation)
    if problem:
        raise TeamError(problem)
    return _join(user, invitation, now)


def acceptance_problem(user: User, invitation: OrganisationInvitation) -> str | None:
    """Why this signed-in person cannot accept, or None."""
    if user.email.lower() != invitation.email.lower():
        return (
            f"This invitation was sent to {invitation.email}, but you are signed in as "
            f"{user.email}. Sign out, then open the link again"
        )
    if user.membership is not None:
        if user.membership.organisation_id == invitation.organisation_id:
            return f"You are already a member of {invitation.organisation.display_name}"
        return (
            f"You are already a member of {user.membership.organisation.display_name}. "
            "Leave that organisation before you join another"
        )
    if user.is_staff:
        return "Panel staff accounts cannot join a supplier organisation"
    if user.is_partnership_member:
        return "Partnership accounts cannot join a supplier organisation"
    return None


# Members ---------------------------------------------------------------------------


def remove_member(actor: User, member_id: int) -> None:
    organisation = actor.organisation
    if organisation is None:
        raise NotInTeam(member_id)
    _require_owner(actor, organisation)
    organisation = _lock_organisation(organisation.id)
    member = _member_in(organisation.id, member_id)
    if member.user_id == actor.id:
        raise TeamError("You cannot remove yourself. Use 'Leave this organisation' instead")
    if member.role == OrgRole.OWNER and _owner_count(organisation.id) <= 1:
        raise TeamError("An organisation must keep at least one owner")
    removed = member.user
    audit.record(
        "organisation.member_removed",
        actor=actor,
        obj=organisation,
        data={"user_id": removed.id, "role": member.role, "member_id": member.id},
    )
    _forget_membership(member)
    queue_email(
        removed.email,
        f"You have been removed from {organisation.display_name}",
        "team_member_removed",
        member=removed,
        organisation=organisation,
        remover=actor,
    )


def leave(user: User) -> Organisation:
    organisation = user.organisation
    if organisation is None:
        raise PermissionError("Not in an organisation")
    organisation = _lock_organisation(organisation.id)
    member = _member_in(organisation.id, user.membership.id)
    if member.role == OrgRole.OWNER and _owner_count(organisation.id) <= 1:
        raise TeamError(
            "You are the only owner, so you cannot leave. Make someone else an owner first"
        )
    audit.record(
        "organisation.member_left",
        actor=user,
        obj=organisation,
        data={"user_id": user.id, "role": member.role, "member_id": member.id},
    )
    _forget_membership(member)
    for owner in _owners(organisation.id):
        queue_email(
            owner.email,
            f"{user.name} has left {organisation.display_name}",
            "team_member_left",
            owner=owner,
            member=user,
            organisation=organisation,
        )
    return organisation


def change_role(actor: User, member_id: int, role: str) -> OrganisationMember:
    """Make a member an owner, or an owner a member (never the last owner)."""
    if role not in (OrgRole.OWNER, OrgRole.MEMBER):
        raise TeamError("Choose owner or member", "role")
    organisation = actor.organisation
    if organisation is None:
        raise NotInTeam(member_id)
    _require_owner(actor, organisation)
    organisation = _lock_organisation(organisation.id)
    member = _member_in(organisation.id, member_id)
    if member.role == role:
        return member
    if role == OrgRole.MEMBER and _owner_count(organisation.id) <= 1:
        raise TeamError("An organisation must keep at least one owner", "role")
    previous = member.role
    member.role = role
    db.session.flush()
    audit.record(
        "organisation.member_role_changed",
        actor=actor,
        obj=member,
        data={
            "organisation_id": organisation.id,
            "user_id": member.user_id,
            "from": previous,
            "to": role,
        },
    )
    if member.user_id != actor.id:
        queue_email(
            member.user.email,
            f"Your role in {organisation.display_name} has changed",
            "team_role_changed",
            member=member.user,
            organisation=organisation,
            role=role,
            actor=actor,
        )
    return member


def transfer_ownership(actor: User, member_id: int) -> OrganisationMember:
    """Make another member an owner and step down to member, in one change."""
    organisation = actor.organisation
    if organisation is None:
        raise NotInTeam(member_id)
    _require_owner(actor, organisation)
    organisation = _lock_organisation(organisation.id)
    target = _member_in(organisation.id, member_id)
    if target.user_id == actor.id:
        raise TeamError("Choose someone else to hand ownership to")
    mine = _member_in(organisation.id, actor.membership.id)
    target.role = OrgRole.OWNER
    mine.role = OrgRole.MEMBER
    db.session.flush()
    audit.record(
        "organisation.ownership_transferred",
        actor=actor,
        obj=organisation,
        data={"from_user_id": actor.id, "to_user_id": target.user_id},
    )
    queue_email(
        target.user.email,
        f"You are now an owner of {organisation.display_name}",
        "team_ownership_transferred",
        member=target.user,
        organisation=organisation,
        actor=actor,
        link=accounts.external_url("teams.team"),
    )
    return target
