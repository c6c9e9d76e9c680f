"""Accounts: registration, e-mail verification, signing in and out, passwords, e-mail
changes and the staff second factor (TOTP and recovery codes).

One function per use case. Each takes what it needs (never the request), writes its audit
events, queues its e-mail, flushes, and leaves the commit to the caller.

Functions other areas may reuse:
- create_user(...) and send_verification(user): invitation acceptance (teams).
- end_sessions(user): deactivation (admin).
- reset_second_factor(actor, user): an admin clearing a lost authenticator.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

import pyotp
from email_validator import EmailNotValidError, validate_email
from flask import current_app, url_for
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from portal import audit
from portal.extensions import db
from portal.mail import queue_email
from portal.models import (
    Organisation,
    OrganisationMember,
    OrgRole,
    Partnership,
    PartnershipStatus,
    RecoveryCode,
    User,
)
from portal.models.base import utcnow
from portal.passwords import check_strength, hash_password, needs_rehash, verify_password
from portal.tokens import ExpiredToken, InvalidToken, fingerprint, make_token, read_token

VERIFY_EMAIL_PURPOSE = "verify-email"
VERIFY_EMAIL_MAX_AGE = 24 * 3600
RESET_PASSWORD_PURPOSE = "reset-password"  # noqa: S105 - a token purpose, not a secret
RESET_PASSWORD_MAX_AGE = 3600
CHANGE_EMAIL_PURPOSE = "change-email"
CHANGE_EMAIL_MAX_AGE = 24 * 3600

RECOVERY_CODE_COUNT = 10
TOTP_ISSUER = "Reviewer Pool Portal"
# Codes from the previous and the next 30-second step are accepted (clock drift).
TOTP_VALID_WINDOW = 1


class AccountError(Exception):
    """A use case refused: the message is for the person (a form error)."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


class EmailTaken(AccountError):
    pass


class LinkInvalid(Exception):
    """A link from an e-mail that is forged, expired, used or overtaken by a change."""

    def __init__(self, expired: bool = False):
        super().__init__("expired" if expired else "invalid")
        self.expired = expired


# --------------------------------------------------------------------------- helpers


def normalise_email(email: str) -> str:
    """Trimmed and lower case: how addresses are stored and compared."""
    return (email or "").strip().lower()


def valid_email(email: str) -> str:
    """Check an address's syntax (no DNS) and return it normalised, or raise AccountError."""
    try:
        checked = validate_email(email.strip(), check_deliverability=False)
    except EmailNotValidError:
        raise AccountError(
            "Enter an email address in the correct format, like name@example.com", "email"
        ) from None
    return normalise_email(checked.normalized)


def find_user_by_email(email: str, *, for_update: bool = False) -> User | None:
    query = select(User).where(func.lower(User.email) == normalise_email(email))
    if for_update:
        # PostgreSQL: SELECT ... FOR UPDATE serialises concurrent attempts on one account.
        # SQLite ignores it; its BEGIN IMMEDIATE already serialises every transaction.
        query = query.with_for_update().execution_options(populate_existing=True)
    return db.session.execute(query).scalar_one_or_none()


def external_url(endpoint: str, **values) -> str:
    """An absolute link for an e-mail. PUBLIC_BASE_URL, when set, decides the host, so a
    forged Host header can never redirect a reset link."""
    base = current_app.config.get("PUBLIC_BASE_URL")
    if base:
        return base.rstrip("/") + url_for(endpoint, **values)
    return url_for(endpoint, _external=True, **values)


def password_problems(password: str, user_inputs: list[str] | None = None) -> str | None:
    """One error message for a weak password, or None when it is strong enough."""
    result = check_strength(password, user_inputs)
    return None if result.ok else result.message


def _check_new_password(password: str, user_inputs: list[str]) -> None:
    problem = password_problems(password, user_inputs)
    if problem:
        raise AccountError(problem, "password")


def _set_password(user: User, password: str, now: datetime) -> None:
    user.password_hash = hash_password(password)
    user.password_changed_at = now
    # Every session of this account ends, and every reset link made before stops working.
    user.rotate_session_token()


def end_sessions(user: User) -> None:
    """Sign the account out everywhere (its session cookies stop loading it)."""
    user.rotate_session_token()


# --------------------------------------------------------------------- registration


