"""Can a rule ever apply? A small, sound-but-incomplete satisfiability test.

A rule's target and the top-level `and` parts of its conditions are read as
constraints on single attributes (`data_subject.age < 18`, `action ==
"erase"`, `purpose under "marketing"` ...). If the constraints on one
attribute exclude each other, no request can satisfy the rule. Anything the
test does not understand (an `or`, two attributes compared) is assumed
satisfiable, so it never reports a rule that could apply.

The keys a request names (`purpose`, `data_categories`) are constrained as
given for an allow only: a deny reads a broad key for some of what it names
(requested.py), so `deny for marketing.advertising when purpose under
"marketing.communications"` applies to a request for `marketing`. An allow
reads it for all of it, which implies the reading as given, so a
contradiction there stays one.
"""

from __future__ import annotations

from typing import Any

from collections import defaultdict

from . import ast, printer
from .visitor import Visitor
from pdp.vocab import taxonomy as tx

_NEGATE = {"==": "!=", "!=": "==", "<": ">=", "<=": ">", ">": "<=", ">=": "<"}
_FLIP = {"==": "==", "!=": "!=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}


def never_matches(rule: ast.Rule, vocabulary: tx.Vocabulary) -> str | None:
    atoms: dict[str, list[tuple[str, object]]] = defaultdict(list)
    if rule.actions:
        atoms["action"].append(("in", frozenset(k.name for k in rule.actions)))
    if rule.purposes:
        atoms["purpose"].append(("under", frozenset(k.name for k in rule.purposes)))
    for condition in rule.when:
        for part in conjuncts(condition):
            collect_constraints(part, False, atoms)
    for condition in rule.unless:
        parts = conjuncts(condition)
        if len(parts) == 1:  # `unless a and b` is `a or b` negated: not analysed
            collect_constraints(parts[0], True, atoms)
    for path, constraints in atoms.items():
        if rule.effect == "deny" and path in ("purpose", "data_categories"):
            continue
        reason = contradiction(path, constraints)
        if reason:
            return reason
    return None


def conjuncts(expr: ast.Expr) -> list[ast.Expr]:
    """The parts of a condition that must all hold (`a and (b and c)` -> [a, b, c])."""
    if isinstance(expr, ast.And):
        return [p for item in expr.items for p in conjuncts(item)]
    return [expr]


def _literal_values(expr: ast.Expr):
    if isinstance(expr, ast.Literal):
        return frozenset([expr.value])
    if isinstance(expr, ast.ListLiteral) and ast.all_literals(expr.items):
        return frozenset(i.value for i in expr.items)
    return None


class _Atoms(Visitor[None]):
    """The constraints one conjunct puts on single attributes, added to `atoms` (anything else: none)."""

    def visit_Not(self, expr: ast.Not, negated: bool, atoms: dict) -> None:
        self.visit(expr.operand, not negated, atoms)

    def visit_Presence(self, expr: ast.Presence, negated: bool, atoms: dict) -> None:
        present = expr.present != negated
        atoms[expr.path.dotted].append(("present" if present else "absent", None))

    def visit_Truth(self, expr: ast.Truth, negated: bool, atoms: dict) -> None:
        if isinstance(expr.operand, ast.Path):
            atoms[expr.operand.dotted].append(("!=" if negated else "==", True))
        elif isinstance(expr.operand, ast.Literal) and (expr.operand.value is True) == negated:
            atoms["<always>"].append(("false", None))

    def visit_Compare(self, expr: ast.Compare, negated: bool, atoms: dict) -> None:
        op, path, value = expr.op, expr.left, expr.right
        if isinstance(value, ast.Path) and isinstance(path, ast.Literal):
            op, path, value = _FLIP[op], value, path
        if isinstance(path, ast.Path) and isinstance(value, ast.Literal):
            atoms[path.dotted].append((_NEGATE[op] if negated else op, value.value))

    def visit_Member(self, expr: ast.Member, negated: bool, atoms: dict) -> None:
        if not isinstance(expr.left, ast.Path):
            return
        values = _literal_values(expr.right)
        if values is not None:
            inside = expr.negated == negated
            atoms[expr.left.dotted].append(("in" if inside else "not in", values))

    def visit_Under(self, expr: ast.Under, negated: bool, atoms: dict) -> None:
        if not isinstance(expr.left, ast.Path) or negated:
            return
        values = _literal_values(expr.right)
        if values is not None:
            atoms[expr.left.dotted].append(("under", values))

    def generic_visit(self, expr: ast.Expr, *args) -> None:
        return None  # an `or`, or a nested `and` under `not`: assumed satisfiable


# collect_constraints(expr, negated, atoms): add to `atoms` (attribute path -> [(operator, constant)]) what
# `expr` (negated if so) demands of single attributes
collect_constraints = _Atoms().visit


def _satisfies(value, op: str, operand) -> bool:
    try:
        if op == "==":
            return value == operand and isinstance(value, bool) == isinstance(operand, bool)
        if op == "!=":
            return not _satisfies(value, "==", operand)
        if op == "in":
            return value in operand
        if op == "not in":
            return value not in operand
        if op == "under":
            return isinstance(value, str) and any(tx.covers(g, value) for g in operand)
        if op in ("<", "<=", ">", ">="):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or isinstance(operand, bool):
                return False
            return {"<": value < operand, "<=": value <= operand, ">": value > operand, ">=": value >= operand}[op]
    except TypeError:
        return False
    return True


def contradiction(path: str, constraints: list[tuple[str, Any]]) -> str | None:
    """Why the constraints on one path cannot all hold, in a few words; None if they can."""
    if path == "<always>":
        return "its condition is always false"
    ops = {op for op, _ in constraints}
    if "absent" in ops and ops - {"absent"}:
        return f"`{path}` would have to be absent and yet be tested"
    value_constraints = [(op, v) for op, v in constraints if op not in ("present", "absent")]
    # Candidate values: those named by == and `in`; when there are some, one must pass every constraint.
    candidates = None
    for op, v in value_constraints:
        named = {v} if op == "==" else set(v) if op == "in" else None
        if named is not None:
            candidates = named if candidates is None else candidates & named
    if candidates is not None:
        if not any(all(_satisfies(c, op, v) for op, v in value_constraints) for c in candidates):
            return f"no value of `{path}` meets all of {_describe(value_constraints)}"
        return None
    # Numbers: the interval left by the bounds must not be empty.
    low, low_strict, high, high_strict = float("-inf"), False, float("inf"), False
    for op, v in value_constraints:
        if op in (">", ">=") and isinstance(v, (int, float)) and not isinstance(v, bool):
            if v > low or (v == low and op == ">"):
                low, low_strict = v, op == ">"
        if op in ("<", "<=") and isinstance(v, (int, float)) and not isinstance(v, bool):
            if v < high or (v == high and op == "<"):
                high, high_strict = v, op == "<"
    if low > high or (low == high and (low_strict or high_strict)):
        return f"no value of `{path}` meets all of {_describe(value_constraints)}"
    # Taxonomy keys: every `under` group must overlap every other.
    groups = [v for op, v in value_constraints if op == "under"]
    for i, a in enumerate(groups):
        for b in groups[i + 1:]:
            if not any(tx.overlaps(x, y) for x in a for y in b):
                return f"`{path}` cannot be under {_keys(a)} and under {_keys(b)} at once"
    return None


def _keys(values) -> str:
    return " or ".join(f"`{v}`" for v in sorted(map(str, values)))


def _describe(constraints) -> str:
    parts = []
    for op, v in constraints:
        shown = _keys(v) if isinstance(v, frozenset) else f"`{printer.value(v)}`"
        parts.append(f"{op} {shown}")
    return ", ".join(parts)
