"""The recording evaluator: walks a rule's condition trees and keeps every sub-condition's value."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pdp.lang import ast
from pdp.engine.compiler import CompiledRule
# _is_number and _same are candidates.py's, from the engine's own module
from pdp.engine.conditions import EvaluationError, _is_number, _same, compile_test, polarity  # noqa: F401
from pdp.engine.requested import EXACT, Keys, flip, reads_requested_key
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
    broad: str | None = None  # SOME or ALL: a broad requested key read on that side changed the value (requested.py)

    def walk(self):
        yield self
        for child in self.children:
            yield from child.walk()


_COLLECTION = (list, tuple, set, frozenset, dict)


class _Walker:
    """Evaluates conditions node by node; each test by the engine's own closure (conditions.compile_test).

    `keys`: the vocabulary's purposes and categories, for tests of a
    requested key read on a side (requested.py), as the rule's `applies`.
    """

    def __init__(self, env: dict, data: dict, keys: Keys | None = None):
        self.env, self.data, self.keys = env, data, keys
        self._tests: dict = {}  # (test, side) -> the engine's closure for it

    def _leaf(self, expr: ast.Expr, side: str):
        found = self._tests.get((id(expr), side))
        if found is None:
            found = self._tests[(id(expr), side)] = compile_test(expr, self.data, side=side, keys=self.keys)
        return found

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

    def test(self, expr: ast.Expr, where: tuple, side: str = EXACT) -> Node:
        """`side`: how a test of a requested key reads a broad key (conditions.polarity, requested.py)."""
        if isinstance(expr, (ast.And, ast.Or)):
            children = tuple(self.test(item, where + (i,), side) for i, item in enumerate(expr.items))
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
            child = self.test(expr.operand, where + (0,), flip(side))
            return Node(expr, where, None if child.value is None else not child.value, child.error, (child,))
        node = Node(expr, where)
        try:
            node.value = self._leaf(expr, side)(self.env)
            if side != EXACT and reads_requested_key(expr) and node.value != self._leaf(expr, EXACT)(self.env):
                node.broad = side
        except EvaluationError as error:
            node.error = str(error)
        except Exception as error:  # as the engine: fail closed and say what happened
            node.error = f"internal error: {error.__class__.__name__}: {error}"
        return node


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
    walker = _Walker(env, data, rule.keys)
    clauses = tuple(("when", walker.test(e, ("when", i), polarity(rule.effect, "when") if rule.keys else EXACT))
                    for i, e in enumerate(rule.source.when)) + tuple(
        ("unless", walker.test(e, ("unless", i), polarity(rule.effect, "unless") if rule.keys else EXACT))
        for i, e in enumerate(rule.source.unless))
    for k, (kind, node) in enumerate(clauses):
        _reach(node)
        if node.error is not None:
            return RuleRun(rule, clauses, False, node.error, k)
        if node.value is not (kind == "when"):
            return RuleRun(rule, clauses, False, None, k)
    return RuleRun(rule, clauses, True, None, None)
