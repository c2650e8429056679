"""What the policy tests exercise: which rules applied, and which way each condition went.

    from .coverage import measure
    report = measure(policy_set, test_files)   # TestFiles or Cases
    report.rule_percent                        # rules that applied in at least one case
    print(report.render_text())                # `pdp test --coverage`

Pure: the cases are data, read by pdp.testing. Each case's request is
admitted as the engine admits it (`PolicySet.select`: checked, and given the
version that decides it, §11) and the rules of that version evaluated by the
engine's evaluator with a trace, as `pdp explain` does (explain.run_rule), so
a condition's value, and whether it was evaluated at all, is what the engine
found; a request the engine refuses exercises nothing. The test runner
records coverage while it decides (`Recorder`), so each case is admitted once.

Rule coverage: a rule is covered when it applied (its target covered the
request and its conditions held) in at least one case. Condition coverage
is branch coverage: every condition, and every part of an `and` / `or`, is
to be seen true in some case and false in another, counting only the cases
where the engine evaluated it (its rule was about the request, and no
earlier part settled the answer). `not x` is not counted on its own: it is
true exactly when `x` is false. Unknown is counted and shown, but is not a
branch of its own: it never makes a rule apply.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from pdp.engine.policy_set import PolicySet
from pdp.lang import ast, printer
from pdp.base.errors import RequestError
from pdp.explain import condition_tree, run_rule, target_of
from .cases import Case, TestFile
from .runner import decide_case


@dataclass(frozen=True)
class ConditionCoverage:
    rule: str
    where: tuple  # ("when", 0, 1): the second part of the rule's first `when`
    text: str
    location: str  # file:line
    true: int = 0
    false: int = 0
    unknown: int = 0
    errors: int = 0

    @property
    def outcomes_seen(self) -> int:
        return (self.true > 0) + (self.false > 0)

    def to_dict(self) -> dict:
        return {"rule": self.rule, "clause": self.where[0], "condition": self.text, "location": self.location,
                "true": self.true, "false": self.false, "unknown": self.unknown, "errors": self.errors}


@dataclass(frozen=True)
class RuleCoverage:
    rule: str
    effect: str
    cite: str | None
    location: str
    about: int  # cases whose request the rule's target covered
    applied: int  # cases in which it applied
    conditions: tuple[ConditionCoverage, ...]

    def to_dict(self) -> dict:
        return {"rule": self.rule, "effect": self.effect, "cite": self.cite, "location": self.location,
                "cases_about": self.about, "cases_applied": self.applied}


@dataclass(frozen=True)
class CoverageReport:
    rules: tuple[RuleCoverage, ...]  # every rule of the set, in policy order
    cases: int  # cases whose request was decided
    refused: int  # cases whose request the engine refused (they exercise nothing)

    @property
    def conditions(self) -> tuple[ConditionCoverage, ...]:
        return tuple(c for r in self.rules for c in r.conditions)

    @property
    def rules_applied(self) -> int:
        return sum(r.applied > 0 for r in self.rules)

    @property
    def rule_percent(self) -> float:
        return 100.0 if not self.rules else 100.0 * self.rules_applied / len(self.rules)

    @property
    def outcomes_seen(self) -> int:
        return sum(c.outcomes_seen for c in self.conditions)

    @property
    def condition_percent(self) -> float:
        total = 2 * len(self.conditions)
        return 100.0 if not total else 100.0 * self.outcomes_seen / total

    def never_applied(self) -> tuple[RuleCoverage, ...]:
        return tuple(r for r in self.rules if not r.applied)

    def never_true(self) -> tuple[ConditionCoverage, ...]:
        return tuple(c for c in self.conditions if not c.true)

    def never_false(self) -> tuple[ConditionCoverage, ...]:
        return tuple(c for c in self.conditions if not c.false)

    def to_dict(self) -> dict:
        return {
            "cases": self.cases,
            "refused_cases": self.refused,
            "rules": {"total": len(self.rules), "applied": self.rules_applied, "percent": round(self.rule_percent, 2),
                      "never_applied": [r.to_dict() for r in self.never_applied()]},
            "conditions": {"total": len(self.conditions), "outcomes": 2 * len(self.conditions),
                           "outcomes_seen": self.outcomes_seen, "percent": round(self.condition_percent, 2),
                           "never_true": [c.to_dict() for c in self.never_true()],
                           "never_false": [c.to_dict() for c in self.never_false()]},
        }

    def render_text(self) -> str:
        out = [f"rule coverage: {self.rules_applied} of {len(self.rules)} rules applied in some case "
               f"({percent(self.rule_percent)})",
               f"condition coverage: {self.outcomes_seen} of {2 * len(self.conditions)} outcomes seen, "
               f"each condition true and false ({percent(self.condition_percent)})"]
        if self.never_applied():
            out += ["", "Rules no case applied:"]
            for r in self.never_applied():
                why = "no case is about it" if not r.about else (
                    f"{_count(r.about, 'case')} about it, but its conditions never held")
                out.append(f"  {r.location}: {r.effect} {r.rule}{_cite(r.cite)}: {why}")
        for title, conditions in (("Conditions never seen true:", self.never_true()),
                                  ("Conditions never seen false:", self.never_false())):
            if conditions:
                out += ["", title]
                out.extend(f"  {c.location}: {c.rule}: {c.where[0]} {c.text} ({_seen(c)})" for c in conditions)
        return "\n".join(out)


def percent(value: float) -> str:
    """`100 %` only when complete: 99.96 shows as `99.9 %`."""
    if value >= 100:
        return "100 %"
    return f"{math.floor(value * 10) / 10:.1f} %"


def _cite(cite: str | None) -> str:
    return f" ({cite})" if cite else ""


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _seen(c: ConditionCoverage) -> str:
    if not (c.true or c.false or c.unknown or c.errors):
        return "never evaluated"
    parts = [f"{word} {n}" for word, n in (("true", c.true), ("false", c.false), ("unknown", c.unknown),
                                            ("failed", c.errors)) if n]
    return "seen " + ", ".join(parts)


class _Tally:
    def __init__(self, rule):
        self.rule = rule
        self.about = self.applied = 0
        self.nodes: dict[tuple, list] = {}  # where -> [expr, true, false, unknown, errors]
        written = rule.as_written  # a named condition listed by its name, its parts below (docs/language.md)
        for kind, exprs in (("when", written.when), ("unless", written.unless)):
            for i, expr in enumerate(exprs):  # every condition is listed, evaluated or not
                for node in condition_tree(expr, (kind, i)).walk():
                    if not isinstance(node.expr, ast.Not):  # true exactly when its operand is false
                        self.nodes[node.where] = [node.expr, 0, 0, 0, 0]


class Recorder:
    """Coverage as the cases are decided: each case credits the rules of the version that decided it.

    The rules of every version of the set are counted (`versions/`, §11): an earlier version still
    decides the data collected under it, so its rules are tested like the current ones.
    """

    def __init__(self, policy_set: PolicySet):
        self._tallies = {id(version): [_Tally(rule) for rule in version.rules] for version in policy_set.history}
        self._by_rule = {key: {id(t.rule): t for t in tallies} for key, tallies in self._tallies.items()}
        self.decided = self.refused = 0

    def record(self, selection) -> None:
        """Count what one admitted request (`PolicySet.select`) exercised in the version that decides it."""
        self.decided += 1
        if selection.version is None:  # no version was in force: no rule was about it
            return
        version = selection.version
        tallies = self._tallies[id(version)]
        target = target_of(selection.request, not version.model.names_data_use)
        if target.purpose is None:  # AuthZEN: the rules for its action
            about = [t for t in tallies if target.about(t.rule)]
        else:  # the rules the version's index finds for some requested category (the plain scan if built so)
            by_rule = self._by_rule[id(version)]
            about = list({id(rule): by_rule[id(rule)] for category in target.categories
                          for found in version.candidates(target.action, target.purpose, category)[:2]
                          for rule in found}.values())
        for tally in about:
            run = run_rule(tally.rule, selection.env, version.data)
            tally.about += 1
            tally.applied += run.applies
            for node in run.nodes():
                counts = tally.nodes.get(node.where)
                if counts is None or not node.reached:
                    continue
                slot = 4 if node.error is not None else {True: 1, False: 2, None: 3}[node.value]
                counts[slot] += 1

    def report(self) -> CoverageReport:
        rules = []
        for tallies in self._tallies.values():  # oldest version first, each in policy order
            for tally in tallies:
                rule = tally.rule
                conditions = tuple(
                    ConditionCoverage(rule.id, where, printer.expression(expr), f"{expr.span.file}:{expr.span.line}", *counts)
                    for where, (expr, *counts) in tally.nodes.items())
                span = rule.source.span
                rules.append(RuleCoverage(rule.id, rule.effect, rule.cite, f"{span.file}:{span.line}", tally.about,
                                          tally.applied, conditions))
        return CoverageReport(tuple(rules), self.decided, self.refused)


def measure(policy_set: PolicySet, cases: Iterable[Case | TestFile]) -> CoverageReport:
    """Admit every case's request and count what was exercised (`pdp test --coverage` records while it runs)."""
    recorder = Recorder(policy_set)
    for case in _cases(cases):
        try:
            # a case with ledger events is decided (filled from them), so its coverage is that of the filled request
            selection = (policy_set.select(copy.deepcopy(case.request)) if case.ledger is None
                         else decide_case(policy_set, case, copy.deepcopy(case.request))[0])
        except RequestError:
            recorder.refused += 1
            continue
        if selection is not None:
            recorder.record(selection)
    return recorder.report()


def _cases(items: Iterable[Any]):
    for item in items:
        if isinstance(item, TestFile):
            yield from item.cases
        else:
            yield item