def create_user(
    *,
    email: str,
    name: str,
    password: str,
    kind: str,
    verified: bool = False,
    actor: User | None = None,
    data: dict | None = None,
) -> User:
    """A new account (no organisation, no partnership): audited `auth.registered`.
    Raises EmailTaken if the address is in use, AccountError for a weak password.

    The password is hashed before the address is looked up, so that an address in use
    costs the same Argon2 work as a new one: otherwise registering would answer about ten
    times faster for an address that has an account, telling anyone who times it."""
    email = valid_email(email)
    name = name.strip()
    _check_new_password(password, [email, name, *email.split("@")])
    password_hash = hash_password(password)
    if find_user_by_email(email) is not None:
        raise EmailTaken("An account already uses this email address", "email")
    now = utcnow()
    user = User(
        email=email,
        name=name,
        password_hash=password_hash,
        password_changed_at=now,
        email_verified_at=now if verified else None,
    )
    try:
        with db.session.begin_nested():
            db.session.add(user)
            db.session.flush()
    except IntegrityError:
        # Someone registered the same address a moment ago.
        raise EmailTaken("An account already uses this email address", "email") from None
    audit.record(
        "auth.registered",
        actor=actor or user,
        obj=user,
        data={"kind": kind, "email": email, **(data or {})},
    )
    return user


def _account_exists_notice(email: str) -> None:
    """Someone tried to register with an address that has an account: tell its owner
    instead of telling the person at the keyboard (who may not be the owner)."""
    queue_email(
        email,
        "You already have an account",
        "account_exists",
        sign_in_url=external_url("auth.sign_in"),
        reset_url=external_url("auth.forgotten_password"),
    )


def register_supplier(
    *, email: str, name: str, password: str, organisation_name: str
) -> User | None:
    """A supplier with a new organisation, owned by them. Returns None (and e-mails the
    owner of the address) when the address already has an account."""
    try:
        user = create_user(email=email, name=name, password=password, kind="supplier",
                           data={"organisation_name": organisation_name.strip()})
    except EmailTaken:
        _account_exists_notice(valid_email(email))
        return None
    organisation = Organisation(legal_name=organisation_name.strip())
    db.session.add(organisation)
    db.session.add(OrganisationMember(organisation=organisation, user=user, role=OrgRole.OWNER))
    db.session.flush()
    audit.record(
        "organisation.created",
        actor=user,
        obj=organisation,
        data={"legal_name": organisation.legal_name, "owner_id": user.id},
    )
    send_verification(user)
    return user


def active_partnerships() -> list[Partnership]:
    return list(
        db.session.execute(
            select(Partnership).where(Partnership.is_active.is_(True)).order_by(Partnership.name)
        ).scalars()
    )


def register_partnership_member(
    *, email: str, name: str, password: str, partnership_id: int
) -> User | None:
    """A partnership member, pending a panel admin's approval."""
    partnership = db.session.get(Partnership, partnership_id)
    if partnership is None or not partnership.is_active:
        raise AccountError("Select your safeguarding partnership", "partnership_id")
    try:
        user = create_user(email=email, name=name, password=password, kind="partnership",
                           data={"partnership_id": partnership.id})
    except EmailTaken:
        _account_exists_notice(valid_email(email))
        return None
    user.partnership = partnership
    user.partnership_status = PartnershipStatus.PENDING
    db.session.flush()
    send_verification(user)
    return user


# ------------------------------------------------------------------ e-mail verification


def verification_token(user: User) -> str:
    # Bound to the address: after an e-mail change an old link verifies nothing.
    return make_token(VERIFY_EMAIL_PURPOSE, {"u": user.id, "e": user.email})


def send_verification(user: User) -> None:
    queue_email(
        user.email,
        "Confirm your email address",
        "verify_email",
        name=user.name,
        link=external_url("auth.verify_email", token=verification_token(user)),
        hours=VERIFY_EMAIL_MAX_AGE // 3600,
    )


def _read(purpose: str, token: str, max_age: int) -> dict:
    try:
        payload = read_token(purpose, token, max_age)
    except ExpiredToken:
        raise LinkInvalid(expired=True) from None
    except InvalidToken:
        raise LinkInvalid() from None
    if not isinstance(payload, dict):
        raise LinkInvalid()
    return payload


def user_for_verification(token: str) -> User:
    """The account a verification link is for (the link is not used up by looking)."""
    payload = _read(VERIFY_EMAIL_PURPOSE, token, VERIFY_EMAIL_MAX_AGE)
    user = db.session.get(User, payload.get("u"))
    if user is None or user.email != payload.get("e") or not user.is_active:
        raise LinkInvalid()
    return user


