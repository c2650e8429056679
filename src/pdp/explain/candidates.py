"""The changes of a request worth trying: values the conditions near it test for, other purposes, fewer categories."""

from __future__ import annotations

from typing import Any

from pdp.base import templates
from pdp.base.dates import day_of, shifted
from pdp.engine.policy_set import PolicySet
from pdp.lang import ast
from pdp.engine.conditions import MISSING, compile_value, is_number, item_key, same
from pdp.lang.visitor import Visitor
from .model import Change
from .target import Target
from .values import fmt, read


_COLLECTION = (list, tuple, set, frozenset, dict)
_MIRROR = {"<": ">", ">": "<", "<=": ">=", ">=": "<=", "==": "==", "!=": "!="}


def _compare_values(op: str, literal: Any) -> list:
    """Values of `attribute op literal` on either side of its boundary."""
    if op in ("==", "!="):
        return [literal, not literal] if isinstance(literal, bool) else [literal]
    if not is_number(literal):
        return []
    below, above = {"<": (literal - 1, literal), "<=": (literal, literal + 1),
                    ">": (literal + 1, literal), ">=": (literal, literal - 1)}[op]
    return [below, above]


def around(value: Any, shift: ast.Shift | None) -> list[str]:
    """The days around the one where `path (+ shift) == value`: the day before, the day, the day after."""
    day = day_of(value)
    if day is not None and shift is not None:
        day = shifted(day, "-" if shift.sign == "+" else "+", shift.amount, shift.unit)
    if day is None:
        return []
    out = [shifted(day, sign, 1, "days") for sign in "-+"]
    return [d.isoformat() for d in (out[0], day, out[1]) if d is not None]


class _Tested(Visitor[None]):
    """The attributes one test reads, with the values it tests them for (`add(path, values)`)."""

    def __init__(self, value, add):
        self.value, self.add = value, add  # value(operand): its value for this request

    def visit_Compare(self, node: ast.Compare) -> None:
        left, right, op = node.left, node.right, node.op
        if any(isinstance(side, (ast.Date, ast.Shift)) for side in (left, right)):
            self._dates(left, right)
            return
        if isinstance(left, ast.Literal):
            left, right, op = right, left, _MIRROR[op]
        if isinstance(left, ast.Path) and isinstance(right, ast.Literal):
            self.add(left, _compare_values(op, right.value))
        else:  # an attribute beside another, or beside policy data looked up: the other's value
            for a, b in ((left, right), (right, left)):
                if isinstance(a, ast.Path) and isinstance(b, (ast.Path, ast.Index)):
                    other = self.value(b)
                    self.add(a, [] if other is MISSING or isinstance(other, _COLLECTION) else [other])

    def _dates(self, left: ast.Expr, right: ast.Expr) -> None:
        """A test of time: each attribute it moves or reads, on either side of the day the test turns on."""
        for mine, other in ((left, right), (right, left)):
            shift = mine if isinstance(mine, ast.Shift) else None
            path = mine.operand if isinstance(mine, ast.Shift) else mine
            if not isinstance(path, ast.Path):
                continue
            try:
                value = self.value(other)
            except Exception:  # noqa: BLE001 - an operand holding no date: nothing to try
                continue
            self.add(path, around(value, shift))

    def visit_Member(self, node: ast.Member | ast.Under) -> None:
        if not isinstance(node.left, ast.Path):
            return
        items = self.value(node.right)
        if isinstance(items, str):
            items = [items]
        if isinstance(items, _COLLECTION):
            values = sorted(items, key=fmt) if isinstance(items, (set, frozenset, dict)) else list(items)
            self.add(node.left, [v for v in values[:20] if v is not MISSING and not isinstance(v, _COLLECTION)])

    visit_Under = visit_Member

    def visit_Matches(self, node: ast.Matches) -> None:
        if isinstance(node.left, ast.Path) and isinstance(node.right, ast.Literal) and isinstance(node.right.value, str):
            try:
                self.add(node.left, [templates.parse(node.right.value).example])
            except templates.TemplateError:  # (the checker refuses it): nothing to try
                self.add(node.left)

    def visit_Index(self, node: ast.Index) -> None:
        """The key of policy data looked up: the entries the table holds (a few)."""
        table = self.value(node.table)
        if isinstance(node.key, ast.Path) and isinstance(table, dict):
            self.add(node.key, sorted(k for k in table if isinstance(k, str))[:20])

    def visit_Has(self, node: ast.Has) -> None:
        """A list attribute tested against a list: set to one item of it (`has any of`), or to all of them."""
        constant = isinstance(node.right, ast.ListLiteral) and ast.all_literals(node.right.items) or (
            isinstance(node.right, ast.Path) and node.right.parts[0] == "data")
        if not isinstance(node.left, ast.Path) or not constant:  # (a list the request gives: any depth, any size)
            return
        items = self.value(node.right)
        if isinstance(items, (list, tuple)):
            known = [v for v in items[:20] if v is not MISSING]
            self.add(node.left, [known] if node.every else [[v] for v in known])

    def visit_Presence(self, node: ast.Presence) -> None:
        self.add(node.path)

    def visit_Truth(self, node: ast.Truth) -> None:
        if isinstance(node.operand, ast.Path):
            self.add(node.operand, [True, False])

    def generic_visit(self, node: ast.Expr, *args) -> None:
        return None  # operands, and/or/not: their parts are visited on their own


