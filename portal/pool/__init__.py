"""The reviewer pool: applying, deciding applications, membership, the public list."""

from flask import Blueprint

bp = Blueprint("pool", __name__)

from portal.pool import routes  # noqa: E402,F401
