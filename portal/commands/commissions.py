"""`flask commissions ...`: the commission jobs."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup

from portal.extensions import db


def register(app: Flask) -> None:
    group = AppGroup("commissions", help="Commission jobs.")

    @group.command("close-due")
    def close_due() -> None:
        """E-mail the bidders of every commission whose submission deadline has passed
        that bidding has closed. Safe to run repeatedly (each commission once)."""
        from portal.services.commissions import close_due as run

        count = run()
        db.session.commit()
        click.echo(f"{count} commission{'s' if count != 1 else ''} closed.")

    app.cli.add_command(group)
