"""The consent ledger's wire models: what its endpoints take and answer, as `/openapi.json` publishes them.

An event itself is the ledger's own model (`pdp.ledger.events.Event`), so the
schema and the checks cannot drift apart. The answers are the dict forms the
ledger gives (`Receipt`, `State`, `Recorded`, `export`): the same JSON as
`pdp consent` prints. Their models allow more fields than they list, so a field
the ledger adds later reaches callers rather than being cut off here.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from pdp.ledger.events import Event

Subject = Annotated[str, StringConstraints(min_length=1, max_length=256)]
SUBJECT = "the person's id in your systems (sent in the body, never in a URL: an id is personal data, and URLs "\
          "end up in access logs)"


class SubjectQuery(BaseModel):
    """A question about one subject."""

    model_config = ConfigDict(extra="forbid")
    subject: Subject = Field(description=SUBJECT)


class StateQuery(SubjectQuery):
    """A subject's current state, or its state as of a past time."""

    min_seq: int | None = Field(default=None, ge=1, description="a receipt's `seq` (the read-your-writes token): "
                                "409 unless the ledger has seen that event")
    as_of: AwareDatetime | None = Field(default=None, description="replay the ledger to this time (withdrawal is "
                                        "not retroactive)")
    known_at: AwareDatetime | None = Field(default=None, description="only the events the ledger had recorded by "
                                           "this time; alone, the state as of that time as the ledger knew it then")


class VerifyQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    subject: Subject | None = Field(default=None, description="check this subject's chain only (default: every "
                                    "subject's)")


class EventBatch(BaseModel):
    """Events recorded in one transaction, in order: all of them or none."""

    model_config = ConfigDict(extra="forbid")
    events: list[Event] = Field(min_length=1, description="at most `PDP_MAX_BATCH` (and 1,000) events")


class Receipt(BaseModel):
    model_config = ConfigDict(extra="allow")
    seq: int = Field(description="the event's sequence number: the read-your-writes token")
    event_id: str = Field(description="the event's id, which decisions cite")
    recorded_at: AwareDatetime
    duplicate: bool = Field(description="its client event id was recorded before: nothing new was recorded, and "
                            "this is the first recording's receipt")


class Recording(Receipt):
    gpc: Receipt | None = Field(default=None, description="with `Sec-GPC: 1`: the receipt of the GPC signal "
                                "recorded for the subject just before the event")


class BatchRecording(BaseModel):
    model_config = ConfigDict(extra="allow")
    receipts: list[Receipt] = Field(description="one a given event, in the same order")
    seq: int = Field(description="the highest sequence number of the batch: the read-your-writes token of all of it")
    gpc: list[Receipt] | None = Field(default=None, description="with `Sec-GPC: 1`: the receipts of the GPC signals "
                                      "recorded, one a subject, each just before that subject's first event")


class Fact(BaseModel):
    model_config = ConfigDict(extra="allow")
    status: str
    event_id: str = Field(description="the event that gave the fact its status")
    seq: int
    occurred_at: AwareDatetime
    expires_at: AwareDatetime | None = None
    expired: bool | None = None
    notice_version: str | None = None


class SubjectState(BaseModel):
    model_config = ConfigDict(extra="allow")
    seq: int = Field(description="the subject's last sequence number folded in")
    facts: dict[str, Fact] = Field(description="by key: `consent:TOPIC[:PURPOSE]`, `marketing:CHANNEL`, `gpc`, "
                                   "`objection:PURPOSE|*`, `restriction:SCOPE|*`, `erasure`, `policy`")
    as_of: AwareDatetime | None = None


class Actor(BaseModel):
    model_config = ConfigDict(extra="allow")
    type: Literal["person", "agent", "administrator"]
    id: str | None = None


class Notice(BaseModel):
    model_config = ConfigDict(extra="allow")
    version: str
    digest: str


class RecordedEvent(BaseModel):
    """An event as the ledger keeps it; once its subject is erased, `erased: true` and no identifying field."""

    model_config = ConfigDict(extra="allow")
    seq: int
    event_id: str
    position: int = Field(description="its place in the subject's hash chain, from 0")
    kind: str
    occurred_at: AwareDatetime
    recorded_at: AwareDatetime
    method: str
    actor: Actor
    topic: str | None = None
    purpose: str | None = None
    channel: str | None = None
    scope: str | None = None
    outcome: str | None = None
    notice: Notice | None = None
    expires_at: AwareDatetime | None = None
    erased: bool | None = None
    subject: str | None = None
    client_event_id: str | None = None
    collection_point: str | None = None
    evidence: dict[str, str | int | float | bool | None] | None = None


class History(BaseModel):
    model_config = ConfigDict(extra="allow")
    events: list[RecordedEvent] = Field(description="every event of the subject, in the order recorded")


class Chain(BaseModel):
    events: int
    head: str = Field(description="the subject's last link: keep it where the database's administrators cannot "
                      "write, to anchor the chain")


class Export(BaseModel):
    """Everything the ledger holds on a subject (privacy policy §4, portability), as `pdp consent export` writes it."""

    model_config = ConfigDict(extra="allow")
    format: Literal["pdp-ledger-export/1"]
    subject: str
    exported_at: AwareDatetime
    erased_at: AwareDatetime | None
    state: SubjectState
    events: list[RecordedEvent]
    chain: Chain


class Break(BaseModel):
    subject: str = Field(description="the subject's pseudonym")
    position: int
    seq: int | None
    reason: str


class Verification(BaseModel):
    model_config = ConfigDict(extra="allow")
    ok: bool
    subjects: int
    events: int
    breaks: list[Break] = Field(description="each broken subject's first break")


class Erasure(BaseModel):
    model_config = ConfigDict(extra="allow")
    subject: str = Field(description="the subject's pseudonym (its id is no longer readable anywhere in the ledger)")
    events: int = Field(description="events whose identifying fields can no longer be read")
    keys_destroyed: int
    erased_at: AwareDatetime
    decision_log: dict[str, int] | None = Field(default=None, description="with a decision log: the rows the subject "
                                                "was taken out of, in this replica's log (`deleted`) and the combined "
                                                "log (`combined`)")


__all__ = ["BatchRecording", "Erasure", "EventBatch", "Export", "History", "Receipt", "Recording", "StateQuery",
           "SubjectQuery", "SubjectState", "Verification", "VerifyQuery"]
