"""The admin outbox page: failed messages shown with their error, and the retry button."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from portal.extensions import db
from portal.models import AuditEvent, OutboxEmail, OutboxStatus
from portal.models.base import utcnow
from portal.outbox import deliver_due
from tests.fixtures.users import make_staff


@pytest.fixture
def app_overrides(smtp_server):
    return smtp_server.app_config(OUTBOX_MAX_ATTEMPTS=3, OUTBOX_BACKOFF_SECONDS=60)


@pytest.fixture
def admin(sign_in):
    return sign_in(make_staff("admin", email="admin@panel.example"))


def add_email(status=OutboxStatus.PENDING, **kw) -> OutboxEmail:
    values = {"recipient": "ada@example.org", "subject": "Hello", "text_body": "Hi", **kw}
    email = OutboxEmail(status=status, **values)
    db.session.add(email)
    db.session.commit()
    return email


def row(email_id: int) -> OutboxEmail:
    db.session.expire_all()
    return db.session.get(OutboxEmail, email_id)


def test_a_message_that_keeps_failing_shows_on_the_page_and_can_be_retried(
    app, client, smtp_server, queue_test_email, admin
):
    email = queue_test_email(to="grace@example.org", subject="Your pool application")
    db.session.commit()
    smtp_server.stop()
    when = utcnow()
    for _ in range(3):
        deliver_due(now=when)
        db.session.expire_all()
        when = db.session.get(OutboxEmail, email.id).next_attempt_at
        db.session.commit()
    assert row(email.id).status == OutboxStatus.FAILED

    page = client.get("/admin/outbox?status=failed")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "grace@example.org" in html and "Your pool application" in html
    assert "Connection refused" in html
    assert f'action="/admin/outbox/{email.id}/retry"' in html
    assert re.search(r'<td class="govuk-table__cell">3</td>', html)  # attempts
    assert '<dd class="govuk-!-display-inline govuk-!-margin-left-0 govuk-!-font-weight-bold" ' \
           'id="count-failed">1</dd>' in html
    db.session.commit()

    response = client.post(f"/admin/outbox/{email.id}/retry", data={"status": "failed"})
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/admin/outbox?status=failed")
    retried = row(email.id)
    assert (retried.status, retried.attempts) == (OutboxStatus.PENDING, 0)
    event = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "outbox.retried")
    ).one()
    assert event.actor_id == admin.id
    assert event.object_type == "outbox_emails" and event.object_id == str(email.id)
    assert event.data["previous_attempts"] == 3
    assert "Connection refused" in event.data["last_error"]
    db.session.commit()

    followed = client.get(response.headers["Location"])
    assert "will be sent again shortly" in followed.get_data(as_text=True)
    db.session.commit()

    smtp_server.start()
    assert deliver_due().sent == 1
    assert deliver_due().attempted == 0
    assert len(smtp_server.find_all(to="grace@example.org")) == 1


def test_only_a_failed_message_can_be_retried(client, admin):
    email = add_email(status=OutboxStatus.SENT, attempts=1, sent_at=utcnow())
    response = client.post(f"/admin/outbox/{email.id}/retry", follow_redirects=True)
    assert "Only a failed message can be retried" in response.get_data(as_text=True)
    assert row(email.id).status == OutboxStatus.SENT
    assert db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "outbox.retried")
    ).all() == []


def test_retry_of_a_missing_message_is_404(client, admin):
    assert client.post("/admin/outbox/4242/retry").status_code == 404


def test_filters_and_pagination(app, client, admin):
    app.config["OUTBOX_PAGE_SIZE"] = 2
    for n in range(5):
        add_email(recipient=f"person{n}@example.org", subject=f"Message {n}")
    add_email(status=OutboxStatus.FAILED, recipient="broken@example.org", subject="Broken",
              attempts=3, last_error="SMTPRecipientsRefused: 550 <b>No such user</b>")

    first = client.get("/admin/outbox").get_data(as_text=True)
    assert "Broken" in first and "Message 4" in first and "Message 3" not in first
    assert "Showing 1 to 2 of 6" in first
    assert 'href="/admin/outbox?page=2"' in first
    assert "&lt;b&gt;No such user&lt;/b&gt;" in first  # errors are escaped

    third = client.get("/admin/outbox?page=3").get_data(as_text=True)
    assert "Message 1" in third and "Message 0" in third and "Showing 5 to 6 of 6" in third

    failed = client.get("/admin/outbox?status=failed").get_data(as_text=True)
    assert "Broken" in failed and "Showing 1 to 1 of 1" in failed
    assert "Message 4" not in failed

    pending = client.get("/admin/outbox?status=pending&page=2").get_data(as_text=True)
    assert "Message 2" in pending and "Message 1" in pending
    assert 'href="/admin/outbox?page=3&amp;status=pending"' in pending

    by_recipient = client.get("/admin/outbox?recipient=PERSON3").get_data(as_text=True)
    assert "Message 3" in by_recipient and "Message 2" not in by_recipient

    # Nonsense in the query string is ignored, never an error.
    assert client.get("/admin/outbox?status=nonsense&page=-4").status_code == 200
    past_the_end = client.get("/admin/outbox?page=99").get_data(as_text=True)
    assert "No messages match" in past_the_end


def test_bodies_are_never_shown(client, admin):
    add_email(text_body="Reset your password: https://portal.example/reset?token=SECRET")
    assert "SECRET" not in client.get("/admin/outbox").get_data(as_text=True)


def test_retry_needs_the_csrf_token(app, client, admin):
    email = add_email(status=OutboxStatus.FAILED, attempts=3, last_error="boom")
    app.config["WTF_CSRF_ENABLED"] = True

    assert client.post(f"/admin/outbox/{email.id}/retry").status_code == 400
    assert row(email.id).status == OutboxStatus.FAILED
    db.session.commit()

    page = client.get("/admin/outbox").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    response = client.post(f"/admin/outbox/{email.id}/retry", data={"csrf_token": token})
    assert response.status_code == 302
    assert row(email.id).status == OutboxStatus.PENDING
