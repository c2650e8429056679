"""The ledger's events: what a data subject chose, and what a regulator asks a controller to show of it.

GDPR Art. 7(1): "the controller shall be able to demonstrate that the data
subject has consented". So each event says who (the subject id, pseudonymised
at rest by the store), what they were told (the notice or policy version and
a digest of its text), how (method, collection point, and who acted: the
person, an agent on their behalf, an administrator), when (`occurred_at`; the
store adds `recorded_at`), and for how long (`expires_at`, where the policy
sets one). Pure: validation only, no clock, no I/O.

Input is checked by a pydantic model; every problem becomes a `(field, message)`
pair of one `InvalidEvent`, never a traceback.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints, ValidationError, model_validator

# Each kind and the fields it needs (`required`) or may have (`allowed`) besides the common ones.
KINDS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "consent.given": (frozenset({"topic", "notice"}), frozenset({"purpose", "expires_at"})),
    "consent.refused": (frozenset({"topic"}), frozenset({"purpose", "notice"})),
    "consent.withdrawn": (frozenset({"topic"}), frozenset({"purpose", "notice"})),
    "marketing.opted_out": (frozenset({"channel"}), frozenset({"notice"})),
    "marketing.opted_in": (frozenset({"channel"}), frozenset({"notice", "expires_at"})),
    "gpc.signalled": (frozenset(), frozenset()),
    "objection.lodged": (frozenset(), frozenset({"purpose"})),
    "objection.resolved": (frozenset({"outcome"}), frozenset({"purpose"})),
    "restriction.applied": (frozenset(), frozenset({"scope"})),
    "restriction.lifted": (frozenset(), frozenset({"scope"})),
    "erasure.requested": (frozenset(), frozenset()),
    "policy.accepted": (frozenset({"notice"}), frozenset()),
}
OPTIONAL_BY_KIND = frozenset({"topic", "purpose", "channel", "scope", "outcome", "notice", "expires_at"})
EventKind = Literal[
    "consent.given", "consent.refused", "consent.withdrawn", "marketing.opted_out", "marketing.opted_in",
    "gpc.signalled", "objection.lodged", "objection.resolved", "restriction.applied", "restriction.lifted",
    "erasure.requested", "policy.accepted",
]

# Names that become parts of a state key (`consent:marketing:analytics`): no separator, bounded.
NAME_PATTERN = r"^[A-Za-z0-9_.\-]{1,64}$"
Name = Annotated[str, StringConstraints(pattern=NAME_PATTERN)]
Text = Annotated[str, StringConstraints(min_length=1, max_length=256)]
MAX_EVIDENCE_ITEMS = 32
Evidence = Annotated[str, StringConstraints(max_length=1024)]
MAX_BATCH = 1_000  # events in one batch: one transaction holds the ledger's write lock while it runs
MAX_INPUT_BYTES = 4 * 1024 * 1024  # the JSON text of one batch (what the CLI, and later HTTP, reads)


class Notice(BaseModel):
    """What the person was told: the notice or policy version, and the sha256 of its exact text."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    version: Text
    digest: Annotated[str, StringConstraints(pattern=r"^sha256:[0-9a-f]{64}$")]


