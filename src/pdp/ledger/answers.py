"""The ledger's answers as JSON: what `pdp consent` prints and the HTTP endpoints send, written once.

A subject with no recorded event is an error here (`UnknownSubject`), not an
empty state: a mistyped id read as "nothing recorded" would show no opt-out
where one is recorded under the right id (as a mistyped ledger path is refused
rather than opened empty).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from .records import iso
from .store import Ledger


class UnknownSubject(LookupError):
    """No event is recorded for the subject (the message does not repeat its id: ids are personal data)."""

    def __init__(self) -> None:
        super().__init__("no events are recorded for this subject")


def state_of(ledger: Ledger, subject: str, *, min_seq: int | None = None, as_of: datetime | None = None,
             known_at: datetime | None = None) -> dict[str, Any]:
    """The subject's current state (or as of a time, with `as_of` and `known_at`), each fact with its event;
    NotYetVisible unless the ledger has seen `min_seq`. `known_at` alone is the state as of that time, as the
    ledger knew it then: what pdp could have answered at that moment."""
    current = ledger.state(subject, min_seq=min_seq)
    if current.seq == 0:
        raise UnknownSubject()
    if as_of is None:
        as_of = known_at
    if as_of is None:
        return current.to_dict(ledger.clock())
    return {"as_of": iso(as_of), **ledger.state_as_of(subject, as_of, known_at=known_at).to_dict(as_of)}


def history_of(ledger: Ledger, subject: str) -> list[dict[str, Any]]:
    events = ledger.history(subject)
    if not events:
        raise UnknownSubject()
    return [event.to_dict() for event in events]


def export_of(ledger: Ledger, subject: str) -> dict[str, Any]:
    exported = ledger.export(subject)
    if not exported["chain"]["events"]:
        raise UnknownSubject()
    return exported


def verification_of(ledger: Ledger, subject: str | None = None) -> dict[str, Any]:
    found = ledger.verify(subject)
    if subject is not None and not found.events and found.ok:
        raise UnknownSubject()
    return found.to_dict()


def erasure_of(ledger: Ledger, subject: str) -> dict[str, Any]:
    erased = ledger.erase(subject)
    if not erased.events:
        raise UnknownSubject()
    return erased.to_dict()


__all__ = ["UnknownSubject", "erasure_of", "export_of", "history_of", "state_of", "verification_of"]
