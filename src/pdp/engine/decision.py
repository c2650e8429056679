"""A checked request + compiled rules -> a decision. Pure: no I/O, no clock.

Semantics (Cedar's, with default deny per data category):
- a deny rule that applies to any category denies the whole request;
- otherwise every category needs an allow rule that applies;
- a rule that fails to evaluate fails closed: the request is denied and the
  error is a reason;
- an allow carries the obligations of the allows that apply and, for a
  request that names a broad key, of every allow that may apply to part of
  it (`partial`): an app that asks broadly, then acts on a narrower part,
  meets the duties the policy attaches to that part;
- a decision carries the advice of the rules that decided it (a deny's,
  or an allow's); obligations and advice with a condition are read on the
  safe side (duties.py: a duty that may be due is returned).
`combine` is the one place where allow, deny and error meet. An Outcome
becomes a Decision (the answer, with its id) in `decision_of`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, fields
from typing import Any, TypeVar

from .compiler import CompiledRule, Deciding
from .conditions import Env, failure
from .duties import Advice, Found, Obligation, due, given, situational
from .decision_id import new_decision_id

log = logging.getLogger("pdp")

DEFAULT_DENY = "default.deny"
EVALUATION_ERROR = "error"


@dataclass(frozen=True, slots=True)  # slots: one object to read, not two (a decision at 20,000 rules reads it cold)
class Reason:
    rule: str
    effect: str  # "allow" | "deny" | "error"
    cite: str | None
    message: str
    categories: tuple[str, ...] = ()  # for default deny: the categories no rule allowed

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"rule": self.rule, "effect": self.effect, "cite": self.cite, "message": self.message}
        if self.categories:
            out["categories"] = list(self.categories)
        return out


@dataclass(frozen=True, slots=True)
class Outcome:
    """A decision without its id: what tests and comparisons use."""

    decision: str
    reasons: tuple[Reason, ...]
    obligations: tuple[Obligation, ...] = field(default=())
    # for an allow of a broad request: the allows that may apply to part of it, whose obligations it carries too
    # (not reasons: they do not allow it)
    partial: tuple[Reason, ...] = field(default=())
    advice: tuple[Advice, ...] = field(default=())  # of the rules that decided (duties.py)


@dataclass(frozen=True)
class Decision:
    """The answer to one request: the outcome, the policy (version) that gave it, and a new id."""

    decision: str
    reasons: tuple[Reason, ...]
    obligations: tuple[Obligation, ...]
    policy: dict[str, Any]
    decision_id: str
    advice: tuple[Advice, ...] = ()

    @property
    def allowed(self) -> bool:
        return self.decision == "allow"

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "decision": self.decision,
            "reasons": [r.to_dict() for r in self.reasons],
            "obligations": [o.to_dict() for o in self.obligations],
        }
        if self.advice:  # (left out when there is none: an answer without advice reads as before)
            out["advice"] = [a.to_dict() for a in self.advice]
        out["policy"] = dict(self.policy)
        out["decision_id"] = self.decision_id  # (last: server/deciding.Answers appends it to the kept part)
        return out


# `decision_of` sets these fields itself, without Decision's __init__ (about 1 µs a decision less): a field
# added to Decision must be added there too, so a difference stops the import rather than leave it unset.
_DECISION_FIELDS = ("decision", "reasons", "obligations", "policy", "decision_id", "advice")
if tuple(f.name for f in fields(Decision)) != _DECISION_FIELDS:
    raise TypeError(f"Decision's fields are {[f.name for f in fields(Decision)]}, decision_of sets "
                    f"{list(_DECISION_FIELDS)}: set every field in decision_of")


def decision_of(outcome: Outcome, policy_info: dict[str, Any]) -> Decision:
    """The outcome as a decision with a new id; a rule that could not be evaluated is also logged."""
    # (an error always denies, `combine`: an allow's reasons are not read, they are cold at 20,000 rules)
    for reason in outcome.reasons if outcome.decision != "allow" else ():
        if reason.effect == EVALUATION_ERROR:
            log.warning("policy %s %s: rule %s failed closed, the request is denied: %s",
                        policy_info.get("name"), policy_info.get("version"), reason.rule, reason.message)
    # Decision's own __init__, without a frozen dataclass's setattr per field: this runs on every decision
    decision = object.__new__(Decision)
    decision.__dict__.update(decision=outcome.decision, reasons=outcome.reasons, obligations=outcome.obligations,
                             policy=policy_info, decision_id=new_decision_id(), advice=outcome.advice)
    return decision


def _reason(rule: CompiledRule) -> Reason:
    return Reason(rule.id, rule.effect, rule.cite, rule.message)


def combine(
    denies: list[CompiledRule],
    allows: list[CompiledRule],
    uncovered: list[str],
    errors: list[tuple[CompiledRule, str]],
    partial: Sequence[CompiledRule] = (),
    env: Env | None = None,
) -> Outcome:
    """Total: every combination of applying rules gets exactly one decision.

    `partial`: allows with obligations that may apply to part of a broad
    request (`CompiledRule.possible`); an allow carries their obligations
    after those of the allows that apply. `env`: the request, which the
    conditions of obligations and advice read (duties.py); None (the
    decision space): each obligation as possibly due, advice with a
    condition left out. The decision is the rules': a duty never changes it.
    """
    if errors:
        failures = [Reason(rule.id, EVALUATION_ERROR, rule.cite, f"the rule could not be evaluated: {message}")
                    for rule, message in errors]
        return Outcome("deny", tuple(failures + [_reason(r) for r in denies]), advice=given(denies, env))
    if denies:
        return Outcome("deny", tuple(_reason(r) for r in denies), advice=given(denies, env))
    if uncovered:
        listed = ", ".join(uncovered)
        message = f"no rule allows this use of {listed}"
        return Outcome("deny", (Reason(DEFAULT_DENY, "deny", None, message, tuple(uncovered)),))
    found: Found = {}
    obligations = due(allows, env, found)
    reasons = tuple(_reason(r) for r in allows)
    advice = given(allows, env)
    if not partial:  # (the usual case, and every narrow request: nothing more to gather)
        return Outcome("allow", reasons, tuple(obligations), advice=advice)
    applied = {r.order for r in allows}  # (by order: an allow may be handed over settled, CompiledRule.settled)
    part = [r for r in partial if r.order not in applied]
    return Outcome("allow", reasons, tuple(due(part, env, found)), tuple(_reason(r) for r in part), advice=advice)



Purpose = TypeVar("Purpose", str, None)  # a data-use request's purpose; an AuthZEN request has none
OUTCOMES_LIMIT = 4096  # outcomes remembered per policy set (`evaluate`'s `memo`)
OutcomeKey = tuple[str, tuple[Any, ...]]


def evaluate(deciding: Callable[[str, Purpose, str], Deciding], action: str, purpose: Purpose, parts: Iterable[str],
             env: dict[str, Any], memo: dict[OutcomeKey, Outcome] | None = None) -> Outcome:
    """Which rules apply to this request, combined into one outcome: any deny that applies wins, and each
    part of the request needs an allow that applies, or it is `uncovered` (default deny).

    The parts are the requested data categories, or, in a request without them (AuthZEN), the action
    itself. `deciding(action, purpose, part)` gives the denies and allows whose targets reach the part
    (`deciding_for_action` for an AuthZEN request, which has no purpose), together, narrowed by the
    request's attributes (narrowing.py: the rules left out cannot apply and raise nothing), and for a
    broad request the allows with obligations that overlap it: the rule index or the plain scan. Those
    are asked whether they may apply to part of the request only when it is allowed, and only for their
    obligations (`combine`).

    Once a deny applies, the allows cannot change the decision nor its reasons (`combine`): only
    those that may raise (`CompiledRule.total` false) are still evaluated, as an error is a reason
    (the allows handed over before the deny in the same part are evaluated all the same).
    `memo` (the rule index's, or None) keeps the outcome of each combination of applying rules, so that
    its reasons and obligations are gathered once.
    """
    verdicts: dict[int, bool] = {}  # rule order -> applies; a rule is evaluated once per request
    # (the list the rule was evaluated from, its order, the rule, the error): narrowed lists come in no particular
    # order, and errors are reported in the plain path's (each part's denies, then its allows, each in policy
    # order, the parts in turn: a part's denies are block 2i, its allows 2i + 1)
    failed: list[tuple[int, int, CompiledRule, str]] = []
    denies: list[CompiledRule] = []
    allows: list[CompiledRule] = []
    uncovered: list[str] = []
    partial: list[CompiledRule] = []
    block = 0
    for part in parts:
        narrowed, part_partial = deciding(action, purpose, part)
        covered = False
        # (one loop over the part's denies and allows together, each rule's verdict worked out in it: this runs for
        # every rule of every decision)
        for rule in narrowed.select(env):
            deny = rule.effect == "deny"
            if denies and not deny and rule.total:
                continue  # denied whatever the allows say: only an allow's error could still be a reason
            verdict = verdicts.get(rule.order)
            if verdict is None:
                try:
                    verdict = rule.applies(env)
                except Exception as error:  # noqa: BLE001 - fail closed, on anything unforeseen too, and say so
                    failed.append((block if deny else block + 1, rule.order, rule, failure(error)))
                    verdict = False
                verdicts[rule.order] = verdict
                if verdict:
                    (denies if deny else allows).append(rule)
            if verdict and not deny:
                covered = True
        block += 2
        if denies:
            continue
        if not covered:
            uncovered.append(part)
        if part_partial:
            partial += part_partial
    if failed:
        failed.sort(key=lambda f: f[:2])
        errors = [(rule, message) for _, _, rule, message in failed]
        denies.sort(key=_by_order)
        return combine(denies, allows, uncovered, errors, env=env)
    if denies:
        if len(denies) > 1:
            denies.sort(key=_by_order)
        if any(map(situational, denies)):  # (its advice reads the request: not the same for every request)
            return combine(denies, [], [], [], env=env)
        return _remembered(memo, ("deny", tuple(denies)), lambda: combine(denies, [], [], []))
    if uncovered:
        return _remembered(memo, ("uncovered", tuple(uncovered)), lambda: combine([], [], uncovered, []))
    if len(allows) > 1:
        allows.sort(key=_by_order)
    if partial:  # allowed: which duties of its parts does it carry?
        return combine(denies, allows, uncovered, [], _possible(partial, verdicts, env), env)
    if any(map(situational, allows)):  # (its duties read the request: not the same for every request)
        return combine([], allows, [], [], env=env)
    return _remembered(memo, ("allow", tuple(allows)), lambda: combine([], allows, [], []))


def _by_order(rule: CompiledRule) -> int:
    return rule.order


def _remembered(memo: dict[OutcomeKey, Outcome] | None, key: OutcomeKey, make: Callable[[], Outcome]) -> Outcome:
    """The outcome of `key` from `memo`, made and kept (within OUTCOMES_LIMIT) when not there yet."""
    if memo is None:
        return make()
    found = memo.get(key)
    if found is None:
        found = make()
        if len(memo) < OUTCOMES_LIMIT:
            memo[key] = found
    return found


def _possible(partial: list[CompiledRule], verdicts: dict[int, bool], env: dict[str, Any]) -> list[CompiledRule]:
    """The partial allows (once each, in policy order) that did not apply but may apply to part of the request."""
    unique = {rule.order: rule for rule in partial}
    return [rule for order, rule in sorted(unique.items())
            if not verdicts.get(order) and rule.possible is not None and rule.possible(env)]
