"""Timing: warm-up calls, then single calls each timed alone.

The method of ``anchor-figures.md``: requests are already in the engine's
native form; 2,000 warm-up calls; then N calls, each between two
``time.perf_counter_ns()`` readings, cycling through the requests in order.
Median and p99 (nearest rank) in microseconds.

A time budget keeps very slow configurations (Rego or Casbin with 1,000
extra rules take tens of milliseconds per call) from running for an hour:
warm-up stops after ``budget_s / 4`` seconds and timing after ``budget_s``
seconds, but never before ``min_calls`` timed calls. The number of calls
actually made is reported with every figure.
"""

from __future__ import annotations

import math
import statistics
import time
from dataclasses import dataclass
from typing import Any, Callable, Sequence


@dataclass(frozen=True)
class Timing:
    warmup: int  # warm-up calls made
    calls: int  # timed calls
    median_us: float
    p99_us: float
    mean_us: float
    min_us: float

    def as_dict(self) -> dict:
        return self.__dict__.copy()


def percentile(sorted_ns: Sequence[int], q: float) -> float:
    """Nearest-rank percentile of an ascending list."""
    rank = max(1, math.ceil(q / 100 * len(sorted_ns)))
    return sorted_ns[rank - 1]


def measure(
    call: Callable[[Any], Any],
    natives: Sequence[Any],
    *,
    warmup: int = 2000,
    calls: int = 20000,
    budget_s: float | None = None,
    min_calls: int = 200,
) -> Timing:
    n = len(natives)
    clock = time.perf_counter_ns
    budget_ns = None if budget_s is None else int(budget_s * 1e9)

    start = clock()
    warm_deadline = None if budget_ns is None else start + budget_ns // 4
    done_warmup = 0
    for i in range(warmup):
        call(natives[i % n])
        done_warmup += 1
        if warm_deadline is not None and clock() > warm_deadline:
            break

    samples = []
    append = samples.append
    deadline = None if budget_ns is None else clock() + budget_ns
    for i in range(calls):
        x = natives[i % n]
        t0 = clock()
        call(x)
        t1 = clock()
        append(t1 - t0)
        if deadline is not None and t1 > deadline and len(samples) >= min_calls:
            break

    samples.sort()
    return Timing(
        warmup=done_warmup,
        calls=len(samples),
        median_us=statistics.median(samples) / 1000,
        p99_us=percentile(samples, 99) / 1000,
        mean_us=statistics.fmean(samples) / 1000,
        min_us=samples[0] / 1000,
    )
