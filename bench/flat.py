"""Decisions that stay flat: the median decision on generated policy sets of 50 to 20,000 rules.

    python bench/flat.py [--sizes 50,1000,5000,20000] [--variants random,clustered,broad,shared-target,wide]
                         [--requests 5000] [--plain-up-to 1000] [--out docs/benchmarks.md]

The sets and their seeded requests are bench/generate.py's (modelled on
CX-ONE-GO; that module says how each variant is drawn): `random` targets,
`clustered` attributes, `broad` (a quarter of the rules name no `to`, `for`
or `of`), `shared-target` (1,000 rules share one target and differ only by
their conditions) and `wide` (allows reading 6 to 12 attributes). Each set
is loaded with `pdp.load` (the rule index, the condition index and the
request fast path on); up to --plain-up-to rules it is loaded with
`index=False` too, and both must give the same decision, reasons and
obligations on every request before anything is timed. Requests the set
refuses (a purpose a small set does not declare) are left out and counted.

Realistic requests: every timed call decides a request of its own (the
generator's --requests, varied as it draws them: services, purposes,
categories, ages, consents), none repeated, after one warm-up pass over
them all (each target's condition tree is then built, as on a server that
has been up a while). Each call is timed alone in CPU time
(`time.process_time_ns`, so that other processes on the shared machine
count less than in wall time): median and p99. The same calls are timed
again with the outcome memo off (`decision.evaluate`'s memo of the outcome
of each combination of applying rules, OUTCOMES_LIMIT): the memo spares
gathering reasons and obligations, never evaluating a rule, and the warm-up
has filled it (up to its limit) with these requests' outcomes, so the
second column says how much of the first it accounts for. The request memo
(pdp.engine.request_memo) is off unless --request-memo: the timed pass asks
the warm-up's requests again, which it would answer without evaluating, and
this measures how evaluation grows with the set. Nothing here is a test.
"""

from __future__ import annotations

import argparse
import shlex
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

if __package__ in (None, ""):  # run as a script: python bench/flat.py
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.generate import Spec, generate, write  # noqa: E402
from bench.sections import write_section  # noqa: E402
from bench.timing import percentile  # noqa: E402


def load(directory: Path, index: bool, remember_requests: bool = False):
    import pdp

    policy_set = pdp.load(directory, index=index)
    if not remember_requests:
        policy_set.forget_requests()  # (the timed pass asks the warm-up's requests again: see the module)
    return policy_set


def accepted(policy_set, requests: list[dict]) -> list[dict]:
    """The requests the set accepts (a generated request may name a purpose a small set does not declare)."""
    import pdp

    out = []
    for request in requests:
        try:
            policy_set.decide(request)
        except pdp.RequestError:
            continue
        out.append(request)
    return out


@dataclass(frozen=True)
class Figure:
    median_us: float
    p99_us: float
    calls: int


def cpu_timed(call, inputs: list, calls: int, warmup: int) -> Figure:
    """Each call timed alone in CPU time (ns), after warm-up; median and p99 in µs. `calls` up to len(inputs):
    each input once."""
    for i in range(warmup):
        call(inputs[i % len(inputs)])
    clock = time.process_time_ns
    samples = []
    for i in range(calls):
        x = inputs[i % len(inputs)]
        t0 = clock()
        call(x)
        samples.append(clock() - t0)
    samples.sort()
    return Figure(statistics.median(samples) / 1000, percentile(samples, 99) / 1000, len(samples))


