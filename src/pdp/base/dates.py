"""Time in the policy language, counted in days: dates as requests carry them, and calendar-exact durations.

A date is the ISO 8601 text `YYYY-MM-DD` (how a request, a ledger fill and a
policy write it), so two dates are equal exactly when their texts are. A
duration moves a date by whole days, weeks, months or years. Months and
years follow the calendar (python-dateutil's `relativedelta`): the same day
of the month that many months on, or the month's last day when it has no
such day, so 2026-01-31 + 1 month is 2026-02-28 and 2024-02-29 + 1 year is
2025-02-28. Pure: no clock is read here.
"""

from __future__ import annotations

import re
from datetime import date

from dateutil.relativedelta import relativedelta

ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
MAX_AMOUNT = 100_000  # days in a duration (about 273 years); months and years are bounded alike (MAX_DAYS_OF)
MAX_DAYS_OF = {"days": 1, "weeks": 7, "months": 31, "years": 366}  # the most days one unit can be


def day_of(value: object) -> date | None:
    """The calendar date a value holds (`"2026-03-01"`), or None when it is no such date."""
    if type(value) is not str or len(value) != 10 or not ISO_DAY.fullmatch(value):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:  # 2026-02-30
        return None


def unit_of(word: str) -> str:
    """`day`, `days` -> `days`: a duration's unit as it is kept and printed."""
    return word if word.endswith("s") else word + "s"


def too_long(amount: int, unit: str) -> bool:
    """A duration past the limit: no retention period or consent lasts centuries."""
    return amount * MAX_DAYS_OF[unit] > MAX_AMOUNT


def shifted(day: date, sign: str, amount: int, unit: str) -> date | None:
    """`day` moved by the duration (sign `+` or `-`), calendar-exact; None past the calendar's ends (year 1, 9999)."""
    step = {"days": relativedelta(days=amount), "weeks": relativedelta(weeks=amount),
            "months": relativedelta(months=amount), "years": relativedelta(years=amount)}[unit]
    try:
        return day + step if sign == "+" else day - step
    except (OverflowError, ValueError):
        return None


__all__ = ["ISO_DAY", "MAX_AMOUNT", "day_of", "shifted", "too_long", "unit_of"]
