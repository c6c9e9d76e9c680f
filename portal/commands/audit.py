"""`flask audit ...`: commands for the audit trail."""

from __future__ import annotations

import re
import sys

import click
from flask import Flask
from flask.cli import AppGroup

from portal.audit import verify_chain
from portal.extensions import db

audit_cli = AppGroup("audit", help="The audit trail.")


def _parse_anchors(_ctx, _param, values: tuple[str, ...]) -> dict[int, str]:
    anchors: dict[int, str] = {}
    for value in values:
        sequence, _, digest = value.replace(",", ":").partition(":")
        digest = digest.strip().lower()
        if not sequence.strip().isdigit() or not re.fullmatch(r"[0-9a-f]{64}", digest):
            raise click.BadParameter(f"{value!r} is not SEQUENCE:HASH (a 64-hex-digit hash)")
        anchors[int(sequence)] = digest
    return anchors


@audit_cli.command("verify")
@click.option(
    "--batch-size",
    default=1000,
    show_default=True,
    type=click.IntRange(1, 100_000),
    help="Events read from the database at a time.",
)
@click.option(
    "--anchor",
    "anchors",
    multiple=True,
    metavar="SEQUENCE:HASH",
    callback=_parse_anchors,
    help="A head recorded by an earlier run (outside the database); repeatable.",
)
def verify(batch_size: int, anchors: dict[int, str]) -> None:
    """Walk the hash chain; exit 1 naming the first edited, deleted or misplaced event.

    Exit status: 0 intact, 1 broken. Suitable for cron or a scheduled job. Keep the
    "Head:" line it prints somewhere the database's users cannot write, and pass it back
    with --anchor next time: that also catches a chain rewritten and re-hashed wholesale."""
    try:
        report = verify_chain(batch_size=batch_size, anchors=anchors)
    finally:
        # Read-only: end the transaction (on SQLite it holds the write lock).
        db.session.rollback()
    if report.ok:
        click.echo(f"Audit chain intact: {report.events_checked} events")
        if report.head_hash is not None:
            click.echo(f"Head: {report.head_sequence}:{report.head_hash}")
        return
    problem = report.problem
    assert problem is not None
    click.echo(f"Audit chain BROKEN at {problem.describe()}")
    click.echo(f"({report.events_checked} events before it verified.)")
    sys.exit(1)


def register(app: Flask) -> None:
    app.cli.add_command(audit_cli)
