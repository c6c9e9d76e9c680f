"""Command-line commands (`flask --help` lists them)."""

from __future__ import annotations

from flask import Flask

from portal.commands import accounts, audit, commissions, crypto, demo, directory, outbox, pool


def init_app(app: Flask) -> None:
    import portal.login  # noqa: F401  (registers the user loader)

    for module in (accounts, audit, commissions, crypto, demo, directory, outbox, pool):
        module.register(app)
