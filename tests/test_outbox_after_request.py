"""Development mode: mail queued by a request is delivered once the request has committed
and its response has gone, never before the commit, never for a rolled-back change, and
an unreachable mail server never breaks the request."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from portal import audit
from portal import outbox as outbox_module
from portal.extensions import db
from portal.models import OutboxEmail, OutboxStatus


@pytest.fixture
def app_overrides(smtp_server):
    return smtp_server.app_config(OUTBOX_DELIVER_AFTER_REQUEST=True)


@pytest.fixture
def seen(app, smtp_server, queue_test_email):
    """Test-only views that queue mail the way a real route does."""
    seen: dict[str, int] = {}

    def queue_and_commit():
        queue_test_email(to="ada@example.org", subject="Queued by a request")
        db.session.flush()
        seen["before_commit"] = len(smtp_server.messages)
        db.session.commit()
        seen["after_commit_inside_request"] = len(smtp_server.messages)
        return "queued"

    def queue_and_roll_back():
        queue_test_email(to="ada@example.org")
        db.session.flush()
        db.session.rollback()
        return "rolled back"

    def queue_then_fail():
        queue_test_email(to="ada@example.org")
        db.session.flush()
        raise RuntimeError("the change went wrong before the commit")

    def commit_without_mail():
        audit.record("test.nothing_to_send")
        db.session.commit()
        return "committed"

    for name, view in (
        ("queue", queue_and_commit),
        ("roll-back", queue_and_roll_back),
        ("fail", queue_then_fail),
        ("no-mail", commit_without_mail),
    ):
        app.add_url_rule(f"/_test/{name}", endpoint=f"test_{name}", view_func=view,
                         methods=["POST"])
    return seen


@pytest.fixture
def passes(monkeypatch):
    """Counts the delivery passes that the after-request hook starts."""
    calls = []
    real = outbox_module.deliver_due

    def counting(*args, **kwargs):
        calls.append(kwargs)
        return real(*args, **kwargs)

    monkeypatch.setattr(outbox_module, "deliver_due", counting)
    return calls


def outbox_count() -> int:
    count = db.session.scalar(select(func.count()).select_from(OutboxEmail))
    db.session.commit()
    return count


def test_mail_goes_right_after_the_commit_and_the_response(client, smtp_server, seen, passes):
    response = client.post("/_test/queue")
    assert response.status_code == 200
    # Nothing left before the commit, nor inside the request after it.
    assert seen == {"before_commit": 0, "after_commit_inside_request": 0}
    db.session.commit()  # what the end of a real request does to its session

    response.close()  # the server closes the response once it is sent

    assert len(passes) == 1
    mail = smtp_server.find(to="ada@example.org", subject_contains="Queued by a request")
    assert "Hello Ada" in mail.text
    email = db.session.scalars(select(OutboxEmail)).one()
    assert email.status == OutboxStatus.SENT


def test_a_rolled_back_request_sends_nothing(client, smtp_server, seen, passes):
    client.post("/_test/roll-back").close()
    assert passes == []
    assert smtp_server.messages == []
    assert outbox_count() == 0


def test_a_failed_request_sends_nothing(app, client, smtp_server, seen, passes):
    app.config["PROPAGATE_EXCEPTIONS"] = False
    response = client.post("/_test/fail")
    assert response.status_code == 500
    db.session.rollback()  # what the end of a real request does to its session
    response.close()
    assert passes == []
    assert smtp_server.messages == []
    assert outbox_count() == 0


def test_a_request_without_mail_starts_no_delivery(client, seen, passes):
    client.post("/_test/no-mail").close()
    assert passes == []


def test_an_unreachable_mail_server_never_breaks_the_request(client, smtp_server, seen):
    smtp_server.stop()
    response = client.post("/_test/queue")
    db.session.commit()
    response.close()
    assert response.status_code == 200
    email = db.session.scalars(select(OutboxEmail)).one()
    assert email.status == OutboxStatus.PENDING
    assert email.attempts == 1 and "refused" in email.last_error.lower()
    assert email.next_attempt_at > email.last_attempt_at  # backoff set: the worker retries


def test_a_broken_delivery_pass_never_breaks_the_request(client, seen, monkeypatch, caplog):
    def broken(*args, **kwargs):
        raise RuntimeError("database gone")

    monkeypatch.setattr(outbox_module, "deliver_due", broken)
    response = client.post("/_test/queue")
    db.session.commit()
    response.close()  # must not raise
    assert response.status_code == 200
    assert "Delivery after the request failed" in caplog.text


def test_switched_off_nothing_is_sent_until_the_worker_runs(app, client, smtp_server, seen,
                                                              passes):
    app.config["OUTBOX_DELIVER_AFTER_REQUEST"] = False
    client.post("/_test/queue").close()
    assert passes == []
    assert smtp_server.messages == []
    assert outbox_count() == 1
