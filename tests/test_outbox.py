"""The e-mail outbox: delivery through a real SMTP server on 127.0.0.1, retries with
backoff, failure after N attempts, and the `flask outbox` commands."""

from __future__ import annotations

import os
import signal
import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from portal import audit
from portal.extensions import db
from portal.models import Organisation, OutboxEmail, OutboxStatus
from portal.models.base import utcnow
from portal.outbox import backoff_delay, deliver_due
from tests.fixtures.users import OrganisationFactory

BACKOFF = 60


@pytest.fixture
def app_overrides(smtp_server):
    return smtp_server.app_config(OUTBOX_BACKOFF_SECONDS=BACKOFF, OUTBOX_MAX_ATTEMPTS=3,
                                  OUTBOX_BACKOFF_MAX_SECONDS=3600)


def outbox_rows() -> list[OutboxEmail]:
    db.session.expire_all()
    rows = db.session.scalars(select(OutboxEmail).order_by(OutboxEmail.id)).all()
    db.session.commit()  # end the read: on SQLite it holds the write lock
    return list(rows)


def deliver(**kwargs):
    db.session.commit()  # the worker uses its own session; leave no transaction open
    return deliver_due(**kwargs)


def rename_and_notify(organisation: Organisation, queue_test_email, new_name: str):
    """A business change that sends mail: the way services do it (no commit)."""
    organisation.legal_name = new_name
    audit.record("organisation.renamed", obj=organisation, data={"legal_name": new_name})
    queue_test_email(to="owner@example.org", subject=f"Renamed to {new_name}")


# ----------------------------------------------------------------------- delivering


def test_queued_mail_is_delivered_with_its_content(smtp_server, queue_test_email, app):
    email = queue_test_email(to="ada@example.org", subject="Welcome to the pool", name="Ada",
                             link="https://portal.example/start?token=xyz")
    db.session.commit()
    assert smtp_server.messages == []  # queued, not sent

    report = deliver()

    assert (report.sent, report.retrying, report.failed) == (1, 0, 0)
    mail = smtp_server.find(to="ada@example.org", subject_contains="Welcome")
    assert mail.subject == "Welcome to the pool"
    assert mail.to == "ada@example.org"
    assert mail.rcpt_tos == ["ada@example.org"]
    assert "no-reply@reviewer-pool.example" in str(mail["From"])
    assert "Hello Ada," in mail.text
    assert mail.links == ["https://portal.example/start?token=xyz"]
    assert "replies to this address are not read" in mail.text.lower()
    assert '<a href="https://portal.example/start?token=xyz">Carry on</a>' in mail.html
    assert "Reviewer Pool Portal" in mail.html
    assert mail["Message-ID"].startswith(f"<outbox.{email.id}.")

    (row,) = outbox_rows()
    assert row.status == OutboxStatus.SENT
    assert row.sent_at is not None and row.attempts == 1 and row.last_error is None


def test_html_is_escaped_in_the_html_part(smtp_server, queue_test_email):
    queue_test_email(name="<script>alert(1)</script>")
    deliver()
    mail = smtp_server.messages[0]
    assert "<script>" not in mail.html
    assert "&lt;script&gt;" in mail.html
    assert "Hello <script>alert(1)</script>," in mail.text  # plain text is not HTML


def test_a_rolled_back_change_leaves_no_mail(smtp_server, queue_test_email):
    organisation = OrganisationFactory(legal_name="Before Ltd")
    rename_and_notify(organisation, queue_test_email, "After Ltd")
    db.session.flush()
    db.session.rollback()

    assert outbox_rows() == []
    assert deliver().attempted == 0
    assert smtp_server.messages == []
    assert db.session.get(Organisation, organisation.id).legal_name == "Before Ltd"


def test_limit_bounds_a_pass_and_the_rest_follow(smtp_server, queue_test_email):
    for n in range(5):
        queue_test_email(to=f"person{n}@example.org")
    assert deliver(limit=2).sent == 2
    assert deliver(limit=10).sent == 3
    assert deliver().attempted == 0
    assert sorted(r for m in smtp_server.messages for r in m.rcpt_tos) == [
        f"person{n}@example.org" for n in range(5)
    ]


def test_backoff_delay_doubles_and_is_capped():
    assert backoff_delay(1, 30, 3600) == timedelta(seconds=30)
    assert backoff_delay(2, 30, 3600) == timedelta(seconds=60)
    assert backoff_delay(5, 30, 3600) == timedelta(seconds=480)
    assert backoff_delay(10, 30, 3600) == timedelta(seconds=3600)
    assert backoff_delay(500, 30, 3600) == timedelta(seconds=3600)


