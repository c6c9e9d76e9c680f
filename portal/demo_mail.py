"""Demo steps drive the real services, which queue e-mail to the demo's invented people.
The story's mail is dropped again, so `make run` does not print hundreds of messages."""

from __future__ import annotations

from sqlalchemy import delete, or_, select

from portal.extensions import db
from portal.models.outbox import OutboxEmail


def last_outbox_id() -> int:
    """Where the outbox stands before a demo step starts."""
    return db.session.scalar(
        select(OutboxEmail.id).order_by(OutboxEmail.id.desc()).limit(1)) or 0


def discard_story_mail(since_id: int, *template_prefixes: str) -> None:
    """Delete the mail queued after `since_id` whose template starts with one of
    `template_prefixes` (for example "bid" for bid_receipt, bid_withdrawn)."""
    db.session.flush()
    db.session.execute(
        delete(OutboxEmail)
        .where(OutboxEmail.id > since_id)
        .where(or_(*(OutboxEmail.template.like(f"{prefix}\\_%", escape="\\")
                     for prefix in template_prefixes)))
    )
