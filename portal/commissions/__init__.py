"""Commissions: commissioners draft, publish, amend and cancel them and answer
clarification questions; invited suppliers see their opportunities and ask questions."""

from flask import Blueprint

bp = Blueprint("commissions", __name__)

from portal.commissions import routes  # noqa: E402,F401


@bp.app_template_filter("iso_uk_deadline")
def iso_uk_deadline(value: str | None) -> str:
    """A deadline kept as ISO text (amendment history), shown in UK time."""
    from datetime import datetime

    from portal.ukdatetime import format_uk

    if not value:
        return "not set"
    return format_uk(datetime.fromisoformat(value))


@bp.app_template_filter("pounds")
def pounds(pence: int | None) -> str:
    from portal.services.commissions import format_pence

    return format_pence(pence)
