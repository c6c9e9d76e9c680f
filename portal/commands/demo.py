"""`flask seed-demo [--if-empty]`: demo accounts and data for development and demos."""

from __future__ import annotations

import os
import sys

import click
from flask import Flask, current_app

from portal import demo
from portal.extensions import db


def _print_logins() -> None:
    logins = demo.logins()
    width_email = max(len(login.email) for login in logins)
    width_password = max(len(login.password) for login in logins)
    click.echo("")
    click.echo("Demo sign-ins (development only; these passwords are public):")
    click.echo(f"  {'E-mail':<{width_email}}  {'Password':<{width_password}}  Role")
    for login in logins:
        suffix = " (plus an authenticator code)" if login.totp else ""
        click.echo(
            f"  {login.email:<{width_email}}  {login.password:<{width_password}}  "
            f"{login.description}{suffix}"
        )
    staff = next((login.email for login in logins if login.totp), None)
    if staff:
        click.echo("")
        click.echo("Staff accounts need a code from an authenticator app at sign-in. In")
        click.echo(f"development, print the current code with: flask demo-totp {staff}")


@click.command("seed-demo")
@click.option("--if-empty", is_flag=True,
              help="Do nothing (but still print the sign-ins) if any account exists.")
def seed_demo_command(if_empty: bool) -> None:
    """Create demo accounts, organisations and partnerships. Safe to run again."""
    if current_app.config.get("ENV_NAME") == "production" and os.environ.get(
        "ALLOW_DEMO_DATA"
    ) != "1":
        click.echo(
            "Refusing: demo accounts have published passwords. Set ALLOW_DEMO_DATA=1 to "
            "seed a production-configured demo site anyway.",
            err=True,
        )
        sys.exit(1)
    result = demo.seed(if_empty=if_empty)
    db.session.commit()
    if result.skipped:
        click.echo("Accounts already exist: demo data not added (--if-empty).")
    else:
        for name, counts in result.counts.items():
            made = ", ".join(f"{v} {k}" for k, v in counts.items() if v) or "nothing new"
            click.echo(f"{name}: {made}")
    _print_logins()


def register(app: Flask) -> None:
    app.cli.add_command(seed_demo_command)