def _answer(policy_set, request: dict):
    d = policy_set.decide(request)
    return d.decision, d.reasons, d.obligations


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", default="50,1000,5000,20000")
    p.add_argument("--variants", default="random,clustered,broad,shared-target,wide")
    p.add_argument("--requests", type=int, default=5000, help="requests drawn; each timed call decides one")
    p.add_argument("--calls", type=int, help="timed calls (default: one a request; more cycle through them)")
    p.add_argument("--warmup", type=int, help="warm-up calls (default: one a request)")
    p.add_argument("--plain-up-to", type=int, default=1000,
                   help="load sets up to this many rules with index=False too, check and time them (default 1000)")
    p.add_argument("--plain-calls", type=int, default=300, help="calls timed with index=False (default 300)")
    p.add_argument("--request-memo", action="store_true", help="keep the request memo on (it answers the timed pass, "
                   "which repeats the warm-up's requests, without evaluating)")
    p.add_argument("--out", type=Path, help="write the table to the `flat` section of this file")
    args = p.parse_args(argv)
    command = "python bench/flat.py" + "".join(" " + shlex.quote(a) for a in (sys.argv[1:] if argv is None else argv))
    sizes = [int(s) for s in args.sizes.split(",")]
    variants = args.variants.split(",")

    rows = []
    with tempfile.TemporaryDirectory(prefix="pdp-flat-") as tmp:
        for variant in variants:
            medians = []
            for size in sizes:
                directory = Path(tmp) / f"{variant}-{size}"
                generated = generate(Spec(rules=size, variant=variant, requests=args.requests))
                write(generated, directory)
                t0 = time.process_time()
                indexed = load(directory, index=True, remember_requests=args.request_memo)
                load_s = time.process_time() - t0
                first = first_passes(indexed, generated.requests)
                print(f"{variant} {size:>6,} rules, first pass: median {first.shapes[0].median_us:,.0f} µs, max "
                      f"{first.shapes[0].max_us:,.0f} µs (one tree a list: {first.whole[0].median_us:,.0f} µs, "
                      f"{first.whole[0].max_us:,.0f} µs)", file=sys.stderr)
                requests = accepted(indexed, generated.requests)
                plain = load(directory, index=False) if size <= args.plain_up_to else None
                if plain is not None:
                    for r in requests:
                        if _answer(indexed, r) != _answer(plain, r):
                            print(f"DISAGREE ({variant}, {size} rules): {r}", file=sys.stderr)
                            return 1
                applying = statistics.mean(len(indexed.decide(r).reasons) for r in requests)
                calls = args.calls or len(requests)
                warmup = len(requests) if args.warmup is None else args.warmup
                fig = cpu_timed(indexed.decide, requests, calls, warmup)
                remembered = indexed._index.outcomes
                indexed._index.outcomes = None  # the outcome memo off: every outcome made anew
                unremembered = cpu_timed(indexed.decide, requests, calls, 0)
                indexed._index.outcomes = remembered
                plain_fig = cpu_timed(plain.decide, requests, args.plain_calls, 50) if plain is not None else None
                medians.append(fig.median_us)
                rows.append(Row(variant, size, fig, plain_fig, applying, load_s, len(requests),
                                len(generated.requests), unremembered, first))
                shown = f"{plain_fig.median_us:,.0f} µs" if plain_fig else "-"
                print(f"{variant} {size:>6,} rules: median {fig.median_us:.1f} µs, p99 {fig.p99_us:.1f} µs "
                      f"(outcome memo off: {unremembered.median_us:.1f} µs; index off: {shown}); "
                      f"{applying:.2f} reasons a request; load {load_s:.1f} s; "
                      f"{len(requests)} of {len(generated.requests)} requests accepted", file=sys.stderr)
            print(f"{variant}: largest / smallest median = {medians[-1] / medians[0]:.2f}", file=sys.stderr)

    table = markdown(rows, sizes, command, args) + first_pass_markdown(rows)
    print(table)
    if args.out:
        write_section(args.out, "flat", table)
    return 0


@dataclass(frozen=True)
class Row:
    variant: str
    size: int
    indexed: Figure
    plain: Figure | None
    reasons: float  # a decision's reasons, on average
    load_s: float
    requests: int  # accepted
    drawn: int
    unremembered: Figure  # the outcome memo off
    first: FirstPasses | None = None


