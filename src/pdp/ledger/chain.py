"""Tamper evidence: a hash chain per subject over each event as stored. Pure.

Each stored event's `link` is the sha256 of the previous event's link and of
the event's canonical content: every column the store keeps, the encrypted
identifying fields as their bytes. So changing, inserting or deleting a row
in place, moving it to another subject or reordering breaks the chain at
that row; the subject's head (its count and last link, kept by the store)
catches a deleted last row. Erasure destroys a key, never a row, so an erased
subject's chain still verifies: what is kept (kind, times, notice digest,
links) is the proof that a consent existed.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

GENESIS = "sha256:" + "0" * 64  # the link before a subject's first event
# The columns a link covers: all of an event row but the link itself.
CHAINED = ("seq", "event_id", "subject", "position", "kind", "topic", "purpose", "channel", "scope", "outcome",
           "notice_version", "notice_digest", "method", "actor_type", "occurred_us", "recorded_us", "expires_us",
           "client_event_key", "key_generation", "sealed")


def canonical(row: Mapping[str, Any]) -> bytes:
    """The bytes a link is taken over: the chained columns as sorted JSON (bytes as base64)."""
    content = {name: _plain(row.get(name)) for name in CHAINED}
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _plain(value: Any) -> Any:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return "b64:" + base64.b64encode(bytes(value)).decode()
    return value


def link(previous: str, row: Mapping[str, Any]) -> str:
    return "sha256:" + hashlib.sha256(b"pdp-ledger-chain/1\n" + previous.encode() + b"\n" + canonical(row)).hexdigest()


@dataclass(frozen=True)
class Break:
    """The first broken link of a subject's chain: where (position, seq) and what is wrong."""

    subject: str  # the subject's pseudonym
    position: int
    seq: int | None
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {"subject": self.subject, "position": self.position, "seq": self.seq, "reason": self.reason}


def first_break(subject: str, rows: Sequence[Mapping[str, Any]], head: tuple[int, str] | None) -> Break | None:
    """The first broken link of `subject`'s chain, or None. `rows`: its event rows in position order;
    `head`: the (count, last link) the store keeps for it."""
    previous = GENESIS
    for expected, row in enumerate(rows):
        seq = row.get("seq")
        if row.get("position") != expected:
            return Break(subject, expected, seq, f"event at position {expected} missing or moved")
        if link(previous, row) != row.get("link"):
            return Break(subject, expected, seq, "content or link does not match the chain")
        previous = row["link"]
    if head is None:
        return Break(subject, len(rows), None, "no head recorded for this subject") if rows else None
    count, last = head
    if count != len(rows) or (last or GENESIS) != previous:
        return Break(subject, min(count, len(rows)), None,
                     f"the head says {count} events ending in {last}, the chain has {len(rows)}")
    return None


__all__ = ["Break", "CHAINED", "GENESIS", "canonical", "first_break", "link"]
