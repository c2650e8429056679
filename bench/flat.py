"""Decisions that stay flat: the median decision on generated policy sets of 50 to 20,000 rules.

    python bench/flat.py [--sizes 50,1000,5000,20000] [--variants random,broad,shared]
                         [--requests 500] [--calls 5000] [--no-plain] [--out docs/benchmarks.md]

Three variants of rules modelled on CX-ONE-GO's (`policies/`): each rule a
deny or an allow on one subject (a recipient's id, a case type, a segment or
a campaign, as CX-ONE-GO's rules name a recipient, a consent or a context
flag) and zero to two common tests (the recipient's type or DPA, the
person's age, consent, the destination). What differs is the target:

- random: `to`, `for` and `of` each named (80 %) with a key drawn from the
  vocabulary (any depth);
- broad: no `to`, `for` or `of`: every rule takes part in every request;
- shared: every rule on the same target (`to use for marketing of user.contact`),
  differing only by its conditions.

Requests are drawn from the same pools (for shared, all on its target), so a
request meets about as many applying rules at every size. Each set is built
with the rule index on (`pdp.build`) and, unless --no-plain, off
(`index=False`, every rule evaluated), and both give the same decisions,
reasons and obligations on every request before anything is timed. Then
warm-up, and every call timed alone in CPU time (`time.process_time_ns`,
so that other processes on the shared machine count less), median and p99.
Nothing here is a test.
"""

from __future__ import annotations

import argparse
import random
import shlex
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

if __package__ in (None, ""):  # run as a script: python bench/flat.py
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.sections import write_section  # noqa: E402
from bench.timing import percentile  # noqa: E402

SEED = 20261130
ACTIONS = ("collect", "use", "share", "transfer", "erase")
RECIPIENT_TYPES = ("service_provider", "advertising_partner", "public_authority", "affiliate", "acquirer",
                   "other_user", "third_party")
COUNTRIES = ("IN", "US", "DE", "FR", "SG", "GB", "JP", "BR")
TOPICS = ("marketing", "cookies", "location", "analytics")
SHARED_TARGET = ("use", "marketing", "user.contact")
VOCABULARY = (
    "consent_topics: [marketing, cookies, location, analytics]\n"
    "attributes:\n  context.case_type: string\n  context.campaign: string\n  data_subject.segment: string\n"
)


def _vocabulary_keys() -> tuple[list[str], list[str]]:
    from pdp.vocab.taxonomy import Vocabulary

    vocabulary = Vocabulary.default()
    return sorted(vocabulary.purposes), sorted(vocabulary.categories)


