"""Why a request got its decision, in plain words, and what would change it.

    from pdp.explain import explain
    e = explain(policy_set, request)   # raises RequestError, as decide does
    e = explain_selection(policy_set.select(request))  # the same, for a request already admitted
    print(e.render_text())             # `pdp explain`
    e.to_dict()                        # `"explain": true` in POST /v1/decide

For every rule about the request (its target reaches the action, purpose
and at least one of the categories: a deny overlaps them, an allow covers
them, `taxonomy.reaches`), whether it applied and, down to the
sub-condition, why: "data_subject.age < 18 is false: data_subject.age is 34".
Rules about something else are listed with the part of their target that
misses. For a deny, the smallest changes of the request that the engine
would allow ("would be allowed if data_subject.consent.marketing were not
false"), or a plain "none found".

Pure: no I/O. Explain observes the engine's one evaluator: each rule about
the request is evaluated by conditions.compile_rule_test with a trace
(evaluator.run_rule), which tells every sub-condition's value as the engine
finds it, so an explanation cannot disagree with the decision; a property
test checks that it does not. The decision, and every candidate change, is
decided by the engine itself.

Versions (§11): the rules explained are those of the version that decides
the request, as `PolicySet.select` chooses it; the decision shown is the one
that selection made, never a second one.
"""

from .build import explain, explain_selection
from .evaluator import Node, RuleRun, condition_tree, run_rule
from .model import Change, Condition, Explanation, RuleExplanation, Suggestion, Unrelated
from .suggest import BUDGET, LIMIT, changed, suggest_changes
from .target import Target, prepare, target_of
from .values import fmt, read, show

__all__ = [
    "BUDGET", "LIMIT", "Change", "Condition", "Explanation", "Node", "RuleExplanation", "RuleRun", "Suggestion",
    "Target", "Unrelated", "changed", "condition_tree", "explain", "explain_selection", "fmt", "prepare", "read",
    "run_rule", "show", "suggest_changes", "target_of",
]
