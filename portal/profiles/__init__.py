"""Supplier pages: organisation details and reviewer profiles."""

from flask import Blueprint

bp = Blueprint("profiles", __name__, url_prefix="/organisation")

from portal.profiles import routes  # noqa: E402,F401
