"""`flask outbox ...`: send the e-mail outbox.

    flask outbox deliver            one pass over what is due, then exit
    flask outbox worker             keep delivering every --interval seconds until stopped
    flask outbox status             counts by status and the age of the oldest pending message
"""

from __future__ import annotations

import signal
import threading
from contextlib import contextmanager

import click
from flask import Flask
from flask.cli import AppGroup
from sqlalchemy import func, select

from portal.extensions import db
from portal.models.base import utcnow
from portal.models.outbox import OutboxEmail, OutboxStatus
from portal.outbox import DEFAULT_BATCH, deliver_due

outbox_cli = AppGroup("outbox", help="Send queued e-mail.")


@outbox_cli.command("deliver")
@click.option("--limit", default=DEFAULT_BATCH, show_default=True,
              help="Most messages to try in this pass.")
def deliver_command(limit: int) -> None:
    """Send the messages that are due, once."""
    db.session.remove()  # no transaction of ours may hold the SQLite write lock
    report = deliver_due(limit=limit)
    click.echo(f"Outbox: {report}.")
    for error in report.errors:
        click.echo(f"  {error}", err=True)


@contextmanager
def _stop_on_signals(stop: threading.Event):
    """SIGTERM/SIGINT end the loop after the message in hand (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, _frame):
        click.echo(f"Outbox worker: {signal.Signals(signum).name} received, stopping.")
        stop.set()

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


@outbox_cli.command("worker")
@click.option("--interval", default=5.0, show_default=True, type=float,
              help="Seconds to wait between passes when nothing was due.")
@click.option("--limit", default=DEFAULT_BATCH, show_default=True,
              help="Most messages per pass.")
@click.option("--once", is_flag=True, help="Run one pass and exit.")
@click.option("--max-loops", type=int, default=None, help="Stop after this many passes.")
def worker_command(interval: float, limit: int, once: bool, max_loops: int | None) -> None:
    """Deliver due messages in a loop until SIGTERM or SIGINT."""
    stop = threading.Event()
    loops = 0
    if once:
        max_loops = 1
    click.echo(f"Outbox worker started (every {interval:g}s, up to {limit} per pass).")
    with _stop_on_signals(stop):
        while not stop.is_set():
            db.session.remove()
            try:
                report = deliver_due(limit=limit)
            except Exception as exc:  # e.g. the database is restarting
                click.echo(f"Outbox worker: pass failed: {exc}", err=True)
                report = None
            else:
                if report.attempted:
                    click.echo(f"Outbox: {report}.")
                for error in report.errors:
                    click.echo(f"  {error}", err=True)
            loops += 1
            if max_loops is not None and loops >= max_loops:
                break
            # A full batch means more may be waiting: go again at once.
            busy = report is not None and report.attempted >= limit and not report.stopped_early
            if not busy:
                stop.wait(interval)
    click.echo(f"Outbox worker stopped after {loops} pass(es).")


@outbox_cli.command("status")
def status_command() -> None:
    """Counts by status and the age of the oldest pending message."""
    counts = dict(
        db.session.execute(
            select(OutboxEmail.status, func.count()).group_by(OutboxEmail.status)
        ).all()
    )
    oldest = db.session.execute(
        select(OutboxEmail.created_at)
        .where(OutboxEmail.status == OutboxStatus.PENDING)
        .order_by(OutboxEmail.created_at)
        .limit(1)
    ).scalar()
    db.session.rollback()
    for status in OutboxStatus:
        click.echo(f"{status.value}: {counts.get(status.value, 0)}")
    if oldest is not None:
        age = int((utcnow() - oldest).total_seconds())
        click.echo(f"oldest pending: {age}s")


def register(app: Flask) -> None:
    app.cli.add_command(outbox_cli)
