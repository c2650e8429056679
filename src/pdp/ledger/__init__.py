"""The consent and rights ledger: what each data subject chose, recorded append-only, provable, and erasable.

The pure core: `events` (what may be recorded, validated), `state` (events
folded into facts, now or as of a time), `chain` (tamper evidence),
`records` (an event as stored), `sealing` (pseudonyms and per-subject keys).
The edge: `store` (SQLAlchemy Core on SQLite or PostgreSQL), `migrate`
(alembic, shipped in `migrations/`), `connect` and `opening` (paths, URLs and
keys). Importing `pdp.ledger` loads no database library: the store's names
are loaded on first use, so a pure stage may read `pdp.ledger.state`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .events import Event, InvalidEvent, parse_event, parse_events
from .records import Recorded
from .state import Fact, NotYetVisible, State

if TYPE_CHECKING:
    from .connect import LedgerConfigError
    from .opening import open_ledger
    from .store import Erasure, Ledger, Receipt, Verification

_AT_THE_EDGE = {"open_ledger": "opening", "LedgerConfigError": "connect", "Ledger": "store",
                "Receipt": "store", "Verification": "store", "Erasure": "store"}


def __getattr__(name: str) -> Any:
    if name in _AT_THE_EDGE:
        return getattr(importlib.import_module(f"{__name__}.{_AT_THE_EDGE[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["Erasure", "Event", "Fact", "InvalidEvent", "Ledger", "LedgerConfigError", "NotYetVisible", "Receipt",
           "Recorded", "State", "Verification", "open_ledger", "parse_event", "parse_events"]
