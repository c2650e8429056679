"""The floor: the oracle's hand-written ``if`` statements, timed as they are.

Not an engine (nothing is configurable, nothing is parsed); it shows how
little a decision can cost in Python. It takes no extra rules.
"""

from __future__ import annotations

from typing import Sequence

from bench import reference
from bench.engines import Adapter, Compiled
from bench.workload import Rule


class PythonFloorAdapter(Adapter):
    key = "python"
    label = "hand-written Python `if` (the floor, not an engine)"
    supports_extra_rules = False

    def to_native(self, request: dict) -> dict:
        return request

    def compile(self, extra_rules: Sequence[Rule] = ()) -> Compiled:
        if extra_rules:
            raise ValueError("the hand-written floor takes no extra rules")
        return Compiled(reference.decide, lambda result: result)
