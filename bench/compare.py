"""Compare pdp with Cedar, Rego and Casbin on one data-use policy.

    python bench/compare.py [--requests 1000] [--calls 20000] [--extra-rules 1000]
                            [--out docs/benchmarks.md] [--quick] [--engines pdp,cedar,...]

1. Draws the seeded requests and the extra rules (bench/workload.py).
2. Checks that every engine gives the oracle's decision (bench/reference.py)
   on every request, and on a sample with the extra rules loaded. Any
   disagreement is printed and the script exits with status 1 before
   timing anything.
3. Times each engine: warm-up, then single calls each timed alone
   (bench/timing.py), without and with the extra rules.
4. Measures pdp's `decide_many` over the requests (decisions per second
   of CPU), then where the time goes (bench/profiling.py).
5. Prints the markdown report, and writes it to --out if given.
"""

from __future__ import annotations

import argparse
import gc
import shlex
import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script: python bench/compare.py
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import reference  # noqa: E402
from bench.sections import keep_sections  # noqa: E402
from bench.engines import Adapter, all_adapters  # noqa: E402
from bench.engines.pdp_engine import POLICY_DIR, PdpAdapter  # noqa: E402
from bench.profiling import pdp_stages, top_functions  # noqa: E402
from bench.report import Row, Run, machine_info, markdown  # noqa: E402
from bench.timing import measure  # noqa: E402
from bench.workload import SEED, assert_extra_rules_never_match, make_extra_rules, make_requests  # noqa: E402

PACKAGES = ["pdp", "cedarpy", "regopy", "casbin", "simpleeval", "fideslang", "lark"]
# Profiled with the extra rules too (the others take too long a call for a profile of many calls).
PROFILED_WITH_EXTRA_RULES = ("pdp", "pdp-noindex", "cedar", "casbin")


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--requests", type=int, default=1000, help="seeded requests (default 1000)")
    p.add_argument("--calls", type=int, default=20000, help="timed calls per measurement (default 20000)")
    p.add_argument("--warmup", type=int, default=2000, help="warm-up calls per measurement (default 2000)")
    p.add_argument("--extra-rules", type=int, default=1000, help="extra never-matching rules (default 1000; 0: skip)")
    p.add_argument("--extra-check", type=int, default=100,
                   help="requests checked for agreement with the extra rules loaded (default 100)")
    p.add_argument("--budget", type=float, default=30.0,
                   help="seconds per measurement before stopping early (default 30; 0: no budget)")
    p.add_argument("--runs", type=int, default=1,
                   help="time every engine this many times; the report shows the range (default 1)")
    p.add_argument("--seed", type=int, default=SEED, help=f"request seed (default {SEED})")
    p.add_argument("--engines", default="",
                   help="comma-separated subset of: pdp, pdp-noindex, pdp-broad, cedar, rego, casbin, casbin-eval, "
                        "python")
    p.add_argument("--out", type=Path, help="write the markdown report to this file")
    p.add_argument("--profile-calls", type=int, default=2000,
                   help="calls per engine profiled with cProfile after the timings (default 2000; 0: no profile)")
    p.add_argument("--quick", action="store_true",
                   help="smoke run: 2,000 calls, 200 warm-up, 5 s budget, 20 requests checked with extra rules, "
                        "300 calls profiled")
    args = p.parse_args(argv)
    if args.quick:
        args.calls = min(args.calls, 2000)
        args.warmup = min(args.warmup, 200)
        args.budget = min(args.budget, 5.0) if args.budget else 5.0
        args.extra_check = min(args.extra_check, 20)
        args.profile_calls = min(args.profile_calls, 300)
    return args


