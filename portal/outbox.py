"""Deliver the e-mail outbox.

Rows are written by `portal.mail.queue_email` in the transaction that causes them. This
module sends what is due through Flask-Mail, one message at a time:

1. *Claim* the next due row in a short transaction (``FOR UPDATE SKIP LOCKED`` on
   PostgreSQL, so concurrent workers never take the same row; on SQLite every transaction
   is ``BEGIN IMMEDIATE`` and so already serialised). Claiming counts the attempt and
   pushes ``next_attempt_at`` a lease ahead, then commits: no database lock is held while
   talking to the SMTP server, and another worker leaves the row alone.
2. Send it over SMTP (``MAIL_TIMEOUT`` on the socket; certificates verified with a default
   SSL context when ``MAIL_USE_TLS``/``MAIL_USE_SSL`` is on).
3. Record the result and commit: ``sent`` with ``sent_at``; or the error, with the next
   attempt after an exponential backoff; or ``failed`` after ``OUTBOX_MAX_ATTEMPTS``
   attempts (or at once on a permanent refusal, such as an unknown recipient).

A crash between 2 and 3 leaves the row pending until its lease runs out, when it is sent
again: delivery is at least once, and at most one extra copy per crash. Each message
carries a stable Message-ID (``<outbox.ID.CREATED@domain>``) so that a copy sent twice
can be recognised.

In development (``OUTBOX_DELIVER_AFTER_REQUEST``) a delivery pass also runs right after a
request whose transaction committed a new outbox row, once the response has been sent.
"""

from __future__ import annotations

import contextlib
import logging
import smtplib
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask import Flask, Response, current_app, g, has_app_context
from flask_mail import BadHeaderError, Connection, Message
from sqlalchemy import event, select, update
from sqlalchemy.orm import Session

from portal.extensions import db
from portal.models.base import utcnow
from portal.models.outbox import OutboxEmail, OutboxStatus

log = logging.getLogger(__name__)

DEFAULT_BATCH = 100
DEFAULT_BACKOFF_MAX_SECONDS = 6 * 60 * 60
ERROR_MAX_CHARS = 2000

# Flags for "this request committed new outbox rows".
_SESSION_FLAG = "outbox_rows_pending_commit"
_G_FLAG = "_outbox_committed"


# ---------------------------------------------------------------------------- results


@dataclass
class DeliveryReport:
    """What one delivery pass did."""

    sent: int = 0
    retrying: int = 0
    failed: int = 0
    stopped_early: bool = False  # the mail server could not be reached
    errors: list[str] = field(default_factory=list)

    @property
    def attempted(self) -> int:
        return self.sent + self.retrying + self.failed

    def __str__(self) -> str:
        text = f"sent {self.sent}, to retry {self.retrying}, failed {self.failed}"
        if self.stopped_early:
            text += " (mail server unreachable: stopped early)"
        return text


class _ServerUnreachable(Exception):
    """Connecting to the SMTP server failed: the rest of the pass would fail too."""


@dataclass(frozen=True)
class _Envelope:
    """A claimed row's content, read before the claim commits so that sending needs no
    database access (and so no SQLite write lock is held during SMTP)."""

    id: int
    recipient: str
    subject: str
    text_body: str
    html_body: str | None
    attempts: int
    created_at: datetime


# ------------------------------------------------------------------------- scheduling


def backoff_delay(attempts: int, base_seconds: int, cap_seconds: int) -> timedelta:
    """Delay before the next attempt after `attempts` failed ones: base * 2**(n-1), capped."""
    exponent = max(attempts - 1, 0)
    seconds = base_seconds * (2 ** min(exponent, 32))
    return timedelta(seconds=min(seconds, cap_seconds))


def _settings(app: Flask) -> dict:
    config = app.config
    timeout = int(config.get("MAIL_TIMEOUT") or 10)
    return {
        "max_attempts": max(int(config.get("OUTBOX_MAX_ATTEMPTS", 6)), 1),
        "backoff": int(config.get("OUTBOX_BACKOFF_SECONDS", 30)),
        "backoff_max": int(config.get("OUTBOX_BACKOFF_MAX_SECONDS", DEFAULT_BACKOFF_MAX_SECONDS)),
        # Long enough for a slow send to finish before anyone else may try the row again.
        "lease": timedelta(
            seconds=int(config.get("OUTBOX_LEASE_SECONDS") or max(300, timeout * 10))
        ),
    }


# ---------------------------------------------------------------------------- sending


