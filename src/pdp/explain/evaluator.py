"""A rule run by the engine's own evaluator, traced: every sub-condition with the value the engine found for it.

Explain and coverage observe the one evaluator (conditions.compile_rule_test
with a `Trace`, as OPA's explanations and coverage observe its evaluator):
they cannot disagree with a decision, because they are told what deciding
found, part by part.
"""

from __future__ import annotations

from dataclasses import dataclass

from pdp.lang import ast
from pdp.engine.compiler import CompiledRule
from pdp.engine.conditions import compile_rule_test, compile_test, failure
from pdp.engine.requested import EXACT, reads_requested_key


@dataclass(eq=False)
class Node:
    """A condition, or a part of one, with its value for one request.

    `where` names it inside its rule: ("when", 0) is the first `when`,
    ("when", 0, 1) the second item of that `and` / `or`. `reached` is False
    for the parts the engine never looks at: the items of an `and` after a
    false one, of an `or` after a true one, and the clauses after the first
    that does not hold. Only a part reached has a value.
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


class _Recorder:
    """The trace explain and coverage read (conditions.Trace): what the engine found, by place in the rule."""

    def __init__(self):
        self.found: dict[tuple, tuple[bool | None, Exception | None, str]] = {}

    def evaluated(self, where: tuple, expr: ast.Expr, side: str, value: bool | None) -> None:
        self.found[where] = (value, None, side)

    def failed(self, where: tuple, expr: ast.Expr, side: str, error: Exception) -> None:
        self.found[where] = (None, error, side)


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
    """The rule decided by the engine's evaluator, traced: every `when` must be true and every `unless` false."""
    recorder = _Recorder()
    written = rule.as_written  # (named conditions by their names, their definitions' parts below them)
    applies = compile_rule_test(written.when, written.unless, data,
                                effect=rule.effect if rule.keys else None, keys=rule.keys, trace=recorder)
    try:
        verdict, error = applies(env), None
    except Exception as raised:  # noqa: BLE001 - as the engine: fail closed and say what happened
        verdict, error = False, failure(raised)
    clauses = tuple((kind, condition_tree(expr, (kind, i)))
                    for kind, exprs in (("when", written.when), ("unless", written.unless))
                    for i, expr in enumerate(exprs))
    for _, clause in clauses:
        for node in clause.walk():
            _fill(node, recorder.found, env, data, rule)
    stop = None if verdict else max((k for k, (_, node) in enumerate(clauses) if node.reached), default=0)
    return RuleRun(rule, clauses, verdict, error, stop)


def condition_tree(expr: ast.Expr, where: tuple) -> Node:
    """A condition and its parts (the items of `and` / `or`, the operand of `not`, a named condition's definition),
    not yet evaluated."""
    parts = ast.children(expr) if isinstance(expr, (ast.And, ast.Or, ast.Not, ast.Named)) else ()
    return Node(expr, where, children=tuple(condition_tree(part, where + (i,)) for i, part in enumerate(parts)))


def _fill(node: Node, found: dict, env: dict, data: dict, rule: CompiledRule) -> None:
    """What the engine found for one part (nothing for a part it did not reach)."""
    if node.where not in found:
        return
    node.value, error, side = found[node.where]
    node.error, node.reached = None if error is None else failure(error), True
    if error is None and side != EXACT and not node.children and reads_requested_key(node.expr):
        node.broad = side if _exact(node.expr, env, data, rule) != node.value else None


def _exact(expr: ast.Expr, env: dict, data: dict, rule: CompiledRule) -> bool | None | str:
    """The test's value with the requested key read as given (EXACT), to tell when the side changed it."""
    try:
        return compile_test(expr, data, side=EXACT, keys=rule.keys)(env)
    except Exception:  # noqa: BLE001 - a failure is a value here, as the engine fails closed on any
        return "failed"