def verify_email(token: str) -> User:
    """Confirm the address. A second use of the link is harmless and changes nothing."""
    user = user_for_verification(token)
    if user.email_verified_at is None:
        user.email_verified_at = utcnow()
        audit.record("auth.email_verified", actor=user, obj=user, data={"email": user.email})
    return user


def resend_verification(email: str) -> None:
    """Send the link again, if there is an unverified account; say nothing either way
    (and take as long: see _same_work_as_sending)."""
    user = find_user_by_email(email)
    if user is not None and user.email_verified_at is None and user.is_active:
        send_verification(user)
        audit.record("auth.verification_resent", actor=user, obj=user)
        return
    _same_work_as_sending(
        normalise_email(email),
        "Confirm your email address",
        "verify_email",
        name="",
        link=external_url("auth.verify_email",
                          token=make_token(VERIFY_EMAIL_PURPOSE, {"u": 0, "e": ""})),
        hours=VERIFY_EMAIL_MAX_AGE // 3600,
    )
    audit.record("auth.verification_resent", data={"reason": "no_unverified_account"})


def _same_work_as_sending(recipient: str, subject: str, template: str, **context) -> None:
    """For an address that gets no e-mail (no account, or none that may have one): make
    the token and render the message the other answer sends, then drop it unsent, so that
    both answers take about as long. Rendering is most of the time the known path spends
    beyond the lookup; what is left is one outbox INSERT (a few ms at most on SQLite:
    bench/bench_account_timing.py). Not sending anything is the point: no row is kept."""
    db.session.expunge(queue_email(recipient, subject, template, **context))


# ------------------------------------------------------------------------- signing in


class SignInStatus(StrEnum):
    OK = "ok"
    INVALID = "invalid"  # unknown address or wrong password: the same answer
    LOCKED = "locked"
    UNVERIFIED = "unverified"
    DEACTIVATED = "deactivated"


@dataclass
class SignInResult:
    status: SignInStatus
    user: User | None = None


def _lockout() -> tuple[int, timedelta]:
    config = current_app.config
    return config.get("LOCKOUT_THRESHOLD", 5), timedelta(minutes=config.get("LOCKOUT_MINUTES", 15))


def record_failed_attempt(user: User, now: datetime, what: str = "password") -> bool:
    """Count a failed attempt on a row-locked user; lock the account at the threshold.
    Returns True when this attempt locked it."""
    threshold, duration = _lockout()
    user.failed_login_count = (user.failed_login_count or 0) + 1
    audit.record(
        "auth.sign_in_failed",
        actor=user,
        obj=user,
        data={"reason": what, "failed_attempts": user.failed_login_count},
    )
    if user.failed_login_count >= threshold:
        user.locked_until = now + duration
        user.failed_login_count = 0
        audit.record(
            "auth.locked",
            actor=user,
            obj=user,
            data={"until": user.locked_until.isoformat(), "after": what},
        )
        return True
    return False


def _clear_failures(user: User) -> None:
    user.failed_login_count = 0
    user.locked_until = None


def sign_in(email: str, password: str) -> SignInResult:
    """Check an address and password. Always verifies a hash (a dummy one for unknown
    addresses) so the answer takes as long either way. The caller commits in every case,
    so that failed attempts are counted."""
    now = utcnow()
    user = find_user_by_email(email, for_update=True)
    if user is None:
        verify_password(None, password)
        audit.record("auth.sign_in_failed", data={"reason": "unknown_account"})
        return SignInResult(SignInStatus.INVALID)

    correct = verify_password(user.password_hash, password)
    if user.is_locked(now):
        # No counting while locked, and no hint whether the password was right.
        return SignInResult(SignInStatus.LOCKED, user)
    if user.locked_until is not None:
        _clear_failures(user)  # the lock has run out
    if not correct:
        locked = record_failed_attempt(user, now)
        return SignInResult(SignInStatus.LOCKED if locked else SignInStatus.INVALID, user)

    _clear_failures(user)
    if not user.is_active:
        return SignInResult(SignInStatus.DEACTIVATED, user)
    if user.email_verified_at is None:
        return SignInResult(SignInStatus.UNVERIFIED, user)
    if needs_rehash(user.password_hash):
        # Hash parameters changed since this hash was made: upgrade it now we have the
        # password (the password has not changed, so password_changed_at stays).
        user.password_hash = hash_password(password)
        audit.record("auth.password_rehashed", actor=user, obj=user)
    audit.record(
        "auth.signed_in",
        actor=user,
        obj=user,
        data={"second_factor": "required" if user.is_staff else "not_required"},
    )
    return SignInResult(SignInStatus.OK, user)