# ------------------------------------------------------------------------- outages


def test_server_down_change_commits_mail_waits_then_is_sent_exactly_once(
    smtp_server, queue_test_email
):
    organisation = OrganisationFactory(legal_name="Before Ltd")
    smtp_server.stop()

    rename_and_notify(organisation, queue_test_email, "After Ltd")
    db.session.commit()
    t0 = utcnow()
    report = deliver(now=t0)

    assert report.retrying == 1 and report.sent == 0 and report.stopped_early
    db.session.expire_all()
    assert db.session.get(Organisation, organisation.id).legal_name == "After Ltd"
    (row,) = outbox_rows()
    assert row.status == OutboxStatus.PENDING
    assert row.attempts == 1
    assert "Connection refused" in row.last_error or "ConnectionRefused" in row.last_error
    assert row.last_attempt_at == t0
    assert row.next_attempt_at == t0 + timedelta(seconds=BACKOFF)

    # Not due yet, even with the server back.
    smtp_server.start()
    assert deliver(now=t0 + timedelta(seconds=BACKOFF - 1)).attempted == 0
    assert smtp_server.messages == []

    assert deliver(now=t0 + timedelta(seconds=BACKOFF)).sent == 1
    assert deliver(now=t0 + timedelta(hours=5)).attempted == 0
    assert len(smtp_server.messages) == 1
    (row,) = outbox_rows()
    assert row.status == OutboxStatus.SENT and row.attempts == 2 and row.last_error is None


def test_an_unreachable_server_stops_the_pass_early(smtp_server, queue_test_email):
    for n in range(3):
        queue_test_email(to=f"person{n}@example.org")
    smtp_server.stop()
    report = deliver()
    assert report.stopped_early and report.attempted == 1
    assert [r.attempts for r in outbox_rows()] == [1, 0, 0]


def test_after_the_last_attempt_the_message_is_failed(smtp_server, queue_test_email):
    queue_test_email(to="ada@example.org")
    db.session.commit()
    smtp_server.stop()
    t = utcnow()
    schedule = []
    for _ in range(3):  # OUTBOX_MAX_ATTEMPTS
        report = deliver(now=t)
        (row,) = outbox_rows()
        schedule.append((row.attempts, row.status, row.next_attempt_at - t))
        t = row.next_attempt_at

    assert schedule[0] == (1, "pending", timedelta(seconds=BACKOFF))
    assert schedule[1] == (2, "pending", timedelta(seconds=2 * BACKOFF))
    assert schedule[2][:2] == (3, "failed")
    assert report.failed == 1
    assert row.last_error

    smtp_server.start()
    assert deliver(now=t + timedelta(days=1)).attempted == 0  # failed stays failed
    assert smtp_server.messages == []


def test_a_refused_recipient_fails_at_once_and_others_still_go(smtp_server, queue_test_email):
    smtp_server.refused_recipients.add("nobody@example.org")
    queue_test_email(to="nobody@example.org")
    queue_test_email(to="ada@example.org")

    report = deliver()

    assert (report.sent, report.failed) == (1, 1)
    refused, delivered = outbox_rows()
    assert refused.status == OutboxStatus.FAILED and refused.attempts == 1
    assert "550" in refused.last_error
    assert delivered.status == OutboxStatus.SENT
    assert smtp_server.find(to="ada@example.org")


def test_a_crash_after_claiming_is_retried_after_the_lease(smtp_server, queue_test_email, app):
    """A worker that died mid-send leaves the row claimed; it is sent once the lease ends."""
    from portal.outbox import _claim_next, _settings

    queue_test_email()
    db.session.commit()
    t0 = utcnow()
    lease = _settings(app)["lease"]
    from sqlalchemy.orm import Session

    with Session(db.engine) as other:
        assert _claim_next(other, t0, lease) is not None  # ...and then the worker died

    assert deliver(now=t0 + lease - timedelta(seconds=1)).attempted == 0
    assert deliver(now=t0 + lease).sent == 1
    (row,) = outbox_rows()
    assert row.attempts == 2 and row.status == OutboxStatus.SENT


def test_suppressed_sending_marks_sent_without_a_server(app, smtp_server, queue_test_email):
    from portal.extensions import mail

    app.config["MAIL_SUPPRESS_SEND"] = True
    app.extensions["mail"] = mail.init_mail(app.config)
    smtp_server.stop()
    queue_test_email(to="ada@example.org")
    with mail.record_messages() as recorded:
        assert deliver().sent == 1
    assert [m.recipients for m in recorded] == [["ada@example.org"]]


