"""Obligations and advice: what a rule attaches to its decision, with parameters, and when it is due.

An obligation (`oblige`) is a duty that comes with an allow; advice (`advise`) is returned with a
decision of its rule's effect (a deny's: how to get the use allowed; an allow's: a hint) and binds no
one. Each may carry parameters (literals, fixed when the set is built) and a condition (`if ...`),
compiled once here into a closure that answers true, false or unknown (conditions.py), read on the
*some* side of a broad requested key: a duty is due when its condition may hold for what is asked.

Which way each answer falls is chosen for safety, not convenience:

- an obligation whose condition is true, unknown *or cannot be evaluated* (a value of the wrong type)
  is returned: a duty that may be due is never dropped (doing it when it was not needed is safe,
  skipping it when it was is not). The decision itself never depends on a duty's condition: it is the
  rules' (so the decision space, which does not tell these conditions apart, stays exact about it);
- advice is given only when its condition is true (it binds no one: unknown or failing, it is left out,
  and never changes the decision);
- for an allow that may apply to part of a broad request (`Candidates.partial`), the same: an
  obligation is carried unless its condition is false.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, NamedTuple, Sequence

from pdp.lang import ast
from .conditions import Env, Shared, Test, compile_test
from .requested import SOME, Keys

Value = Any  # a parameter's value: text, a number, true/false, a date's ISO text, or a tuple of those


@dataclass(frozen=True)
class Obligation:
    """A duty that comes with an allow: its id, its text, and its parameters in the order written."""

    id: str
    text: str
    parameters: tuple[tuple[str, Value], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "text": self.text}
        if self.parameters:  # (left out when there are none: an answer without parameters reads as before)
            out["parameters"] = {name: _wire(value) for name, value in self.parameters}
        return out


@dataclass(frozen=True)
class Advice(Obligation):
    """Advice returned with a decision of its rule's effect (`advise`): the same shape, but no duty."""


def _wire(value: Value) -> Any:
    return [_wire(v) for v in value] if isinstance(value, tuple) else value


def parameter_value(expr: ast.Expr) -> Value:
    """A checked parameter's value (lang/duties.py allows literals, dates and lists of them only)."""
    if isinstance(expr, ast.Literal):
        return expr.value
    if isinstance(expr, ast.Date):
        return expr.value
    if isinstance(expr, ast.ListLiteral):
        return tuple(parameter_value(item) for item in expr.items)
    raise TypeError(f"not a parameter's value: {expr!r}")


class Duties(NamedTuple):
    """A rule's obligations and advice compiled: each with its condition's test (None: always due)."""

    obligations: tuple[Obligation, ...]
    advice: tuple[Advice, ...]
    obligation_tests: tuple[Test | None, ...] | None  # None: no obligation has a condition
    advice_tests: tuple[Test | None, ...] | None  # None: no advice has a condition


def compile_duties(rule: ast.Rule, data: dict[str, Any], keys: Keys, shared: Shared | None = None) -> Duties:
    def parameters(decl: ast.DutyDecl) -> tuple[tuple[str, Value], ...]:
        return tuple((p.name, parameter_value(p.value)) for p in decl.parameters)

    def tests(decls: Sequence[ast.DutyDecl]) -> tuple[Test | None, ...] | None:
        if all(d.condition is None for d in decls):
            return None
        return tuple(None if d.condition is None else compile_test(d.condition, data, side=SOME, keys=keys,
                                                                   shared=shared) for d in decls)

    return Duties(tuple(Obligation(o.id, o.text, parameters(o)) for o in rule.obligations),
                  tuple(Advice(a.id, a.text, parameters(a)) for a in rule.advice),
                  tests(rule.obligations), tests(rule.advice))


Found = dict[tuple[str, tuple[Any, ...]], Obligation]  # the duties gathered, by id and parameters


def _gather(found: Found, duties: Iterable[Obligation]) -> None:
    # one entry per id and parameters: the same duty from several rules once, the same id with other parameters
    # kept too (which of "30 days" and "90 days" binds is not the engine's to guess)
    for duty in duties:
        found.setdefault((duty.id, duty.parameters), duty)


def due(rules: Iterable[Any], env: Env | None, found: Found | None = None) -> list[Obligation]:
    """The obligations of these allows (those that apply, or may apply to part of a broad request), after those in
    `found`: each whose condition is not false (true, unknown, or failing: a duty that may be due is carried).
    `env` None (the decision space, which does not tell a duty's conditions apart): every obligation."""
    found = {} if found is None else found
    for rule in rules:
        tests = rule.obligation_tests
        if tests is None or env is None:
            _gather(found, rule.obligations)
            continue
        for obligation, test in zip(rule.obligations, tests):
            if test is not None:
                try:
                    if test(env) is False:
                        continue
                except Exception:  # noqa: BLE001 - cannot be evaluated: could hold, on the strict side
                    pass
            _gather(found, (obligation,))
    return list(found.values())


def given(rules: Iterable[Any], env: Env | None) -> tuple[Advice, ...]:
    """The advice of the rules that decided: each whose condition is true (unknown or failing: left out, as
    advice binds no one; `env` None, the decision space: only advice without a condition)."""
    found: Found = {}
    for rule in rules:
        tests = rule.advice_tests
        if tests is None:
            _gather(found, rule.advice)
            continue
        for advice, test in zip(rule.advice, tests):
            if test is not None:
                try:
                    if env is None or test(env) is not True:
                        continue
                except Exception:  # noqa: BLE001 - advice never changes a decision
                    continue
            _gather(found, (advice,))
    return tuple(found.values())  # type: ignore[arg-type]


def situational(rule: Any) -> bool:
    """Do the rule's obligations or advice depend on the request beyond which rules apply (a condition)?"""
    return rule.obligation_tests is not None or rule.advice_tests is not None
