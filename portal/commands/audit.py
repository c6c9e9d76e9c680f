"""`flask audit ...`: commands for the audit trail."""

from __future__ import annotations

import sys

import click
from flask import Flask
from flask.cli import AppGroup

from portal.audit import verify_chain
from portal.extensions import db

audit_cli = AppGroup("audit", help="The audit trail.")


@audit_cli.command("verify")
@click.option(
    "--batch-size",
    default=1000,
    show_default=True,
    type=click.IntRange(1, 100_000),
    help="Events read from the database at a time.",
)
def verify(batch_size: int) -> None:
    """Walk the hash chain; exit 1 naming the first edited, deleted or misplaced event.

    Exit status: 0 intact, 1 broken. Suitable for cron or a scheduled job."""
    try:
        report = verify_chain(batch_size=batch_size)
    finally:
        # Read-only: end the transaction (on SQLite it holds the write lock).
        db.session.rollback()
    if report.ok:
        click.echo(f"Audit chain intact: {report.events_checked} events")
        if report.head_hash is not None:
            click.echo(f"Head: sequence {report.head_sequence}, hash {report.head_hash}")
        return
    problem = report.problem
    assert problem is not None
    click.echo(f"Audit chain BROKEN at {problem.describe()}")
    click.echo(f"({report.events_checked} events before it verified.)")
    sys.exit(1)


def register(app: Flask) -> None:
    app.cli.add_command(audit_cli)
