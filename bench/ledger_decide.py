"""A decision that reads the consent ledger against one that does not, in-process, CPU time, side by side.

    python bench/ledger_decide.py [--subjects 200] [--decisions 5000] [--rounds 5] [--postgresql] [--out docs/benchmarks.md]

The CX-ONE-GO set (policies/, whose ledger.pdp declares what the ledger
fills) decides the same marketing request for --subjects people, each with a
few events in the ledger. Per round, the same requests are decided by:

- `plain`: `PolicySet.decide` on the same request saying, itself, what the
  ledger says of its subject (the same decisions, no ledger read);
- `ledger, warm`: `pdp.with_ledger` as it is by default: the subject's state
  kept, and its decisions remembered with it (pdp.engine.ledger_memo); on
  PostgreSQL a listener hears of new events (LISTEN/NOTIFY), on SQLite
  `PRAGMA data_version` is looked at at most every 5 ms (RECHECK_S);
- `memo off`: the same without the ledger memo (PDP_LEDGER_MEMO=false): each
  request filled, decided and its reasons citing their events, anew;
- `listener and data_version off`: the sequence number itself asked at most
  every 5 ms;
- `asked before every decision`: recheck 0 (PDP_LEDGER_RECHECK_MS=0, the
  default before the listener): on SQLite `PRAGMA data_version` every
  decision, on PostgreSQL the sequence number every decision;
- `ledger, no cache`: the subject's state read from the store every time;
- `each question new`: plain, memo on and memo off again, each request
  telling the person's age apart from every other of the run (an adult's:
  the same decision), so no memo has seen it: what a question never asked
  before costs (the ratio is to the plain decision of such requests).

Each is timed with `time.process_time` over its whole run of --decisions, the
variants interleaved round by round, and the median of the rounds kept; the
ratio is to `plain` of the same round. SQLite in a temporary file, and with
--postgresql a throwaway server (tests/support/postgres.py; its backend's CPU
is not counted: the figure is pdp's own; the listener's thread is counted, it
runs in this process). Nothing here is a test.
"""

from __future__ import annotations

import argparse
import os
import shlex
import statistics
import sys
import tempfile
import time
from contextlib import ExitStack
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

if __package__ in (None, ""):  # run as a script: python bench/ledger_decide.py
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.sections import publish  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
KEY = "bench ledger key, thirty-two byte"
NOTICE = {"version": "2026-11-24", "digest": "sha256:" + "ab" * 32}


def policy_set():
    """The CX-ONE-GO set as shipped: its ledger.pdp declares what the ledger fills."""
    import pdp

    loaded = pdp.load(ROOT / "policies")
    assert loaded.ledger_fills, "the shipped set declares no `ledger fills`"
    return loaded


def seed(ledger, subjects: int) -> list[str]:
    names = [f"bench-person-{i}@example.com" for i in range(subjects)]
    events = []
    for i, name in enumerate(names):
        base = {"subject": name, "method": "web_form", "actor": {"type": "person"}}
        events.append({**base, "kind": "consent.given" if i % 3 else "consent.withdrawn", "topic": "marketing",
                       "occurred_at": "2026-03-01T10:00:00Z", **({"notice": NOTICE} if i % 3 else {})})
        events.append({**base, "kind": "policy.accepted", "notice": NOTICE, "occurred_at": "2026-03-01T10:00:00Z"})
        if i % 5 == 0:
            events.append({**base, "kind": "objection.lodged", "occurred_at": "2026-03-02T10:00:00Z"})
    for start in range(0, len(events), 500):
        ledger.record_many(events[start:start + 500])
    return names


def request(subject: str) -> dict:
    return {"action": "use", "purpose": "marketing.communications.email",
            "data_categories": ["user.contact.email"],
            "data_subject": {"id": subject, "type": "customer", "age": 34, "country": "IN",
                             "consent": {"marketing": True}},
            "context": {"consented_to_current_version": True}}


def cpu_of(decide, requests: list[dict]) -> float:
    started = time.process_time()
    for r in requests:
        decide(r)
    return time.process_time() - started


