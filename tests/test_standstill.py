"""The standstill period: working days (England and Wales bank holidays excluded) or the
older calendar-days rule, ending at midnight UK time; nobody confirms before it ends."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest
import time_machine

from portal.extensions import db
from portal.services import award as service
from portal.services.standstill import (
    CALENDAR_DAYS,
    WORKING_DAYS,
    StandstillRule,
    configured_rule,
    end_text,
    is_working_day,
    last_day,
    standstill_period,
)
from portal.ukdatetime import uk_to_utc
from tests.award_support import admin, evaluated_commission


def _uk(day: date, at: time = time(10, 0)) -> datetime:
    return uk_to_utc(day, at)


def test_bank_holidays_are_not_working_days():
    assert not is_working_day(date(2026, 12, 25))  # Christmas Day (Friday)
    assert not is_working_day(date(2026, 12, 28))  # Boxing Day observed (Monday)
    assert not is_working_day(date(2026, 5, 25))  # Spring bank holiday (Monday)
    assert not is_working_day(date(2026, 12, 26))  # Saturday
    assert is_working_day(date(2026, 12, 29))


@pytest.mark.parametrize(("approved", "rule", "days", "expected"), [
    # Working days across Christmas: 21, 22, 23, 24 Dec; (25 Christmas, 28 Boxing Day
    # observed); 29, 30, 31 Dec; (1 Jan New Year's Day); 4 Jan is the 8th.
    (date(2026, 12, 18), WORKING_DAYS, 8, date(2027, 1, 4)),
    # Across the Spring bank holiday Monday (25 May 2026): 26, 27, 28, 29 May, 1, 2, 3, 4 Jun
    (date(2026, 5, 22), WORKING_DAYS, 8, date(2026, 6, 4)),
    # Approved on the bank holiday itself: counting starts the next day
    (date(2026, 5, 25), WORKING_DAYS, 8, date(2026, 6, 4)),
    (date(2026, 5, 22), WORKING_DAYS, 1, date(2026, 5, 26)),
    # Calendar days: 10 days after 18 Dec 2026 is Monday 28 Dec (Boxing Day observed),
    # so the period runs to the next working day, Tuesday 29 Dec.
    (date(2026, 12, 18), CALENDAR_DAYS, 10, date(2026, 12, 29)),
    # 10 days after Thursday 14 May 2026 is Sunday 24 May; Monday 25 is the Spring bank
    # holiday, so Tuesday 26 May.
    (date(2026, 5, 14), CALENDAR_DAYS, 10, date(2026, 5, 26)),
    # Ending on a working day: unchanged
    (date(2026, 3, 2), CALENDAR_DAYS, 10, date(2026, 3, 12)),
    # Easter 2027: Good Friday 26 March and Easter Monday 29 March
    (date(2027, 3, 24), WORKING_DAYS, 3, date(2027, 3, 31)),
])
def test_last_day(approved, rule, days, expected):
    assert last_day(approved, rule, days) == expected


def test_the_period_ends_at_midnight_uk_time_in_winter_and_summer():
    winter = standstill_period(_uk(date(2026, 12, 18)), StandstillRule(WORKING_DAYS, 8))
    assert winter.last_day == date(2027, 1, 4)
    assert winter.ends_at == datetime(2027, 1, 5, 0, 0, tzinfo=UTC)  # GMT
    summer = standstill_period(_uk(date(2026, 5, 22)), StandstillRule(WORKING_DAYS, 8))
    assert summer.ends_at == datetime(2026, 6, 4, 23, 0, tzinfo=UTC)  # midnight BST
    assert summer.description.startswith("8 working days")
    assert end_text(summer.ends_at) == "midnight at the end of Thursday 4 June 2026 (UK time)"
    assert end_text(winter.ends_at) == "midnight at the end of Monday 4 January 2027 (UK time)"


def test_the_uk_date_of_approval_counts_not_the_utc_date():
    # 00:30 BST on Saturday 23 May 2026 is still Friday 22 May in UTC
    late = uk_to_utc(date(2026, 5, 23), time(0, 30))
    assert late.astimezone(UTC).date() == date(2026, 5, 22)
    period = standstill_period(late, StandstillRule(WORKING_DAYS, 1))
    assert period.last_day == date(2026, 5, 26)  # Sat, Sun, bank holiday Mon, then Tue


def test_the_rule_comes_from_the_settings(app):
    assert configured_rule() == StandstillRule(WORKING_DAYS, 8)
    app.config["STANDSTILL_RULE"] = "calendar_days"
    assert configured_rule() == StandstillRule(CALENDAR_DAYS, 10)
    app.config["STANDSTILL_CALENDAR_DAYS"] = 15
    assert configured_rule().days == 15
    app.config["STANDSTILL_RULE"] = "fortnights"
    with pytest.raises(ValueError, match="STANDSTILL_RULE"):
        configured_rule()
    app.config["STANDSTILL_RULE"] = "working_days"
    app.config["STANDSTILL_WORKING_DAYS"] = 0
    with pytest.raises(ValueError):
        configured_rule()


@pytest.mark.parametrize(("rule", "last"), [
    ("working_days", date(2027, 1, 4)),
    ("calendar_days", date(2026, 12, 29)),
])
def test_nobody_confirms_before_the_standstill_ends(app, rule, last):
    app.config["STANDSTILL_RULE"] = rule
    ev = evaluated_commission()
    award = service.propose(ev.commissioner, ev.commission, None, "")
    db.session.commit()
    approved_at = _uk(date(2026, 12, 18), time(15, 0))
    with time_machine.travel(approved_at, tick=False):
        service.approve(admin(), award)
        db.session.commit()
    end = uk_to_utc(date.fromordinal(last.toordinal() + 1), time(0, 0))
    assert award.standstill_ends_at == end
    assert award.standstill_rule == rule
    # a second before midnight at the end of the last day: refused
    with time_machine.travel(uk_to_utc(last, time(23, 59, 59)), tick=False):
        with pytest.raises(service.AwardError, match="standstill period has not ended"):
            service.confirm(ev.commissioner, award)
        db.session.rollback()
    # at midnight: confirmed
    with time_machine.travel(end, tick=False):
        service.confirm(ev.commissioner, award)
        db.session.commit()
    assert award.status == "confirmed"
