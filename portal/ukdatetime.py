"""UK time for people, UTC for the database.

Deadlines are typed and shown in UK time (Europe/London: GMT in winter, BST in summer)
and stored as aware UTC datetimes. `uk_to_utc` turns a wall-clock date and time into UTC,
refusing times that do not exist (the hour skipped when the clocks go forward) and
choosing the first of the two readings of an hour that happens twice (when the clocks go
back), which is the earlier instant and so never later than the person meant.

`DateTimeFields` is a WTForms form field: day, month, year and a time ("5pm", "17:00",
"9:30am"), GOV.UK date-input style.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

UK = ZoneInfo("Europe/London")


class NonexistentTime(ValueError):
    """The wall-clock time was skipped when the clocks went forward."""


def uk_to_utc(day: date, at: time) -> datetime:
    naive = datetime.combine(day, at)
    local = naive.replace(tzinfo=UK, fold=0)
    as_utc = local.astimezone(UTC)
    # A time in the gap does not survive the round trip.
    if as_utc.astimezone(UK).replace(tzinfo=None) != naive:
        raise NonexistentTime(f"{naive:%H:%M} on {day:%-d %B %Y} does not exist in UK time")
    return as_utc


def utc_to_uk(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("naive datetime")
    return value.astimezone(UK)


def uk_zone_name(value: datetime) -> str:
    """GMT or BST, for the moment `value`."""
    return utc_to_uk(value).tzname() or ""


def format_uk(value: datetime | None, *, with_zone: bool = True) -> str:
    """'5pm on 14 March 2026 (GMT)'-style text for a UTC moment."""
    if value is None:
        return ""
    local = utc_to_uk(value)
    if local.minute == 0:
        clock = f"{local:%-I}{'am' if local.hour < 12 else 'pm'}"
    else:
        clock = f"{local:%-I:%M}{'am' if local.hour < 12 else 'pm'}"
    if local.hour == 0 and local.minute == 0:
        clock = "midnight"
    elif local.hour == 12 and local.minute == 0:
        clock = "midday"
    text = f"{clock} on {local:%-d %B %Y}"
    if with_zone:
        text += f" ({local.tzname()})"
    return text


def days_left(deadline: datetime | None, now: datetime) -> int | None:
    """Whole UK calendar days from today to the deadline's day (0: today, negative: past)."""
    if deadline is None:
        return None
    return (utc_to_uk(deadline).date() - utc_to_uk(now).date()).days


_TIME = re.compile(
    r"^\s*(?P<h>\d{1,2})(?:[:.](?P<m>\d{2}))?\s*(?P<ampm>am|pm|a\.m\.|p\.m\.)?\s*$",
    re.IGNORECASE,
)


def parse_time(text: str) -> time | None:
    """'17:00', '5pm', '5:30 pm', '09.15', 'midday', 'midnight' -> time; None if not a time."""
    value = (text or "").strip().lower()
    if value in {"midday", "noon", "12 noon"}:
        return time(12, 0)
    if value == "midnight":
        return time(0, 0)
    match = _TIME.match(value)
    if not match:
        return None
    hour = int(match["h"])
    minute = int(match["m"] or 0)
    ampm = (match["ampm"] or "").replace(".", "")
    if minute > 59:
        return None
    if ampm:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if ampm == "pm" else 0)
    elif hour > 23 or match["m"] is None:
        # "17" alone is ambiguous enough to refuse; "17:00" is fine.
        return None
    return time(hour, minute)


def time_text(value: datetime | None) -> str:
    """How a stored moment is shown back in the time box (24-hour UK time)."""
    if value is None:
        return ""
    return f"{utc_to_uk(value):%H:%M}"


def add_days(value: datetime, days: int) -> datetime:
    return value + timedelta(days=days)
