"""A request's consent and rights attributes filled from a subject's ledger state, before deciding. Pure.

A policy set declares which attributes come from the ledger (`ledger fills
data_subject.consent.marketing from consent "marketing"`, docs/language.md);
each declaration is a `Fill`: the attribute, and the fact (`SOURCES`) that
gives its value. `fill(request, state, fills, at=..., version=...)` returns
the request with those attributes set, and what each was set from
(`Filled`: the value, the caller's, the ledger's, and the facts, each naming
its event).

The ledger wins over the caller, except that a caller can only make a
decision stricter. Every fact has a restrictive value (`Source.restrictive`):
consent and acceptance of the current version restrict when false; an
opt-out, a GPC signal, an objection, a restriction or an erasure request
when true. When both say something, the restrictive value wins, whoever said
it. When the ledger has no fact, the attribute is what the caller said (or
absent): filling never turns a stated value absent, nor an absent one into
something the ledger does not say. No clock here: `at` (for expiries) and
`version` (the policy version deciding) come from the caller of `fill`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cached_property
from datetime import datetime, timezone
from typing import Any

from .records import iso
from .state import ANY, Fact, State

# what the request said: nothing at all (`None` in a consent map means the same: never asked)
MISSING: Any = None

# the value the facts give, and the facts that give it: true or false; for a date fact (`Source.kind`), the day
# (YYYY-MM-DD), or False when no such fact is in force (the attribute is then absent)
Reading = tuple[Any, tuple[Fact, ...]]


@dataclass(frozen=True)
class Fill:
    """`ledger fills ATTRIBUTE from SOURCE "NAME" for "PURPOSE"`: one attribute and the fact it comes from."""

    attribute: tuple[str, ...]  # the request path: ("data_subject", "consent", "marketing")
    source: str  # a name of SOURCES
    name: str | None = None  # the topic, channel, purpose or scope the source is about
    purpose: str | None = None  # a consent's purpose (`for`)

    @cached_property
    def dotted(self) -> str:
        return ".".join(self.attribute)


@dataclass(frozen=True)
class Source:
    """A kind of fact an attribute may be filled from."""

    name: str
    meaning: str  # what true means, as docs and hints say it
    restrictive: bool  # the value that makes a decision stricter (the one a caller may always impose)
    read: Callable[[State, Fill, datetime, str], Reading | None]
    needs: str | None = None  # what the quoted name must be, when it is required
    may: str | None = None  # what the quoted name is, when it may be left out
    purpose: bool = False  # takes `for "PURPOSE"`
    records: tuple[str | None, str | None] = (None, None)  # the event that makes the fact false, and true
    kind: str = "bool"  # what it fills: "bool", or "date" (a day; the earlier of two is the restrictive one)


def _consent(state: State, fill: Fill, at: datetime, _: str) -> Reading | None:
    fact = state.consent(fill.name or "", fill.purpose)
    if fact is None:
        return None
    return fact.status == "given" and not fact.expired(at), (fact,)  # an expired consent is no consent


def day(moment: datetime) -> str:
    """The day (UTC) of a moment, as the policy language writes dates."""
    return moment.astimezone(timezone.utc).date().isoformat()


def _consent_day(which: str) -> Callable[[State, Fill, datetime, str], Reading | None]:
    """When the consent in force was given, or when it expires: False (absent) when none is in force, or it has
    no expiry. An expiry at or before `at` has ended the consent: it is no consent (fail closed)."""
    def read(state: State, fill: Fill, at: datetime, _: str) -> Reading | None:
        fact = state.consent(fill.name or "", fill.purpose)
        if fact is None:
            return None
        if fact.status != "given" or fact.expired(at):
            return False, (fact,)
        moment = fact.occurred_at if which == "given" else fact.expires_at
        return (False if moment is None else day(moment)), (fact,)
    return read


def _opt_out(state: State, fill: Fill, at: datetime, _: str) -> Reading | None:
    fact = state.fact(f"marketing:{fill.name}")
    if fact is None:
        return None
    # an opt-in that has expired lapses: the person is again out (the restrictive side)
    return fact.status != "opted_in" or fact.expired(at), (fact,)


def _flag(key: str, on: frozenset[str]) -> Callable[[State, Fill, datetime, str], Reading | None]:
    def read(state: State, fill: Fill, at: datetime, _: str) -> Reading | None:
        fact = state.fact(key)
        return None if fact is None else (fact.status in on, (fact,))
    return read


def _scoped(family: str, on: frozenset[str]) -> Callable[[State, Fill, datetime, str], Reading | None]:
    """An objection or restriction: the one for this purpose or scope, or the one for every purpose. Either in
    force puts the attribute on (the restrictive side); off only when every fact there is says off."""
    def read(state: State, fill: Fill, at: datetime, _: str) -> Reading | None:
        keys = [f"{family}:{ANY}"] + ([f"{family}:{fill.name}"] if fill.name else [])
        facts = [f for f in (state.fact(k) for k in keys) if f is not None]
        if not facts:
            return None
        in_force = tuple(f for f in facts if f.status in on)
        return (True, in_force) if in_force else (False, tuple(facts))
    return read


def _accepted(state: State, fill: Fill, at: datetime, version: str) -> Reading | None:
    fact = state.fact("policy")
    return None if fact is None else (fact.notice_version == version, (fact,))


SOURCES: dict[str, Source] = {s.name: s for s in (
    Source("consent", "the person has given consent to the topic (for the purpose), not withdrawn, refused or "
           "expired", False, _consent, needs="topic", purpose=True, records=("consent.withdrawn", "consent.given")),
    Source("marketing_opt_out", "the person has opted out of marketing on the channel (or an opt-in has expired)",
           True, _opt_out, needs="channel", records=("marketing.opted_in", "marketing.opted_out")),
    Source("gpc", "a Global Privacy Control signal has been recorded", True, _flag("gpc", frozenset({"signalled"})),
           records=(None, "gpc.signalled")),
    Source("objection", "an objection (to the purpose, or to all processing) is lodged and not dismissed", True,
           _scoped("objection", frozenset({"lodged", "upheld"})), may="purpose",
           records=("objection.resolved (dismissed)", "objection.lodged")),
    Source("restriction", "a restriction (of the scope, or of all processing) is applied and not lifted", True,
           _scoped("restriction", frozenset({"applied"})), may="scope",
           records=("restriction.lifted", "restriction.applied")),
    Source("erasure_request", "the person has asked for erasure", True, _flag("erasure", frozenset({"requested"})),
           records=(None, "erasure.requested")),
    Source("current_version_accepted", "the person accepted the policy version deciding the request", False,
           _accepted, records=(None, "policy.accepted of the version deciding")),
    Source("consent_given_on", "the day the consent to the topic (for the purpose) in force was given; absent when "
           "none is in force (refused, withdrawn or expired)", False, _consent_day("given"), needs="topic",
           purpose=True, kind="date"),
    Source("consent_expires_on", "the day the consent in force expires; absent when none is in force or it has no "
           "expiry", False, _consent_day("expires"), needs="topic", purpose=True, kind="date"),
)}


@dataclass(frozen=True)
class Filled:
    """What one declared attribute was set to, and from what."""

    fill: Fill
    value: Any  # what the rules read (MISSING: left absent)
    caller: Any  # what the request said (MISSING: nothing)
    ledger: Any  # what the ledger's facts say (None: no fact; a day, or False, for a date: `Reading`)
    facts: tuple[Fact, ...] = ()

    @property
    def by(self) -> str:
        """Who decided the value: "ledger" (the ledger alone, or both agreeing), "caller" (the caller's value,
        stricter than the ledger's or the ledger silent), or "none"."""
        if self.ledger is not None and (self.value == self.ledger or (self.ledger is False and self.value is MISSING)):
            return "ledger"
        return "caller" if self.caller is not MISSING else "none"

    @property
    def restrictive(self) -> bool:
        source = SOURCES[self.fill.source]
        return source.kind == "bool" and bool(self.value == source.restrictive)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"attribute": self.fill.dotted, "value": self.value, "by": self.by}
        if self.caller is not MISSING:
            out["caller"] = self.caller
        if self.ledger is not None:
            out["ledger"] = self.ledger
            out["events"] = [cited(f) for f in self.facts]
        return out


    def citation(self) -> dict[str, Any]:
        """What a reason says of it: the value, who decided it, and the events in a sentence."""
        facts = "; ".join(says(f) for f in self.facts)
        if self.ledger is None:
            sentence = "as the request said (the ledger has no fact)"
        elif self.by == "ledger":
            sentence = facts
        else:
            sentence = f"as the request said, stricter than the ledger's {str(self.ledger).lower()} ({facts})"
        return {"attribute": self.fill.dotted, "value": self.value, "by": self.by,
                "event_ids": [f.event_id for f in self.facts] if self.by == "ledger" else [], "says": sentence}