def sign_out(user: User) -> None:
    """End this session and any copy of its cookie."""
    end_sessions(user)
    audit.record("auth.signed_out", actor=user, obj=user)


# --------------------------------------------------------------------------- passwords


def reset_token(user: User) -> str:
    changed = user.password_changed_at.isoformat() if user.password_changed_at else None
    return make_token(
        RESET_PASSWORD_PURPOSE,
        {"u": user.id, "f": fingerprint(user.password_hash), "c": changed},
    )


def request_password_reset(email: str) -> None:
    """Send a reset link if the address has an active account; the caller says the same
    thing either way, and it takes as long: without an account the same token, e-mail
    and audit event are made, and the e-mail is dropped (see _same_work_as_sending)."""
    user = find_user_by_email(email)
    if user is None or not user.is_active:
        _same_work_as_sending(
            normalise_email(email),
            "Reset your password",
            "reset_password",
            name="",
            link=external_url("auth.reset_password", token=make_token(
                RESET_PASSWORD_PURPOSE, {"u": 0, "f": fingerprint(None), "c": None})),
            minutes=RESET_PASSWORD_MAX_AGE // 60,
        )
        audit.record("auth.password_reset_requested", data={"reason": "no_active_account"})
        return
    queue_email(
        user.email,
        "Reset your password",
        "reset_password",
        name=user.name,
        link=external_url("auth.reset_password", token=reset_token(user)),
        minutes=RESET_PASSWORD_MAX_AGE // 60,
    )
    audit.record("auth.password_reset_requested", actor=user, obj=user)


def user_for_reset(token: str, *, for_update: bool = False) -> User:
    """The account a reset link is for. The link dies with any password change (its
    fingerprint of the hash no longer matches), so it works once."""
    payload = _read(RESET_PASSWORD_PURPOSE, token, RESET_PASSWORD_MAX_AGE)
    user_id = payload.get("u")
    user = _lock_user_id(user_id) if for_update else db.session.get(User, user_id)
    if user is None or not user.is_active:
        raise LinkInvalid()
    changed = user.password_changed_at.isoformat() if user.password_changed_at else None
    if not hmac.compare_digest(payload.get("f", ""), fingerprint(user.password_hash)):
        raise LinkInvalid()
    if payload.get("c") != changed:
        raise LinkInvalid()
    return user


def reset_password(token: str, new_password: str) -> User:
    # Checked under the row lock: two tabs submitting one link, one winner.
    user = user_for_reset(token, for_update=True)
    _check_new_password(new_password, [user.email, user.name])
    now = utcnow()
    _set_password(user, new_password, now)
    _clear_failures(user)
    data = {"via": "reset_link"}
    if user.email_verified_at is None:
        # The link reached the inbox, which proves the address as well as a verification.
        user.email_verified_at = now
        data["email_verified"] = True
    audit.record("auth.password_changed", actor=user, obj=user, data=data)
    _password_changed_notice(user)
    return user


def _password_changed_notice(user: User) -> None:
    queue_email(
        user.email,
        "Your password has been changed",
        "password_changed",
        name=user.name,
        reset_url=external_url("auth.forgotten_password"),
    )


def _check_current_password(user: User, password: str) -> None:
    user = _lock_user(user)
    if not verify_password(user.password_hash, password):
        record_failed_attempt(user, utcnow(), what="current_password")
        raise AccountError("Your current password is not correct", "current_password")


def change_password(user: User, current_password: str, new_password: str) -> None:
    """Needs the current password. Ends every other session (the token rotates); the
    route signs this one in again with the new token."""
    _check_current_password(user, current_password)
    if current_password == new_password:
        raise AccountError("Your new password must be different from your current one",
                           "password")
    _check_new_password(new_password, [user.email, user.name])
    _set_password(user, new_password, utcnow())
    _clear_failures(user)
    audit.record("auth.password_changed", actor=user, obj=user, data={"via": "account"})
    _password_changed_notice(user)


# ----------------------------------------------------------------------- e-mail change


