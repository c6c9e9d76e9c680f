"""Evaluation: the commissioner's panel, progress, price envelope, ranking, report and
exports (/commissioning/commissions/<id>/evaluation...), and the evaluators' pages:
declarations, scoring, submission and moderation (/evaluation/...)."""

from flask import Blueprint

bp = Blueprint("evaluation", __name__)

from portal.evaluation import routes  # noqa: E402,F401
