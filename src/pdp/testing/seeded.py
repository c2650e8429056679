"""A policy test case's ledger events: completed with defaults for tests, and a temporary ledger seeded with them.

A case (or a file's `defaults`) may list `ledger:` events in the shape `pdp
consent record` takes. Tests need only what matters to them, so `complete`
fills the fields a regulator needs but a test does not (who acted, how, when,
the notice) with fixed values; the event is then validated exactly as the
ledger validates it. `seeded` records them in a temporary SQLite ledger (the
real store, so a case is decided as `pdp serve --ledger` decides) and yields
the states a decision reads; the ledger and its key are gone afterwards.
"""

from __future__ import annotations

import hashlib
import secrets
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pdp.io.ledger_reader import SubjectStates
from pdp.ledger.events import KINDS

# The values a test's event gets for the fields it leaves out. Same time for every event: events then count in
# the order listed (the ledger orders by time, then by recording).
OCCURRED_AT = "2026-01-01T00:00:00Z"
METHOD = "api"
ACTOR = {"type": "person"}
NOTICE_VERSION = "test"


def notice(version: str) -> dict[str, str]:
    """A notice of `version` (the digest of the version's own text: a test has no notice text)."""
    return {"version": version, "digest": "sha256:" + hashlib.sha256(version.encode()).hexdigest()}


def complete(event: dict[str, Any], subject: Any) -> dict[str, Any]:
    """`event` with the fields a test may leave out filled: the subject (the case's `data_subject.id`), when,
    how, who acted, and a notice where the kind needs one; a notice given as a text is its version."""
    done = {"subject": subject, "occurred_at": OCCURRED_AT, "method": METHOD, "actor": dict(ACTOR), **event}
    needs = KINDS.get(str(done.get("kind")), (frozenset(), frozenset()))[0]
    if "notice" not in done and "notice" in needs:
        done["notice"] = notice(NOTICE_VERSION)
    elif isinstance(done.get("notice"), str):
        done["notice"] = notice(done["notice"])
    if done["subject"] is None:
        del done["subject"]  # the ledger's own check names it as missing
    return done


@contextmanager
def seeded(events: tuple[dict[str, Any], ...]) -> Iterator[SubjectStates]:
    """The states of a new temporary ledger holding `events` (already complete and valid), recorded in order."""
    from pdp.ledger.opening import open_ledger  # the store (SQLAlchemy) only for a case that seeds events

    with tempfile.TemporaryDirectory(prefix="pdp-test-ledger-") as folder:
        with open_ledger(Path(folder) / "ledger.db", key=secrets.token_hex(32)) as ledger:
            if events:
                ledger.record_many(events)
            yield SubjectStates(ledger)


__all__ = ["complete", "notice", "seeded"]
