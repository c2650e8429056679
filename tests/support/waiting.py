"""Waiting for what another thread or process does: looked at a bounded number of times, never timed."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

LOOKS = 3000  # with PAUSE_S between them, about a minute on a loaded machine: a hang guard, not a measure of speed
PAUSE_S = 0.02


def eventually(check: Callable[[], T], what: str, looks: int = LOOKS) -> T:
    """`check()`'s first true answer, asked up to `looks` times, PAUSE_S apart; an AssertionError naming `what`."""
    for _ in range(looks):
        found = check()
        if found:
            return found
        time.sleep(PAUSE_S)
    raise AssertionError(f"{what}: still not so after {looks} looks")


__all__ = ["eventually"]
