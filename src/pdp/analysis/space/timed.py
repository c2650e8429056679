"""Tests of time as formulas: each date attribute a `calendar.Day`, each comparison read as the engine reads it.

A value class cannot tell every date apart, so a comparison of dates is no
table of classes (encoding.py's atoms). Here an attribute that holds dates
(`Space.timed`) keeps its dimension (absent, a date, or the other kinds of
value an untyped attribute may hold), and, where its class is a date, the
date itself is a `Day` of the solver. An operand of a comparison is then a
list of cases, each with where it holds: absent, a date (a `calendar.Moment`, maybe
moved by a duration, failing past the calendar's ends), a constant, or a
failure (a duration added to what is no date). The cases are combined as
`conditions._compare` and `_binary` evaluate: the left operand first (absent:
unknown; failing: fails), then the right; `==` and `!=` by the language's
equality (`same`: a date equals the same day, nothing else), `<` and the
others on two numbers or two dates, failing on anything else; and a quoted
constant on the right read as the engine's fast path reads it (ordered only
against a number). With `absent_is_value` (a query's `--where`), absent is a
value of its own, as `conditions._Tests._atom` settles it.
"""

from __future__ import annotations

from typing import Any, Callable

import z3

from pdp.base.dates import day_of, shifted as shifted_day
from pdp.engine.conditions import MISSING, ORDER, compile_value, is_number, same
from pdp.lang import ast, printer
from .calendar import Day, Moment, compared, shifted

Formula = Any  # a z3 Boolean expression, or a Python bool
Case = tuple[Formula, str, Any]  # (where it holds, kind, payload): kinds ABSENT, DATE (a Moment), CONSTANT, FAILS
ABSENT, DATE, CONSTANT, FAILS = "absent", "date", "constant", "fails"
NEAR = (1970, 2100)  # the years an example's dates are sought in first


class Undecidable(Exception):
    """A test of time this reading does not cover (a date read through a register, or searched in a list)."""


class Dates:
    """The date attributes of an encoding: their `Day`s (made on first use) and the comparisons that read them.

    `dim_of(parts)` gives the dimension of an attribute and its node's value classes (None: not one of the
    space's single-attribute dimensions); `constrain` adds a constraint to every solver of the encoding."""

    def __init__(self, dim_of: Callable[[tuple[str, ...]], tuple[Any, list] | None],
                 constrain: Callable[[list], None], among: Callable[[Any, int], Formula]):
        self.dim_of, self.constrain, self.among = dim_of, constrain, among
        self.days: dict[tuple[str, ...], Day] = {}
        self.constraints: list = []

    def day(self, parts: tuple[str, ...]) -> Day:
        found = self.days.get(parts)
        if found is None:
            found = self.days[parts] = Day.named("date:" + ".".join(parts))
            constraints = found.constraints()  # a day of the engine's whole calendar, its ends included
            self.constraints += constraints
            self.constrain(constraints)
        return found

    def near(self) -> list:
        """Every date in this era (what an example is best read with; any day is as good to the engine)."""
        return [z3.And(day.year >= NEAR[0], day.year <= NEAR[1]) for day in self.days.values()]

    def _dim(self, parts: tuple[str, ...]) -> tuple[Any, list]:
        found = self.dim_of(parts)
        if found is None:
            raise Undecidable(f"`{'.'.join(parts)}` is read through a register or together with other attributes")
        return found

    # -- operands ---------------------------------------------------------------------------

    def cases(self, expr: ast.Expr, data: dict) -> list[Case]:
        if isinstance(expr, ast.Path) and expr.parts[0] != "data":
            dim, classes = self._dim(expr.parts)
            out: list[Case] = []
            for i, cls in enumerate(classes):
                where = self.among(dim, i)
                if cls.rep is MISSING:
                    out.append((where, ABSENT, None))
                elif cls.dates:
                    out.append((where, DATE, self.day(expr.parts).moment()))
                else:
                    out.append((where, CONSTANT, cls.rep))
            return out
        if isinstance(expr, ast.Shift):
            out = []
            for where, kind, payload in self.cases(expr.operand, data):
                if kind == DATE:
                    moved, past = shifted(payload, expr.sign, expr.amount, expr.unit)
                    out += [(_and(where, past), FAILS, None), (_and(where, z3.Not(past)), DATE, moved)]
                elif kind == CONSTANT:
                    day = day_of(payload)
                    to = shifted_day(day, expr.sign, expr.amount, expr.unit) if day is not None else None
                    out.append((where, FAILS, None) if to is None else (where, CONSTANT, to.isoformat()))
                else:
                    out.append((where, kind, payload))
            return out
        if isinstance(expr, ast.Index):
            raise Undecidable(f"`{printer.expression(expr)}` is policy data looked up by a value of the request")
        value = compile_value(expr, data)({})
        return [(True, ABSENT if value is MISSING else CONSTANT, value)]

    # -- comparisons ------------------------------------------------------------------------

    def compare(self, atom: ast.Compare, data: dict, absent_is_value: bool) -> tuple[Formula, Formula, Formula]:
        """(true, false, fails) of the comparison, as the engine evaluates it."""
        literal = isinstance(atom.right, ast.Literal)
        right_cases = self.cases(atom.right, data)
        true: list = []
        false: list = []
        fails: list = []
        absent: list = []
        for left_where, left_kind, left in self.cases(atom.left, data):
            if left_kind == FAILS:
                fails.append(left_where)
                continue
            if left_kind == ABSENT:
                absent.append(left_where)
                continue
            for right_where, right_kind, right in right_cases:
                where = _and(left_where, right_where)
                if right_kind == FAILS:
                    fails.append(where)
                elif right_kind == ABSENT:
                    absent.append(where)
                else:
                    holds = _decide(atom.op, literal, (left_kind, left), (right_kind, right))
                    if holds is None:
                        fails.append(where)
                    else:
                        true.append(_and(where, holds))
                        false.append(_and(where, _not(holds)))
        if absent_is_value:
            (true if atom.op == "!=" else false).extend(absent)
        return _or(true), _or(false), _or(fails)

    def member(self, atom: ast.Member, data: dict, absent_is_value: bool) -> tuple[Formula, Formula, Formula]:
        """(true, false, fails) of `x in LIST` / `x not in LIST` for a list the policy writes (or its data), as
        `conditions._member` evaluates it: a date is in the list when the same day is."""
        if not (isinstance(atom.right, ast.ListLiteral)
                and all(isinstance(i, (ast.Literal, ast.Date)) for i in atom.right.items)) and \
                not (isinstance(atom.right, ast.Path) and atom.right.parts[0] == "data"):
            raise Undecidable("a date is searched for in a list the request gives")
        found = compile_value(atom.right, data)({})
        true: list = []
        false: list = []
        fails: list = []
        absent: list = []
        for where, kind, value in self.cases(atom.left, data):
            if kind == FAILS or (kind != ABSENT and found is not MISSING
                                 and not isinstance(found, (list, tuple, set, frozenset, dict))):
                fails.append(where)  # (a value searched for in what is no list: the engine raises)
            elif kind == ABSENT or found is MISSING:
                absent.append(where)
            else:
                holds = _within(kind, value, found)
                holds = _not(holds) if atom.negated else holds
                true.append(_and(where, holds))
                false.append(_and(where, _not(holds)))
        if absent_is_value:
            (true if atom.negated else false).extend(absent)
        return _or(true), _or(false), _or(fails)


