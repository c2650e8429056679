"""Deciding on the consent ledger's facts: the request filled (pdp.ledger.fill), decided, each reason naming the
events it relied on. Pure: the subject's state and the time come from the caller (pdp.io.ledger_reader reads
them); the plain `PolicySet.decide` is untouched, so a set served without a ledger pays nothing.

A reason cites the filled attributes its rule reads (a default deny: the filled attributes whose value is the
restrictive one), each with who decided its value (the ledger, or the caller being stricter) and the events;
the decision's `ledger` lists them all, and the subject's last sequence number folded in.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pdp.base.errors import FieldError, RequestError
from pdp.lang import ast
from pdp.ledger.fill import Filled, Readings, cited, fill
from pdp.ledger.state import State

from . import ledger_memo, versions
from .decision import DEFAULT_DENY, Decision, Reason
from .decision_id import new_decision_id
from .policy_set import PolicySet

LEDGER_UNAVAILABLE = "ledger.unavailable"  # the rule a request is denied by when the ledger cannot be read
LEDGER_NOT_YET = "ledger.not_yet_visible"  # ... when the ledger has not yet seen the event the request waits for


@dataclass(frozen=True, slots=True)
class CitingReason(Reason):
    """A reason with the filled attributes its rule relied on (`ledger` in its JSON: each value, who decided it,
    its events in a sentence; written when asked for, not when deciding)."""

    relied_on: tuple[Filled, ...] = ()

    @property
    def ledger(self) -> list[dict[str, Any]]:
        return [f.citation() for f in self.relied_on]

    def to_dict(self) -> dict[str, Any]:
        out = Reason.to_dict(self)
        out["ledger"] = self.ledger
        return out


@dataclass(frozen=True)
class LedgerDecision(Decision):
    """A decision that read the ledger: what it filled, from which events (`ledger`, added to the response), or
    why the ledger could not answer (`error`)."""

    filled: tuple[Filled, ...] = ()  # the attributes either side gave a value
    seq: int = 0  # the subject's last sequence number folded in
    error: str | None = None

    @property
    def ledger(self) -> dict[str, Any]:
        if self.error is not None:
            return {"error": self.error}
        relied: dict[str, dict[str, Any]] = {}
        for reason in self.reasons:
            for item in reason.relied_on if isinstance(reason, CitingReason) else ():
                if item.by == "ledger":
                    relied.update((fact.event_id, cited(fact)) for fact in item.facts)
        return {"seq": self.seq, "events": list(relied.values()), "filled": [f.to_dict() for f in self.filled]}

    def to_dict(self) -> dict[str, Any]:
        out = Decision.to_dict(self)
        out["ledger"] = self.ledger
        return out


def subject_of(request: Any) -> str | None:
    """The data subject's id a request names (None: none, or not text: the request check says so)."""
    subject = request.get("data_subject") if isinstance(request, dict) else None
    found = subject.get("id") if isinstance(subject, dict) else None
    return found if isinstance(found, str) and found else None


def decide_filled(policy_set: PolicySet, request: dict[str, Any], state: State, *, at: datetime,
                  decide: Callable[[dict[str, Any]], Decision] | None = None,
                  readings: Readings | None = None, memo: bool = True) -> Decision:
    """Decide `request` with the set's declared attributes filled from `state` (the time `at` judges expiries), by
    `decide` (default `policy_set.decide`; the server's explain passes one that keeps the selection), unless as of
    a past time (`as_of`) another version was in force: that version decides.
    `readings`: those of `state` kept from before, which hold at `at` (pdp.io.ledger_reader; not used for another
    version than the one deciding); with them and `memo`, the decision is remembered with them
    (pdp.engine.ledger_memo). Raises RequestError for a malformed request, as `PolicySet.decide`."""
    as_of = as_of_of(request)
    deciding = policy_set
    if as_of is not None:
        found = in_force(policy_set, request, as_of)
        if found is None:
            policy_set.decide(request)  # a malformed request is still refused as such
            return failed_closed(policy_set, versions.NONE_IN_FORCE,
                                 f"no version of `{policy_set.name}` was in force on {as_of.date().isoformat()}")
        deciding = found
    version = deciding_version(deciding, request)
    if readings is not None and (as_of is not None or readings.version != version):
        readings = None  # (they are what the state says now, of that version)
    if readings is None or not memo or decide is not None or as_of is not None or not ledger_memo.worth(readings):
        return _decided(policy_set, deciding, request, state, at, decide, version, readings)
    remembered = ledger_memo.key(policy_set, request)
    if remembered is None:
        return _decided(policy_set, deciding, request, state, at, decide, version, readings)
    known = ledger_memo.recall(readings, policy_set, remembered)
    if known is not None:
        return known.again()
    made = _decided(policy_set, deciding, request, state, at, decide, version, readings)
    ledger_memo.keep(readings, policy_set, remembered, made)
    return made


