"""The checker's errors about obligations (`oblige`) and advice (`advise`): where they may stand, their
parameters' values, and that one id takes the same parameters, of the same types, wherever it is written.

A parameter's value is written in the policy (text, a number, true or false, a date, or a list of one of
those), so an answer's parameters are fixed when the set is built: bounded, and the same for every
request that gets the duty. An attribute's value is refused (docs/language.md says why and what to write
instead).
"""

from __future__ import annotations

from typing import Callable, Iterable

from pdp.base.errors import Diagnostic
from pdp.vocab import schema as sch
from . import ast

Duty = ast.DutyDecl
_KINDS = {"number": sch.NUMBER, "string": sch.STRING, "bool": sch.BOOL, "date": sch.DATE}


def check_duties(rule: ast.Rule, check_condition: Callable[[ast.Expr], list[Diagnostic]]) -> list[Diagnostic]:
    """One rule's obligations and advice: an `oblige` on a deny, a parameter's value or name, each condition."""
    out: list[Diagnostic] = []
    if rule.obligations and rule.effect == "deny":
        out.append(Diagnostic("deny-obligation", "obligations come with allow rules, not deny rules",
                              rule.obligations[0].span, "move the duty to the allow rule it goes with, or say "
                              f"what the caller may do as advice: `advise {rule.obligations[0].id} \"...\"`"))
    for duty in rule.obligations + rule.advice:
        seen: set[str] = set()
        for parameter in duty.parameters:
            if parameter.name in seen:
                out.append(Diagnostic("duplicate-parameter", f"`{duty.id}` is given `{parameter.name}` twice",
                                      parameter.span, "give each parameter once"))
            seen.add(parameter.name)
            out += _check_value(parameter)
        if duty.condition is not None:
            out += check_condition(duty.condition)
    return out


def parameter_type(value: ast.Expr) -> sch.Type | None:
    """A parameter's type: a literal's, a date, or a list of one kind (None: not a value a parameter may have)."""
    if isinstance(value, ast.Literal):
        v = value.value
        return sch.BOOL if isinstance(v, bool) else sch.NUMBER if isinstance(v, (int, float)) else sch.STRING
    if isinstance(value, ast.Date):
        return sch.DATE
    if isinstance(value, ast.ListLiteral):
        kinds = {t.kind for t in map(parameter_type, value.items) if t is not None}
        return sch.Type("list", item=_KINDS[kinds.pop()] if len(kinds) == 1 else sch.ANY)
    return None


def _check_value(parameter: ast.Parameter) -> list[Diagnostic]:
    value = parameter.value
    items = value.items if isinstance(value, ast.ListLiteral) else (value,)
    for item in items:
        if not isinstance(item, (ast.Literal, ast.Date)):
            what = f"`{item.dotted}`, an attribute" if isinstance(item, ast.Path) else "a computed value"
            return [Diagnostic("bad-parameter", f"the parameter `{parameter.name}` is {what}: a parameter's value "
                               "is written in the policy", item.span,
                               "write text, a number, true or false, a date, or a list of them (e.g. `days = 30`); "
                               "to act on an attribute, give the obligation a condition: `if ...`")]
    kinds = {parameter_type(item).kind for item in items}  # type: ignore[union-attr]
    if len(kinds) > 1:
        return [Diagnostic("type-mismatch", f"the list given as `{parameter.name}` mixes different kinds of values",
                           value.span, "keep every item of a list the same kind (all text, or all numbers)")]
    return []


def check_consistent(rules: Iterable[ast.Rule]) -> list[Diagnostic]:
    """The same obligation (or advice) id takes the same parameters, each of one type, in every rule: an app
    that honours `retention.delete` reads its `days` as a number wherever the duty comes from."""
    out: list[Diagnostic] = []
    first: dict[tuple[str, str], Duty] = {}
    for rule in rules:
        for word, duties in (("obligation", rule.obligations), ("advice", rule.advice)):
            for duty in duties:
                earlier = first.setdefault((word, duty.id), duty)
                if earlier is not duty:
                    out += _compare(word, earlier, duty)
    return out


def _compare(word: str, earlier: Duty, duty: Duty) -> list[Diagnostic]:
    before = {p.name: parameter_type(p.value) for p in earlier.parameters}
    now = {p.name: parameter_type(p.value) for p in duty.parameters}
    if set(before) != set(now):
        listed = ", ".join(f"`{n}`" for n in before) or "no parameters"
        return [Diagnostic("inconsistent-duty", f"the {word} `{duty.id}` takes {listed} at {earlier.span}, but "
                           f"{', '.join(f'`{n}`' for n in now) or 'no parameters'} here", duty.span,
                           "give an id the same parameters wherever it is written, or give this duty an id of its own")]
    for p in duty.parameters:
        was, typ = before[p.name], now[p.name]
        if was is not None and typ is not None and not _same_type(was, typ):
            return [Diagnostic("inconsistent-duty", f"the {word} `{duty.id}` takes `{p.name}` as {was.describe()} "
                               f"at {earlier.span}, but as {typ.describe()} here", p.span,
                               f"give `{p.name}` a value of one type wherever `{duty.id}` is written")]
    return []


def _same_type(a: sch.Type, b: sch.Type) -> bool:
    if a.kind != b.kind:
        return False
    if a.kind != "list" or a.item is None or b.item is None:
        return True
    # an empty list (of anything) goes with a list of any kind
    return a.item.kind == "any" or b.item.kind == "any" or a.item.kind == b.item.kind
