"""The audit trail for administrators: filter, page through and export events."""

from __future__ import annotations

import csv
import io
import json
import math
import re
from collections.abc import Iterable, Iterator
from datetime import date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode

from flask import (
    Response,
    current_app,
    redirect,
    render_template,
    request,
    url_for,
)
from govuk_frontend_wtf.wtforms_widgets import GovDateInput, GovSubmitInput, GovTextInput
from wtforms import DateField, Form, StringField, SubmitField
from wtforms.validators import Length, Optional, ValidationError

from portal.access import staff_required
from portal.admin import bp
from portal.audit import AuditFilters, canonical_json, count_events, events_page, iter_events
from portal.extensions import db
from portal.models.base import utcnow
from portal.templating import UK

DEFAULT_PAGE_SIZE = 50
CSV_COLUMNS = (
    "sequence",
    "occurred_at_utc",
    "actor_id",
    "actor_email",
    "action",
    "object_type",
    "object_id",
    "data",
    "ip_address",
    "previous_hash",
    "hash",
)


# ---------------------------------------------------------------------------------------
# The filter form (GET, so no CSRF token; nothing changes)


def _strip(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    return value or None


class UKDateField(DateField):
    """A GOV.UK date input (day, month, year boxes sharing one name) with GOV.UK errors."""

    widget = GovDateInput()

    def __init__(self, label: str, **kwargs: Any) -> None:
        super().__init__(label, format="%d %m %Y", **kwargs)

    def process_formdata(self, valuelist: list[str]) -> None:
        parts = [(v or "").strip() for v in valuelist[:3]]
        parts += [""] * (3 - len(parts))
        self.raw_data = parts  # the widget shows the three boxes from these
        self.data = None
        day, month, year = parts
        if not any(parts):
            return
        missing = [
            name for name, part in zip(("day", "month", "year"), parts, strict=True) if not part
        ]
        if missing:
            wanted = " and ".join(missing) if len(missing) < 3 else "day, month and year"
            raise ValueError(f"{self.label.text} must include a {wanted}")
        if not all(re.fullmatch(r"\d{1,4}", part) for part in parts):
            raise ValueError(f"{self.label.text} must be a real date")
        if len(year) != 4:
            raise ValueError(f"{self.label.text}: the year must include 4 numbers")
        try:
            self.data = date(int(year), int(month), int(day))
        except ValueError:
            raise ValueError(f"{self.label.text} must be a real date") from None


class AuditFilterForm(Form):
    actor_email = StringField(
        "Email address of the person",
        description="All or part of it, for example @example.org",
        filters=[_strip],
        validators=[
            Optional(),
            Length(max=320, message="Email address must be 320 characters or fewer"),
        ],
        widget=GovTextInput(),
    )
    action = StringField(
        "Action",
        description="An action such as user.created, or the start of one such as user.",
        filters=[_strip],
        validators=[Optional(), Length(max=100, message="Action must be 100 characters or fewer")],
        widget=GovTextInput(),
    )
    object_type = StringField(
        "Object type",
        description="For example users or organisations",
        filters=[_strip],
        validators=[
            Optional(),
            Length(max=60, message="Object type must be 60 characters or fewer"),
        ],
        widget=GovTextInput(),
    )
    object_id = StringField(
        "Object ID",
        filters=[_strip],
        validators=[Optional(), Length(max=64, message="Object ID must be 64 characters or fewer")],
        widget=GovTextInput(),
    )
    date_from = UKDateField("From date", description="For example, 27 3 2025")
    date_to = UKDateField("To date", description="For example, 31 3 2025")
    submit = SubmitField("Apply filters", widget=GovSubmitInput())

    def validate_date_to(self, field: UKDateField) -> None:
        if field.data and self.date_from.data and field.data < self.date_from.data:
            raise ValidationError("To date must be the same as or after the from date")

    def filters(self) -> AuditFilters:
        return AuditFilters(
            actor_email=self.actor_email.data,
            action=self.action.data,
            object_type=self.object_type.data,
            object_id=self.object_id.data,
            occurred_from=_uk_midnight(self.date_from.data),
            # "To 31 March" includes the whole of 31 March, UK time.
            occurred_before=_uk_midnight(self.date_to.data, days_after=1),
        )


def _uk_midnight(day: date | None, days_after: int = 0) -> datetime | None:
    """The start of a day in the UK (GMT or BST), as an aware datetime."""
    if day is None:
        return None
    return datetime.combine(day + timedelta(days=days_after), time(0, 0), tzinfo=UK)


def _filter_args() -> list[tuple[str, str]]:
    """The filters in the query string, as given, without the page number."""
    return [(k, v) for k, v in request.args.items(multi=True) if k not in {"page", "submit"}]


def _url(endpoint: str, args: Iterable[tuple[str, str]]) -> str:
    query = urlencode(list(args))
    return url_for(endpoint) + (f"?{query}" if query else "")


# ---------------------------------------------------------------------------------------
# Presentation helpers


def data_items(data: Any) -> list[tuple[str, str]]:
    """An event's JSON data as (name, value) lines a person can read; text only, the
    template escapes it."""
    if not isinstance(data, dict):
        return [("Value", json.dumps(data, ensure_ascii=False))]
    items = []
    for key in sorted(data):
        value = data[key]
        text = (
            value
            if isinstance(value, str)
            else json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(", ", ": "))
        )
        items.append((str(key), text))
    return items


