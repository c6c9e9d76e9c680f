"""`flask` commands: outbox (filled in by its work package)."""

from flask import Flask


def register(app: Flask) -> None:
    pass