# ----------------------------------------------------------------------- concurrency


def _two_workers_at_once(app, smtp_server, queue_test_email, count=30):
    for n in range(count):
        queue_test_email(to=f"person{n}@example.org", subject=f"Message {n}")
    db.session.commit()
    smtp_server.delay = 0.01  # keep both workers busy at the same time
    start = threading.Barrier(2)
    reports: dict[str, list] = {}
    errors = []

    def worker():
        mine = reports.setdefault(threading.current_thread().name, [])
        try:
            with app.app_context():
                start.wait(timeout=10)
                while True:
                    report = deliver_due(limit=5)
                    mine.append(report)
                    if report.attempted == 0:
                        break
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors
    # A final pass picks up anything a worker skipped while the other held it.
    with app.app_context():
        deliver_due()

    subjects = sorted(m.subject for m in smtp_server.messages)
    assert subjects == sorted(f"Message {n}" for n in range(count))  # each exactly once
    rows = outbox_rows()
    assert {r.status for r in rows} == {OutboxStatus.SENT}
    assert {r.attempts for r in rows} == {1}
    return reports


@pytest.mark.postgres
@pytest.mark.skipif(not os.environ.get("TEST_DATABASE_URL"), reason="needs TEST_DATABASE_URL")
def test_two_workers_on_postgresql_send_each_message_once(app, smtp_server, queue_test_email):
    reports = _two_workers_at_once(app, smtp_server, queue_test_email)
    # Both really worked side by side: each sent some of the messages.
    assert [sum(r.sent for r in mine) > 0 for mine in reports.values()] == [True, True]


def test_two_workers_on_the_test_database_send_each_message_once(
    app, smtp_server, queue_test_email
):
    _two_workers_at_once(app, smtp_server, queue_test_email, count=10)


# ------------------------------------------------------------------------------- CLI


def test_cli_deliver_prints_counts(app, smtp_server, queue_test_email):
    queue_test_email(to="ada@example.org")
    queue_test_email(to="grace@example.org")
    db.session.commit()

    result = app.test_cli_runner().invoke(args=["outbox", "deliver"])

    assert result.exit_code == 0, result.output
    assert "sent 2, to retry 0, failed 0" in result.output
    assert len(smtp_server.messages) == 2


def test_cli_deliver_exits_zero_when_the_server_is_down(app, smtp_server, queue_test_email):
    queue_test_email()
    db.session.commit()
    smtp_server.stop()
    result = app.test_cli_runner().invoke(args=["outbox", "deliver"])
    assert result.exit_code == 0, result.output
    assert "to retry 1" in result.output and "unreachable" in result.output
    assert "#1: ConnectionRefusedError" in result.output  # the error, on standard error


def test_cli_worker_once_and_max_loops(app, smtp_server, queue_test_email):
    queue_test_email(to="ada@example.org")
    db.session.commit()
    runner = app.test_cli_runner()

    result = runner.invoke(args=["outbox", "worker", "--once"])
    assert result.exit_code == 0, result.output
    assert "sent 1" in result.output and "stopped after 1 pass" in result.output

    result = runner.invoke(args=["outbox", "worker", "--max-loops", "3", "--interval", "0"])
    assert result.exit_code == 0, result.output
    assert "stopped after 3 pass" in result.output
    assert len(smtp_server.messages) == 1


def test_cli_worker_stops_cleanly_on_sigterm(app, smtp_server, queue_test_email):
    queue_test_email()
    db.session.commit()
    timer = threading.Timer(0.5, os.kill, args=(os.getpid(), signal.SIGTERM))
    previous = signal.getsignal(signal.SIGTERM)
    timer.start()
    try:
        result = app.test_cli_runner().invoke(
            args=["outbox", "worker", "--interval", "30", "--max-loops", "100"]
        )
    finally:
        timer.cancel()
    assert result.exit_code == 0, result.output
    assert "SIGTERM received, stopping" in result.output
    assert "stopped after 1 pass" in result.output
    assert signal.getsignal(signal.SIGTERM) is previous  # handler restored
    assert len(smtp_server.messages) == 1


def test_cli_status(app, smtp_server, queue_test_email):
    queue_test_email()
    queue_test_email()
    db.session.commit()
    deliver(limit=1)
    result = app.test_cli_runner().invoke(args=["outbox", "status"])
    assert result.exit_code == 0, result.output
    assert "pending: 1" in result.output and "sent: 1" in result.output
    assert "oldest pending:" in result.output
    assert db.session.scalar(select(func.count()).select_from(OutboxEmail)) == 2
