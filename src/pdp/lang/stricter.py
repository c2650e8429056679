"""The stricter-wins check: a rule that reads an attribute the consent ledger fills must read it so that the
stricter value never allows more (warning `permissive-read`).

The ledger fills an attribute, and a caller may only make a decision
stricter: where the two disagree, the fact's restrictive value is taken
(`pdp.ledger.fill.SOURCES`: `false` for a consent, `true` for an opt-out...).
That is sound only if the restrictive value really denies more: no allow rule
may apply with it where it does not with the other value, and no deny rule may
stop applying. `allow ... when not data_subject.consent.marketing` turns a
caller's stricter `false` into an allow.

Each test of a filled attribute is judged on its own: with the attribute at
the restrictive value and at the other, is the test true? Under the `not`s
and `unless` above it (its polarity), a test in an allow must not hold at the
restrictive value alone, nor one in a deny at the other value alone. Since
`and` and `or` are monotone (in three-valued logic too) and a decision is
allowed only when some allow applies and no deny does, a set without such a
test decides every request at least as strictly with the restrictive value.
The check is on the safe side: a test pdp cannot judge (the attribute
compared with another attribute) is reported too; a rule may accept the
warning, with its reason, as any warning about one rule.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from . import ast, printer
from pdp.base.errors import Diagnostic
from pdp.ledger.fill import SOURCES

CODE = "permissive-read"


@dataclass(frozen=True)
class _Filled:
    """A filled attribute: its restrictive value, and where the set declares it."""

    restrictive: bool
    declared: ast.LedgerFill
    dated: bool = False  # a date fact: the earlier of two days is the stricter (pdp.ledger.fill.combined)


def permissive_reads(files: list[ast.PolicyFile], fills: list[ast.LedgerFill] | None = None) -> list[Diagnostic]:
    """A warning for each test of a filled attribute, in any rule, read in the permissive direction. `fills`: the
    declarations that fill the requests these rules decide (default: the files' own; an earlier version (§11) is
    filled by the current set's)."""
    if fills is None:
        fills = [fill for policy_file in files for fill in policy_file.ledger_fills]
    filled = {fill.attribute.dotted: _Filled(SOURCES[fill.source].restrictive, fill, SOURCES[fill.source].kind == "date")
              for fill in fills if fill.source in SOURCES}
    if not filled:
        return []
    out = []
    for policy_file in files:
        for rule in policy_file.rules:
            conditions = [(c, True) for c in rule.when] + [(c, False) for c in rule.unless]
            for condition, positive in conditions:
                for test, path, holds in _tests(condition, positive, filled):
                    if holds is None or _permissive(rule.effect, filled[path].restrictive, holds):
                        out.append(_warning(rule, test, path, filled[path], holds))
    return out


Holds = tuple[bool, bool] | None  # whether the test (under its polarity) holds at the restrictive value, at the other


def _tests(expr: ast.Expr, positive: bool, filled: dict[str, _Filled]) -> Iterator[tuple[ast.Expr, str, Holds]]:
    """Each test of a filled attribute under `expr`, its attribute, and when it holds (None: cannot tell)."""
    if isinstance(expr, ast.Not):
        yield from _tests(expr.operand, not positive, filled)
    elif isinstance(expr, (ast.And, ast.Or)):
        for item in expr.items:
            yield from _tests(item, positive, filled)
    else:
        path = _filled_path(expr, filled)
        if path is not None:
            found = _truth(expr, path, filled[path].restrictive)
            if found is not None:
                at_restrictive, at_other = found
                yield expr, path, (at_restrictive, at_other) if positive else (not at_restrictive, not at_other)
            elif not isinstance(expr, ast.Presence):  # present at either value: a presence test never differs
                yield expr, path, None


def _filled_path(expr: ast.Expr, filled: dict[str, _Filled]) -> str | None:
    for node in ast.walk(expr):
        if isinstance(node, ast.Path) and node.dotted in filled:
            return node.dotted
    return None


def _truth(test: ast.Expr, path: str, restrictive: bool) -> tuple[bool, bool] | None:
    """Whether `test` is true with the attribute `path` at the restrictive value, and at the other; None when that
    depends on more than the attribute (or the test is a presence test, true or false alike at both)."""
    def value_of(value: bool) -> bool | None:
        if isinstance(test, ast.Truth) and _is(test.operand, path):
            return value is True
        if isinstance(test, ast.Compare) and test.op in ("==", "!="):
            other = test.right if _is(test.left, path) else test.left if _is(test.right, path) else None
            if isinstance(other, ast.Literal):
                return (value == other.value and type(other.value) is bool) == (test.op == "==")
        if isinstance(test, ast.Member) and _is(test.left, path) and isinstance(test.right, ast.ListLiteral) \
                and ast.all_literals(test.right.items):
            found = any(type(item.value) is bool and item.value == value for item in test.right.items)
            return found != test.negated
        return None

    at_restrictive, at_other = value_of(restrictive), value_of(not restrictive)
    return None if at_restrictive is None or at_other is None else (at_restrictive, at_other)


def _is(expr: ast.Expr, path: str) -> bool:
    return isinstance(expr, ast.Path) and expr.dotted == path


def _permissive(effect: str, restrictive: bool, holds: tuple[bool, bool]) -> bool:
    at_restrictive, at_other = holds
    if effect == "allow":
        return at_restrictive and not at_other  # the stricter value would let the allow apply
    return at_other and not at_restrictive  # the stricter value would lift the deny


def _warning(rule: ast.Rule, test: ast.Expr, path: str, filled: _Filled, holds: Holds) -> Diagnostic:
    text = printer.expression(test)
    declared = filled.declared
    if filled.dated:  # (its direction is never read off the test: `_truth` reads true and false only)
        lifts = "allow more" if rule.effect == "allow" else "lift this deny"
        message = (f"`{rule.id}` reads `{path}`, a date the consent ledger fills, in `{text}`: a caller may always "
                   f"give an earlier day (the stricter one), and pdp cannot tell whether that could {lifts}")
        hint = (f"`{path}` is filled `from {declared.source}` ({declared.span}), whose stricter value is the earlier "
                f"day: make sure an earlier day never {lifts} (e.g. `{path} is older than 13 months` in a deny's "
                f"`when`), then `accept {CODE} because \"...\"`")
        return Diagnostic(CODE, message, test.span, hint, "warning")
    strict, other = _word(filled.restrictive), _word(not filled.restrictive)
    if holds is None:
        message = (f"`{rule.id}` reads `{path}`, which the consent ledger fills, in `{text}`, whose direction pdp "
                   f"cannot tell: a caller may always make it `{strict}` (the stricter value), and that must "
                   f"never {'allow more' if rule.effect == 'allow' else 'lift this deny'}")
    elif rule.effect == "allow":
        message = (f"the allow `{rule.id}` can apply when `{path}` is `{strict}` and not when it is `{other}`: "
                   f"`{strict}` is the stricter value the consent ledger lets a caller always impose, so a caller "
                   "saying it would be allowed more")
    else:
        message = (f"the deny `{rule.id}` can apply when `{path}` is `{other}` and not when it is `{strict}`: "
                   f"`{strict}` is the stricter value the consent ledger lets a caller always impose, so a caller "
                   "saying it would lift the deny")
    hint = (f"`{path}` is filled `from {declared.source}` ({declared.span}), whose stricter value is `{strict}`: "
            f"read it so that `{strict}` denies (e.g. `{path} == {other}` in an allow's `when`, "
            f"`{path} == {strict}` in a deny's), or `accept {CODE} because \"...\"`")
    return Diagnostic(CODE, message, test.span, hint, "warning")


def _word(value: bool) -> str:
    return "true" if value else "false"


__all__ = ["CODE", "permissive_reads"]
