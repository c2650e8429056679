"""Rows per CPU second of the decision log's writer process, with its optimisations off and on, side by side.

    python bench/log_writer.py [--rows 20000] [--group 32] [--rounds 5] [--profile] [--out docs/benchmarks.md]

A writer process (`python -m pdp.io.log_process`, as `pdp serve` starts
it) is handed frames made beforehand, as `pdp serve` hands them over: an
`open`, the policy set's `selection`, then `rows` in groups of `--group`
(request, answer, endpoint, selection name), each group sent once the
last one is committed (one commit a group, as under a steady load). Its
CPU time from its `ready` to the last commit is what is measured:
decoding the frames, each row's logged view (`log_view`), the JSON text,
the insert and the commit of each group into a fresh SQLite file
(`synchronous=NORMAL`, as `pdp serve` runs it). The answers are made
beforehand by the engine and are not counted.

Two cases, as bench/http/load.py has them: the CX-ONE-GO request
(examples/requests, policies/) and the benchmark policy's 1,000 seeded
requests (bench/policy). Each round runs the plain path (every switch of
`pdp.io.log_view`, `pdp.io.decision_log` and `pdp.io.log_process` off)
and the optimised one (all on), alternately, on the same frames; reported
are the medians of the writer's CPU seconds (user + system, /proc: what
other processes of a shared machine disturb least; read in clock ticks,
hence the rows) and their ratio. The optimised writer is handed what the
server hands it with its own optimisations on: each answer as the fields
its row keeps, kept per outcome (`pdp.server.deciding.Answers`,
`audit.PROJECTED_ANSWERS`); the plain one, each answer whole. Each run
checks that both paths stored the same rows, byte for byte.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run as a script: make `bench` importable
REQUEST = ROOT / "examples" / "requests" / "promotional-email.json"
KEY = b"k" * 32


def make_frames(policy_dir: Path, requests: list[dict], rows: int, group: int, db: Path
                ) -> tuple[dict, dict[bool, list[bytes]]]:
    """(the `open` frame's arguments, the frames after it, a group of rows each) that `pdp serve` would hand its
    writer for `rows` decisions of `requests` (cycled): by the optimised path (True: each answer as what its row
    keeps, `deciding.Answers` and `audit.PROJECTED_ANSWERS`) and by the plain one (False: each answer whole). The
    same decisions, so both store the same rows."""
    import pdp
    from pdp.io.decision_log import DecisionLog
    from pdp.io.log_process import frame, open_arguments, selection_json
    from pdp.io.log_view import selection_of
    from pdp.server.deciding import Answers

    policy_set = pdp.load(str(policy_dir))
    with DecisionLog(db, pseudonym_key=KEY) as decision_log:
        arguments = open_arguments(decision_log)
    db.unlink()
    answers = Answers()
    out: dict[bool, list[bytes]] = {}
    decided = []
    for number in range(rows):
        request = requests[number % len(requests)]
        answer, _, fields = answers.of(policy_set.decide(request))
        decided.append((request, answer, fields))
    for optimised in (False, True):
        out[optimised] = made = [frame(["selection", 0, selection_json(selection_of(policy_set))])]
        for at in range(0, rows, group):
            batch = [[request, fields if optimised and fields is not None else answer, "/v1/decide", 0]
                     for request, answer, fields in decided[at:at + group]]
            made.append(frame(["rows", len(made), batch]))
    return arguments, out


def configure(optimised: bool) -> None:
    """Every switch of the writer's optimisations off (the plain path) or on."""
    from pdp.io import decision_log, log_process, log_view

    for module in (log_view, decision_log, log_process):
        for name in getattr(module, "SWITCHES", ()):
            setattr(module, name, optimised)


def run_writer(opened: dict, frames: list[bytes], db: Path, optimised: bool, beside=None) -> float:
    """CPU seconds of a writer process (`python -m pdp.io.log_process`, the optimisations `optimised`) logging
    `frames` into `db`, handed over one at a time, each after the last one's commit. `beside(db)`, called once the
    log is open, starts what runs beside the writer (bench/log_shipper.py: the shipper) and returns what stops it."""
    from bench.http.load import cpu_seconds
    from pdp.io.log_process import frame, frames as decoded

    code = (f"import sys; sys.path.insert(0, {str(ROOT)!r}); from bench.log_writer import configure; "
            f"configure({optimised}); from pdp.io.log_process import main; main()")
    proc = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert proc.stdin is not None and proc.stdout is not None
    inbox = bytearray()

    def send_and_wait(data: bytes) -> list:
        proc.stdin.write(data)  # type: ignore[union-attr]
        proc.stdin.flush()  # type: ignore[union-attr]
        while True:
            got = list(decoded(inbox))
            if got:
                return got
            chunk = os.read(proc.stdout.fileno(), 1 << 16)  # type: ignore[union-attr]
            if not chunk:
                raise SystemExit("the writer process stopped")
            inbox.extend(chunk)

    try:
        if send_and_wait(frame(["open", {**opened, "path": str(db)}])) != [["ready"]]:
            raise SystemExit("the writer process did not open the log")
        stop = beside(db) if beside is not None else None
        started = cpu_seconds(proc.pid)
        proc.stdin.write(frames[0])  # the selection: no acknowledgement
        for data in frames[1:]:
            [[kind, *_, error]] = send_and_wait(data)
            if kind != "done" or error is not None:
                raise SystemExit(f"the writer process refused a group: {error}")
        spent = cpu_seconds(proc.pid) - started
        if stop is not None:
            stop()
    finally:
        proc.stdin.close()
        proc.wait()
    return spent


def stored(db: Path) -> list[tuple]:
    """The rows of a log, without the time of their commit (which differs between two runs)."""
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT decision_id, endpoint, decision, rules, policy_digest, request, people "
                            "FROM decisions ORDER BY rowid").fetchall()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--group", type=int, default=32, help="rows a frame (a loop turn's decisions)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--profile", action="store_true", help="cProfile of the optimised writer, seeded case")
    parser.add_argument("--out", type=Path, help="write the table to this file's `log_writer` section")
    args = parser.parse_args()
    from bench.workload import make_requests

    tmp = Path(tempfile.mkdtemp())
    cases = {
        "CX-ONE-GO request": (ROOT / "policies", [json.loads(REQUEST.read_text())]),
        "benchmark policy, 1,000 seeded requests": (ROOT / "bench" / "policy", make_requests(1000)),
    }
    results = []
    for number, (name, (policy_dir, requests)) in enumerate(cases.items()):
        opened, frames = make_frames(policy_dir, requests, args.rows, args.group, tmp / "made.db")
        if args.profile:
            if number == 0:
                continue
            profile(opened, frames[True], tmp)
            return
        seconds: dict[bool, list[float]] = {False: [], True: []}
        last: dict[bool, Path] = {}
        for round_ in range(args.rounds):
            for optimised in ((False, True) if round_ % 2 == 0 else (True, False)):
                db = tmp / f"{number}-{round_}-{optimised}.db"
                seconds[optimised].append(run_writer(opened, frames[optimised], db, optimised))
                last[optimised] = db
        if stored(last[False]) != stored(last[True]):
            raise SystemExit(f"{name}: the optimised writer stored other rows than the plain one")
        plain, fast = statistics.median(seconds[False]), statistics.median(seconds[True])
        results.append((name, plain, fast))
    text = report(results, args)
    print(text)
    if args.out:
        from bench.sections import write_section

        write_section(args.out, "log_writer", text)


def report(results: list[tuple[str, float, float]], args) -> str:
    command = "python bench/log_writer.py" + "".join(
        f" --{name} {value}" for name, value in (("rows", args.rows), ("group", args.group), ("rounds", args.rounds)))
    lines = [
        "## The decision log's writer",
        "",
        f"CPU per row of the decision log's writer process (`{command} --out docs/benchmarks.md`,",
        f"load average {os.getloadavg()[0]:.1f} at the end): {args.rows:,} rows handed over in groups of {args.group},",
        "each group once the last is committed; the writer's user + system CPU from its `ready` to the last",
        "commit (frames decoded, rows viewed, encoded, inserted, committed), median of"
        f" {args.rounds} rounds, the plain path (every",
        "switch of `log_view`, `decision_log` off) and the optimised one alternately, from the same decisions: the",
        "plain writer handed each answer whole, the optimised one what its row keeps of it, as `pdp serve` hands it",
        "now (`deciding.Answers`, `audit.PROJECTED_ANSWERS`). Both stored the same rows, byte for byte (the commit",
        "time aside).",
        "",
        "| case | plain: rows per CPU s (µs a row) | optimised: rows per CPU s (µs a row) | speed-up |",
        "|---|---:|---:|---:|",
    ]
    for name, plain, fast in results:
        lines.append(f"| {name} | {args.rows / plain:,.0f} ({plain / args.rows * 1e6:.1f}) "
                     f"| {args.rows / fast:,.0f} ({fast / args.rows * 1e6:.1f}) | {plain / fast:.2f}x |")
    return "\n".join(lines) + "\n"


def profile(opened: dict, frames: list[bytes], tmp: Path) -> None:
    """cProfile of the optimised writer in this process, reading the frames from a file (all at once: fewer
    commits than when they come one group at a time)."""
    import cProfile
    import pstats

    from pdp.io.log_process import frame, serve

    path = tmp / "profiled.frames"
    path.write_bytes(frame(["open", {**opened, "path": str(tmp / "profiled.db")}]) + b"".join(frames))
    read_fd, acks = os.open(path, os.O_RDONLY), os.open(os.devnull, os.O_WRONLY)
    profiler = cProfile.Profile()
    profiler.enable()
    serve(read_fd, acks)
    profiler.disable()
    pstats.Stats(profiler).sort_stats("tottime").print_stats(30)


if __name__ == "__main__":
    main()