def cited(fact: Fact) -> dict[str, Any]:
    """A fact as a decision cites it: its event, and a sentence a person reads."""
    return {"event_id": fact.event_id, "seq": fact.seq, "fact": fact.key, "status": fact.status,
            "occurred_at": iso(fact.occurred_at), "says": says(fact)}


def says(fact: Fact) -> str:
    """`marketing:email opted_out` -> "marketing opt-out on email recorded 2026-03-01, event 0193..."."""
    family, _, rest = fact.key.partition(":")
    what = {"consent": f"consent to {rest.replace(':', ' for ')} {fact.status}",
            "marketing": f"marketing {fact.status.replace('_', '-')} on {rest}",
            "objection": f"objection{'' if rest == ANY else ' to ' + rest} {fact.status}",
            "restriction": f"restriction{'' if rest == ANY else ' of ' + rest} {fact.status}",
            "gpc": "Global Privacy Control signal", "erasure": "erasure requested",
            "policy": f"policy version {fact.notice_version} accepted"}.get(family, f"{fact.key} {fact.status}")
    return f"{what} recorded {fact.occurred_at.date().isoformat()}, event {fact.event_id}"


Made = tuple[tuple[tuple[tuple[str, ...], Any], ...], tuple[Filled, ...]]  # the changes to make, what each was set from


