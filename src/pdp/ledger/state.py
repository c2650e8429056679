"""A subject's state: its events folded into facts, now or as of a past time. Pure.

Each fact is a key (`consent:marketing`, `consent:analytics:personalisation`,
`marketing:email`, `gpc`, `objection:*`, `restriction:*`, `erasure`, `policy`)
with the status its latest event gave it, and that event's id and sequence
number, which a decision will cite. "Latest" is by when it happened
(`occurred_at`), then by sequence number: an event recorded late (a paper form
entered a week on) takes its place in time and overrides only what happened
before it. Every event sets its key's status by itself alone, whatever the
status was, so folding is a last-writer-wins register per key: the store can
keep the state table by comparing one fact, in any order of recording, and it
equals the fold of the whole history (a property test holds this).

As of a time T: the fold of the events that had happened by T (withdrawal is
not retroactive: a consent withdrawn after T was in force at T), optionally
only those the ledger knew of by a second time (`known_at`: what pdp could
have answered then).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from .records import Recorded, iso

# the status each kind gives its fact
STATUS = {
    "consent.given": "given", "consent.refused": "refused", "consent.withdrawn": "withdrawn",
    "marketing.opted_out": "opted_out", "marketing.opted_in": "opted_in", "gpc.signalled": "signalled",
    "objection.lodged": "lodged", "restriction.applied": "applied", "restriction.lifted": "lifted",
    "erasure.requested": "requested", "policy.accepted": "accepted",
}
ANY = "*"  # an objection or restriction not limited to one purpose or scope


def fact_key(event: Recorded) -> str:
    """The key whose fact `event` sets."""
    family = event.kind.split(".")[0]
    if family == "consent":
        return f"consent:{event.topic}" + (f":{event.purpose}" if event.purpose else "")
    if family == "marketing":
        return f"marketing:{event.channel}"
    if family == "objection":
        return f"objection:{event.purpose or ANY}"
    if family == "restriction":
        return f"restriction:{event.scope or ANY}"
    return family  # gpc, erasure, policy: one fact each


def status_of(event: Recorded) -> str:
    return event.outcome if event.kind == "objection.resolved" and event.outcome else STATUS[event.kind]


@dataclass(frozen=True)
class Fact:
    """What a subject's latest event for one key says, and which event said it."""

    key: str
    status: str
    event_id: str
    seq: int
    occurred_at: datetime
    expires_at: datetime | None = None
    notice_version: str | None = None

    @classmethod
    def of(cls, event: Recorded) -> Fact:
        return cls(key=fact_key(event), status=status_of(event), event_id=event.event_id, seq=event.seq,
                   occurred_at=event.occurred_at, expires_at=event.expires_at, notice_version=event.notice_version)

    def order(self) -> tuple[datetime, int]:
        return (self.occurred_at, self.seq)

    def expired(self, at: datetime) -> bool:
        return self.expires_at is not None and self.expires_at <= at

    def to_dict(self, at: datetime | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {"status": self.status, "event_id": self.event_id, "seq": self.seq,
                               "occurred_at": iso(self.occurred_at)}
        if self.expires_at is not None:
            out["expires_at"] = iso(self.expires_at)
            if at is not None:
                out["expired"] = self.expired(at)
        if self.notice_version is not None:
            out["notice_version"] = self.notice_version
        return out


@dataclass(frozen=True)
class State:
    """A subject's facts by key; `seq`: the last sequence number folded in (0: none)."""

    facts: dict[str, Fact] = field(default_factory=dict)
    seq: int = 0

    def fact(self, key: str) -> Fact | None:
        return self.facts.get(key)

    def consent(self, topic: str, purpose: str | None = None) -> Fact | None:
        """The fact that decides consent to `topic` (for `purpose`): the later of the purpose's own and the
        topic's as a whole (consent withdrawn for a topic withdraws it for every purpose given before)."""
        candidates = [f for f in (self.facts.get(f"consent:{topic}:{purpose}") if purpose else None,
                                  self.facts.get(f"consent:{topic}")) if f is not None]
        return max(candidates, key=Fact.order, default=None)

    def to_dict(self, at: datetime | None = None) -> dict[str, Any]:
        return {"seq": self.seq, "facts": {k: self.facts[k].to_dict(at) for k in sorted(self.facts)}}


class NotYetVisible(Exception):
    """A read asked to see sequence number N, and the ledger has not seen it: the caller must fail closed."""


def apply(state: State, event: Recorded) -> State:
    """`state` with `event` folded in: its key's fact replaced if the event happened later (ties: recorded later)."""
    new = Fact.of(event)
    old = state.facts.get(new.key)
    facts = {**state.facts, new.key: new} if newer(new, old) else state.facts
    return replace(state, facts=facts, seq=max(state.seq, event.seq))


def newer(new: Fact, old: Fact | None) -> bool:
    """Whether `new` replaces `old` in the state: what the store's state table applies, one fact at a time."""
    return old is None or new.order() >= old.order()


def fold(events: Iterable[Recorded]) -> State:
    state = State()
    for event in events:
        state = apply(state, event)
    return state


def as_of(events: Iterable[Recorded], at: datetime, known_at: datetime | None = None) -> State:
    """The state at time `at`: the events that had happened by then (and, with `known_at`, were recorded by then)."""
    return fold(e for e in events if e.occurred_at <= at and (known_at is None or e.recorded_at <= known_at))


__all__ = ["ANY", "Fact", "NotYetVisible", "State", "apply", "as_of", "fact_key", "fold", "newer", "status_of"]
