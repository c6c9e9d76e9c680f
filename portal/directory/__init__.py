"""The partnership directory: search, reviewer profiles, shortlists and enquiries."""

import os

from flask import Blueprint

bp = Blueprint("directory", __name__, url_prefix="/directory")


@bp.record_once
def _defaults(state) -> None:
    # Enquiries per partnership member per rolling 24 hours (environment: ENQUIRY_DAILY_LIMIT).
    state.app.config.setdefault(
        "ENQUIRY_DAILY_LIMIT", int(os.environ.get("ENQUIRY_DAILY_LIMIT") or 20)
    )


from portal.directory import routes  # noqa: E402,F401