def _tested_values(policy_set: PolicySet, target: Target, env: dict) -> dict[tuple[str, ...], list]:
    """Every attribute the conditions of rules near the request read, with the values they test for."""
    found: dict[tuple[str, ...], list] = {}

    def add(path: ast.Path, values=()):
        # the request's keys are changed on their own (another purpose, an action), policy data never
        if path.parts[0] in ("data", "data_categories") or (path.parts[0] == "action" and not target.authzen) \
                or path.parts[:2] == ("action", "name"):
            return
        found.setdefault(path.parts, []).extend(values)

    tested = _Tested(lambda operand: compile_value(operand, policy_set.data)(env), add)
    for rule in policy_set.rules:
        if not target.near(rule):
            continue
        for expr in rule.source.when + rule.source.unless:
            for node in ast.walk(expr):
                tested.visit(node)
    return found


def _single_changes(policy_set: PolicySet, request: dict, target: Target, env: dict) -> list[tuple[int, Change]]:
    """Candidate changes with their size: 0 a fact about the request, 1 a category left out, 2 another purpose."""
    out: list[tuple[int, Change]] = []
    purposes: list[Any] = []
    tested = _tested_values(policy_set, target, env)
    for root, register, *_ in policy_set.lookups:
        # Another entry of the register (a provider with a DPA): who receives the data is the
        # caller's choice; who the data is about, or who asks, is not.
        # An AuthZEN request's subject and resource are looked up by their ids: their attributes are the
        # register's, so another id (a subject with the role) is the change that can allow it.
        another_id = root == "recipient" or (target.authzen and root in policy_set.model.search_roots)
        if another_id and isinstance(request.get(root), dict) and request[root].get("id") is not None:
            tested.setdefault((root, "id"), []).extend(sorted(register, key=str)[:20])
    for parts, values in tested.items():
        dotted = ".".join(parts)
        current = read(request, parts)
        if dotted == "purpose":
            purposes += values
            continue
        unique: dict[tuple, Any] = {}
        for v in values:
            if not (current is not MISSING and same(v, current)):
                unique.setdefault(item_key(v), v)
        chosen = list(unique.values())
        if is_number(current):
            chosen.sort(key=lambda v: abs(v - current) if is_number(v) else float("inf"))
        out += [(0, Change(dotted, "set", v)) for v in chosen]
        if current is not MISSING:
            out.append((0, Change(dotted, "remove")))
    if target.authzen:  # another action: one an allow rule names (an AuthZEN request has no purpose or category)
        actions = [a for rule in policy_set.rules if rule.effect == "allow" for a in sorted(rule.actions or ())]
        return out + [(2, Change("action.name", "set", a)) for a in dict.fromkeys(actions) if a != target.action]
    if len(target.categories) > 1:
        out += [(1, Change("data_categories", "drop", c)) for c in dict.fromkeys(target.categories)]
    for rule in policy_set.rules:
        if rule.effect == "allow" and rule.purposes is not None and target.near(rule):
            purposes += rule.purposes
    out += [(2, Change("purpose", "set", p)) for p in dict.fromkeys(p for p in purposes if isinstance(p, str))
            if p != target.purpose]
    return out
