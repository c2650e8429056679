"""The recording evaluator: walks a rule's condition trees and keeps every sub-condition's value."""

from __future__ import annotations

import operator
from dataclasses import dataclass
from typing import Any

from .. import ast
from .. import taxonomy as tx
from ..compiler import CompiledRule
from ..conditions import MISSING, EvaluationError, polarity, reads_requested_key
from .values import read


@dataclass(eq=False)
class Node:
    """A condition, or a part of one, with its value for one request.

    `where` names it inside its rule: ("when", 0) is the first `when`,
    ("when", 0, 1) the second item of that `and` / `or`. `reached` is False
    for the parts the engine never looks at: the items of an `and` after a
    false one, of an `or` after a true one, and the clauses after the first
    that does not hold.
    """

    expr: ast.Expr
    where: tuple
    value: bool | None = None  # None: unknown (or failed, see `error`)
    error: str | None = None
    children: tuple["Node", ...] = ()
    reached: bool = False

    def walk(self):
        yield self
        for child in self.children:
            yield from child.walk()


def _is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _same(a, b) -> bool:
    return a == b and isinstance(a, bool) == isinstance(b, bool)


_ORDER = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}
_COLLECTION = (list, tuple, set, frozenset, dict)


class _Walker:
    """Evaluates conditions node by node, the way conditions.py compiles them."""

    def __init__(self, env: dict, data: dict):
        self.env, self.data = env, data

    def value(self, expr: ast.Expr) -> Any:
        if isinstance(expr, ast.Literal):
            return expr.value
        if isinstance(expr, ast.ListLiteral):
            return [self.value(i) for i in expr.items]
        if isinstance(expr, ast.Path):
            if expr.parts[0] != "data":
                return read(self.env, expr.parts)
            value = read(self.data, expr.parts[1:]) if len(expr.parts) > 1 else self.data
            if isinstance(value, list) and all(isinstance(v, (str, int, float)) for v in value):
                value = frozenset(value)
            return value
        raise TypeError(f"not a value: {expr!r}")

    def test(self, expr: ast.Expr, where: tuple, some: bool = False) -> Node:
        """`some`: read `purpose under` for some of a broad purpose (conditions.polarity)."""
        if isinstance(expr, (ast.And, ast.Or)):
            children = tuple(self.test(item, where + (i,), some) for i, item in enumerate(expr.items))
            settled = isinstance(expr, ast.Or)
            node = Node(expr, where, None if any(c.value is None for c in children) else not settled,
                        children=children)
            for child in children:  # left to right, as the engine: the first settling item wins
                if child.error is not None:
                    node.value, node.error = None, child.error
                    break
                if child.value is settled:
                    node.value = settled
                    break
            return node
        if isinstance(expr, ast.Not):
            child = self.test(expr.operand, where + (0,), not some)
            return Node(expr, where, None if child.value is None else not child.value, child.error, (child,))
        node = Node(expr, where)
        try:
            node.value = self._leaf(expr, some)
        except EvaluationError as error:
            node.error = str(error)
        except Exception as error:  # as the engine: fail closed and say what happened
            node.error = f"internal error: {error.__class__.__name__}: {error}"
        return node

    def _leaf(self, expr: ast.Expr, some: bool) -> bool | None:
        if isinstance(expr, ast.Presence):
            return (self.value(expr.path) is not MISSING) == expr.present
        if isinstance(expr, ast.Truth):
            v = self.value(expr.operand)
            if v is MISSING:
                return None
            if not isinstance(v, bool):
                raise EvaluationError(f"expected true or false, got {v!r}")
            return v
        if isinstance(expr, ast.Compare):
            return self._compare(expr)
        if isinstance(expr, ast.Member):
            operands = self._operands(expr)
            if operands is None:
                return None
            a, b = operands
            if isinstance(expr.right, ast.ListLiteral) and all(isinstance(i, ast.Literal) for i in expr.right.items):
                constant = frozenset(i.value for i in expr.right.items if not isinstance(i.value, bool))
                if len(constant) == len(expr.right.items):
                    b = constant
            if not isinstance(b, _COLLECTION):
                raise EvaluationError(f"expected a list after `in`, got {b!r}")
            try:
                found = a in b
            except TypeError:
                found = False
            return found != expr.negated
        if isinstance(expr, ast.Under):
            operands = self._operands(expr)
            if operands is None:
                return None
            a, b = operands
            keys = b if isinstance(b, (list, tuple, set, frozenset)) else (b,)
            if not isinstance(a, str):
                raise EvaluationError(f"`under` needs a taxonomy key, got {a!r}")
            within = tx.overlaps if some and reads_requested_key(expr) else tx.covers
            return any(within(k, a) for k in keys)
        raise TypeError(f"not a condition: {expr!r}")

    def _operands(self, expr) -> tuple | None:
        """Both sides' values, or None when either is missing (the test is then unknown)."""
        a = self.value(expr.left)
        if a is MISSING:
            return None
        b = self.value(expr.right)
        if b is MISSING:
            return None
        return a, b

    def _compare(self, expr: ast.Compare) -> bool | None:
        op = expr.op
        operands = self._operands(expr)
        if operands is None:
            return None
        a, b = operands
        if op in ("==", "!="):
            return _same(a, b) == (op == "==")
        if not _is_number(a) or (not isinstance(expr.right, ast.Literal) and not _is_number(b)):
            raise EvaluationError(f"cannot compare {a!r} {op} {b!r}: only numbers can be ordered")
        return _ORDER[op](a, b)


def _reach(node: Node) -> None:
    node.reached = True
    if isinstance(node.expr, (ast.And, ast.Or)):
        settled = isinstance(node.expr, ast.Or)
        for child in node.children:
            _reach(child)
            if child.error is not None or child.value is settled:
                break
    else:
        for child in node.children:
            _reach(child)


@dataclass(eq=False)
class RuleRun:
    """One rule's conditions evaluated for one request."""

    rule: CompiledRule
    clauses: tuple[tuple[str, Node], ...]  # ("when" | "unless", condition), in the order written
    applies: bool
    error: str | None  # the rule could not be evaluated (the engine fails closed)
    stop: int | None  # index of the clause that does not hold or failed; None when it applies

    def nodes(self):
        for _, node in self.clauses:
            yield from node.walk()


def run_rule(rule: CompiledRule, env: dict, data: dict) -> RuleRun:
    """Every `when` must be true and every `unless` false; the first that is not stops the rule."""
    walker = _Walker(env, data)
    clauses = tuple(("when", walker.test(e, ("when", i), polarity(rule.effect, "when")))
                    for i, e in enumerate(rule.source.when)) + tuple(
        ("unless", walker.test(e, ("unless", i), polarity(rule.effect, "unless")))
        for i, e in enumerate(rule.source.unless))
    for k, (kind, node) in enumerate(clauses):
        _reach(node)
        if node.error is not None:
            return RuleRun(rule, clauses, False, node.error, k)
        if node.value is not (kind == "when"):
            return RuleRun(rule, clauses, False, None, k)
    return RuleRun(rule, clauses, True, None, None)
