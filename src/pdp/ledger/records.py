"""A recorded event: an Event as the ledger keeps it, with the sequence number, id and time the store gave it.

The fields that say what was chosen (kind, topic, purpose, channel, scope,
outcome, notice, times, method, actor type) are kept in clear: they are the
proof that a consent existed, and all that the current state is folded from.
The fields that identify the person (`identifying`) are None once the subject
has been erased. Pure: a value, its dict form, nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .events import Event


@dataclass(frozen=True)
class Recorded:
    seq: int  # the global sequence number: the read-your-writes token
    event_id: str  # what a decision cites
    position: int  # the event's place in its subject's chain, from 0
    recorded_at: datetime
    kind: str
    occurred_at: datetime
    method: str
    actor_type: str
    topic: str | None = None
    purpose: str | None = None
    channel: str | None = None
    scope: str | None = None
    outcome: str | None = None
    notice_version: str | None = None
    notice_digest: str | None = None
    expires_at: datetime | None = None
    identifying: dict[str, Any] | None = None  # subject, client_event_id, actor_id, collection_point, evidence

    @classmethod
    def of(cls, event: Event, *, seq: int, event_id: str, position: int, recorded_at: datetime) -> Recorded:
        return cls(seq=seq, event_id=event_id, position=position, recorded_at=recorded_at, kind=event.kind,
                   occurred_at=event.occurred_at, method=event.method, actor_type=event.actor.type, topic=event.topic,
                   purpose=event.purpose, channel=event.channel, scope=event.scope, outcome=event.outcome,
                   notice_version=event.notice.version if event.notice else None,
                   notice_digest=event.notice.digest if event.notice else None, expires_at=event.expires_at,
                   identifying=event.identifying())

    @property
    def erased(self) -> bool:
        return self.identifying is None

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (history, export): times in ISO 8601 UTC; fields an event of its kind lacks left out."""
        out: dict[str, Any] = {"seq": self.seq, "event_id": self.event_id, "position": self.position,
                               "kind": self.kind, "occurred_at": iso(self.occurred_at),
                               "recorded_at": iso(self.recorded_at), "method": self.method,
                               "actor": {"type": self.actor_type}}
        for name in ("topic", "purpose", "channel", "scope", "outcome"):
            if getattr(self, name) is not None:
                out[name] = getattr(self, name)
        if self.notice_version is not None:
            out["notice"] = {"version": self.notice_version, "digest": self.notice_digest}
        if self.expires_at is not None:
            out["expires_at"] = iso(self.expires_at)
        if self.identifying is None:
            out["erased"] = True
        else:
            ident = self.identifying
            out["subject"] = ident["subject"]
            if ident.get("actor_id") is not None:
                out["actor"]["id"] = ident["actor_id"]
            for name in ("client_event_id", "collection_point", "evidence"):
                if ident.get(name) is not None:
                    out[name] = ident[name]
        return out


def iso(moment: datetime) -> str:
    """A time in ISO 8601, UTC, with a `Z`."""
    from datetime import UTC

    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


__all__ = ["Recorded", "iso"]
