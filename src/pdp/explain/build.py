"""Building the explanation of a request: each rule about it run and explained, the others with what misses."""

from __future__ import annotations

from typing import Any

from pdp.engine.policy_set import PolicySet
from pdp.vocab import taxonomy as tx
from pdp.engine.compiler import CompiledRule
from pdp.engine.conditions import failure
from pdp.lang.printer import expression as printed
from .because import _because, _Origins
from .evaluator import RuleRun, run_rule
from .model import Condition, Explanation, ObligationSource, RuleExplanation, Unrelated
from .suggest import suggest_changes
from .target import Target, target_of
from .values import show


def explain(policy_set: PolicySet, request: Any, suggest: bool = True) -> Explanation:
    """Why `policy_set` decides `request` as it does. Raises RequestError for a malformed request."""
    return explain_selection(policy_set.select(request), suggest)


def explain_selection(selection, suggest: bool = True) -> Explanation:
    """Why a request admitted by `PolicySet.select` got its decision: the rules of the version that
    decided it (§11), and that decision itself, made once, whoever asks (`pdp explain`, the server)."""
    version, request, env, outcome = selection.version, selection.request, selection.env, selection.outcome
    target = target_of(request, not selection.policy_set.model.names_data_use)
    if version is None:  # no version was in force: no rule of any version decided it
        return Explanation(outcome.decision, outcome.reasons, outcome.obligations, target, (), (),
                           target.categories, (), selection.info, advice=outcome.advice)
    notes = _Origins(version, request)
    rules, unrelated, runs = [], [], []
    for rule in version.rules:
        if not target.about(rule):
            unrelated.append(_unrelated(rule, target))
            continue
        covered = target.covered(rule)
        run = run_rule(rule, env, version.data)
        runs.append((run, covered))
        rules.append(_rule_explanation(run, covered, env, notes))
    uncovered = tuple(
        c for c in target.categories
        if not any(run.applies and run.rule.effect == "allow" and c in covered for run, covered in runs))
    # candidates come from the deciding version's rules; each changed request is decided by the whole set
    suggestions = suggest_changes(version, request, target, env, judge=selection.policy_set) \
        if suggest and outcome.decision == "deny" else ()
    return Explanation(outcome.decision, outcome.reasons, outcome.obligations, target, tuple(rules),
                       tuple(unrelated), uncovered, suggestions, selection.info, _sources(outcome, version, env),
                       outcome.advice)


def _sources(outcome, version, env) -> tuple[ObligationSource, ...]:
    """Each obligation's rule: the first allow that applies and attaches it, else the first partial allow
    (`Outcome.partial`: it may apply to part of a broad request) that does, as `decision.combine` gathers them;
    for one under `if`, its condition and the value it had (engine/duties.py: carried unless false)."""
    rules = {r.id: r for r in version.rules}
    attaching = [(r, False) for r in outcome.reasons if r.effect == "allow"] + [(r, True) for r in outcome.partial]
    out = []
    for ob in outcome.obligations:
        reason, part = next((r, part) for r, part in attaching
                            if ob in rules[r.rule].obligations)
        rule = rules[reason.rule]
        decl = rule.source.obligations[rule.obligations.index(ob)]
        condition = None if decl.condition is None else (printed(decl.condition), _value(rule, ob, env))
        out.append(ObligationSource(reason.rule, reason.cite, part, condition))
    return tuple(out)


def _value(rule: CompiledRule, ob, env) -> str:
    """An obligation's condition's value for this request, as the engine read it: true, unknown or failing."""
    test = rule.obligation_tests[rule.obligations.index(ob)]  # type: ignore[index]
    try:
        value = test(env)  # type: ignore[misc]
    except Exception as error:  # noqa: BLE001 - what the engine carried the duty for
        return f"cannot be evaluated ({failure(error)})"
    return "unknown" if value is None else str(value).lower()


def _unrelated(rule: CompiledRule, target: Target) -> Unrelated:
    def some(keys, n=3):
        keys = list(keys)
        return ", ".join(keys[:n]) + (f" and {len(keys) - n} more" if len(keys) > n else "")

    purpose = target.purpose
    if purpose is None or (rule.actions is not None and target.action not in rule.actions):
        # an AuthZEN request names only its action, so that is all a rule can miss
        misses, why = "action", f"not for action {target.action} (to {some(sorted(rule.actions or ()))})"
    elif rule.purposes is not None and not any(tx.reaches(rule.effect, p, purpose) for p in rule.purposes):
        misses, why = "purpose", f"not for purpose {purpose} (for {some(rule.purposes)})"
        if any(tx.covers(purpose, p) for p in rule.purposes):  # an allow on part of a broad purpose
            why = f"for only part of purpose {purpose} (for {some(rule.purposes)})"
    else:
        misses, why = "data_categories", f"not about {', '.join(target.categories)} (of {some(rule.categories or ())})"
        if any(tx.covers(c, k) for c in target.categories for k in rule.categories or ()):
            why = f"about only part of {', '.join(target.categories)} (of {some(rule.categories or ())})"
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
