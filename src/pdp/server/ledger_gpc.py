"""`Sec-GPC: 1` on a request that records events: a Global Privacy Control signal recorded for each subject.

GPC (https://privacycg.github.io/gpc-spec/) is a header the person's browser
sends. An app that records an event from the person's own request forwards
their `Sec-GPC` header; pdp then records a `gpc.signalled` event (method
`gpc_header`, actor the person) for the subject, in the same transaction and
just before the subject's first event of the request, so that the event's
receipt (`seq`) is a read-your-writes token for the signal too. A request made
by staff on the person's behalf must not carry it: the header speaks for
whoever's browser sent it.

The signal takes its time and collection point from the event it came with,
and its client event id is derived from that event's (`gpc-header:` and a
digest), so a retried request records the signal once, as it does the event.
Only the value `1` is a signal (the spec gives no other); any other value is
ignored. Pure: events in, events out.
"""

from __future__ import annotations

import hashlib

from pdp.ledger.events import Event

HEADER = "sec-gpc"
KIND, METHOD = "gpc.signalled", "gpc_header"


def signalled(value: str | None) -> bool:
    return value is not None and value.strip() == "1"


def derived_id(client_event_id: str | None) -> str | None:
    if client_event_id is None:
        return None
    return "gpc-header:" + hashlib.sha256(client_event_id.encode()).hexdigest()[:32]


def with_signals(events: list[Event]) -> list[tuple[Event, int, bool]]:
    """`events` with a GPC signal before each subject's first event (unless the request records a signal for that
    subject itself): each item with the index of the given event it is (or, for a signal, comes with) and
    whether it is a signal."""
    signalling = {event.subject for event in events if event.kind == KIND}
    seen: set[str] = set()
    out: list[tuple[Event, int, bool]] = []
    for index, event in enumerate(events):
        if event.subject not in seen and event.subject not in signalling:
            signal = Event.model_validate({
                "kind": KIND, "subject": event.subject, "occurred_at": event.occurred_at, "method": METHOD,
                "actor": {"type": "person"}, "collection_point": event.collection_point,
                "client_event_id": derived_id(event.client_event_id)})
            out.append((signal, index, True))
        seen.add(event.subject)
        out.append((event, index, False))
    return out


__all__ = ["HEADER", "METHOD", "derived_id", "signalled", "with_signals"]
