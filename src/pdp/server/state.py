"""The policy set being served, swapped atomically when a new one loads.

A new set is loaded off to the side; only when it parsed, checked and
compiled cleanly does it replace the one in service. A failed load keeps the
last good set serving and is remembered for `/v1/policies`.
"""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass
from pathlib import Path

from ..errors import PolicyError
from ..loader import load
from ..policyset import PolicySet


@dataclass(frozen=True)
class LoadFailure:
    at: str
    errors: list[dict]


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


class PolicyHolder:
    def __init__(self, directory: Path):
        self.directory = Path(directory)
        self.current: PolicySet | None = None
        self.loaded_at: str | None = None
        self.last_failure: LoadFailure | None = None
        self._lock = threading.Lock()

    def reload(self) -> bool:
        """Load the directory; swap it in if it is good. True when swapped."""
        with self._lock:
            try:
                fresh = load(self.directory)
            except PolicyError as error:
                self.last_failure = LoadFailure(_now(), [d.to_dict() for d in error.diagnostics if d.severity == "error"])
                return False
            self.current, self.loaded_at = fresh, _now()
            self.last_failure = None
            return True