def markdown(rows: list[Row], sizes: list[int], command: str, args: argparse.Namespace) -> str:
    out = ["## Decisions that stay flat", "",
           f"`{command}`: generated sets (bench/generate.py), each decision timed alone in CPU time "
           f"(`time.process_time_ns`), {args.requests:,} seeded requests a set, "
           + ("each decided once after a warm-up pass over them all" if args.calls is None and args.warmup is None
              else f"{args.calls or args.requests:,} calls after {args.warmup:,} warm-up")
           + "; again with the outcome memo off; with the index off (`index=False`, every rule evaluated) "
           f"{args.plain_calls:,} calls, up to {args.plain_up_to:,} rules.",
           "", "| variant | rules | median µs | p99 µs | median µs, outcome memo off | median µs, index off | "
           f"reasons a decision | load, s of CPU | median / median at {sizes[0]:,} rules |",
           "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    first: dict[str, float] = {}
    for row in rows:
        first.setdefault(row.variant, row.indexed.median_us)
        plain = f"{row.plain.median_us:,.0f}" if row.plain else "-"
        ratio = row.indexed.median_us / first[row.variant]
        out.append(f"| {row.variant} | {row.size:,} | {row.indexed.median_us:.1f} | {row.indexed.p99_us:.1f} | "
                   f"{row.unremembered.median_us:.1f} | {plain} | {row.reasons:.2f} | {row.load_s:.1f} | {ratio:.2f}x |")
    refused = [f"{r.variant} {r.size:,}: {r.drawn - r.requests}" for r in rows if r.requests < r.drawn]
    out += ["", "Where the index on and off were both loaded, they gave the same decision, reasons and obligations on "
            "every request before anything was timed."]
    if refused:
        out += ["", "Requests a set refused (a purpose the generator names that a small set does not declare), left "
                "out: " + "; ".join(refused) + "."]
    return "\n".join(out) + "\n"


# First decisions after a load (issue 10, first-touch stalls): every seeded request decided once right after the
# load, in order, then once more; with the condition trees joined by shape of target (RuleIndex's default) and
# with one tree a list (RuleIndex(shapes=False)), each on a fresh index of the same loaded set.


@dataclass(frozen=True)
class Pass:
    median_us: float
    max_us: float
    total_s: float


@dataclass(frozen=True)
class FirstPasses:
    shapes: tuple[Pass, Pass]  # the first pass, the second
    whole: tuple[Pass, Pass]  # RuleIndex(shapes=False)


def first_passes(policy_set, requests: list[dict]) -> FirstPasses:
    """Each request decided once, then again, on a fresh rule index with and without shapes (`_index` swapped in
    place: decide reads it). The collector is frozen after the load first (gc.freeze, as the README
    advises): otherwise the first full collection walks the whole set inside some decision, whatever the index."""
    import gc

    from pdp.engine.compiler import RuleIndex

    gc.collect()
    gc.freeze()
    own = policy_set._index
    try:
        policy_set._index = RuleIndex(policy_set.rules)
        shapes = (_pass(policy_set, requests), _pass(policy_set, requests))
        policy_set._index = RuleIndex(policy_set.rules, shapes=False)
        whole = (_pass(policy_set, requests), _pass(policy_set, requests))
    finally:
        policy_set._index = own
        gc.unfreeze()
    return FirstPasses(shapes, whole)


def _pass(policy_set, requests: list[dict]) -> Pass:
    import pdp

    clock = time.process_time_ns
    samples = []
    for request in requests:
        t0 = clock()
        try:
            policy_set.decide(request)
        except pdp.RequestError:  # refused (a purpose a small set does not declare): not a decision
            continue
        samples.append(clock() - t0)
    samples.sort()
    return Pass(statistics.median(samples) / 1000, samples[-1] / 1000, sum(samples) / 1e9)


def first_pass_markdown(rows: list[Row]) -> str:
    out = ["", "### First decisions after a load", "",
           "Every seeded request decided once right after the load (the collector frozen first, `gc.freeze()`), "
           "in order, then once more, each timed alone in CPU time, on a fresh rule index: with a target's "
           "condition trees joined from one part a shape of target (the default: a part built once for the values "
           "its shape names), and with one tree a list (`RuleIndex(shapes=False)`, built on the list's first "
           "request). Median and maximum in µs, the pass's total in s.", "",
           "| variant | rules | first pass: median | max | total | second pass: median | "
           "one tree a list, first pass: median | max | total | second pass: median |",
           "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for row in rows:
        if row.first is None:
            continue
        (a, b), (c, d) = row.first.shapes, row.first.whole
        out.append(f"| {row.variant} | {row.size:,} | {a.median_us:,.0f} | {a.max_us:,.0f} | {a.total_s:.2f} | "
                   f"{b.median_us:,.0f} | {c.median_us:,.0f} | {c.max_us:,.0f} | {c.total_s:.2f} | {d.median_us:,.0f} |")
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    sys.exit(main())
