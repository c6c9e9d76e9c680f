"""Administration of accounts and partnerships.

Finding people, inviting panel staff, changing staff roles, deactivating and reactivating
accounts, approving or refusing partnership accounts, and keeping the list of local
safeguarding partnerships. Every change is audited; people hear about the changes that
concern them by e-mail. Nothing here commits.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import exists, func, or_, select
from sqlalchemy.orm import selectinload

from portal import audit
from portal.extensions import db
from portal.mail import queue_email
from portal.models import (
    OrganisationMember,
    Partnership,
    PartnershipStatus,
    StaffRole,
    User,
    UserRole,
    utcnow,
)
from portal.passwords import hash_password
from portal.services import accounts
from portal.services.teams import TeamError, normalise_email
from portal.tokens import ExpiredToken, InvalidToken, fingerprint, make_token, read_token

STAFF_INVITE_PURPOSE = "staff-invite"
STAFF_INVITE_MAX_AGE = 7 * 24 * 3600
STAFF_ROLES = (StaffRole.ADMIN, StaffRole.COMMISSIONER, StaffRole.EVALUATOR)
PAGE_SIZE = 25
MAX_PAGE = 10_000
MAX_QUERY_LENGTH = 200
MAX_NAME_LENGTH = 200
MAX_REASON_LENGTH = 2000
MAX_AREAS_LENGTH = 4000

ROLE_FILTERS = {
    "admin": "Admin",
    "commissioner": "Commissioner",
    "evaluator": "Evaluator",
    "supplier": "Supplier",
    "partnership": "Partnership",
}
STATUS_FILTERS = {
    "active": "Active",
    "deactivated": "Deactivated",
    "unverified": "Email not verified",
    "invited": "Invited, no password yet",
    "pending": "Waiting for partnership approval",
}


class AdminError(Exception):
    """The change is refused; `message` is for the admin, next to `field` if set."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


class NotFound(LookupError):
    pass


class StaffInvitationInvalid(Exception):
    def __init__(self, expired: bool = False):
        super().__init__("expired" if expired else "invalid")
        self.expired = expired


def _email(value: str) -> str:
    try:
        return normalise_email(value)
    except TeamError as error:
        raise AdminError(error.message, "email") from None


