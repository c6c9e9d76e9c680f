"""The standstill period between approving an award and confirming it.

Two rules, chosen with the STANDSTILL_RULE setting:

- "working_days" (the default, Procurement Act 2023): STANDSTILL_WORKING_DAYS (default 8)
  working days, counted from the day after the award is approved (UK date). A working day
  is Monday to Friday and not a bank holiday in England and Wales (the `holidays` package,
  `country_holidays("GB", subdiv="ENG")`).
- "calendar_days" (the older Public Contracts Regulations 2015): STANDSTILL_CALENDAR_DAYS
  (default 10) calendar days from the day after approval; when the last day is not a
  working day, the period runs to the end of the next working day.

The period ends at midnight (UK time) at the end of its last day. Nobody can confirm the
award before that moment (`Award.standstill_ends_at`), on the server's clock.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache

import holidays
from flask import current_app

from portal.ukdatetime import uk_to_utc, utc_to_uk

WORKING_DAYS = "working_days"
CALENDAR_DAYS = "calendar_days"
RULES = (WORKING_DAYS, CALENDAR_DAYS)
DEFAULT_WORKING_DAYS = 8
DEFAULT_CALENDAR_DAYS = 10

RULE_LABELS = {
    WORKING_DAYS: "working days (England and Wales bank holidays excluded)",
    CALENDAR_DAYS: "calendar days (ending on a working day)",
}


def _setting(name: str, default: str) -> str:
    try:
        value = current_app.config.get(name)
    except RuntimeError:  # outside an app context
        value = None
    if value in (None, ""):
        value = os.environ.get(name) or default
    return str(value)


@dataclass(frozen=True)
class StandstillRule:
    rule: str
    days: int

    @property
    def label(self) -> str:
        return f"{self.days} {RULE_LABELS[self.rule]}"


def configured_rule() -> StandstillRule:
    """The rule in force: STANDSTILL_RULE and STANDSTILL_WORKING_DAYS or
    STANDSTILL_CALENDAR_DAYS (from the app config, else the environment)."""
    rule = _setting("STANDSTILL_RULE", WORKING_DAYS).strip().lower()
    if rule not in RULES:
        raise ValueError(f"STANDSTILL_RULE must be one of {', '.join(RULES)}, not {rule!r}")
    if rule == WORKING_DAYS:
        days = int(_setting("STANDSTILL_WORKING_DAYS", str(DEFAULT_WORKING_DAYS)))
    else:
        days = int(_setting("STANDSTILL_CALENDAR_DAYS", str(DEFAULT_CALENDAR_DAYS)))
    if not 1 <= days <= 60:
        raise ValueError("The standstill period must be between 1 and 60 days")
    return StandstillRule(rule, days)


@lru_cache(maxsize=64)
def _bank_holidays(year: int) -> frozenset[date]:
    return frozenset(holidays.country_holidays("GB", subdiv="ENG", years=year).keys())


def is_bank_holiday(day: date) -> bool:
    return day in _bank_holidays(day.year)


def is_working_day(day: date) -> bool:
    return day.weekday() < 5 and not is_bank_holiday(day)


def next_working_day(day: date) -> date:
    """`day` itself when it is a working day, else the next one."""
    while not is_working_day(day):
        day += timedelta(days=1)
    return day


def last_day(start: date, rule: str, days: int) -> date:
    """The last day of a standstill that starts on `start` (the day of approval; the
    count begins the day after)."""
    if rule == WORKING_DAYS:
        day, counted = start, 0
        while counted < days:
            day += timedelta(days=1)
            if is_working_day(day):
                counted += 1
        return day
    if rule == CALENDAR_DAYS:
        return next_working_day(start + timedelta(days=days))
    raise ValueError(f"unknown standstill rule {rule!r}")


@dataclass(frozen=True)
class StandstillPeriod:
    rule: str
    days: int
    starts_at: datetime  # the approval (UTC)
    last_day: date  # UK date
    ends_at: datetime  # midnight UK time at the end of last_day, as UTC

    @property
    def description(self) -> str:
        """'8 working days': the length and the rule; `end_text` says when it ends."""
        return f"{self.days} {RULE_LABELS[self.rule]}"


def end_text(ends_at: datetime | None) -> str:
    """'midnight at the end of Wednesday 9 December 2026 (UK time)' for the moment a
    standstill ends. Naming the last day, not 'midnight on 10 December', leaves no doubt
    about which midnight is meant."""
    if ends_at is None:
        return ""
    final = utc_to_uk(ends_at).date() - timedelta(days=1)
    return f"midnight at the end of {final:%A %-d %B %Y} (UK time)"


def standstill_period(starts_at: datetime, rule: StandstillRule | None = None) -> StandstillPeriod:
    rule = rule or configured_rule()
    start_day = utc_to_uk(starts_at).date()
    final = last_day(start_day, rule.rule, rule.days)
    ends_at = uk_to_utc(final + timedelta(days=1), time(0, 0))
    return StandstillPeriod(rule.rule, rule.days, starts_at, final, ends_at)
