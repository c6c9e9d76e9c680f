"""Template globals and filters shared by every page."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from flask import Flask, request, url_for
from flask_login import current_user

from portal.security import csp_nonce

UK = ZoneInfo("Europe/London")


def uk_datetime(value: datetime | None, fmt: str = "%-d %B %Y at %-I:%M%p") -> str:
    """Show a UTC time in UK time (GMT or BST), the way GOV.UK writes it."""
    if value is None:
        return ""
    text = value.astimezone(UK).strftime(fmt)
    return text.replace("AM", "am").replace("PM", "pm")


def uk_date(value, fmt: str = "%-d %B %Y") -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = value.astimezone(UK)
    return value.strftime(fmt)


def navigation_items() -> list[dict]:
    """Service navigation, by role. Only links to pages the person can open."""
    items: list[tuple[str, str]] = []
    user = current_user
    if user.is_authenticated:
        items.append(("main.dashboard", "Home"))
        for endpoint, text, allowed in _role_links(user):
            if allowed:
                items.append((endpoint, text))
    else:
        items.append(("main.index", "Home"))
        items.append(("pool.public_list", "Reviewer pool"))
    current = request.endpoint
    nav = []
    for endpoint, text in items:
        try:
            href = url_for(endpoint)
        except Exception:  # noqa: S112 - a link to an area that is not built yet
            continue
        nav.append({"href": href, "text": text, "current": endpoint == current})
    return nav


def _role_links(user) -> list[tuple[str, str, bool]]:
    return [
        ("admin.index", "Administration", user.is_admin),
        ("profiles.details", "Your organisation", user.is_supplier),
        ("pool.memberships", "Pool membership", user.is_supplier),
        ("teams.team", "Your team", user.is_supplier),
        ("pool.queue", "Applications", user.is_commissioner),
        ("pool.members", "Pool members", user.is_commissioner),
        ("commissions.index", "Commissions", user.is_commissioner),
        ("evaluation.index", "Evaluations", user.is_evaluator),
        ("commissions.opportunities", "Opportunities", user.is_supplier),
        ("directory.search", "Find a reviewer",
         user.is_approved_partnership_member or user.is_commissioner or user.is_admin),
        ("directory.enquiries", "Enquiries",
         user.is_approved_partnership_member or user.is_supplier),
    ]


def init_app(app: Flask) -> None:
    app.jinja_env.filters["uk_datetime"] = uk_datetime
    app.jinja_env.filters["uk_date"] = uk_date
    from portal.markdown import render_markdown
    from portal.ukdatetime import format_uk

    app.jinja_env.filters["markdown"] = render_markdown
    app.jinja_env.filters["uk_deadline"] = format_uk
    from portal.services.standstill import end_text

    app.jinja_env.filters["standstill_end"] = end_text
    from portal.uploads import file_size

    app.jinja_env.filters["file_size"] = file_size

    @app.context_processor
    def inject_globals():
        return {
            "cspNonce": csp_nonce(),
            "csp_nonce": csp_nonce,
            "service_name": app.config["SERVICE_NAME"],
            "navigation_items": navigation_items,
        }
