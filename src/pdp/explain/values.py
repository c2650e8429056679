"""Attribute values: read from a request, and written (with the conditions that test them) as a policy writes them."""

from __future__ import annotations

import json
from typing import Any

from pdp.lang import ast
from pdp.engine.conditions import MISSING


def read(env: Any, parts: tuple[str, ...]) -> Any:
    """The attribute at `parts`, or MISSING when it is absent or null."""
    value = env
    for part in parts:
        if type(value) is not dict:
            return MISSING
        value = value.get(part)
        if value is None:
            return MISSING
    return value


def fmt(value: Any) -> str:
    """A value as the policy language writes it: "text", 34, true, [a, b]."""
    if value is MISSING:
        return "absent"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, (int, float)):
        return json.dumps(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(fmt(v) for v in value) + "]"
    if isinstance(value, (set, frozenset)):
        return "[" + ", ".join(sorted(fmt(v) for v in value)) + "]"
    return json.dumps(value, ensure_ascii=False, default=str, sort_keys=True)


def show(expr: ast.Expr) -> str:
    """A condition as it is written in a policy (spacing and parentheses normalised)."""
    if isinstance(expr, ast.Path):
        return expr.dotted
    if isinstance(expr, ast.Literal):
        return fmt(expr.value)
    if isinstance(expr, ast.ListLiteral):
        return "[" + ", ".join(show(i) for i in expr.items) + "]"
    if isinstance(expr, ast.Compare):
        return f"{show(expr.left)} {expr.op} {show(expr.right)}"
    if isinstance(expr, ast.Member):
        return f"{show(expr.left)} {'not in' if expr.negated else 'in'} {show(expr.right)}"
    if isinstance(expr, ast.Under):
        return f"{show(expr.left)} under {show(expr.right)}"
    if isinstance(expr, ast.Presence):
        return f"{expr.path.dotted} is {'present' if expr.present else 'absent'}"
    if isinstance(expr, ast.Truth):
        return show(expr.operand)
    if isinstance(expr, ast.Not):
        inner = show(expr.operand)
        return f"not {inner}" if isinstance(expr.operand, (ast.Truth, ast.Not)) else f"not ({inner})"
    if isinstance(expr, (ast.And, ast.Or)):
        word, other = (" and ", ast.Or) if isinstance(expr, ast.And) else (" or ", ast.And)
        return word.join(f"({show(i)})" if isinstance(i, other) else show(i) for i in expr.items)
    raise TypeError(f"not an expression: {expr!r}")


def _word(value: bool | None) -> str:
    return "unknown" if value is None else fmt(value)