def request_email_change(user: User, password: str, new_email: str) -> None:
    """Needs the password. The new address gets a confirmation link; the account keeps the
    old address until it is followed."""
    _check_current_password(user, password)
    new_email = valid_email(new_email)
    if new_email == user.email:
        raise AccountError("Enter a different email address from your current one", "email")
    # Whether or not the new address has an account, the same work: a token, an e-mail
    # to the new address, the notice to the current one and an audit event; so the
    # answer (the same page) takes as long either way.
    token = make_token(
        CHANGE_EMAIL_PURPOSE, {"u": user.id, "e": new_email, "o": fingerprint(user.email)}
    )
    in_use = find_user_by_email(new_email) is not None
    if in_use:
        # Tell the owner of that address, not the person at the keyboard; no link.
        queue_email(new_email, "Someone tried to use your email address", "email_in_use",
                    sign_in_url=external_url("auth.sign_in"))
    else:
        queue_email(
            new_email,
            "Confirm your new email address",
            "change_email",
            name=user.name,
            link=external_url("auth.confirm_email_change", token=token),
            hours=CHANGE_EMAIL_MAX_AGE // 3600,
        )
    # The current address hears of the request either way (it happens only if the new
    # address confirms it, which one in use never does).
    queue_email(
        user.email,
        "A change of email address was requested",
        "email_change_requested",
        name=user.name,
        new_email=new_email,
    )
    audit.record("auth.email_change_requested", actor=user, obj=user,
                 data={"new_email": new_email, **({"address_in_use": True} if in_use else {})})


def email_change_for(token: str) -> tuple[User, str]:
    payload = _read(CHANGE_EMAIL_PURPOSE, token, CHANGE_EMAIL_MAX_AGE)
    user = db.session.get(User, payload.get("u"))
    new_email = payload.get("e")
    if user is None or not user.is_active or not isinstance(new_email, str):
        raise LinkInvalid()
    # Bound to the address at the time of asking: used once, then it no longer matches.
    if not hmac.compare_digest(payload.get("o", ""), fingerprint(user.email)):
        raise LinkInvalid()
    return user, new_email


def confirm_email_change(token: str) -> User:
    user, new_email = email_change_for(token)
    if find_user_by_email(new_email) is not None:
        raise AccountError("Another account now uses this email address")
    old_email = user.email
    user.email = new_email
    user.email_verified_at = utcnow()
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError:
        raise AccountError("Another account now uses this email address") from None
    audit.record("auth.email_changed", actor=user, obj=user,
                 data={"old_email": old_email, "new_email": new_email})
    queue_email(
        old_email,
        "Your email address has been changed",
        "email_changed",
        name=user.name,
        new_email=new_email,
    )
    return user


# ---------------------------------------------------------------- staff second factor


def new_totp_secret() -> str:
    return pyotp.random_base32()


def totp_uri(user: User, secret: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=TOTP_ISSUER)


