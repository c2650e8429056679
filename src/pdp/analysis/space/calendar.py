"""The calendar as z3 integer arithmetic: a date as year, month and day, and the engine's shifts of it.

A date attribute of the space is three bounded integers (`Day`), kept a valid
day of the proleptic Gregorian calendar (years 1 to 9999, as the engine
parses dates: `base/dates.day_of`). A date in a formula is a `Moment`: its
year, month and day, compared in that order (linear: the solver's easiest
arithmetic), or, once moved by days or weeks, its ordinal (the day number
Python's `date.toordinal` gives, built with division by constants only), and
a comparison with such a moment compares ordinals. A shift is
`base/dates.shifted`, the engine's: days and weeks move the ordinal; months
and years move the month (a table over the twelve months: no division) and
clamp the day to the new month's length (python-dateutil's `relativedelta`,
leap years included). A shift past the calendar's ends is a failure, as the
engine raises one (`conditions._Values.visit_Shift`). The tests hold each
piece equal to Python's `date` and `relativedelta` on generated dates.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, Callable

import z3

FIRST, LAST = date.min.toordinal(), date.max.toordinal()  # 0001-01-01 and 9999-12-31
_BEFORE_MONTH = (0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334)  # days before each month, in a common year
_LENGTH = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)

Number = Any  # a z3 integer expression, or a Python int


def leap(year: Number) -> Any:
    if isinstance(year, int):
        return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    return z3.And(year % 4 == 0, z3.Or(year % 100 != 0, year % 400 == 0))


def _by_month(month: Number, value: Callable[[int], Number]) -> Number:
    """`value(month)`, for a month the solver chooses: a table of the twelve."""
    if isinstance(month, int):
        return value(month)
    out = value(12)
    for m in range(11, 0, -1):
        out = z3.If(month == m, value(m), out)
    return out


def month_length(year: Number, month: Number) -> Number:
    february = z3.If(leap(year), 29, 28) if not isinstance(year, int) else 29 if leap(year) else 28
    return _by_month(month, lambda m: february if m == 2 else _LENGTH[m - 1])


def ordinal(year: Number, month: Number, day: Number) -> Number:
    """`date(year, month, day).toordinal()` (for a valid date)."""
    if isinstance(year, int) and isinstance(month, int) and isinstance(day, int):
        return date(year, month, day).toordinal()
    year = z3.IntVal(year) if isinstance(year, int) else year
    before_month = _by_month(month, lambda m: _BEFORE_MONTH[m - 1])
    y = year - 1
    return y * 365 + y / 4 - y / 100 + y / 400 + before_month + z3.If(z3.And(month > 2, leap(year)), 1, 0) + day


@dataclass(frozen=True)
class Moment:
    """A date in a formula: its year, month and day, or (`days` set) only its ordinal."""

    year: Number = 0
    month: Number = 0
    day: Number = 0
    days: Number | None = None

    @staticmethod
    def of(value: date) -> Moment:
        return Moment(value.year, value.month, value.day)

    def ordinal(self) -> Number:
        return self.days if self.days is not None else ordinal(self.year, self.month, self.day)


def compared(op: str, a: Moment, b: Moment) -> Any:
    """`a OP b` for two dates (`==`, `!=`, `<`, `<=`, `>`, `>=`)."""
    if a.days is not None or b.days is not None:
        x, y = a.ordinal(), b.ordinal()
        return {"==": lambda: x == y, "!=": lambda: x != y, "<": lambda: x < y, "<=": lambda: x <= y,
                ">": lambda: x > y, ">=": lambda: x >= y}[op]()
    pairs = [(a.year, b.year), (a.month, b.month), (a.day, b.day)]
    if op in ("==", "!="):
        same = _all([x == y for x, y in pairs])
        return same if op == "==" else _negated(same)
    if op in (">", ">="):
        return compared({">": "<", ">=": "<="}[op], b, a)
    # lexicographic: earlier in the first part that differs (or, for <=, the same day)
    out: Any = op == "<="
    for x, y in reversed(pairs):
        out = _any([x < y, _all([x == y, out])])
    return out


def _all(items: list) -> Any:
    if any(i is False for i in items):
        return False
    live = [i for i in items if i is not True]
    return True if not live else live[0] if len(live) == 1 else z3.And(live)


def _any(items: list) -> Any:
    if any(i is True for i in items):
        return True
    live = [i for i in items if i is not False]
    return False if not live else live[0] if len(live) == 1 else z3.Or(live)


def _negated(item: Any) -> Any:
    return (not item) if isinstance(item, bool) else z3.Not(item)


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

    def moment(self) -> Moment:
        return Moment(self.year, self.month, self.day)

    def equals(self, value: date) -> z3.BoolRef:
        return z3.And(self.year == value.year, self.month == value.month, self.day == value.day)

    def of(self, model: z3.ModelRef) -> date:
        """The date a model gives (a valid one: the constraints hold in every model)."""
        def number(term) -> int:
            return model.eval(term, model_completion=True).as_long()
        return date(number(self.year), number(self.month), number(self.day))


def shifted(moment: Moment, sign: str, amount: int, unit: str) -> tuple[Moment, Any]:
    """(the moment moved, where the move is past the calendar's ends), as `base/dates.shifted`."""
    step = amount if sign == "+" else -amount
    if unit in ("days", "weeks"):
        moved = moment.ordinal() + step * (7 if unit == "weeks" else 1)
        return Moment(days=moved), z3.Or(moved < FIRST, moved > LAST)
    step *= 12 if unit == "years" else 1
    year = moment.year + _by_month(moment.month, lambda m: (m - 1 + step) // 12)
    month = _by_month(moment.month, lambda m: (m - 1 + step) % 12 + 1)
    length = month_length(year, month)
    day = z3.If(moment.day > length, length, moment.day)
    return Moment(year, month, day), z3.Or(year < 1, year > 9999)


__all__ = ["FIRST", "LAST", "Day", "Moment", "compared", "leap", "month_length", "ordinal", "shifted"]
