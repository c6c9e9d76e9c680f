"""`flask directory ...`: the partnership directory's search index."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup

from portal.extensions import db

directory_cli = AppGroup("directory", help="The partnership directory.")


@directory_cli.command("reindex")
def reindex() -> None:
    """Rebuild the search index from every reviewer profile (after restoring a backup or
    loading data outside the app). Normal writes keep the index up to date by themselves."""
    from portal.search.schema import rebuild_all

    written = rebuild_all(db.session.connection())
    db.session.commit()
    click.echo(f"{written} reviewer profile(s) indexed.")


def register(app: Flask) -> None:
    app.cli.add_command(directory_cli)