class Actor(BaseModel):
    """Who acted: the person, an agent on their behalf, or an administrator (with their id, kept encrypted)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    type: Literal["person", "agent", "administrator"]
    id: Text | None = None


class Event(BaseModel):
    """One event as a client states it. `subject`, `client_event_id`, `actor.id`, `collection_point` and
    `evidence` identify a person: the store keeps them encrypted under the subject's own key (erasure)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    kind: EventKind
    subject: Text
    occurred_at: AwareDatetime
    method: Name
    actor: Actor
    client_event_id: Text | None = None
    collection_point: Text | None = None
    topic: Name | None = None
    purpose: Name | None = None
    channel: Name | None = None
    scope: Name | None = None
    outcome: Literal["upheld", "dismissed"] | None = None
    notice: Notice | None = None
    expires_at: AwareDatetime | None = None
    evidence: dict[Name, Evidence | int | float | bool | None] | None = Field(default=None, max_length=MAX_EVIDENCE_ITEMS)

    @model_validator(mode="after")
    def _fields_of_the_kind(self) -> Event:
        required, allowed = KINDS[self.kind]
        problems = [(name, f"required for `{self.kind}`") for name in sorted(required) if getattr(self, name) is None]
        problems += [(name, f"not a field of `{self.kind}`") for name in sorted(OPTIONAL_BY_KIND - required - allowed)
                     if getattr(self, name) is not None]
        if self.expires_at is not None and self.expires_at <= self.occurred_at:
            problems.append(("expires_at", "must be after `occurred_at`"))
        if problems:
            raise _KindErrors(problems)
        return self

    def identifying(self) -> dict[str, Any]:
        """The fields that identify a person: sealed under the subject's key, shredded by erasure."""
        return {"subject": self.subject, "client_event_id": self.client_event_id,
                "actor_id": self.actor.id, "collection_point": self.collection_point, "evidence": self.evidence}


class _KindErrors(ValueError):
    """The problems of an event's fields for its kind, carried through pydantic to `parse_event`."""

    def __init__(self, problems: list[tuple[str, str]]):
        super().__init__("; ".join(m for _, m in problems))
        self.problems = problems


class InvalidEvent(ValueError):
    """An event the ledger refuses, with every problem as (field, message); the field is a dotted path."""

    def __init__(self, problems: list[tuple[str, str]]):
        self.problems = problems
        super().__init__("; ".join(f"`{field}`: {message}" for field, message in problems))


def parse_event(data: Any, *, where: str = "") -> Event:
    """`data` (a JSON object) as an Event, or InvalidEvent naming each bad field (prefixed by `where`)."""
    if isinstance(data, Event):
        return data
    if not isinstance(data, dict):
        raise InvalidEvent([(where or "event", "must be a JSON object")])
    try:
        return Event.model_validate(data)
    except ValidationError as error:
        problems: list[tuple[str, str]] = []
        for item in error.errors():
            problems.extend(_problems(item, where))
        raise InvalidEvent(problems) from None


def parse_events(data: Any) -> list[Event]:
    """A JSON object or a list of them; every problem of every event in one InvalidEvent (`[3].topic`)."""
    items = data if isinstance(data, list) else [data]
    if not items:
        raise InvalidEvent([("events", "no events")])
    if len(items) > MAX_BATCH:
        raise InvalidEvent([("events", f"{len(items)} events: at most {MAX_BATCH} in one batch")])
    events, problems = [], []
    for index, item in enumerate(items):
        try:
            events.append(parse_event(item, where=f"[{index}]" if isinstance(data, list) else ""))
        except InvalidEvent as error:
            problems.extend(error.problems)
    if problems:
        raise InvalidEvent(problems)
    return events


def _problems(error: Any, where: str) -> list[tuple[str, str]]:
    cause = (error.get("ctx") or {}).get("error")
    if isinstance(cause, _KindErrors):
        found = cause.problems
    else:
        path = [str(p) for p in error["loc"]]
        message = error["msg"][0].lower() + error["msg"][1:] if error["msg"] else "invalid"
        if error["type"] == "extra_forbidden":
            message = "not a field of an event" if len(path) == 1 else "not a known field"
        elif error["type"] == "literal_error" and path == ["kind"]:
            message = "must be one of " + ", ".join(f"`{k}`" for k in KINDS)
        found = [(".".join(path) or "event", message)]
    return [((f"{where}.{field}" if where else field), message) for field, message in found]


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def canonical_time(moment: datetime) -> int:
    """A time as whole microseconds since the epoch (UTC): exact, sortable, the same in every backend."""
    delta = moment - EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_canonical_time(micros: int) -> datetime:
    return EPOCH + timedelta(microseconds=micros)


__all__ = ["Actor", "Event", "EventKind", "InvalidEvent", "KINDS", "MAX_BATCH", "MAX_INPUT_BYTES", "Notice",
           "canonical_time", "from_canonical_time", "parse_event", "parse_events"]
