"""What a rule's conditions require of single attributes, read off its `when` clauses: its guards.

A guard is a test `attribute OP constant` such that, whenever it is not
true, the rule does not apply *and* evaluating the rule raises nothing
(conditions.py evaluates the `when` clauses in order and stops at the first
that is not true). The condition index (narrowing.py) files a rule under
its guards' values, so that a request is handed only the rules whose guards
may hold for it; the rest would not apply and would say nothing.

Which tests are guards: a `when` clause, or an item of an `and` clause,
evaluated before anything that could raise (`guards_of`). If the test itself
would raise on a value of another type (`age < 18` given text), the index
hands the rule over for that value, and it raises as it would unindexed.

The tests taken, each exactly as conditions.py compiles it for an attribute
(never `purpose` or `data_categories`, which are read on a side: requested.py):

| guard       | source                                 | true when the value v is                  |
|-------------|----------------------------------------|-------------------------------------------|
| EQ_STR      | `a == "text"`                          | that text                                 |
| EQ_BOOL     | `a == true`, `a` (truth)               | that bool (a truth test raises for others)|
| EQ_NUMBER   | `a == 3`                               | a number equal to it (not a bool)         |
| IN_TEXTS    | `a in ["x", "y"]`, `a in data.texts`   | one of the texts                          |
| PRESENT     | `a is present`, `a is absent`          | present (absent)                          |
| ORDER       | `a < 3`, `a >= 18` ...                 | a number on that side (raises for others) |
"""

from __future__ import annotations

import math
from typing import Any, Callable, NamedTuple

from pdp.lang import ast
from pdp.vocab import schema as sch
from .conditions import compile_value
from .requested import REQUESTED

EQ_STR, EQ_BOOL, EQ_NUMBER, IN_TEXTS, PRESENT, ORDER = "eq_str", "eq_bool", "eq_number", "in_texts", "present", "order"
DISCRETE = frozenset({EQ_STR, EQ_BOOL, EQ_NUMBER, IN_TEXTS, PRESENT})  # true on listed values: a dict lookup


class Guard(NamedTuple):
    path: tuple[str, ...]  # the attribute, as the request (with its registers looked up) holds it
    kind: str  # EQ_STR ... ORDER
    # EQ_*: the constant; IN_TEXTS: the frozenset of texts; PRESENT: True for `is present`; ORDER: (op, number)
    value: Any
    raises: bool = False  # EQ_BOOL from a truth test: raises on a value that is not a bool
    strict: bool = True  # leaves the rule out when the attribute is missing too (else only when false: guards_of)


def _attribute(expr: ast.Expr) -> tuple[str, ...] | None:
    """The path of an attribute of the request (not policy data, not a requested key), or None."""
    if isinstance(expr, ast.Path) and expr.parts[0] != "data" and expr.parts not in REQUESTED:
        return expr.parts
    return None


def _texts(expr: ast.Expr, data: dict[str, Any]) -> frozenset[str] | None:
    """A constant list of texts, as conditions.py compiles it to a set (a literal list, or policy data)."""
    if isinstance(expr, ast.ListLiteral):
        texts = [i.value for i in expr.items if isinstance(i, ast.Literal) and type(i.value) is str]
        return frozenset(texts) if len(texts) == len(expr.items) else None
    if isinstance(expr, ast.Path) and expr.parts[0] == "data" and len(expr.parts) > 1:
        value = compile_value(expr, data)({})
        if isinstance(value, frozenset) and all(type(v) is str for v in value):
            return value
    return None


def guard_of(expr: ast.Expr, data: dict[str, Any]) -> Guard | None:
    """The test as a guard, or None when it is not one of the kinds above."""
    if isinstance(expr, ast.Compare) and isinstance(expr.right, ast.Literal):
        path, const = _attribute(expr.left), expr.right.value
        if path is None:
            return None
        if expr.op == "==":
            if isinstance(const, bool):
                return Guard(path, EQ_BOOL, const)
            if isinstance(const, str):
                return Guard(path, EQ_STR, const)
            if isinstance(const, (int, float)) and not math.isnan(const):
                return Guard(path, EQ_NUMBER, const)
            return None
        if expr.op in ("<", "<=", ">", ">=") and isinstance(const, (int, float)) and not isinstance(const, bool) \
                and not math.isnan(const):
            return Guard(path, ORDER, (expr.op, const))
        return None
    if isinstance(expr, ast.Member) and not expr.negated:
        path, texts = _attribute(expr.left), _texts(expr.right, data)
        return None if path is None or texts is None else Guard(path, IN_TEXTS, texts)
    if isinstance(expr, ast.Presence):
        path = _attribute(expr.path)
        return None if path is None else Guard(path, PRESENT, expr.present)
    if isinstance(expr, ast.Truth):
        path = _attribute(expr.operand)
        return None if path is None else Guard(path, EQ_BOOL, True, raises=True)
    return None


