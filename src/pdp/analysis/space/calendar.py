"""The calendar as z3 integer arithmetic: a date as year, month and day, and the engine's shifts of it.

A date attribute of the space is three bounded integers (`Day`), kept a valid
day of the proleptic Gregorian calendar (years 1 to 9999, as the engine
parses dates: `base/dates.day_of`). Dates are compared by their ordinal (the
day number Python's `date.toordinal` gives), built from the three with
division by constants only. A shift is `base/dates.shifted`, the engine's:
days and weeks move the ordinal; months and years move the month count and
clamp the day to the new month's length (python-dateutil's `relativedelta`,
leap years included). A shift past the calendar's ends is a failure, as the
engine raises one (`conditions._Values.visit_Shift`). The tests hold each
piece equal to Python's `date` and `relativedelta` on generated dates.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import z3

FIRST, LAST = date.min.toordinal(), date.max.toordinal()  # 0001-01-01 and 9999-12-31
_BEFORE_MONTH = (0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334)  # days before each month, in a common year
_LENGTH = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def leap(year) -> z3.BoolRef:
    return z3.And(year % 4 == 0, z3.Or(year % 100 != 0, year % 400 == 0))


def month_length(year, month) -> z3.ArithRef:
    length: z3.ArithRef = z3.IntVal(_LENGTH[11])
    for m in range(11, 0, -1):
        length = z3.If(month == m, z3.If(leap(year), 29, 28) if m == 2 else z3.IntVal(_LENGTH[m - 1]), length)
    return length


def ordinal(year, month, day) -> z3.ArithRef:
    """`date(year, month, day).toordinal()` (for a valid date)."""
    before_month: z3.ArithRef = z3.IntVal(_BEFORE_MONTH[11])
    for m in range(11, 0, -1):
        before_month = z3.If(month == m, _BEFORE_MONTH[m - 1], before_month)
    before_month = before_month + z3.If(z3.And(month > 2, leap(year)), 1, 0)
    y = year - 1
    return y * 365 + y / 4 - y / 100 + y / 400 + before_month + day


@dataclass(frozen=True)
class Day:
    """A date the solver chooses: three integers, valid together (`constraints`)."""

    year: z3.ArithRef
    month: z3.ArithRef
    day: z3.ArithRef

    @staticmethod
    def named(name: str) -> Day:
        return Day(z3.Int(f"{name}.year"), z3.Int(f"{name}.month"), z3.Int(f"{name}.day"))

    def constraints(self) -> list:
        return [self.year >= 1, self.year <= 9999, self.month >= 1, self.month <= 12, self.day >= 1,
                self.day <= month_length(self.year, self.month)]

    def ordinal(self) -> z3.ArithRef:
        return ordinal(self.year, self.month, self.day)

    def equals(self, value: date) -> z3.BoolRef:
        return z3.And(self.year == value.year, self.month == value.month, self.day == value.day)

    def of(self, model: z3.ModelRef) -> date:
        """The date a model gives (a valid one: the constraints hold in every model)."""
        def number(term) -> int:
            return model.eval(term, model_completion=True).as_long()
        return date(number(self.year), number(self.month), number(self.day))


def shifted(day: Day, sign: str, amount: int, unit: str) -> tuple[z3.ArithRef, z3.BoolRef]:
    """(the ordinal of `day` moved, where the move is past the calendar's ends), as `base/dates.shifted`."""
    step = amount if sign == "+" else -amount
    if unit in ("days", "weeks"):
        moved = day.ordinal() + step * (7 if unit == "weeks" else 1)
        return moved, z3.Or(moved < FIRST, moved > LAST)
    months = day.year * 12 + (day.month - 1) + step * (12 if unit == "years" else 1)
    year, month = months / 12, months % 12 + 1
    length = month_length(year, month)
    clamped = z3.If(day.day > length, length, day.day)
    return ordinal(year, month, clamped), z3.Or(months < 12, months > 9999 * 12 + 11)


__all__ = ["FIRST", "LAST", "Day", "leap", "month_length", "ordinal", "shifted"]
