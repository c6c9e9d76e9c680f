"""Queue e-mail in the outbox. Nothing is sent from here: the outbox worker sends it
after the transaction that queued it has committed."""

from __future__ import annotations

from typing import Any

from flask import current_app, render_template
from jinja2 import TemplateNotFound

from portal.email_html import render_from_text
from portal.extensions import db
from portal.models.outbox import OutboxEmail


def queue_email(recipient: str, subject: str, template: str, **context: Any) -> OutboxEmail:
    """Render templates/email/<template>.txt into an outbox row, with an HTML body.

    The HTML body comes from templates/email/<template>.html when there is one; otherwise
    it is made from the rendered text (portal.email_html), so the words of an e-mail are
    written once, in its .txt template.
    """
    context.setdefault("subject", subject)
    text_body = render_template(f"email/{template}.txt", **context)
    message = OutboxEmail(
        recipient=recipient,
        subject=subject,
        text_body=text_body,
        html_body=_html_body(template, text_body, context),
        template=template,
    )
    db.session.add(message)
    return message


def _html_body(template: str, text_body: str, context: dict[str, Any]) -> str:
    name = f"email/{template}.html"
    try:
        html_template = current_app.jinja_env.get_template(name)
    except TemplateNotFound as missing:
        if missing.name != name:  # the override exists but something it loads does not
            raise
        return render_from_text(text_body, context["subject"])
    return render_template(html_template, **context)
