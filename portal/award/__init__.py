"""The award of a commission: commissioners propose, confirm, withdraw or close with no
suitable bid (/commissioning/commissions/<id>/award...), admins approve or return a
proposal (/admin/awards...), bidders read their outcome letters
(/opportunities/<id>/outcome), and anyone reads the open data policy (/open-data)."""

from flask import Blueprint

bp = Blueprint("award", __name__)

from portal.award import routes  # noqa: E402,F401