def select(adapters: list[Adapter], wanted: str) -> tuple[list[Adapter], dict[str, str]]:
    keys = [k.strip() for k in wanted.split(",") if k.strip()]
    known = {a.key for a in adapters}
    unknown = [k for k in keys if k not in known]
    if unknown:
        raise SystemExit(f"unknown engine(s): {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    chosen, skipped = [], {}
    for a in adapters:
        if keys and a.key not in keys:
            continue
        reason = a.unavailable()
        if reason:
            if keys:  # asked for explicitly: that is an error
                raise SystemExit(f"{a.key}: {reason}")
            skipped[a.key] = reason
            log(f"skipping {a.key}: {reason}")
            continue
        chosen.append(a)
    return chosen, skipped


def check_agreement(adapter: Adapter, natives, requests, expected, extra_rules=()) -> list[str]:
    """The decisions that differ from the oracle's, one line each."""
    compiled = adapter.compile(extra_rules)
    problems = []
    try:
        for i, (native, want) in enumerate(zip(natives, expected)):
            try:
                got = compiled.decision(compiled.call(native))
            except Exception as exc:  # noqa: BLE001 - report, don't stop: show every disagreement
                got = f"error: {type(exc).__name__}: {exc}"
            if got != want:
                problems.append(f"  request #{i}: oracle {want}, {adapter.key} {got}: {requests[i]}")
    finally:
        compiled.close()
    return problems


def _compile_and_time(a: Adapter, natives, args, budget, extra_rules=()):
    """Compile (timed once), then time the calls; (load seconds, timing)."""
    t0 = time.perf_counter()
    compiled = a.compile(extra_rules) if extra_rules else a.compile()
    load_s = time.perf_counter() - t0
    gc.collect()
    timing = measure(compiled.call, natives, warmup=args.warmup, calls=args.calls, budget_s=budget)
    compiled.close()
    return load_s, timing


def time_engine(a: Adapter, row: Row, natives, extra_rules, args, budget) -> None:
    """One run: time the engine without, then with, the extra rules."""
    load_s, t = _compile_and_time(a, natives, args, budget)
    row.load_s = load_s if row.load_s is None else row.load_s
    row.base.append(t)
    log(f"{a.key}: median {t.median_us:.1f} µs, p99 {t.p99_us:.1f} µs ({t.calls} calls)")
    if not (extra_rules and a.supports_extra_rules):
        return
    load_s, e = _compile_and_time(a, natives, args, budget, extra_rules)
    row.extra_load_s = load_s if row.extra_load_s is None else row.extra_load_s
    row.extra.append(e)
    log(f"{a.key} + {len(extra_rules)} rules: median {e.median_us:.1f} µs, p99 {e.p99_us:.1f} µs "
        f"({e.calls} calls), cost {(e.median_us / t.median_us - 1) * 100:+.0f} %")


def batch_rate(requests: list[dict], batches: int) -> float:
    """pdp's `decide_many` over the requests, `batches` times: decisions per second of CPU (after one batch)."""
    policies = PdpAdapter().load(POLICY_DIR)  # (its request memo off, as for the comparison)
    batch = [PdpAdapter().to_native(r) for r in requests]
    policies.decide_many(batch)
    t0 = time.process_time()
    for _ in range(batches):
        policies.decide_many(batch)
    return batches * len(batch) / (time.process_time() - t0)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    argv_shown = sys.argv[1:] if argv is None else argv
    command = "python bench/compare.py" + "".join(" " + shlex.quote(a) for a in argv_shown)

    requests = make_requests(args.requests, args.seed)
    expected = [reference.decide(r) for r in requests]
    extra_rules = make_extra_rules(args.extra_rules) if args.extra_rules else []
    n_check = min(args.extra_check, len(requests))
    log(f"{len(requests)} requests, {expected.count('allow')} allowed by the oracle; "
        f"{len(extra_rules)} extra rules")

    adapters, skipped = select(all_adapters(), args.engines)

    # 1. agreement, before any timing
    natives, failures = {}, []
    for a in adapters:
        asked = [a.asks(r) for r in requests]  # the workload's requests, or this engine's variant of them
        assert_extra_rules_never_match(extra_rules, asked)
        wanted = [reference.decide(r) for r in asked]
        natives[a.key] = [a.to_native(r) for r in asked]
        problems = check_agreement(a, natives[a.key], asked, wanted)
        if extra_rules and a.supports_extra_rules:
            more = check_agreement(
                a, natives[a.key][:n_check], asked, wanted[:n_check], extra_rules)
            problems += [p + " (with extra rules)" for p in more]
        status = "agrees" if not problems else f"DISAGREES on {len(problems)}"
        log(f"{a.key}: {status} with the oracle")
        if problems:
            failures.append((a.key, problems))
    if failures:
        for key, problems in failures:
            print(f"\n{key} disagrees with the oracle on {len(problems)} decision(s):", file=sys.stderr)
            print("\n".join(problems[:50]), file=sys.stderr)
            if len(problems) > 50:
                print(f"  ... and {len(problems) - 50} more", file=sys.stderr)
        print("\nFAILED: engines disagree; nothing was timed.", file=sys.stderr)
        return 1

    # 2. timing
    budget = args.budget or None
    rows = [Row(a.key, a.title()) for a in adapters]
    for run_no in range(1, args.runs + 1):
        if args.runs > 1:
            log(f"run {run_no} of {args.runs}")
        for a, row in zip(adapters, rows):
            time_engine(a, row, natives[a.key], extra_rules, args, budget)

    batch = None
    if any(a.key == "pdp" for a in adapters):
        batch = batch_rate(requests, max(1, args.calls // len(requests)))
        log(f"pdp decide_many: {batch:,.0f} decisions a second of CPU")

    # 3. where the time goes: after the timings, so the profiler cannot disturb them
    stages, hotspots = [], []
    if args.profile_calls:
        log("profiling")
        if any(a.key == "pdp" for a in adapters):
            stages = pdp_stages(POLICY_DIR, requests, calls=args.calls, warmup=args.warmup) or []
        for a, row in zip(adapters, rows):
            compiled = a.compile()
            hotspots.append((row.title, top_functions(compiled.call, natives[a.key], args.profile_calls)))
            compiled.close()
            if extra_rules and a.key in PROFILED_WITH_EXTRA_RULES:
                compiled = a.compile(extra_rules)
                calls = max(1, args.profile_calls // 10)
                hotspots.append((f"{row.title}, {len(extra_rules):,} extra rules",
                                 top_functions(compiled.call, natives[a.key], calls)))
                compiled.close()

    run = Run(
        command=command,
        requests=len(requests),
        allows=expected.count("allow"),
        seed=args.seed,
        extra_rules=len(extra_rules),
        extra_checked=n_check if extra_rules else 0,
        warmup=args.warmup,
        calls=args.calls,
        budget_s=budget,
        runs=args.runs,
        rows=rows,
        skipped=skipped,
        machine=machine_info(PACKAGES),
        stages=stages,
        hotspots=hotspots,
        profile_calls=args.profile_calls,
        batch=batch,
    )
    text = markdown(run)
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(keep_sections(args.out, text, "engines"), encoding="utf-8")
        log(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