class _VerifiedConnection(Connection):
    """Flask-Mail's connection with a socket timeout and certificate verification
    (Flask-Mail 0.10 sets neither)."""

    def configure_host(self) -> smtplib.SMTP:
        state = self.mail
        timeout = current_app.config.get("MAIL_TIMEOUT") or 10
        host: smtplib.SMTP
        if state.use_ssl:
            host = smtplib.SMTP_SSL(
                state.server, state.port, timeout=timeout, context=ssl.create_default_context()
            )
        else:
            host = smtplib.SMTP(state.server, state.port, timeout=timeout)
        try:
            host.set_debuglevel(int(state.debug))
            if state.use_tls:
                host.starttls(context=ssl.create_default_context())
            if state.username and state.password:
                host.login(state.username, state.password)
        except BaseException:
            _close_quietly(host)
            raise
        return host


def _close_quietly(host: smtplib.SMTP | None) -> None:
    if host is None:
        return
    try:
        host.quit()
    except Exception:  # the connection is going away anyway
        with contextlib.suppress(Exception):
            host.close()


class _Mailer:
    """One SMTP connection for a delivery pass, opened lazily, reopened after a failure."""

    def __init__(self, app: Flask) -> None:
        self.state = app.extensions["mail"]
        self.connection: _VerifiedConnection | None = None

    def send(self, message: Message) -> None:
        if self.connection is None:
            connection = _VerifiedConnection(self.state)
            try:
                connection.__enter__()
            except (OSError, smtplib.SMTPException) as exc:
                raise _ServerUnreachable(_describe(exc)) from exc
            self.connection = connection
        try:
            self.connection.send(message)
        except smtplib.SMTPRecipientsRefused:
            raise  # smtplib has reset the session; the connection is still good
        except BaseException:
            self.reset()
            raise

    def reset(self) -> None:
        if self.connection is not None:
            _close_quietly(self.connection.host)
            self.connection = None

    close = reset


def _describe(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}".strip()
    return text[:ERROR_MAX_CHARS]


def _is_permanent(exc: BaseException) -> bool:
    """Refusals that no retry will cure: the recipient, or this message, was rejected."""
    if isinstance(exc, BadHeaderError | UnicodeError):
        return True
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        return bool(codes) and all(code >= 500 for code in codes)
    if isinstance(exc, smtplib.SMTPDataError):
        return exc.smtp_code >= 500
    return False


class _OutboxMessage(Message):
    """Flask-Mail 0.10 wraps the text and HTML pair in a multipart/mixed of one part even
    when there are no attachments. Send the multipart/alternative itself (text part first,
    HTML second), with the message's headers."""

    def _message(self):
        message = super()._message()
        parts = message.get_payload() if message.is_multipart() else []
        if (
            message.get_content_subtype() == "mixed"
            and not self.attachments
            and len(parts) == 1
            and parts[0].get_content_type() == "multipart/alternative"
        ):
            alternative = parts[0]
            for name, value in message.items():
                if name.lower() not in ("content-type", "mime-version"):
                    alternative[name] = value
            alternative.policy = message.policy
            return alternative
        return message


def _message_for(envelope: _Envelope) -> Message:
    message = _OutboxMessage(
        subject=envelope.subject,
        recipients=[envelope.recipient],
        body=envelope.text_body,
        html=envelope.html_body,
    )
    sender = str(message.sender or "")
    domain = sender.rsplit("@", 1)[-1].strip(" >") if "@" in sender else "reviewer-pool.invalid"
    message.msgId = f"<outbox.{envelope.id}.{int(envelope.created_at.timestamp())}@{domain}>"
    return message


# --------------------------------------------------------------------------- delivery


def _claim_next(session: Session, now: datetime, lease: timedelta) -> _Envelope | None:
    row = session.execute(
        select(OutboxEmail)
        .where(OutboxEmail.status == OutboxStatus.PENDING, OutboxEmail.next_attempt_at <= now)
        .order_by(OutboxEmail.next_attempt_at, OutboxEmail.id)
        .limit(1)
        .with_for_update(skip_locked=True)
    ).scalar_one_or_none()
    if row is None:
        session.rollback()
        return None
    row.attempts += 1
    row.last_attempt_at = now
    row.next_attempt_at = now + lease
    envelope = _Envelope(
        id=row.id,
        recipient=row.recipient,
        subject=row.subject,
        text_body=row.text_body,
        html_body=row.html_body,
        attempts=row.attempts,
        created_at=row.created_at,
    )
    session.commit()
    return envelope


def _record(session: Session, envelope_id: int, **values) -> None:
    session.execute(update(OutboxEmail).where(OutboxEmail.id == envelope_id).values(**values))
    session.commit()


