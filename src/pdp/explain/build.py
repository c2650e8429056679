"""Building the explanation of a request: each rule about it run and explained, the others with what misses."""

from __future__ import annotations

from typing import Any

from ..compiler import CompiledRule
from .because import _because, _Origins
from .evaluator import RuleRun, run_rule
from .model import Condition, Explanation, RuleExplanation, Unrelated
from .suggest import suggest_changes
from .target import Target, prepare
from .values import show


def explain(policy_set, request: Any, suggest: bool = True) -> Explanation:
    """Why `policy_set` decides `request` as it does. Raises RequestError for a malformed request."""
    outcome = policy_set.outcome(request)
    target, env = prepare(policy_set, request)
    notes = _Origins(policy_set, request)
    rules, unrelated, runs = [], [], []
    for rule in policy_set.rules:
        covered = target.covered(rule)
        if not covered:
            unrelated.append(_unrelated(rule, target))
            continue
        run = run_rule(rule, env, policy_set.data)
        runs.append((run, covered))
        rules.append(_rule_explanation(run, covered, env, notes))
    uncovered = () if target.authzen else tuple(
        c for c in target.categories
        if not any(run.applies and run.rule.effect == "allow" and c in covered for run, covered in runs))
    suggestions = suggest_changes(policy_set, request, target, env) if suggest and outcome.decision == "deny" else ()
    return Explanation(outcome.decision, outcome.reasons, outcome.obligations, target, tuple(rules),
                       tuple(unrelated), uncovered, suggestions, policy_set.info)


def _unrelated(rule: CompiledRule, target: Target) -> Unrelated:
    def some(keys, n=3):
        keys = list(keys)
        return ", ".join(keys[:n]) + (f" and {len(keys) - n} more" if len(keys) > n else "")

    if rule.actions is not None and target.action not in rule.actions:
        misses, why = "action", f"not for action {target.action} (to {some(sorted(rule.actions))})"
    elif rule.purposes is not None and not any(target.purpose == p or target.purpose.startswith(p + ".")
                                                for p in rule.purposes):
        misses, why = "purpose", f"not for purpose {target.purpose} (for {some(rule.purposes)})"
    else:
        misses, why = "data_categories", f"not about {', '.join(target.categories)} (of {some(rule.categories or ())})"
    return Unrelated(rule.id, rule.effect, rule.cite, _location(rule.source.span), misses, why)


def _rule_explanation(run: RuleRun, covered, env, notes: "_Origins") -> RuleExplanation:
    rule = run.rule
    shown = run.clauses if run.stop is None else run.clauses[run.stop:run.stop + 1]
    conditions = []
    for kind, node in shown:
        want = kind == "when"
        lines = _because(node, want, env, notes)
        lines[0] = f"{kind} {lines[0]}"
        conditions.append(Condition(kind, show(node.expr), node.value, node.error is None and node.value is want,
                                    node.error, tuple(lines)))
    return RuleExplanation(rule.id, rule.effect, rule.cite, rule.message, _location(rule.source.span), covered,
                           run.applies, run.error, tuple(conditions))


def _location(span) -> str:
    return f"{span.file}:{span.line}"