@dataclass(frozen=True)
class Readings:
    """What a state's facts say of each declared attribute, at a time: the same from `after` (the last expiry at
    or before that time; None: none) until `until` (the first expiry after it; None: for as long as the state), so
    a decider may keep them with the state. (Both ends: a clock may be set back, and a consent that had expired
    by the time read was in force before it.) `filled` keeps,
    by what the caller said of the attributes, what `fill` made of it (a kept state answers the same callers
    alike: each is worked out once)."""

    items: tuple[tuple[Fill, Source, Reading | None], ...]
    version: str
    at: datetime  # the time they were read at (one they hold at)
    until: datetime | None
    after: datetime | None = None
    filled: dict[tuple[Any, ...], Made] = field(default_factory=dict, compare=False)
    cited: dict[Any, Any] = field(default_factory=dict, compare=False)  # the decider's own: reasons citing them
    decided: dict[Any, Any] = field(default_factory=dict, compare=False)  # the decider's own: pdp.engine.ledger_memo
    tally: list[int] = field(default_factory=lambda: [0, 0], compare=False)  # ... and its hits and misses

    def hold(self, at: datetime, version: str) -> bool:
        return (version == self.version and (self.until is None or at < self.until)
                and (self.after is None or at >= self.after))

    def hold_now(self, clock: Callable[[], datetime], version: str) -> bool:
        """`hold` now: the clock is asked only when an expiry bounds them."""
        if self.until is None and self.after is None:
            return version == self.version
        return self.hold(clock(), version)


def read(state: State, fills: Iterable[Fill], *, at: datetime, version: str) -> Readings:
    items = tuple((item, SOURCES[item.source], SOURCES[item.source].read(state, item, at, version)) for item in fills)
    expiries = [f.expires_at for _, _, r in items if r is not None for f in r[1] if f.expires_at is not None]
    return Readings(items, version, at, min((e for e in expiries if e > at), default=None),
                    max((e for e in expiries if e <= at), default=None))


