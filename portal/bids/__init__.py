"""Bids: the supplier's task list under /opportunities/<commission>/bid, and the
commissioner's sealed (then opened) view of a commission's bids."""

from flask import Blueprint

bp = Blueprint("bids", __name__)

from portal.bids import routes  # noqa: E402,F401