def deliver_due(now: datetime | None = None, limit: int | None = DEFAULT_BATCH) -> DeliveryReport:
    """Send up to `limit` due messages; commit after each. Needs an app context.

    `now` fixes the clock for the whole pass (tests use it to jump past a backoff).
    Runs in a session of its own: call it outside any open transaction of the caller
    (on SQLite an open transaction holds the write lock this pass needs).
    """
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    settings = _settings(app)
    clock: Callable[[], datetime] = (lambda: now) if now is not None else utcnow
    report = DeliveryReport()
    mailer = _Mailer(app)
    with Session(db.engine, expire_on_commit=False) as session:
        try:
            while limit is None or report.attempted < limit:
                envelope = _claim_next(session, clock(), settings["lease"])
                if envelope is None:
                    break
                try:
                    _deliver_one(session, mailer, envelope, clock, settings, report)
                except _ServerUnreachable:
                    report.stopped_early = True
                    break
        finally:
            mailer.close()
            session.rollback()
    if report.attempted:
        log.info("Outbox delivery pass: %s", report)
    return report


def _deliver_one(session, mailer, envelope, clock, settings, report) -> None:
    unreachable: _ServerUnreachable | None = None
    try:
        mailer.send(_message_for(envelope))
    except _ServerUnreachable as exc:
        error, permanent, unreachable = str(exc), False, exc
    except Exception as exc:  # every failure is recorded on the row
        error, permanent = _describe(exc), _is_permanent(exc)
    else:
        _record(session, envelope.id, status=OutboxStatus.SENT, sent_at=clock(), last_error=None)
        report.sent += 1
        return

    report.errors.append(f"#{envelope.id}: {error}")
    if permanent or envelope.attempts >= settings["max_attempts"]:
        _record(session, envelope.id, status=OutboxStatus.FAILED, last_error=error)
        report.failed += 1
        log.warning("Outbox message %s failed for good after %s attempt(s): %s",
                    envelope.id, envelope.attempts, error)
    else:
        delay = backoff_delay(envelope.attempts, settings["backoff"], settings["backoff_max"])
        _record(session, envelope.id, last_error=error, next_attempt_at=clock() + delay)
        report.retrying += 1
        log.warning("Outbox message %s not sent (attempt %s, next in %ss): %s",
                    envelope.id, envelope.attempts, int(delay.total_seconds()), error)
    if unreachable is not None:
        raise unreachable


# ------------------------------------------------------------------- admin: retrying


def retry_failed(email: OutboxEmail, actor) -> bool:
    """Put a failed message back in the queue for a fresh round of attempts.

    A service: writes the audit event in the caller's transaction, never commits.
    Returns False (and changes nothing) when the message is not failed.
    """
    from portal import audit

    if email.status != OutboxStatus.FAILED:
        return False
    previous_attempts, previous_error = email.attempts, email.last_error
    email.status = OutboxStatus.PENDING
    email.attempts = 0
    email.next_attempt_at = utcnow()
    audit.record(
        "outbox.retried",
        actor=actor,
        obj=email,
        data={
            "recipient": email.recipient,
            "subject": email.subject,
            "previous_attempts": previous_attempts,
            "last_error": previous_error,
        },
    )
    return True


# ----------------------------------------------------- development: after the request


def _note_new_rows(session, _flush_context, _instances) -> None:
    if any(isinstance(obj, OutboxEmail) for obj in session.new):
        session.info[_SESSION_FLAG] = True


def _note_commit(session) -> None:
    if session.info.pop(_SESSION_FLAG, False) and has_app_context():
        setattr(g, _G_FLAG, True)


def _forget_rows(session) -> None:
    session.info.pop(_SESSION_FLAG, None)


def _install_session_events() -> None:
    for name, listener in (
        ("before_flush", _note_new_rows),
        ("after_commit", _note_commit),
        ("after_rollback", _forget_rows),
    ):
        if not event.contains(db.session, name, listener):
            event.listen(db.session, name, listener)


def _deliver_after_response(app: Flask) -> None:
    """Runs once the response has gone: a fresh app context, so a fresh session."""
    try:
        with app.app_context():
            deliver_due(limit=app.config.get("OUTBOX_AFTER_REQUEST_BATCH", 20))
    except Exception:  # the request has succeeded; the worker will try again later
        log.exception("Delivery after the request failed; the outbox keeps the message")


def init_app(app: Flask) -> None:
    """Register the development hook: deliver right after a request that committed mail."""
    _install_session_events()

    @app.before_request
    def _outbox_reset_flag():
        g.pop(_G_FLAG, None)

    @app.after_request
    def _outbox_deliver_after_commit(response: Response) -> Response:
        if g.pop(_G_FLAG, False) and app.config.get("OUTBOX_DELIVER_AFTER_REQUEST"):
            response.call_on_close(lambda: _deliver_after_response(app))
        return response
