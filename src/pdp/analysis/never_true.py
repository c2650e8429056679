"""Why a rule's conditions are never true, in words a reviewer can check.

`pdp check` finds rules that apply to no request on the decision space
(pdp.analysis.warnings). When that is because of the policy data (`destination_country
in data.eu.countries and destination_country == "US"`, while US is not in
that list), the warning should say so. This reads the data referenced by the
conditions as the literal values it holds, then looks for the fewest of the
rule's conditions that contradict each other on one attribute, with the
satisfiability test of pdp.lang.constraints (sound: a contradiction found is
real). What it cannot explain, it leaves unexplained (None).
"""

from __future__ import annotations

from collections import defaultdict
from itertools import combinations
from typing import TypeGuard

from pdp.lang import ast, printer
from pdp.base.paths import value_at
from pdp.lang.constraints import collect_constraints, conjuncts, contradiction
from pdp.lang.visitor import Transformer

MOST = 3  # conditions tried together at most, before all of them at once


def why_never_true(rule: ast.Rule, data: dict) -> str | None:
    """`US is not in data.eu.countries, so `...` is never true`, or None when no reason is found."""
    parts = [(printer.expression(p), p, False) for c in rule.when for p in conjuncts(c)]
    parts += [(printer.expression(ast.Not(c)), c, True) for c in rule.unless if len(conjuncts(c)) == 1]
    constraints = []
    for _, expr, negated in parts:
        atoms: dict[str, list] = defaultdict(list)
        collect_constraints(_with_data(expr, data), negated, atoms)
        constraints.append(atoms)
    sizes = [*range(1, min(MOST, len(parts)) + 1)] + ([len(parts)] if len(parts) > MOST else [])
    for size in sizes:
        for chosen in combinations(range(len(parts)), size):
            merged: dict[str, list] = defaultdict(list)
            for i in chosen:
                for path, found in constraints[i].items():
                    merged[path] += found
            for path, found in merged.items():
                if contradiction(path, found):
                    exprs = [parts[i][1] for i in chosen]
                    text = " and ".join(parts[i][0] for i in chosen)
                    return f"{_because(path, exprs, data)}, so `{text}` is never true"
    return None


def _because(path: str, exprs: list[ast.Expr], data: dict) -> str:
    """The contradiction in a few words: what the data holds, or does not."""
    literal = [e for e in exprs if _equals(e, path) is not None]
    # `path in data....` conditions: (negated, the data read)
    member = [(e.negated, e.right) for e in exprs
              if isinstance(e, ast.Member) and _is_data(e.right) and _dotted(e.left) == path]
    if len(exprs) == 2 and literal and member:
        (negated, ref), value = member[0], _equals(literal[0], path)
        return f"{_plain(value)} is {'' if negated else 'not '}in {ref.dotted}"
    if len(exprs) == 1 and member and not member[0][0] and value_at(data, member[0][1].parts[1:]) in ([], {}):
        return f"{member[0][1].dotted} is empty"
    if len(exprs) == 2 and len(member) == 2 and not any(negated for negated, _ in member):
        return f"{member[0][1].dotted} and {member[1][1].dotted} have no value in common"
    return f"no value of `{path}` meets {'it' if len(exprs) == 1 else 'them all'}"


class _WithData(Transformer):
    """The condition with each `data....` it reads written as the values the data holds."""

    def visit_Path(self, expr: ast.Path, data: dict) -> ast.Expr:
        if not _is_data(expr):
            return expr
        value = value_at(data, expr.parts[1:])
        if isinstance(value, dict):
            value = list(value)
        if isinstance(value, (str, int, float)):
            return ast.Literal(value, expr.span)
        if isinstance(value, list) and all(isinstance(v, (str, int, float)) for v in value):
            return ast.ListLiteral(tuple(ast.Literal(v, expr.span) for v in value), expr.span)
        return expr  # anything else stays unknown to the test: assumed satisfiable

    def visit_Presence(self, expr: ast.Presence, data: dict) -> ast.Expr:
        return expr  # `data.x is present` asks about the data itself, not its values

    def visit_Index(self, expr: ast.Index, data: dict) -> ast.Expr:
        return expr  # an entry looked up by a value of the request: not one value, so unknown to the test


_with_data = _WithData().visit


def _is_data(expr: ast.Expr) -> TypeGuard[ast.Path]:
    return isinstance(expr, ast.Path) and expr.parts[0] == "data" and len(expr.parts) > 1


def _dotted(expr: ast.Expr) -> str | None:
    return expr.dotted if isinstance(expr, ast.Path) else None


def _equals(expr: ast.Expr, path: str):
    """The literal of `path == literal` (either way round), else None."""
    if isinstance(expr, ast.Compare) and expr.op == "==":
        for a, b in ((expr.left, expr.right), (expr.right, expr.left)):
            if _dotted(a) == path and isinstance(b, ast.Literal):
                return b
    return None


def _plain(literal: ast.Literal) -> str:
    return literal.value if isinstance(literal.value, str) else printer.value(literal.value)
