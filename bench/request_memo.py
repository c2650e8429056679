"""The request memo's effect in-process: `PolicySet.decide` on the CX-ONE-GO request, with the memo off and on.

    python bench/request_memo.py [--calls 20000] [--rounds 5]

Both sets are `pdp.load("policies")`; one has its memo switched off
(`forget_requests`). Each call parses the request's JSON first, as a server
does, and decides it; CPU time (`time.process_time`) over `--calls` calls,
the two interleaved round by round, medians of `--rounds`. The request is
the same every time, so every call after the first is answered from the
memo: this is the memo's best case, the figure of a request asked again.
Nothing here is a test.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import time
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parents[1]


def cpu_us(decide, body: bytes, calls: int) -> float:
    decide(orjson.loads(body))
    gc.collect()
    started = time.process_time()
    for _ in range(calls):
        decide(orjson.loads(body))
    return (time.process_time() - started) / calls * 1e6


def main() -> None:
    import pdp

    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    body = (ROOT / "examples" / "requests" / "promotional-email.json").read_bytes()
    remembering, plain = pdp.load(ROOT / "policies"), pdp.load(ROOT / "policies")
    plain.forget_requests()
    assert remembering.decide(orjson.loads(body)).reasons == plain.decide(orjson.loads(body)).reasons
    off, on = [], []
    for _ in range(args.rounds):
        off.append(cpu_us(plain.decide, body, args.calls))
        on.append(cpu_us(remembering.decide, body, args.calls))
    print(f"PolicySet.decide, CX-ONE-GO request: memo off {statistics.median(off):.1f} µs, "
          f"on {statistics.median(on):.1f} µs (medians of {args.rounds} interleaved rounds)")


if __name__ == "__main__":
    main()