def run(target: str, label: str, args) -> list[tuple[str, str, float, float]]:
    from pdp.io.ledger_reader import LedgerDecider, SubjectStates
    from pdp.ledger import open_ledger
    from pdp.ledger.fill import fill

    filled = policy_set()
    with open_ledger(target, key=KEY) as ledger:
        names = seed(ledger, args.subjects)
        requests = [request(names[i % len(names)]) for i in range(args.decisions)]
        # the same questions without the ledger: each request saying what the ledger says of its subject
        at = datetime.now(UTC)
        states = {name: ledger.state(name) for name in names}
        answered = {name: fill(request(name), states[name], filled.ledger_fills, at=at, version=filled.version)[0]
                    for name in names}
        prefilled = [answered[r["data_subject"]["id"]] for r in requests]
        default, unremembered = SubjectStates(ledger), SubjectStates(ledger, memo=False)
        # readers of their own for the new questions (below)
        new_remembered, new_unremembered = SubjectStates(ledger), SubjectStates(ledger, memo=False)
        if ledger.engine.url.get_backend_name() == "postgresql":
            listening_by = time.monotonic() + 30
            while not all(s.listening for s in (default, unremembered, new_remembered, new_unremembered)) \
                    and time.monotonic() < listening_by:
                time.sleep(0.01)
        variants = {
            "plain (no ledger)": (filled.decide, prefilled),
            "ledger, warm (the default: the ledger memo on; listener on PostgreSQL, data_version every 5 ms on "
            "SQLite)": (LedgerDecider(filled, default).decide, requests),
            "ledger, warm, memo off (PDP_LEDGER_MEMO=false: filled, decided and cited every time)": (
                LedgerDecider(filled, unremembered).decide, requests),
            "ledger, warm (listener and data_version off: sequence number asked every 5 ms)": (
                LedgerDecider(filled, SubjectStates(ledger, watch=False, listen=False)).decide, requests),
            "ledger, warm (asked before every decision: recheck 0, the default before)": (
                LedgerDecider(filled, SubjectStates(ledger, recheck_s=0)).decide, requests),
            "ledger, no cache (state read every decision)": (
                LedgerDecider(filled, SubjectStates(ledger, cache=False)).decide, requests),
        }
        # each question new: a person's age told apart in every request of every round, so that neither the
        # engine's request memo nor the ledger memo has seen it (each pays for its key and remembers in vain)
        # (each variant its own ages: the engine's memo must not have seen them either; and a set and readers of
        # their own, so that these questions do not push the others' answers out of the memos)
        apart = policy_set()
        new_questions = {
            NEW + "plain (no ledger)": (apart.decide, partial(fresh, prefilled, 0)),
            NEW + "ledger, warm, memo on": (LedgerDecider(apart, new_remembered).decide, partial(fresh, requests, 1)),
            NEW + "ledger, warm, memo off": (LedgerDecider(apart, new_unremembered).decide,
                                             partial(fresh, requests, 2)),
        }
        for decide, asked in variants.values():  # warm: every subject's state kept, the statements built
            cpu_of(decide, asked[: len(names)])
        times: dict[str, list[float]] = {name: [] for name in [*variants, *new_questions]}
        ratios: dict[str, list[float]] = {name: [] for name in times}
        for n in range(args.rounds):
            measured = {name: cpu_of(decide, asked) for name, (decide, asked) in variants.items()}
            asked_new = {name: (decide, make(n)) for name, (decide, make) in new_questions.items()}
            measured |= {name: cpu_of(decide, asked) for name, (decide, asked) in asked_new.items()}
            base, new_base = measured["plain (no ledger)"], measured[NEW + "plain (no ledger)"]
            for name, seconds in measured.items():
                times[name].append(seconds)
                ratios[name].append(seconds / (new_base if name.startswith(NEW) else base))
    return [(label, name, statistics.median(times[name]) / args.decisions * 1e6, statistics.median(ratios[name]))
            for name in times]


NEW = "each question new: "


def fresh(asked: list[dict], variant: int, round_: int) -> list[dict]:
    """`asked`, each with an age no other request of the run has (an adult's: the decision is the same)."""
    return [{**r, "data_subject": {**r["data_subject"], "age": 18 + ((round_ * 3 + variant) * 100_000 + i) / 1e5}}
            for i, r in enumerate(asked)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--subjects", type=int, default=200)
    parser.add_argument("--decisions", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--postgresql", action="store_true", help="also on a throwaway PostgreSQL server")
    parser.add_argument("--out", type=Path, help="write the table to this file's `ledger_decide` section")
    args = parser.parse_args()
    rows = []
    load_before = os.getloadavg()[0]
    with ExitStack() as stack:
        directory = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        rows += run(str(directory / "ledger.db"), "SQLite (file, WAL)", args)
        if args.postgresql:
            from tests.support.postgres import start_cluster

            cluster = start_cluster()
            stack.callback(cluster.stop)
            with cluster.schema() as url:
                rows += run(url, "PostgreSQL (local)", args)
    command = "python bench/ledger_decide.py " + shlex.join(sys.argv[1:])
    lines = ["## Decisions that read the consent ledger", "",
             f"`{command}` on this shared 2-core machine (load average {load_before:.1f} before, "
             f"{os.getloadavg()[0]:.1f} after; CPU time of this process, `time.process_time`; the "
             f"median of {args.rounds} rounds of {args.decisions:,} decisions for {args.subjects} subjects, the "
             "variants interleaved round by round; the ratio is to `plain` of the same round). The CX-ONE-GO set "
             "as shipped (its ledger.pdp declares what the ledger fills); the request names its data subject.", "",
             "| backend | how | µs CPU / decision | x plain |", "|---|---|---:|---:|"]
    lines += [f"| {label} | {name} | {us:,.1f} | {ratio:.2f} |" for label, name, us, ratio in rows]
    publish(lines, "bench/ledger_decide.py", args.out, "ledger_decide")


if __name__ == "__main__":
    main()