def fill(request: dict[str, Any], state: State, fills: Iterable[Fill], *, at: datetime, version: str,
         readings: Readings | None = None) -> tuple[dict[str, Any], tuple[Filled, ...]]:
    """`request` with each declared attribute set from `state` (the caller's value kept when stricter, or when
    the ledger has no fact), and what each was set from. `request` itself is left as it was. `readings`: those of
    `read(state, fills, ...)` kept from before (they must hold at `at`)."""
    if readings is None:
        readings = read(state, fills, at=at, version=version)
    said = tuple(_get(request, item.attribute) for item, _, _ in readings.items)
    # a value that is no scalar (the request check refuses it) or a long text is worked out, never kept: what is
    # kept per person stays small
    small = all(_keepable(value) for value in said)
    kept = readings.filled.get(said) if small else None
    if kept is not None:
        known = kept
    else:
        known = _filled(readings, said)
        if small and len(readings.filled) < MAX_KEPT:
            readings.filled[said] = known
    changes, used = known
    out = request
    for path, value in changes:
        out = with_value(out, path, value)
    return out, used


MAX_KEPT = 64  # callers' sayings kept with one state's readings
MAX_KEPT_TEXT = 64  # longest text said of a filled attribute that is kept (a day is 10 characters)


def _keepable(value: Any) -> bool:
    kind = type(value)
    return value is None or kind is bool or kind is int or kind is float or (kind is str and len(value) <= MAX_KEPT_TEXT)


def _filled(readings: Readings, said: tuple[Any, ...]) -> Made:
    changes, done = [], []
    for (item, source, reading), caller in zip(readings.items, said):
        if reading is None:
            done.append(Filled(item, caller, caller, None))
            continue
        ledger, facts = reading
        value = combined(source, caller, ledger)
        if value is not caller:
            changes.append((item.attribute, value))
        done.append(Filled(item, value, caller, ledger, facts))
    return tuple(changes), tuple(done)


def combined(source: Source, caller: Any, ledger: Any) -> Any:
    """The value of an attribute the caller says `caller` of and the ledger `ledger`: the ledger's, unless the
    caller's is stricter. A caller's value that is no boolean stays, for the request check to refuse.

    A date (`Source.kind`): the earlier of the two days (a consent given earlier lapses sooner; one that expires
    earlier ends sooner). When the ledger holds the fact but no consent is in force (`False`), the attribute is
    absent whatever the caller says: a caller cannot keep a consent alive that the ledger says has ended."""
    if source.kind == "date":
        if ledger is False:
            return MISSING
        if isinstance(caller, str) and len(caller) == 10 and caller[4] == "-" and caller < ledger:
            return caller  # a well-formed earlier day (the request check refuses a malformed one)
        return ledger if caller is MISSING or isinstance(caller, str) else caller
    if caller is MISSING or (isinstance(caller, bool) and caller == ledger):
        return ledger
    if not isinstance(caller, bool):
        return caller
    return source.restrictive  # they disagree: the stricter wins, whoever said it


def _get(request: dict[str, Any], path: tuple[str, ...]) -> Any:
    here: Any = request
    for part in path:
        if not isinstance(here, dict):
            return MISSING
        here = here.get(part, MISSING)
    return here


def with_value(request: dict[str, Any], path: tuple[str, ...], value: Any) -> dict[str, Any]:
    """A copy of `request` with `path` set, each dict on the way copied (the caller's request is not changed).
    A part on the way that is not a dict is left as it is: the request check refuses it."""
    top = dict(request)
    here = top
    for part in path[:-1]:
        below = here.get(part)
        if below is None:
            below = {}
        elif not isinstance(below, dict):
            return request
        here[part] = dict(below)
        here = here[part]
    here[path[-1]] = value
    return top


__all__ = ["Fill", "Filled", "MISSING", "Readings", "SOURCES", "Source", "cited", "combined", "fill", "read", "says",
           "with_value"]
