"""Queue e-mail in the outbox. Nothing is sent from here: the outbox worker sends it
after the transaction that queued it has committed."""

from __future__ import annotations

from typing import Any

from flask import render_template
from jinja2 import TemplateNotFound

from portal.extensions import db
from portal.models.outbox import OutboxEmail


def queue_email(recipient: str, subject: str, template: str, **context: Any) -> OutboxEmail:
    """Render templates/email/<template>.txt (and .html if present) into an outbox row."""
    context.setdefault("subject", subject)
    text_body = render_template(f"email/{template}.txt", **context)
    try:
        html_body = render_template(f"email/{template}.html", **context)
    except TemplateNotFound:
        html_body = None
    message = OutboxEmail(
        recipient=recipient,
        subject=subject,
        text_body=text_body,
        html_body=html_body,
        template=template,
    )
    db.session.add(message)
    return message
