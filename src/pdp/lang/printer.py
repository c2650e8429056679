"""Values and conditions written as a policy writes them: the one printer.

    value("it's \\"x\\"")   ->  "it's \\"x\\""     (quotes escaped: the text reads back as the same string)
    value(34), value(True), value(["a", 2])  ->  34, true, ["a", 2]
    expression(rule.when[0])  ->  data_subject.age < 18 and not recipient.dpa

Explanations, coverage reports, checker messages and the decision space all
write values and conditions through it. Strings are JSON strings, which is
how the grammar reads them (`STRING` with backslash escapes); spacing and
parentheses are normalised.
"""

from __future__ import annotations

import json
import re
from typing import Any

from . import ast
from .visitor import Visitor


def value(v: Any) -> str:
    """A value as the policy language writes it: "text", 34, true, [a, b] (sets in sorted order)."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return string(v)
    if isinstance(v, (int, float)):
        return json.dumps(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(value(i) for i in v) + "]"
    if isinstance(v, (set, frozenset)):
        return "[" + ", ".join(sorted(value(i) for i in v)) + "]"
    return json.dumps(v, ensure_ascii=False, default=str, sort_keys=True)


# Kept escaped (as \u0085): a lone surrogate (half of a UTF-16 pair) cannot be stored or printed as UTF-8,
# and the line breaks JSON leaves as they are (NEL, the Unicode line and paragraph separators) break a line for
# Python's splitlines and for editors, so a written literal would span lines. JSON escapes the other ones
# splitlines knows (\n \r \v \f \x1c-\x1e, as control characters).
_KEPT_ESCAPED = re.compile(r"[\ud800-\udfff\x85\u2028\u2029]")


def string(text: str) -> str:
    """Text in double quotes, escaped as the grammar reads it back (JSON), other characters as they are.

    The result is one line for every tool: no character in it breaks a line.
    """
    written = json.dumps(text, ensure_ascii=False)
    return _KEPT_ESCAPED.sub(lambda m: f"\\u{ord(m.group()):04x}", written)


def duration(amount: int, unit: str) -> str:
    """`13 months`, `1 year`: a duration as a policy writes it."""
    return f"{amount} {unit[:-1] if amount == 1 else unit}"


def older(expr: ast.Compare) -> bool:
    """`X + D < now`, which a policy writes (and the printer prints) as `X is older than D`."""
    return (isinstance(expr.left, ast.Shift) and expr.left.sign == "+" and expr.op == "<"
            and isinstance(expr.right, ast.Path) and expr.right.parts == ("now",))


class _Printer(Visitor[str]):
    def visit_Path(self, expr: ast.Path) -> str:
        return expr.dotted

    def visit_Literal(self, expr: ast.Literal) -> str:
        return value(expr.value)

    def visit_Date(self, expr: ast.Date) -> str:
        return expr.value

    def visit_Shift(self, expr: ast.Shift) -> str:
        return f"{expr.operand.dotted} {expr.sign} {duration(expr.amount, expr.unit)}"

    def visit_Index(self, expr: ast.Index) -> str:
        return f"{expr.table.dotted}[{self.visit(expr.key)}]" + "".join(f".{part}" for part in expr.rest)

    def visit_ListLiteral(self, expr: ast.ListLiteral) -> str:
        return "[" + ", ".join(self.visit(i) for i in expr.items) + "]"

    def visit_Compare(self, expr: ast.Compare) -> str:
        if older(expr):
            assert isinstance(expr.left, ast.Shift)
            return f"{expr.left.operand.dotted} is older than {duration(expr.left.amount, expr.left.unit)}"
        return f"{self.visit(expr.left)} {expr.op} {self.visit(expr.right)}"

    def visit_Member(self, expr: ast.Member) -> str:
        return f"{self.visit(expr.left)} {'not in' if expr.negated else 'in'} {self.visit(expr.right)}"

    def visit_Under(self, expr: ast.Under) -> str:
        return f"{self.visit(expr.left)} under {self.visit(expr.right)}"

    def visit_Matches(self, expr: ast.Matches) -> str:
        return f"{self.visit(expr.left)} matches {self.visit(expr.right)}"

    def visit_Has(self, expr: ast.Has) -> str:
        return f"{self.visit(expr.left)} {expr.words} {self.visit(expr.right)}"

    def visit_Presence(self, expr: ast.Presence) -> str:
        return f"{expr.path.dotted} is {'present' if expr.present else 'absent'}"

    def visit_Truth(self, expr: ast.Truth) -> str:
        return self.visit(expr.operand)

    def visit_Named(self, expr: ast.Named) -> str:
        return expr.name  # (as written: what the name means is its definition's)

    def visit_Not(self, expr: ast.Not) -> str:
        inner = self.visit(expr.operand)
        return f"not {inner}" if isinstance(expr.operand, (ast.Truth, ast.Not, ast.Named)) else f"not ({inner})"

    def visit_And(self, expr: ast.And) -> str:
        return self._junction(expr, " and ", ast.Or)

    def visit_Or(self, expr: ast.Or) -> str:
        return self._junction(expr, " or ", ast.And)

    def _junction(self, expr: ast.And | ast.Or, word: str, other: type) -> str:
        return word.join(f"({self.visit(i)})" if isinstance(i, other) else self.visit(i) for i in expr.items)


_PRINTER = _Printer()


def expression(expr: ast.Expr) -> str:
    """A condition (or an operand) as it is written in a policy, spacing and parentheses normalised."""
    return _PRINTER.visit(expr)