@dataclass(frozen=True)
class Pools:
    """What rules and requests draw from, for a set of `size` rules (the subjects grow with it)."""

    size: int

    @property
    def subjects(self) -> int:
        return max(10, self.size // 4)


def _subject_test(rng: random.Random, pools: Pools) -> str:
    k = rng.randrange(pools.subjects)
    family = rng.randrange(4)
    if family == 0:
        return f'recipient.id == "vendor-{k}"'
    if family == 1:
        return f'context.case_type == "case-{k}"'
    if family == 2:
        return f'data_subject.segment == "segment-{k}"'
    other = rng.randrange(pools.subjects)
    return f'context.campaign in ["campaign-{k}", "campaign-{other}"]'


def _common_test(rng: random.Random, attribute: int) -> str:
    if attribute == 0:
        return f'recipient.type == "{rng.choice(RECIPIENT_TYPES)}"'
    if attribute == 1:
        return f"recipient.dpa == {rng.choice(['true', 'false'])}"
    if attribute == 2:
        return f"data_subject.age {rng.choice(['<', '>='])} {rng.randint(13, 80)}"
    if attribute == 3:
        return f"data_subject.consent.{rng.choice(TOPICS)} == {rng.choice(['true', 'false'])}"
    return f'destination_country == "{rng.choice(COUNTRIES)}"'


HEADER = 'policy "flat" version "1" effective 2026-11-30\n'
RULES_PER_FILE = 1000  # (a policy file is at most 512 KB)


def make_rules(variant: str, size: int, seed: int = SEED) -> list[str]:
    """The policy text of `size` rules of the variant, one rule a string."""
    rng = random.Random(f"{seed}-{variant}-{size}")
    pools = Pools(size)
    purposes, categories = _vocabulary_keys()
    out = []
    for i in range(size):
        lines = [f'{"deny" if i % 3 == 0 else "allow"} r{i} "generated rule {i}"', '  cite "bench"']
        if variant == "random":
            for keyword, pool in (("to", ACTIONS), ("for", purposes), ("of", categories)):
                if rng.random() < 0.8:
                    lines.append(f"  {keyword} {rng.choice(pool)}")
        elif variant == "shared":
            action, purpose, category = SHARED_TARGET
            lines += [f"  to {action}", f"  for {purpose}", f"  of {category}"]
        tests = [_subject_test(rng, pools)]
        tests += [_common_test(rng, a) for a in rng.sample(range(5), rng.randint(0, 2))]
        lines.append("  when " + " and ".join(tests))
        out.append("\n".join(lines) + "\n")
    return out


def make_requests(variant: str, size: int, n: int, seed: int = SEED) -> list[dict]:
    rng = random.Random(f"{seed}-{variant}-{size}-requests")
    pools = Pools(size)
    purposes, categories = _vocabulary_keys()
    out = []
    for _ in range(n):
        if variant == "shared":
            action, purpose, category = SHARED_TARGET
            category = rng.choice([category, f"{category}.email", f"{category}.phone_number"])
        else:
            action, purpose, category = rng.choice(ACTIONS), rng.choice(purposes), rng.choice(categories)
        out.append({
            "action": action, "purpose": purpose, "data_categories": [category],
            "data_subject": {"age": rng.randint(10, 90), "segment": f"segment-{rng.randrange(pools.subjects)}",
                             "consent": {t: rng.random() < 0.5 for t in TOPICS}},
            "recipient": {"id": f"vendor-{rng.randrange(pools.subjects)}", "type": rng.choice(RECIPIENT_TYPES),
                          "dpa": rng.random() < 0.5},
            "destination_country": rng.choice(COUNTRIES),
            "context": {"case_type": f"case-{rng.randrange(pools.subjects)}",
                        "campaign": f"campaign-{rng.randrange(pools.subjects)}"},
        })
    return out


def build(rules: list[str], index: bool):
    """The set of these rules (a file per thousand), with the rule index on or off."""
    import pdp

    files = {f"flat{i // RULES_PER_FILE:03d}.pdp": (HEADER if i == 0 else "") + "\n".join(rules[i:i + RULES_PER_FILE])
             for i in range(0, len(rules), RULES_PER_FILE)}
    return pdp.build(pdp.Sources(files, ("vocabulary.yaml", VOCABULARY)), index=index)


@dataclass(frozen=True)
class Figure:
    median_us: float
    p99_us: float
    calls: int


def cpu_timed(call, inputs: list, calls: int, warmup: int) -> Figure:
    """Each call timed alone in CPU time (ns), after warm-up; median and p99 in µs."""
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
    p.add_argument("--variants", default="random,broad,shared")
    p.add_argument("--requests", type=int, default=500)
    p.add_argument("--calls", type=int, default=5000)
    p.add_argument("--warmup", type=int, default=1000)
    p.add_argument("--no-plain", action="store_true", help="do not build and time the sets with index=False")
    p.add_argument("--plain-calls", type=int, default=300, help="calls timed with index=False (default 300)")
    p.add_argument("--out", type=Path, help="write the table to the `flat` section of this file")
    args = p.parse_args(argv)
    command = "python bench/flat.py" + "".join(" " + shlex.quote(a) for a in (sys.argv[1:] if argv is None else argv))
    sizes = [int(s) for s in args.sizes.split(",")]
    variants = args.variants.split(",")

    rows = []
    for variant in variants:
        medians = []
        for size in sizes:
            text = make_rules(variant, size)
            requests = make_requests(variant, size, args.requests)
            t0 = time.process_time()
            indexed = build(text, index=True)
            load_s = time.process_time() - t0
            plain = None if args.no_plain else build(text, index=False)
            if plain is not None:
                for r in requests:
                    if _answer(indexed, r) != _answer(plain, r):
                        print(f"DISAGREE ({variant}, {size} rules): {r}", file=sys.stderr)
                        return 1
            applying = statistics.mean(len(indexed.decide(r).reasons) for r in requests)
            fig = cpu_timed(indexed.decide, requests, args.calls, args.warmup)
            plain_fig = cpu_timed(plain.decide, requests, args.plain_calls, 50) if plain is not None else None
            medians.append(fig.median_us)
            rows.append((variant, size, fig, plain_fig, applying, load_s))
            shown = f"{plain_fig.median_us:,.0f} µs" if plain_fig else "-"
            print(f"{variant} {size:>6,} rules: median {fig.median_us:.1f} µs, p99 {fig.p99_us:.1f} µs "
                  f"(index off: {shown}); {applying:.2f} reasons a request; load {load_s:.1f} s", file=sys.stderr)
        print(f"{variant}: largest / smallest median = {medians[-1] / medians[0]:.2f}", file=sys.stderr)

    table = markdown(rows, sizes, command, args)
    print(table)
    if args.out:
        write_section(args.out, "flat", table)
    return 0


def markdown(rows, sizes, command: str, args) -> str:
    out = ["## Decisions that stay flat", "",
           f"`{command}` (bench/flat.py: generated sets, each request's decision timed alone in CPU time, "
           f"{args.calls:,} calls after {args.warmup:,} warm-up over {args.requests} seeded requests).", "",
           "| variant | rules | median µs | p99 µs | median µs, index off | reasons a request | load, s of CPU | "
           f"growth from {sizes[0]:,} rules |", "|---|---:|---:|---:|---:|---:|---:|---:|"]
    first: dict[str, float] = {}
    for variant, size, fig, plain_fig, applying, load_s in rows:
        first.setdefault(variant, fig.median_us)
        plain = f"{plain_fig.median_us:,.0f}" if plain_fig else "-"
        out.append(f"| {variant} | {size:,} | {fig.median_us:.1f} | {fig.p99_us:.1f} | {plain} | {applying:.2f} | "
                   f"{load_s:.1f} | {fig.median_us / first[variant]:.2f}x |")
    out += ["", "Variants: random targets, broad rules (no `to`/`for`/`of`), and rules that share one target and "
            "differ only by their conditions (bench/flat.py says how they are drawn). The index on and off give "
            "the same decision, reasons and obligations on every request before anything is timed."]
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    sys.exit(main())