def _decided(policy_set: PolicySet, deciding: PolicySet, request: dict[str, Any], state: State, at: datetime,
             decide: Callable[[dict[str, Any]], Decision] | None, version: str,
             readings: Readings | None) -> LedgerDecision:
    """`decide_filled` in full: fill, decide, cite."""
    filled, used = fill(request, state, policy_set.ledger_fills, at=at, version=version, readings=readings)
    # `decide` decides with `policy_set`: as of a past time another version may be in force, and it decides
    # (the caller's `decide`, e.g. the server's explain keeping a selection, would ask the current one)
    decision = (decide if decide is not None and deciding is policy_set else deciding.decide)(filled)
    if readings is None:
        return cite(decision, used, reads_of(policy_set), state.seq)
    # kept readings: the engine's outcomes are remembered, so the same reasons and the same sayings come back;
    # their citing reasons are made once (the objects themselves are kept, so their ids stay theirs)
    key = (id(decision.reasons), id(used))
    known = readings.cited.get(key)
    if known is None or known[0] is not decision.reasons or known[1] is not used:
        made = cite(decision, used, reads_of(policy_set), state.seq)
        if len(readings.cited) < MAX_CITED:
            readings.cited[key] = (decision.reasons, used, made.reasons, made.filled)
        return made
    return LedgerDecision(decision.decision, known[2], decision.obligations, decision.policy, decision.decision_id,
                          decision.advice, known[3], state.seq)


MAX_CITED = 64  # citing reasons kept with one state's readings


def deciding_version(policy_set: PolicySet, request: dict[str, Any]) -> str:
    """The version whose acceptance `current_version_accepted` asks about: the one deciding the request (§11)."""
    if len(policy_set.history) == 1:
        return policy_set.version
    chosen, _ = versions.select(policy_set.history, request)
    return (chosen or policy_set).version


def as_of_of(request: Any) -> datetime | None:
    """The past time a request asks to be decided as of (`as_of`), or None. Raises RequestError naming it."""
    value = request.get("as_of") if isinstance(request, dict) else None
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise RequestError([FieldError("as_of", "a time with its zone, ISO 8601 (e.g. 2026-04-01T00:00:00Z)")])
    return moment


NO_LEDGER_AS_OF = ("a decision as of a past time (`as_of`) replays the consent ledger, and none is configured here "
                   "(pdp serve --ledger, pdp decide --ledger): send the request without `as_of` to decide it as of now")


def without_ledger(decide: Callable[[dict[str, Any]], Decision]) -> Callable[[dict[str, Any]], Decision]:
    """`decide` where no ledger is configured: a request `as_of` a past time is refused, naming `as_of`, never
    answered as of now (the choices and the version in force then are not what today's request says)."""
    def deciding(request: dict[str, Any]) -> Decision:
        if type(request) is dict and request.get("as_of") is not None:
            raise RequestError([FieldError("as_of", NO_LEDGER_AS_OF)])
        return decide(request)

    return deciding


def in_force(policy_set: PolicySet, request: dict[str, Any], at: datetime) -> PolicySet | None:
    """The version that decides a request asked as of `at`: the one in force then (None: none was), unless the
    request says when its data was collected (§11: that version governs the data's use, as without `as_of`)."""
    if len(policy_set.history) == 1 or request.get("collected_at") is not None:
        return policy_set
    day = at.date().isoformat()
    then = [v for v in policy_set.history if v.effective and v.effective <= day]
    return then[-1] if then else None


def cite(decision: Decision, used: tuple[Filled, ...], reads: dict[str, frozenset[str]], seq: int) -> LedgerDecision:
    """`decision` with each reason citing the filled attributes its rule read (a default deny: the restrictive
    ones)."""
    said = tuple(f for f in used if f.by != "none")
    reasons = []
    for reason in decision.reasons:
        if reason.rule == DEFAULT_DENY:
            mine = tuple(f for f in said if f.restrictive)
        else:
            attributes = reads.get(reason.rule, frozenset())
            mine = tuple(f for f in said if f.fill.dotted in attributes)
        reasons.append(CitingReason(reason.rule, reason.effect, reason.cite, reason.message, reason.categories,
                                    mine) if mine else reason)
    return LedgerDecision(decision.decision, tuple(reasons), decision.obligations, decision.policy,
                          decision.decision_id, decision.advice, said, seq)


def failed_closed(policy_set: PolicySet, rule: str, message: str) -> LedgerDecision:
    """The deny given when the ledger cannot answer: never a decision on missing or stale facts."""
    return LedgerDecision("deny", (Reason(rule, "error", None, message),), (), policy_set.info, new_decision_id(),
                          error=message)


def reads_of(policy_set: PolicySet) -> dict[str, frozenset[str]]:
    """Each rule (of every version) -> the filled attributes its conditions read; worked out once a set."""
    if policy_set.ledger_reads is not None:
        return policy_set.ledger_reads
    filled = {f.dotted for f in policy_set.ledger_fills}
    reads: dict[str, frozenset[str]] = {}
    for version in policy_set.history:
        for rule in version.rules:
            paths = {".".join(parts) for parts in ast.paths_in(rule.source)} & filled
            if paths:
                reads[rule.id] = reads.get(rule.id, frozenset()) | paths
    policy_set.ledger_reads = reads
    return reads


__all__ = ["CitingReason", "LEDGER_NOT_YET", "LEDGER_UNAVAILABLE", "LedgerDecision", "as_of_of", "cite",
           "decide_filled", "deciding_version", "failed_closed", "in_force", "reads_of", "subject_of",
           "without_ledger"]
