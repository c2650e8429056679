"""Explaining a decision made on the consent ledger's facts: what was filled from which events, and which event
recorded next would change the decision ("a consent.given for marketing recorded after event X would allow
this"). Pure: the subject's state and the time are given.

Each filled attribute is tried at its other value, as the ledger would give it once the event that sets it is
recorded; a caller's stricter value stays stricter (an event cannot lift it). The engine decides each try.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pdp.engine.filled import deciding_version
from pdp.engine.policy_set import PolicySet
from pdp.ledger.fill import MISSING, SOURCES, Filled, combined, fill, with_value
from pdp.ledger.state import State

from .build import explain
from .model import Explanation


@dataclass(frozen=True)
class LedgerChange:
    """An event that, recorded next, would change the decision."""

    attribute: str
    value: Any  # what the attribute would then be
    event: str  # the kind of event, with what it is about
    after: str | None  # the event it must come after (the fact's latest), if any
    decision: str  # the decision it would then be

    @property
    def sentence(self) -> str:
        after = f" recorded after event {self.after}" if self.after else " recorded"
        verb = "allow" if self.decision == "allow" else "deny"
        return f"a {self.event}{after} would {verb} this ({self.attribute} would be {str(self.value).lower()})"

    def to_dict(self) -> dict[str, Any]:
        return {"attribute": self.attribute, "value": self.value, "event": self.event, "after": self.after,
                "decision": self.decision, "says": self.sentence}


@dataclass(frozen=True)
class LedgerExplanation:
    """The explanation of the filled request, what was filled, and the events that would change the decision."""

    explanation: Explanation
    filled: tuple[Filled, ...]
    changes: tuple[LedgerChange, ...]

    def to_dict(self) -> dict[str, Any]:
        return {**self.explanation.to_dict(),
                "ledger": {"filled": [f.to_dict() for f in self.filled if f.by != "none"],
                           "would_change": [c.to_dict() for c in self.changes]}}

    def render(self) -> str:
        out = [self.explanation.render_text().rstrip("\n"), "", "From the consent ledger:"]
        said = [f for f in self.filled if f.by != "none"]
        out += [f"  {f.fill.dotted} = {str(f.value).lower()}: {f.citation()['says']}" for f in said] or ["  nothing"]
        out += ["", "Recorded next, would change the decision:"]
        out += [f"  {c.sentence}" for c in self.changes] or ["  no single event"]
        return "\n".join(out) + "\n"


def explain_with_ledger(policy_set: PolicySet, request: dict[str, Any], state: State, *,
                        at: datetime) -> LedgerExplanation:
    """Why `request`, filled from `state`, is decided as it is, and which single event would change it."""
    filled, used = fill(request, state, policy_set.ledger_fills, at=at, version=deciding_version(policy_set, request))
    explanation = explain(policy_set, filled)
    changes = []
    for item in used:
        source = SOURCES[item.fill.source]
        if source.kind != "bool":
            continue  # a date: no single event sets it to one value that would change the decision
        # the other value; an attribute neither side gave may become either
        targets = [not item.value] if isinstance(item.value, bool) else [False, True] if item.value is MISSING else []
        for target in targets:
            event = source.records[int(target)]
            if event is None or combined(source, item.caller, target) != target:
                continue  # no event sets it so, or the caller's stricter value would stay
            decision = policy_set.decide(with_value(filled, item.fill.attribute, target)).decision
            if decision != explanation.decision:
                about = f" for {item.fill.name}" + (f" ({item.fill.purpose})" if item.fill.purpose else "") \
                    if item.fill.name else ""
                latest = max(item.facts, key=lambda f: f.order(), default=None)
                changes.append(LedgerChange(item.fill.dotted, target, f"{event}{about}",
                                            latest.event_id if latest else None, decision))
    return LedgerExplanation(explanation, used, tuple(changes))


__all__ = ["LedgerChange", "LedgerExplanation", "explain_with_ledger"]
