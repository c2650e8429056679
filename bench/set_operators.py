"""`has any of` / `has all of` against the workaround they replace, side by side in one run.

    python bench/set_operators.py [--rules 200] [--items 4] [--requests 5000] [--out docs/benchmarks.md]

One set of --rules allow rules, each testing the request's `context.roles`
(a list of up to eight roles drawn from 40) against --items roles of its
own, is written two ways: with the operators (`context.roles has any of
[...]`, every third rule `has all of`) and as the issue's workaround (`"a"
in context.roles or "b" in context.roles ...`, `and` for all of). Both sets
are loaded with `pdp.load`'s defaults (the rule index, the condition index),
the request memo off (each request evaluated anew), and must give every
request the same decision and reasons before anything is timed. Every timed
call decides a seeded request of its own, after one warm-up pass; each is
timed alone in CPU time (`time.process_time_ns`): median and p99, the two
forms alternating request by request so that the machine's load falls on
both alike. Nothing here is a test.
"""

from __future__ import annotations

import argparse
import random
import shlex
import statistics
import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script: python bench/set_operators.py
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.sections import write_section  # noqa: E402
from bench.timing import percentile  # noqa: E402

HEADER = 'policy "bench" version "1" effective 2026-01-01\n'
VOCAB = "attributes:\n  context.roles: list\n"
ROLES = [f"role{i}" for i in range(40)]


def rules(count: int, items: int, operators: bool, rng: random.Random) -> str:
    out = []
    for i in range(count):
        chosen = rng.sample(ROLES, items)
        every = i % 3 == 2
        if operators:
            listed = ", ".join(f'"{r}"' for r in chosen)
            test = f"context.roles has {'all' if every else 'any'} of [{listed}]"
        else:
            test = (" and " if every else " or ").join(f'"{r}" in context.roles' for r in chosen)
        out.append(f'allow r{i} cite "§{i}" to use for essential.service of user.contact.email\n  when {test}\n')
    return HEADER + "".join(out)


def build(text: str):
    import pdp

    policy_set = pdp.build(pdp.Sources({"p.pdp": text}, ("vocabulary.yaml", VOCAB)))
    policy_set.forget_requests()
    return policy_set


def requests(count: int, rng: random.Random) -> list[dict]:
    return [{"action": "use", "purpose": "essential.service", "data_categories": ["user.contact.email"],
             "context": {"roles": rng.sample(ROLES, rng.randint(0, 8))}} for _ in range(count)]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rules", type=int, default=200)
    parser.add_argument("--items", type=int, default=4)
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    rng = random.Random(12)
    seed = rng.random()
    sets = {"has any of / has all of": build(rules(args.rules, args.items, True, random.Random(seed))),
            "`in` joined by or / and": build(rules(args.rules, args.items, False, random.Random(seed)))}
    batch = requests(args.requests, rng)
    for req in batch:  # the same decisions, reasons included, before anything is timed
        decided = [(o.decision, o.reasons) for o in (s.outcome(req) for s in sets.values())]
        assert decided[0] == decided[1], req
    times: dict[str, list[int]] = {name: [] for name in sets}
    for req in batch:
        for name, policy_set in sets.items():
            started = time.process_time_ns()
            policy_set.outcome(req)
            times[name].append(time.process_time_ns() - started)
    lines = [f"`python {' '.join(shlex.quote(a) for a in ['bench/set_operators.py', *(argv or sys.argv[1:])])}`: "
             f"{args.rules} rules of {args.items} roles each, {args.requests} requests (CPU time per decision)", "",
             "| written as | median | p99 |", "|---|---|---|"]
    for name, ns in times.items():
        ns.sort()
        lines.append(f"| {name} | {statistics.median(ns) / 1000:.1f} µs | {percentile(ns, 99) / 1000:.1f} µs |")
    text = "\n".join(lines)
    print(text)
    if args.out:
        write_section(args.out, "set_operators", "## `has any of` / `has all of` against `in` joined by `or`\n\n" + text)


if __name__ == "__main__":
    main()