def typed(schema: dict[str, sch.Type] | None) -> Callable[[tuple[str, ...]], str | None]:
    """A request attribute's path -> the kind a checked request holds there (`schema`: the checker's), or None.

    A checked request holds a declared or contract attribute only with a
    value of its type, or not at all (request.py; registers are held to the
    same types): `age < 18` cannot raise on one.
    """
    def kind(path: tuple[str, ...]) -> str | None:
        found = (schema or {}).get(path[0])
        for part in path[1:]:
            if found is None or found.kind != "map":
                return None
            found = found.field_map().get(part)
        return None if found is None else found.kind

    return kind


def total(expr: ast.Expr, data: dict[str, Any], kind_of: Callable[[tuple[str, ...]], str | None] = typed(None)) -> bool:
    """Evaluating the condition can raise nothing on a checked request (`kind_of`: its attributes' kinds).

    Equality (`==`, `!=`: `same` and the side readings of requested.py
    never raise), membership in a list or in policy data that is a
    collection, and presence; ordering of a number attribute with a number,
    and the truth of a bool attribute; `and`, `or` and `not` of such tests.
    Otherwise ordering, truth, `under` and `matches` raise on a value of the wrong type (`matches` also on a path
    it does not compare, `//`);
    and a date moved by a duration (`x + 1 year`) raises on a value that is
    no date, or that the move takes past the calendar's end (year 9999).
    """
    if any(isinstance(node, ast.Shift) for node in ast.walk(expr)):
        return False
    if isinstance(expr, (ast.And, ast.Or)):
        return all(total(item, data, kind_of) for item in expr.items)
    if isinstance(expr, ast.Not):
        return total(expr.operand, data, kind_of)
    if isinstance(expr, ast.Truth):
        path = _attribute(expr.operand)
        return path is not None and kind_of(path) == "bool"
    if isinstance(expr, ast.Compare):
        if expr.op in ("==", "!="):
            return True
        path = _attribute(expr.left)
        return (path is not None and kind_of(path) == "number" and isinstance(expr.right, ast.Literal)
                and isinstance(expr.right.value, (int, float)) and not isinstance(expr.right.value, bool))
    if isinstance(expr, ast.Member):
        if isinstance(expr.right, ast.ListLiteral):
            return True
        if isinstance(expr.right, ast.Path) and expr.right.parts[0] == "data":
            return isinstance(compile_value(expr.right, data)({}), (list, tuple, set, frozenset, dict))
        return False
    return isinstance(expr, ast.Presence)


def _conjuncts(expr: ast.Expr) -> list[ast.Expr]:
    """The clause and, for an `and`, its items (and theirs)."""
    if isinstance(expr, ast.And):
        return [c for item in expr.items for c in _conjuncts(item)]
    return [expr]


def guards_of(when: tuple[ast.Expr, ...], data: dict[str, Any],
              kind_of: Callable[[tuple[str, ...]], str | None] = typed(None)) -> tuple[Guard, ...]:
    """The rule's guards (see the module docstring), in the order they are evaluated.

    The `when` clauses, and the items of an `and`, are evaluated in order
    until one is not true. A test is a guard while every test before it is
    total (nothing before it can raise). When it is false, evaluation stops
    there; when it is unknown (its attribute missing), the rest of its
    clause is still evaluated, so it leaves the rule out for a missing value
    only when the rest of its clause is total too (`strict`).
    """
    found: list[Guard] = []
    for clause in when:
        items = _conjuncts(clause)
        for k, item in enumerate(items):
            guard = guard_of(item, data)
            if guard is not None:
                # (a presence test is never unknown: missing is false for it)
                strict = guard.kind == PRESENT or all(total(rest, data, kind_of) for rest in items[k + 1:])
                found.append(guard if strict else Guard(guard.path, guard.kind, guard.value, guard.raises, strict=False))
            if not total(item, data, kind_of):
                return tuple(found)
    return tuple(found)


def flat_clauses(clauses: tuple[ast.Expr, ...], junction: type[ast.And] | type[ast.Or], data: dict[str, Any],
                 kind_of: Callable[[tuple[str, ...]], str | None] = typed(None)) -> tuple[ast.Expr, ...]:
    """A rule's `when` clauses (`junction` ast.And) or `unless` clauses (ast.Or), each such junction whose items
    after the first are total (`total`) replaced by its items: the rule's verdict, and what it raises, are the
    same (conditions.compile_rule_test), and the junction, a test no other rule shares, is gone.

    A rule applies when every `when` is true, and `a and b` is true exactly when both are; the rule stops at the
    first `when` that is not true, where the `and` goes on past an unknown item (to find a false one): the two
    differ only when a later item could raise, hence `total`. Likewise an `unless a or b` must be false.
    """
    out: list[ast.Expr] = []
    for clause in clauses:
        if isinstance(clause, junction) and all(total(item, data, kind_of) for item in clause.items[1:]):
            out += flat_clauses(clause.items, junction, data, kind_of)
        else:
            out.append(clause)
    return tuple(out)
