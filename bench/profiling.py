"""Where the time of one decision goes. Run after the timings, never during.

Two views:

- ``pdp_stages``: pdp's ``decide`` taken apart into its stages (the
  request check's fast path, evaluating the rules, making the decision
  id; and, beside them, the plain check it spares), each timed alone the way the benchmark times
  whole decisions (warm-up, then single calls between two
  ``perf_counter_ns`` readings, median). It reaches into pdp's modules
  (``pdp.vocab.request``, ``pdp.engine.decision``, the set's fast check); if they change, it returns ``None``
  and the report says the breakdown is not available.
- ``top_functions``: cProfile over a few thousand calls of any engine; the
  functions with the most own time ("tottime"), as shares of the total.
  cProfile slows Python code far more than native code, so the shares
  overstate Python's part; they show where the time goes, not how long.
"""

from __future__ import annotations

import cProfile
import pstats
import re
import statistics
import time
from dataclasses import dataclass
from typing import Any, Callable, Sequence


@dataclass(frozen=True)
class Stage:
    name: str
    median_us: float
    aside: bool = False  # timed for comparison, not a part of the call


def _median_us(call: Callable[[Any], Any], inputs: Sequence[Any], calls: int, warmup: int) -> float:
    n = len(inputs)
    for i in range(warmup):
        call(inputs[i % n])
    clock = time.perf_counter_ns
    samples = []
    for i in range(calls):
        x = inputs[i % n]
        t0 = clock()
        call(x)
        samples.append(clock() - t0)
    return statistics.median(samples) / 1000


def pdp_stages(policy_dir, requests: Sequence[dict], calls: int = 20000, warmup: int = 2000) -> list[Stage] | None:
    """Median µs of each stage of ``PolicySet.decide`` on the benchmark requests (every optimisation on)."""
    try:
        import pdp
        from pdp.engine.decision import evaluate
        from pdp.engine.decision_id import new_decision_id
        from pdp.vocab.request import check_request

        policies = pdp.load(str(policy_dir))
        deciding, outcomes = policies.deciding, policies._index.outcomes  # (taking decide apart)
        admit = policies._admit
        vocabulary, shape = policies.vocabulary, policies.request_shape
        if policies.lookups or admit is None:  # the bench policy has no registers; the stages would not add up
            return None
    except (ImportError, AttributeError):
        return None

    def rules(r):
        return evaluate(deciding, r["action"], r["purpose"], r["data_categories"], r, outcomes)

    parts = [
        ("whole `decide` call", policies.decide),
        ("request check, fast path (`vocab/admit.py`: keys, types, vocabulary in one pass)", admit),
        ("rules: rule index, condition index, conditions, combining (`decision.evaluate`)", rules),
        ("decision id (UUIDv7, `pdp.engine.decision_id`)", lambda r: new_decision_id()),
    ]
    stages = [Stage(name, _median_us(call, requests, calls, warmup)) for name, call in parts]
    plain = Stage("the plain check it spares (pydantic model, keys, vocabulary: `request.check_request`)",
                  _median_us(lambda r: check_request(r, vocabulary, shape), requests, calls, warmup), aside=True)
    return stages + [plain]


@dataclass(frozen=True)
class Hotspot:
    function: str
    share_pct: float  # of the total own time under the profiler


def _label(key: tuple) -> str:
    filename, line, name = key
    if filename == "~":  # a builtin or a method of an extension type
        text = name.strip("<>{}")
        for prefix in ("method ", "built-in method "):
            if text.startswith(prefix):
                text = text[len(prefix):]
        method = re.fullmatch(r"'(\w+)' of '([\w.]+)' objects", text)
        if method:
            text = f"{method.group(2).rsplit('.', 1)[-1]}.{method.group(1)}"
        return f"`{text}` (native)"
    parts = filename.replace("\\", "/").split("/")
    if "site-packages" in parts:
        parts = parts[parts.index("site-packages") + 1:]
    elif "src" in parts:
        parts = parts[parts.index("src") + 1:]
    elif "bench" in parts:
        parts = parts[parts.index("bench"):]
    elif "lib" in parts:
        parts = parts[parts.index("lib") + 2:]  # the standard library: lib/python3.x/...
    return f"`{'/'.join(parts)}:{name}`"


def top_functions(call: Callable[[Any], Any], inputs: Sequence[Any], calls: int = 3000, k: int = 4) -> list[Hotspot]:
    """The ``k`` functions with the most own time over ``calls`` calls (after as many warm-up calls)."""
    n = len(inputs)
    for i in range(calls):
        call(inputs[i % n])
    profiler = cProfile.Profile()
    profiler.enable()
    for i in range(calls):
        call(inputs[i % n])
    profiler.disable()
    stats = pstats.Stats(profiler).stats  # {(file, line, name): (cc, nc, tottime, cumtime, callers)}
    total = sum(v[2] for v in stats.values()) or 1.0
    ranked = sorted(stats.items(), key=lambda kv: kv[1][2], reverse=True)
    out = []
    for key, value in ranked:
        if key[2] == "<lambda>" or key[2] == "call":  # the benchmark's own thin wrappers
            continue
        out.append(Hotspot(_label(key), value[2] / total * 100))
        if len(out) == k:
            break
    return out
