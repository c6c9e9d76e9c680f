"""`flask` commands for accounts.

    flask create-admin --email E [--name N] [--password-stdin]
        create a verified admin (or make an existing account one)
    flask demo-totp EMAIL
        print the current authenticator code of a demo account (development only)
"""

from __future__ import annotations

import sys
import time

import click
import pyotp
from flask import Flask, current_app

from portal.extensions import db
from portal.services import admin_users


def _sign_in_url() -> str:
    base = current_app.config.get("PUBLIC_BASE_URL")
    return f"{base.rstrip('/')}/sign-in" if base else "/sign-in on the portal"


@click.command("create-admin")
@click.option("--email", required=True, help="The admin's e-mail address (their sign-in name).")
@click.option("--name", default=None, help="Full name (default: kept, or the e-mail's first part).")
@click.option("--password-stdin", is_flag=True,
              help="Read the password from the first line of standard input (for scripts).")
def create_admin_command(email: str, name: str | None, password_stdin: bool) -> None:
    """Create a verified admin account, or give an existing account the admin role.

    The password must pass the same strength rules as every other password. An existing
    account's password is replaced by the one given, and its sessions end.
    """
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        user, created = admin_users.create_admin(email, name, password)
    except admin_users.AdminError as error:
        db.session.rollback()
        raise click.ClickException(error.message) from None
    db.session.commit()
    click.echo(f"{'Created' if created else 'Updated'} admin account {user.email} ({user.name}).")
    click.echo("Next steps:")
    click.echo(f"  1. Sign in at {_sign_in_url()} with this e-mail address and password.")
    click.echo("  2. Set up an authenticator app when asked (scan the QR code), and keep the")
    click.echo("     recovery codes somewhere safe. Staff pages need this second factor.")
    click.echo("  3. Open Administration > Users to invite colleagues and give them roles.")


@click.command("demo-totp")
@click.argument("email")
def demo_totp_command(email: str) -> None:
    """Print the current authenticator code of a demo account (development only)."""
    if current_app.config.get("ENV_NAME") != "development":
        click.echo(
            "Refusing: flask demo-totp only works in development (PORTAL_ENV=development). "
            "Use an authenticator app.",
            err=True,
        )
        sys.exit(1)
    from portal.demo import find_user

    user = find_user(email.strip())
    if user is None:
        click.echo(f"No account uses {email}. Run `flask seed-demo` first?", err=True)
        sys.exit(1)
    if not user.totp_secret or user.totp_enabled_at is None:
        click.echo(f"{user.email} has no authenticator set up.", err=True)
        sys.exit(1)
    totp = pyotp.TOTP(user.totp_secret)
    remaining = totp.interval - int(time.time()) % totp.interval
    click.echo(totp.now())
    click.echo(f"Valid for about {remaining} more seconds; each code works once.", err=True)


def register(app: Flask) -> None:
    app.cli.add_command(create_admin_command)
    app.cli.add_command(demo_totp_command)
