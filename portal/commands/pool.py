"""`flask pool ...`: the daily membership job and the declaration questions."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup

from portal.extensions import db

pool_cli = AppGroup("pool", help="The reviewer pool.")


@pool_cli.command("expire")
def expire() -> None:
    """End memberships past their expiry date and send the reminders now due (30 days
    before expiry). Safe to run repeatedly; run it daily."""
    from portal.services.pool import expire_and_remind

    expired, reminded = expire_and_remind()
    db.session.commit()
    click.echo(f"{expired} membership(s) expired, {reminded} reminder(s) queued.")


@pool_cli.command("seed-questions")
def seed_questions() -> None:
    """Add any missing declaration questions (idempotent)."""
    from portal.models.pool import seed_declaration_questions

    added = seed_declaration_questions()
    db.session.commit()
    click.echo(f"{added} declaration question(s) added.")


def register(app: Flask) -> None:
    app.cli.add_command(pool_cli)
