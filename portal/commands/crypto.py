"""`flask crypto ...`: the keys of secrets stored encrypted (portal/crypto.py).

    flask crypto new-key     print a new key to put first in DATA_ENCRYPTION_KEYS
    flask crypto rotate      re-encrypt every stored secret with the first key
"""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup
from sqlalchemy import select

from portal import audit, crypto
from portal.extensions import db
from portal.models.accounts import User

crypto_cli = AppGroup("crypto", help="Keys for secrets stored encrypted.")


@crypto_cli.command("new-key")
def new_key() -> None:
    """Print a new Fernet key."""
    click.echo(crypto.new_key())


@crypto_cli.command("rotate")
def rotate() -> None:
    """Re-encrypt every stored secret with the first key in DATA_ENCRYPTION_KEYS, so the
    older keys can then be removed. Safe to run again; one transaction."""
    users = db.session.scalars(
        select(User).where(User.totp_secret_encrypted.is_not(None)).with_for_update()
    ).all()
    for user in users:
        user.totp_secret_encrypted = crypto.rotate(user.totp_secret_encrypted)
    audit.record("crypto.keys_rotated", data={"totp_secrets": len(users)})
    db.session.commit()
    click.echo(f"{len(users)} authenticator secret(s) re-encrypted with the first key.")


def register(app: Flask) -> None:
    app.cli.add_command(crypto_cli)
