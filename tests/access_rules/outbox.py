"""The e-mail outbox admin pages: admins only (with their second factor)."""

from portal.extensions import db
from portal.models.outbox import OutboxEmail, OutboxStatus
from tests.access_rules import rule


def build_world(world) -> None:
    email = OutboxEmail(
        recipient="undeliverable@example.org",
        subject="A message that could not be sent",
        text_body="Hello",
        status=OutboxStatus.FAILED,
        attempts=6,
        last_error="SMTPRecipientsRefused: 550 No such user",
    )
    db.session.add(email)
    db.session.flush()
    world.failed_email = email


RULES = [
    rule("admin.outbox", default=403, anonymous=302, admin=200),
    rule("admin.outbox_retry", "POST", args=lambda w: {"email_id": w.failed_email.id},
         default=403, anonymous=302, admin=302),
    rule("admin.outbox_retry", "POST", args=lambda w: {"email_id": 999_999}, case="missing",
         default=403, anonymous=302, admin=404),
]