def _matching_step(secret: str, code: str, now: datetime) -> int | None:
    code = "".join(code.split())
    if not (code.isdigit() and len(code) == 6):
        return None
    totp = pyotp.TOTP(secret)
    current = totp.timecode(now)
    for step in range(current - TOTP_VALID_WINDOW, current + TOTP_VALID_WINDOW + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def _hash_recovery_code(code: str, salt: str | None = None) -> str:
    salt = salt or secrets.token_hex(16)
    digest = hashlib.sha256(f"{salt}:{_normalise_recovery_code(code)}".encode()).hexdigest()
    return f"sha256${salt}${digest}"


def _recovery_code_matches(code: str, stored: str) -> bool:
    try:
        _, salt, _digest = stored.split("$")
    except ValueError:
        return False
    return hmac.compare_digest(_hash_recovery_code(code, salt), stored)


def _normalise_recovery_code(code: str) -> str:
    return "".join(ch for ch in code.lower() if ch.isalnum())


def _new_recovery_code() -> str:
    alphabet = "abcdefghjkmnpqrstuvwxyz23456789"  # no look-alikes (0/o, 1/l/i)
    raw = "".join(secrets.choice(alphabet) for _ in range(10))
    return f"{raw[:5]}-{raw[5:]}"


def _replace_recovery_codes(user: User) -> list[str]:
    db.session.execute(
        RecoveryCode.__table__.delete().where(RecoveryCode.user_id == user.id)
    )
    codes = [_new_recovery_code() for _ in range(RECOVERY_CODE_COUNT)]
    for code in codes:
        db.session.add(RecoveryCode(user_id=user.id, code_hash=_hash_recovery_code(code)))
    return codes


def enrol_totp(user: User, secret: str, code: str) -> list[str]:
    """Confirm enrolment with a first code from the app. Returns the recovery codes, in
    clear, this once (only their salted hashes are kept)."""
    if user.totp_enabled_at is not None:
        raise AccountError("You have already set up an authenticator app", "code")
    now = utcnow()
    step = _matching_step(secret, code, now)
    if step is None:
        raise AccountError("The code is not correct. Enter the 6-digit code your "
                           "authenticator app shows now", "code")
    user.totp_secret = secret
    user.totp_enabled_at = now
    user.totp_last_step = step
    codes = _replace_recovery_codes(user)
    audit.record("auth.totp_enrolled", actor=user, obj=user,
                 data={"recovery_codes": RECOVERY_CODE_COUNT})
    return codes


class SecondFactorStatus(StrEnum):
    OK = "ok"
    INVALID = "invalid"
    REUSED = "reused"
    LOCKED = "locked"


@dataclass
class SecondFactorResult:
    status: SecondFactorStatus
    used_recovery_code: bool = False
    recovery_codes_left: int = 0


def _lock_user_id(user_id) -> User | None:
    if not isinstance(user_id, int):
        return None
    return db.session.execute(
        select(User)
        .where(User.id == user_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()


def _lock_user(user: User) -> User:
    locked = _lock_user_id(user.id)
    assert locked is not None
    return locked


def verify_second_factor(user: User, code: str) -> SecondFactorResult:
    """A TOTP code (never one from a step already used) or an unused recovery code.
    Failures count towards the same lock as failed passwords."""
    user = _lock_user(user)
    now = utcnow()
    if user.is_locked(now):
        return SecondFactorResult(SecondFactorStatus.LOCKED)
    if user.locked_until is not None:
        _clear_failures(user)
    if not user.totp_secret:
        return SecondFactorResult(SecondFactorStatus.INVALID)

    step = _matching_step(user.totp_secret, code, now)
    if step is not None:
        if user.totp_last_step is not None and step <= user.totp_last_step:
            locked = record_failed_attempt(user, now, what="totp_reused")
            return SecondFactorResult(
                SecondFactorStatus.LOCKED if locked else SecondFactorStatus.REUSED
            )
        user.totp_last_step = step
        _clear_failures(user)
        audit.record("auth.second_factor_passed", actor=user, obj=user, data={"method": "totp"})
        return SecondFactorResult(SecondFactorStatus.OK)

    normalised = _normalise_recovery_code(code)
    if len(normalised) == 10:
        unused = db.session.execute(
            select(RecoveryCode)
            .where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))
            .with_for_update()
        ).scalars().all()
        for stored in unused:
            if _recovery_code_matches(code, stored.code_hash):
                stored.used_at = now
                _clear_failures(user)
                left = len(unused) - 1
                audit.record("auth.recovery_code_used", actor=user, obj=user,
                             data={"recovery_code_id": stored.id, "left": left})
                audit.record("auth.second_factor_passed", actor=user, obj=user,
                             data={"method": "recovery_code"})
                return SecondFactorResult(SecondFactorStatus.OK, used_recovery_code=True,
                                          recovery_codes_left=left)

    locked = record_failed_attempt(user, now, what="second_factor")
    return SecondFactorResult(SecondFactorStatus.LOCKED if locked else SecondFactorStatus.INVALID)


def recovery_codes_left(user: User) -> int:
    return db.session.execute(
        select(func.count(RecoveryCode.id)).where(
            RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None)
        )
    ).scalar_one()


def regenerate_recovery_codes(user: User, password: str) -> list[str]:
    """New recovery codes (the old ones stop working). Needs the password."""
    _check_current_password(user, password)
    if user.totp_enabled_at is None:
        raise AccountError("Set up an authenticator app first")
    codes = _replace_recovery_codes(user)
    audit.record("auth.recovery_codes_regenerated", actor=user, obj=user,
                 data={"recovery_codes": RECOVERY_CODE_COUNT})
    return codes


def reset_second_factor(actor: User, user: User) -> None:
    """An admin clears a lost authenticator: the person enrols again at next sign-in."""
    user.totp_secret = None
    user.totp_enabled_at = None
    user.totp_last_step = None
    db.session.execute(RecoveryCode.__table__.delete().where(RecoveryCode.user_id == user.id))
    end_sessions(user)
    audit.record("auth.totp_reset", actor=actor, obj=user)
