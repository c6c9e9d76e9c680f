"""Helpers for the account tests: read links from the outbox, sign in through the pages."""

from __future__ import annotations

import re
import time

import pyotp
from sqlalchemy import select

from portal.extensions import db
from portal.models import AuditEvent, OutboxEmail

STRONG = "violet kettle gravel 93"
OTHER_STRONG = "amber lantern quarry 57"

_LINK = re.compile(r"https?://[^/\s]+(/\S+)")


def outbox(recipient: str | None = None, template: str | None = None) -> list[OutboxEmail]:
    query = select(OutboxEmail).order_by(OutboxEmail.id)
    if recipient:
        query = query.where(OutboxEmail.recipient == recipient)
    if template:
        query = query.where(OutboxEmail.template == template)
    return list(db.session.execute(query).scalars())


def link_in(message: OutboxEmail) -> str:
    """The path of the first link in an e-mail's text body."""
    match = _LINK.search(message.text_body)
    assert match, f"no link in: {message.text_body}"
    return match.group(1)


def last_link(recipient: str, template: str) -> str:
    messages = outbox(recipient, template)
    assert messages, f"no {template} e-mail to {recipient}"
    return link_in(messages[-1])


def audit_actions(action: str | None = None) -> list[AuditEvent]:
    query = select(AuditEvent).order_by(AuditEvent.sequence)
    if action:
        query = query.where(AuditEvent.action == action)
    return list(db.session.execute(query).scalars())


def sign_in_with_password(client, email: str, password: str, next: str | None = None):
    data = {"email": email, "password": password}
    if next is not None:
        data["next"] = next
    return client.post("/sign-in", data=data)


def current_code(secret: str, offset_steps: int = 0) -> str:
    """The code an authenticator app shows now (or `offset_steps` 30-second steps away)."""
    return pyotp.TOTP(secret).at(time.time(), counter_offset=offset_steps)