def _within(kind: str, value: Any, found: Any) -> Formula:
    """`value in found` (a collection), as Python answers it for the engine: a date, by its day."""
    if kind == DATE:
        return _or([compared("==", value, o) for o in (_moment_of(x) for x in found) if o is not None])
    try:
        return value in found
    except TypeError:  # an unhashable value tested against a set
        return False


def _decide(op: str, literal: bool, left: tuple[str, Any], right: tuple[str, Any]) -> Formula | None:
    """Two present values compared (None: the engine raises): dates by their days, constants as they are."""
    (left_kind, a), (right_kind, b) = left, right
    if left_kind == CONSTANT and right_kind == CONSTANT:
        return _constants(op, literal, a, b)
    if op in ("==", "!="):
        holds = _equal(left_kind, a, right_kind, b)
        return holds if op == "==" else _not(holds)
    if literal:  # `x < "text"`, `x < 18`: the fast path orders a number only, and a date is none
        return None
    moments = [x if kind == DATE else _moment_of(x) for kind, x in ((left_kind, a), (right_kind, b))]
    if moments[0] is None or moments[1] is None:
        return None  # a date ordered against what is no date
    return compared(op, moments[0], moments[1])


def _equal(left_kind: str, a: Any, right_kind: str, b: Any) -> Formula:
    if left_kind == DATE and right_kind == DATE:
        return compared("==", a, b)
    moment, constant = (a, b) if left_kind == DATE else (b, a)
    day = _moment_of(constant)
    return False if day is None else compared("==", moment, day)


def _moment_of(value: Any) -> Moment | None:
    day = day_of(value)
    return None if day is None else Moment.of(day)


def _constants(op: str, literal: bool, a: Any, b: Any) -> bool | None:
    """`conditions._compare` on two known values (None: it raises)."""
    try:
        if op in ("==", "!="):
            if literal and isinstance(b, bool):
                holds = a is b
            elif literal and isinstance(b, str):
                holds = a == b
            else:
                holds = same(a, b)
            return holds if op == "==" else not holds
        if literal or (is_number(a) and is_number(b)):
            return ORDER[op](a, b) if is_number(a) else None
        day_a, day_b = day_of(a), day_of(b)
        return None if day_a is None or day_b is None else ORDER[op](day_a, day_b)
    except TypeError:  # a number ordered against a quoted text: the engine raises too
        return None


def _and(a: Formula, b: Formula) -> Formula:
    if a is False or b is False:
        return False
    if a is True:
        return b
    if b is True:
        return a
    return z3.And(a, b)


def _not(a: Formula) -> Formula:
    return (not a) if isinstance(a, bool) else z3.Not(a)


def _or(items: list) -> Formula:
    live = [i for i in items if i is not False]
    if any(i is True for i in live):
        return True
    return False if not live else live[0] if len(live) == 1 else z3.Or(live)


__all__ = ["Dates", "Undecidable"]
