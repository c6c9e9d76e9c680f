"""Supplier teams: the team page, invitations, members and ownership."""

from flask import Blueprint

bp = Blueprint("teams", __name__, url_prefix="/team")

from portal.teams import routes  # noqa: E402,F401