def _lock_user(user_id: int) -> User:
    user = db.session.execute(
        select(User)
        .where(User.id == user_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()
    if user is None:
        raise NotFound(user_id)
    return user


def _active_admin_ids(lock: bool = True) -> set[int]:
    """Ids of active admins. Locks the admin role rows, so two admins removing each
    other's role at the same moment cannot leave the service without one.

    Lock order, everywhere: these admin role rows first, then a user row. (Taking a user
    row first deadlocks on PostgreSQL: a new role row's foreign key to the acting admin
    needs a share lock on that admin's row, which the other transaction may hold.)"""
    rows = select(UserRole.user_id).where(UserRole.role == StaffRole.ADMIN)
    if lock:
        rows = rows.with_for_update()
    ids = set(db.session.execute(rows).scalars())
    if not ids:
        return set()
    return set(
        db.session.execute(
            select(User.id).where(User.id.in_(ids), User.deactivated_at.is_(None))
        ).scalars()
    )


# Finding people ---------------------------------------------------------------------


@dataclass
class UserPage:
    items: list[User]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def search_users(
    query: str = "", role: str = "", status: str = "", page: int = 1, per_page: int = PAGE_SIZE
) -> UserPage:
    """One page of people matching the name or e-mail text, role and status. Two queries
    (count and page), whatever the size of the page."""
    conditions = []
    query = (query or "").strip()[:MAX_QUERY_LENGTH]
    if query:
        pattern = f"%{_escape_like(query.lower())}%"
        conditions.append(
            or_(
                func.lower(User.name).like(pattern, escape="\\"),
                func.lower(User.email).like(pattern, escape="\\"),
            )
        )
    if role in (StaffRole.ADMIN, StaffRole.COMMISSIONER, StaffRole.EVALUATOR):
        conditions.append(
            exists().where(UserRole.user_id == User.id, UserRole.role == role)
        )
    elif role == "supplier":
        conditions.append(exists().where(OrganisationMember.user_id == User.id))
    elif role == "partnership":
        conditions.append(User.partnership_id.is_not(None))
    if status == "active":
        conditions.append(User.deactivated_at.is_(None))
    elif status == "deactivated":
        conditions.append(User.deactivated_at.is_not(None))
    elif status == "unverified":
        conditions.append(User.email_verified_at.is_(None))
    elif status == "invited":
        conditions.append(User.password_hash.is_(None))
    elif status == "pending":
        conditions.append(User.partnership_status == PartnershipStatus.PENDING)

    total = db.session.execute(
        select(func.count()).select_from(User).where(*conditions)
    ).scalar_one()
    pages = max(1, math.ceil(total / per_page))
    page = min(max(1, page), pages, MAX_PAGE)
    items = list(
        db.session.execute(
            select(User)
            .where(*conditions)
            .options(selectinload(User.partnership))
            .order_by(func.lower(User.name), User.id)
            .limit(per_page)
            .offset((page - 1) * per_page)
        ).scalars()
    )
    return UserPage(items, total, page, per_page)


def get_user(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound(user_id)
    return user


def pending_partnership_members(limit: int = 200) -> list[User]:
    return list(
        db.session.execute(
            select(User)
            .where(User.partnership_status == PartnershipStatus.PENDING)
            .options(selectinload(User.partnership))
            .order_by(User.created_at, User.id)
            .limit(limit)
        ).scalars()
    )


def account_status(user: User) -> str:
    if user.deactivated_at is not None:
        return "Deactivated"
    if user.password_hash is None:
        return "Invited"
    if user.email_verified_at is None:
        return "Email not verified"
    if user.partnership_status == PartnershipStatus.PENDING:
        return "Waiting for approval"
    if user.partnership_status == PartnershipStatus.REFUSED:
        return "Refused"
    return "Active"


# Staff invitations -----------------------------------------------------------------


def _clean_roles(roles: Iterable[str]) -> list[str]:
    wanted = sorted(set(roles or []))
    unknown = [r for r in wanted if r not in STAFF_ROLES]
    if unknown:
        raise AdminError("Choose roles from the list", "roles")
    return wanted


def _refuse_staff_roles_for(user: User) -> None:
    # A supplier or a partnership member who could also score bids would be a conflict
    # of interest built into the accounts: staff use separate accounts.
    if user.membership is not None:
        raise AdminError(
            "This account belongs to a supplier organisation, so it cannot have panel staff "
            "roles. Panel staff need their own account",
            "roles",
        )
    if user.partnership_id is not None:
        raise AdminError(
            "This account belongs to a local safeguarding partnership, so it cannot have "
            "panel staff roles. Panel staff need their own account",
            "roles",
        )


def staff_invitation_token(user: User) -> str:
    # Bound to the (empty) password: once a password is set, the link stops working.
    return make_token(
        STAFF_INVITE_PURPOSE, {"uid": user.id, "pw": fingerprint(user.password_hash)}
    )


def _send_staff_invitation(actor: User, user: User) -> None:
    queue_email(
        user.email,
        "You have been invited to the Reviewer Pool Portal",
        "staff_invitation",
        user=user,
        inviter=actor,
        roles=sorted(user.roles),
        link=accounts.external_url("staff_invite.accept", token=staff_invitation_token(user)),
        days=STAFF_INVITE_MAX_AGE // 86400,
    )


def invite_staff(actor: User, email: str, name: str, roles: Iterable[str]) -> User:
    """A new panel staff account with roles and no password; the e-mailed link lets the
    person choose one (then they sign in and set up their authenticator app)."""
    address = _email(email)
    name = (name or "").strip()
    if not name:
        raise AdminError("Enter the person's full name", "name")
    if len(name) > MAX_NAME_LENGTH:
        raise AdminError(f"Name must be {MAX_NAME_LENGTH} characters or fewer", "name")
    roles = _clean_roles(roles)
    if not roles:
        raise AdminError("Select at least one role", "roles")
    existing = db.session.execute(
        select(User).where(func.lower(User.email) == address)
    ).scalar_one_or_none()
    if existing is not None:
        raise AdminError(
            "An account already uses this email address. Find it and change its roles "
            "instead",
            "email",
        )
    user = User(email=address, name=name, password_hash=None)
    db.session.add(user)
    db.session.flush()
    for role in roles:
        db.session.add(UserRole(user_id=user.id, role=role, granted_by_id=actor.id))
    db.session.flush()
    db.session.expire(user, ["staff_roles"])
    audit.record(
        "admin.staff_invited", actor=actor, obj=user, data={"email": address, "roles": roles}
    )
    _send_staff_invitation(actor, user)
    return user


def resend_staff_invitation(actor: User, user_id: int) -> User:
    user = _lock_user(user_id)
    if user.password_hash is not None or not user.roles:
        raise AdminError("This person has already set a password")
    if user.deactivated_at is not None:
        raise AdminError("Reactivate the account before you send a new invitation")
    audit.record("admin.staff_invitation_resent", actor=actor, obj=user)
    _send_staff_invitation(actor, user)
    return user


def staff_invitation_user(token: str) -> User:
    """The invited person behind a link, or StaffInvitationInvalid."""
    try:
        payload = read_token(STAFF_INVITE_PURPOSE, token or "", STAFF_INVITE_MAX_AGE)
    except ExpiredToken:
        raise StaffInvitationInvalid(expired=True) from None
    except InvalidToken:
        raise StaffInvitationInvalid() from None
    if not isinstance(payload, dict):
        raise StaffInvitationInvalid()
    user = db.session.get(User, payload.get("uid"))
    if (
        user is None
        or user.password_hash is not None
        or user.deactivated_at is not None
        or payload.get("pw") != fingerprint(user.password_hash)
    ):
        raise StaffInvitationInvalid()
    return user


def accept_staff_invitation(token: str, password: str, now: datetime | None = None) -> User:
    now = now or utcnow()
    user = staff_invitation_user(token)
    user = _lock_user(user.id)
    if user.password_hash is not None:  # the same link used twice at once
        raise StaffInvitationInvalid()
    problem = accounts.password_problems(
        password or "", [user.email, user.name, *user.email.split("@")]
    )
    if problem:
        raise AdminError(problem, "password")
    user.password_hash = hash_password(password)
    user.password_changed_at = now
    user.email_verified_at = user.email_verified_at or now  # the link reached the address
    accounts.end_sessions(user)
    audit.record("auth.staff_invitation_accepted", actor=user, obj=user)
    return user


# Roles ----------------------------------------------------------------------------------


def change_roles(actor: User, user_id: int, roles: Iterable[str]) -> User:
    roles = _clean_roles(roles)
    # Any change without the admin role might remove it: take the admin lock first.
    admins = _active_admin_ids() if StaffRole.ADMIN not in roles else set()
    user = _lock_user(user_id)
    before = sorted(user.roles)
    if roles == before:
        return user
    if roles:
        _refuse_staff_roles_for(user)
    removes_admin = StaffRole.ADMIN in before and StaffRole.ADMIN not in roles
    if removes_admin and user.deactivated_at is None and admins <= {user.id}:
        who = "your own" if user.id == actor.id else "their"
        raise AdminError(
            f"You cannot remove {who} admin role: there must always be another active "
            "admin. Make someone else an admin first",
            "roles",
        )
    for role_row in list(user.staff_roles):
        if role_row.role not in roles:
            user.staff_roles.remove(role_row)
    for role in roles:
        if role not in before:
            user.staff_roles.append(UserRole(role=role, granted_by_id=actor.id))
    db.session.flush()
    added = sorted(set(roles) - set(before))
    removed = sorted(set(before) - set(roles))
    audit.record(
        "admin.roles_changed",
        actor=actor,
        obj=user,
        data={"from": before, "to": roles, "added": added, "removed": removed},
    )
    if user.password_hash is not None and user.deactivated_at is None:
        queue_email(
            user.email,
            "Your roles in the Reviewer Pool Portal have changed",
            "roles_changed",
            user=user,
            roles=roles,
            added=added,
            removed=removed,
            needs_totp=bool(roles) and user.totp_enabled_at is None,
            sign_in_url=accounts.external_url("auth.sign_in"),
        )
    return user


# Deactivation ---------------------------------------------------------------------------


def deactivate(actor: User, user_id: int, now: datetime | None = None) -> User:
    """The account can no longer sign in, and its sessions end at once."""
    now = now or utcnow()
    if user_id == actor.id:
        raise AdminError("You cannot deactivate your own account")
    admins = _active_admin_ids()  # lock order: admin role rows, then the user row
    user = _lock_user(user_id)
    if user.deactivated_at is not None:
        return user
    if user.is_admin and admins <= {user.id}:
        raise AdminError("You cannot deactivate the last active admin")
    user.deactivated_at = now
    accounts.end_sessions(user)  # every session of the account ends at once
    audit.record("admin.user_deactivated", actor=actor, obj=user, data={"email": user.email})
    queue_email(
        user.email,
        "Your Reviewer Pool Portal account has been deactivated",
        "account_deactivated",
        user=user,
    )
    return user


def reactivate(actor: User, user_id: int) -> User:
    user = _lock_user(user_id)
    if user.deactivated_at is None:
        return user
    user.deactivated_at = None
    user.failed_login_count = 0
    user.locked_until = None
    audit.record("admin.user_reactivated", actor=actor, obj=user, data={"email": user.email})
    queue_email(
        user.email,
        "Your Reviewer Pool Portal account is active again",
        "account_reactivated",
        user=user,
        sign_in_url=accounts.external_url("auth.sign_in"),
    )
    return user


def reset_second_factor(actor: User, user_id: int) -> User:
    """Clear a lost authenticator: the person sets up a new one at their next sign-in
    (their sessions end now)."""
    user = _lock_user(user_id)
    if user.totp_enabled_at is None and not user.totp_secret:
        raise AdminError("This person has not set up an authenticator app")
    accounts.reset_second_factor(actor, user)
    queue_email(
        user.email,
        "Your authenticator app has been reset",
        "second_factor_reset",
        user=user,
        sign_in_url=accounts.external_url("auth.sign_in"),
    )
    return user


# Partnership accounts -------------------------------------------------------------------


def _pending_partnership_member(user_id: int) -> User:
    user = _lock_user(user_id)
    if user.partnership_id is None:
        raise NotFound(user_id)
    if user.partnership_status != PartnershipStatus.PENDING:
        raise AdminError("This account has already been decided")
    return user


def approve_partnership_member(actor: User, user_id: int, now: datetime | None = None) -> User:
    now = now or utcnow()
    user = _pending_partnership_member(user_id)
    user.partnership_status = PartnershipStatus.APPROVED
    user.partnership_decided_at = now
    user.partnership_refusal_reason = None
    audit.record(
        "admin.partnership_member_approved",
        actor=actor,
        obj=user,
        data={"partnership_id": user.partnership_id},
    )
    queue_email(
        user.email,
        "Your partnership account has been approved",
        "partnership_approved",
        user=user,
        partnership=user.partnership,
        sign_in_url=accounts.external_url("auth.sign_in"),
    )
    return user


def refuse_partnership_member(
    actor: User, user_id: int, reason: str, now: datetime | None = None
) -> User:
    now = now or utcnow()
    reason = (reason or "").strip()
    if not reason:
        raise AdminError("Enter the reason for refusing the account", "reason")
    if len(reason) > MAX_REASON_LENGTH:
        raise AdminError(f"Reason must be {MAX_REASON_LENGTH} characters or fewer", "reason")
    user = _pending_partnership_member(user_id)
    user.partnership_status = PartnershipStatus.REFUSED
    user.partnership_decided_at = now
    user.partnership_refusal_reason = reason
    audit.record(
        "admin.partnership_member_refused",
        actor=actor,
        obj=user,
        data={"partnership_id": user.partnership_id, "reason": reason},
    )
    queue_email(
        user.email,
        "Your partnership account has not been approved",
        "partnership_refused",
        user=user,
        partnership=user.partnership,
        reason=reason,
    )
    return user


# Partnerships ---------------------------------------------------------------------------


def list_partnerships(limit: int = 1000) -> list[tuple[Partnership, int, int]]:
    """Each partnership with its counts of approved and pending members (one query)."""
    approved = func.count(User.id).filter(User.partnership_status == PartnershipStatus.APPROVED)
    pending = func.count(User.id).filter(User.partnership_status == PartnershipStatus.PENDING)
    rows = db.session.execute(
        select(Partnership, approved, pending)
        .outerjoin(User, User.partnership_id == Partnership.id)
        .group_by(Partnership.id)
        .order_by(Partnership.is_active.desc(), func.lower(Partnership.name))
        .limit(limit)
    ).all()
    return [(p, a, n) for p, a, n in rows]


def get_partnership(partnership_id: int) -> Partnership:
    partnership = db.session.get(Partnership, partnership_id)
    if partnership is None:
        raise NotFound(partnership_id)
    return partnership


def clean_areas(text: str) -> str:
    """One local authority area a line, trimmed, without blanks or repeats."""
    seen: list[str] = []
    for line in (text or "").replace(";", "\n").splitlines():
        area = " ".join(line.split())
        if area and area.lower() not in {s.lower() for s in seen}:
            seen.append(area)
    return "\n".join(seen)


def _partnership_fields(name: str, areas: str, current_id: int | None = None) -> tuple[str, str]:
    name = " ".join((name or "").split())
    if not name:
        raise AdminError("Enter the partnership's name", "name")
    if len(name) > MAX_NAME_LENGTH:
        raise AdminError(f"Name must be {MAX_NAME_LENGTH} characters or fewer", "name")
    areas = clean_areas(areas)
    if not areas:
        raise AdminError("Enter at least one local authority area", "areas")
    if len(areas) > MAX_AREAS_LENGTH:
        raise AdminError(f"Areas must be {MAX_AREAS_LENGTH} characters or fewer", "areas")
    clash = db.session.execute(
        select(Partnership.id).where(
            func.lower(Partnership.name) == name.lower(),
            Partnership.id != (current_id or 0),
        )
    ).first()
    if clash:
        raise AdminError("A partnership with this name already exists", "name")
    return name, areas


def create_partnership(actor: User | None, name: str, areas: str) -> Partnership:
    name, areas = _partnership_fields(name, areas)
    partnership = Partnership(name=name, local_authority_areas=areas, is_active=True)
    db.session.add(partnership)
    db.session.flush()
    audit.record(
        "admin.partnership_created",
        actor=actor,
        obj=partnership,
        data={"name": name, "areas": areas.split("\n")},
    )
    return partnership


def update_partnership(actor: User, partnership_id: int, name: str, areas: str) -> Partnership:
    partnership = get_partnership(partnership_id)
    name, areas = _partnership_fields(name, areas, partnership.id)
    before = {"name": partnership.name, "areas": partnership.areas}
    partnership.name = name
    partnership.local_authority_areas = areas
    after = {"name": name, "areas": areas.split("\n")}
    if before == after:
        return partnership
    db.session.flush()
    audit.record(
        "admin.partnership_updated", actor=actor, obj=partnership,
        data={"from": before, "to": after},
    )
    return partnership


def set_partnership_active(actor: User, partnership_id: int, active: bool) -> Partnership:
    """A deactivated partnership no longer appears when people register; its existing
    accounts keep working."""
    partnership = get_partnership(partnership_id)
    if partnership.is_active == active:
        return partnership
    partnership.is_active = active
    db.session.flush()
    audit.record(
        "admin.partnership_reactivated" if active else "admin.partnership_deactivated",
        actor=actor,
        obj=partnership,
        data={"name": partnership.name},
    )
    return partnership


# The first admin (flask create-admin) -----------------------------------------------


def create_admin(email: str, name: str | None, password: str) -> tuple[User, bool]:
    """Create a verified admin, or make an existing account one (its password is set to
    the one given). Returns (user, created)."""
    address = _email(email)
    user = db.session.execute(
        select(User).where(func.lower(User.email) == address).with_for_update()
    ).scalar_one_or_none()
    name = " ".join((name or "").split()) or (user.name if user else address.split("@")[0])
    if len(name) > MAX_NAME_LENGTH:
        raise AdminError(f"Name must be {MAX_NAME_LENGTH} characters or fewer", "name")
    problem = accounts.password_problems(password or "", [address, name, *address.split("@")])
    if problem:
        raise AdminError(problem, "password")
    now = utcnow()
    created = user is None
    if user is None:
        user = User(email=address, name=name)
        db.session.add(user)
    else:
        _refuse_staff_roles_for(user)
        user.name = name
        user.deactivated_at = None
    user.password_hash = hash_password(password)
    user.password_changed_at = now
    user.email_verified_at = user.email_verified_at or now
    user.failed_login_count = 0
    user.locked_until = None
    accounts.end_sessions(user)
    db.session.flush()
    if not user.is_admin:
        user.staff_roles.append(UserRole(role=StaffRole.ADMIN))
    db.session.flush()
    audit.record(
        "admin.created_by_command",
        obj=user,
        data={"email": address, "created": created},
    )
    return user, created
