"""What an explanation says: its data types, rule by rule and change by change, and their JSON form (`to_dict`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pdp.engine.duties import Advice, Obligation
from pdp.engine.decision import Reason
from . import render
from .target import Target
from .values import fmt


@dataclass(frozen=True)
class Condition:
    """One `when` or `unless` clause and why it holds or not, in plain words."""

    clause: str  # "when" | "unless"
    text: str  # the condition as written
    value: bool | None  # None: unknown or failed
    holds: bool
    error: str | None
    because: tuple[str, ...]  # the first line, then the parts that decided it, indented two spaces a level

    def to_dict(self) -> dict:
        return {"clause": self.clause, "condition": self.text, "value": self.value, "holds": self.holds,
                "error": self.error, "because": list(self.because)}


@dataclass(frozen=True)
class RuleExplanation:
    rule: str
    effect: str
    cite: str | None
    message: str
    location: str
    categories: tuple[str, ...]  # the requested categories its target covers
    applies: bool
    error: str | None
    conditions: tuple[Condition, ...]  # all of them if it applies; otherwise the one that stopped it

    @property
    def verdict(self) -> str:
        if self.error:
            return "could not be evaluated"
        if not self.applies:
            return "does not apply"
        shown = ", ".join(self.categories)  # an AuthZEN request has none
        return "applies to " + shown if self.effect == "allow" and shown else "applies"

    def to_dict(self) -> dict:
        return {"rule": self.rule, "effect": self.effect, "cite": self.cite, "message": self.message,
                "location": self.location, "categories": list(self.categories), "applies": self.applies,
                "error": self.error, "conditions": [c.to_dict() for c in self.conditions]}


@dataclass(frozen=True)
class Unrelated:
    """A rule whose target misses the request, and the first part that misses."""

    rule: str
    effect: str
    cite: str | None
    location: str
    misses: str  # "action" | "purpose" | "data_categories"
    why: str

    def to_dict(self) -> dict:
        return {"rule": self.rule, "effect": self.effect, "cite": self.cite, "location": self.location,
                "misses": self.misses, "why": self.why}


@dataclass(frozen=True)
class Change:
    """One change of a request: set or remove an attribute, or leave out a category.

    kind "not" is for a yes/no attribute: any other value, or none, will do.
    """

    attribute: str  # a dotted attribute, `purpose`, or `data_categories`
    kind: str  # "set" | "remove" | "not" | "drop"
    value: Any = None

    @property
    def text(self) -> str:
        if self.kind == "drop":
            return f"the request left out {self.value}"
        if self.kind == "remove":
            return f"{self.attribute} were not in the request"
        shown = self.value if self.attribute == "purpose" else fmt(self.value)
        return f"{self.attribute} were {'not ' if self.kind == 'not' else ''}{shown}"

    def to_dict(self) -> dict:
        out = {"attribute": self.attribute, "change": self.kind}
        if self.kind != "remove":
            out["value"] = self.value
        return out


@dataclass(frozen=True)
class Suggestion:
    changes: tuple[Change, ...]

    @property
    def text(self) -> str:
        return "would be allowed if " + " and ".join(c.text for c in self.changes)

    def to_dict(self) -> dict:
        return {"text": self.text, "changes": [c.to_dict() for c in self.changes]}


@dataclass(frozen=True)
class ObligationSource:
    """Why a decision carries an obligation: the first allow that attaches it, and whether that allow applies to
    the whole request or only may apply to part of a broad one (engine/decision.py: `Outcome.partial`)."""

    rule: str
    cite: str | None
    part: bool
    condition: tuple[str, str] | None = None  # its `if`, as written, and its value: true, unknown, cannot be ...

    @property
    def text(self) -> str:
        cite = f" ({self.cite})" if self.cite else ""
        return f"from rule {self.rule}{cite}, which " + (
            "may apply to part of the request" if self.part else "applies to the request")

    @property
    def due(self) -> str | None:
        """Why an obligation under `if` is carried: its condition and its value (None: it has no condition)."""
        if self.condition is None:
            return None
        written, value = self.condition
        return f"due: `{written}` is {value}" + ("" if value == "true" else " (a duty that may be due is carried)")


@dataclass(frozen=True)
class Explanation:
    decision: str
    reasons: tuple[Reason, ...]
    obligations: tuple[Obligation, ...]
    target: Target
    rules: tuple[RuleExplanation, ...]  # about this request, in policy order
    unrelated: tuple[Unrelated, ...]
    uncovered: tuple[str, ...]  # categories no applying allow rule covers
    suggestions: tuple[Suggestion, ...]  # for a deny: changes that would allow it, smallest first
    policy: dict = field(default_factory=dict)
    sources: tuple[ObligationSource, ...] = ()  # one per obligation, in the same order
    advice: tuple[Advice, ...] = ()  # of the rules that decided (engine/duties.py)

    def sourced(self) -> list[tuple[Obligation, ObligationSource | None]]:
        """Each obligation with where it comes from (None: not known)."""
        return [(o, self.sources[i] if i < len(self.sources) else None) for i, o in enumerate(self.obligations)]

    def obligation_dicts(self) -> list[dict]:
        return [{**o.to_dict(), **({"rule": s.rule, "part": s.part} if s else {}),
                 **({"due": s.due} if s and s.due else {})} for o, s in self.sourced()]

    def to_dict(self) -> dict:
        t = self.target
        request = {"action": t.action} if t.authzen else {
            "action": t.action, "purpose": t.purpose, "data_categories": list(t.categories)}
        out = {
            "decision": self.decision,
            "reasons": [r.to_dict() for r in self.reasons],
            "obligations": self.obligation_dicts(),
            "request": request,
            "rules": [r.to_dict() for r in self.rules],
            "not_about_this_request": [u.to_dict() for u in self.unrelated],
            "uncovered_categories": list(self.uncovered),
            "would_allow": [s.to_dict() for s in self.suggestions],
            "policy": dict(self.policy),
        }
        if self.advice:  # (as in the decision's answer: there when a rule gives advice)
            out["advice"] = [a.to_dict() for a in self.advice]
        return out

    def render_text(self) -> str:
        return render.render_text(self)

    def render(self) -> str:  # as the other commands' results render
        return self.render_text()