def pagination(page: int, last_page: int, args: list[tuple[str, str]]) -> dict | None:
    """Parameters for govukPagination: first, last, and the pages around the current one."""
    if last_page <= 1:
        return None

    def href(number: int) -> str:
        return _url("admin.audit_events", [*args, ("page", str(number))])

    shown = sorted({1, last_page, page - 1, page, page + 1} & set(range(1, last_page + 1)))
    items: list[dict] = []
    previous = None
    for number in shown:
        if previous is not None and number - previous > 1:
            items.append({"ellipsis": True})
        items.append({"number": number, "href": href(number), "current": number == page})
        previous = number
    params: dict[str, Any] = {"items": items, "landmarkLabel": "Pages of audit events"}
    if page > 1:
        params["previous"] = {"href": href(page - 1)}
    if page < last_page:
        params["next"] = {"href": href(page + 1)}
    return params


# ---------------------------------------------------------------------------------------
# Routes


@bp.get("/audit")
@staff_required("admin")
def audit_events():
    form = AuditFilterForm(request.args)
    per_page = int(current_app.config.get("AUDIT_PAGE_SIZE", DEFAULT_PAGE_SIZE))
    page = max(request.args.get("page", 1, type=int), 1)
    args = _filter_args()
    events: list = []
    total = 0
    last_page = 1
    if form.validate():
        filters = form.filters()
        total = count_events(filters)
        last_page = max(1, math.ceil(total / per_page))
        if page > last_page:
            page = last_page
        events = events_page(filters, page, per_page)
    # With errors, the base template shows the error summary and no events are listed.
    rows = [{"event": event, "data": data_items(event.data)} for event in events]
    first_shown = (page - 1) * per_page + 1 if events else 0
    return render_template(
        "admin/audit.html",
        form=form,
        rows=rows,
        total=total,
        first_shown=first_shown,
        last_shown=first_shown + len(events) - 1 if events else 0,
        pagination=pagination(page, last_page, args),
        csv_url=_url("admin.audit_events_csv", args),
        filtered=bool([v for _, v in args if v.strip()]),
    )


# Cells that a spreadsheet would read as a formula (OWASP CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value: Any) -> str:
    if value is None:
        return ""
    text = value if isinstance(value, str) else str(value)
    if text.startswith(_FORMULA_START):
        return "'" + text
    return text


def _csv_lines(rows: Iterable[Any]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    # The header goes out on its own, before the first row is read from the database.
    yield buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    for n, row in enumerate(rows, start=1):
        writer.writerow(
            [
                csv_safe(value)
                for value in (
                    row.sequence,
                    row.occurred_at.isoformat(timespec="microseconds"),
                    row.actor_id,
                    row.actor_label,
                    row.action,
                    row.object_type,
                    row.object_id,
                    canonical_json(row.data),
                    row.ip_address,
                    row.previous_hash,
                    row.hash,
                )
            ]
        )
        if n % 200 == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


@bp.get("/audit.csv")
@staff_required("admin")
def audit_events_csv():
    form = AuditFilterForm(request.args)
    if not form.validate():
        # Show the same errors on the page the filters came from.
        return redirect(_url("admin.audit_events", _filter_args()))
    filters = form.filters()
    stamp = utcnow().astimezone(UK).strftime("%Y-%m-%d-%H%M")
    # The rows stream from their own connection once the response is being sent, after
    # this request's context (and its session, which on SQLite holds the write lock) has
    # been torn down; nothing is read if the body is never asked for.
    response = Response(_csv_lines(iter_events(filters, db.engine)), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="audit-events-{stamp}.csv"'
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
