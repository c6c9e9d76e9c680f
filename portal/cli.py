"""Command-line commands (`flask --help` lists them)."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    import portal.login  # noqa: F401  (registers the user loader)
