"""Consent ledger writes per second: single events and batches, on SQLite and on PostgreSQL.

    python bench/ledger.py [--events 2000] [--batch 100] [--subjects 200] [--out docs/benchmarks.md]

Each backend gets a new ledger: SQLite in a temporary file (WAL,
`synchronous=NORMAL`, as the store opens it), PostgreSQL on a throwaway server
started for the run (tests/support/postgres.py) with its durable defaults
(`fsync=on`, `synchronous_commit=on`). The same events are recorded twice
over, into fresh subjects: one `record` per event (a transaction each), and
`record_many` in batches of --batch (a transaction per batch). Events cycle
over --subjects subjects and over the kinds, each with a client event id (so
each write checks idempotency), sealed identifying fields and a chain link.

Three figures per row: events per second of wall time (what a client sees;
on this shared machine the noisiest), and per second of CPU, the client's
(`time.process_time`) alone and with the PostgreSQL backend's that served it
(its /proc/PID/stat user and system time, read before and after), since the
other helpers' load counts less in CPU time than in wall time. Nothing here
is a test.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import tempfile
import time
import uuid
from pathlib import Path

if __package__ in (None, ""):  # run as a script: python bench/ledger.py
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.sections import write_section  # noqa: E402

KEY = "bench ledger key, thirty-two byte"
KINDS = ["consent.given", "marketing.opted_out", "consent.withdrawn", "gpc.signalled", "policy.accepted",
         "objection.lodged", "marketing.opted_in", "restriction.applied"]
NOTICE = {"version": "2026-11-24", "digest": "sha256:" + "ab" * 32}


def events(count: int, subjects: int, run: str) -> list[dict]:
    out = []
    for i in range(count):
        kind = KINDS[i % len(KINDS)]
        event = {"kind": kind, "subject": f"{run}-person-{i % subjects}@example.com", "method": "web_form",
                 "occurred_at": f"2026-03-01T{(i // 3600) % 24:02d}:{(i // 60) % 60:02d}:{i % 60:02d}Z",
                 "actor": {"type": "person"}, "client_event_id": f"{run}-{i}", "collection_point": "signup v3",
                 "evidence": {"ip": "192.0.2.1"}}
        if kind.startswith("consent."):
            event["topic"] = "marketing"
        if kind.startswith("marketing."):
            event["channel"] = "email"
        if kind in ("consent.given", "policy.accepted"):
            event["notice"] = NOTICE
        out.append(event)
    return out


def backend_cpu(ledger) -> float | None:
    """CPU seconds the PostgreSQL backend of the ledger's connection has used (None on SQLite)."""
    if ledger.engine.dialect.name != "postgresql":
        return None
    from sqlalchemy import text

    with ledger.engine.connect() as connection:
        pid = connection.execute(text("SELECT pg_backend_pid()")).scalar()
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(ledger, batch: list[dict], size: int) -> dict:
    """Record `batch` one event per transaction (size 1) or in batches of `size`; rates over wall and CPU."""
    ledger.record(batch[0])  # the connection opened, the backend warm; not counted
    rest = batch[1:]
    server0 = backend_cpu(ledger)
    wall0, cpu0 = time.perf_counter(), time.process_time()
    if size == 1:
        for event in rest:
            ledger.record(event)
    else:
        for start in range(0, len(rest), size):
            ledger.record_many(rest[start:start + size])
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    server = backend_cpu(ledger)
    server_cpu = (server - server0) if server is not None and server0 is not None else 0.0
    return {"events": len(rest), "wall": len(rest) / wall, "cpu": len(rest) / cpu,
            "cpu_all": len(rest) / (cpu + server_cpu)}


def run(target: str, label: str, args) -> list[tuple[str, str, dict]]:
    from pdp.ledger import open_ledger

    rows = []
    with open_ledger(target, key=KEY) as ledger:
        ledger.engine.pool.dispose()
        for size, name in ((1, "single (`record`)"), (args.batch, f"batches of {args.batch} (`record_many`)")):
            found = measure(ledger, events(args.events + 1, args.subjects, uuid.uuid4().hex[:8]), size)
            assert ledger.verify().ok
            rows.append((label, name, found))
            print(label, name, {k: round(v) for k, v in found.items()}, flush=True)
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--subjects", type=int, default=200)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    from tests.support.postgres import start_cluster

    rows = []
    with tempfile.TemporaryDirectory() as directory:
        rows += run(str(Path(directory) / "ledger.db"), "SQLite (file, WAL)", args)
    cluster = start_cluster(fsync=True)
    try:
        rows += run(cluster.url(), "PostgreSQL (local, fsync on)", args)
    finally:
        cluster.stop()
    if args.out:
        write_section(args.out, "ledger", report(rows, args, argv if argv is not None else sys.argv[1:]))
    return 0


def report(rows, args, argv) -> str:
    command = "python bench/ledger.py " + " ".join(shlex.quote(a) for a in argv)
    table = ["| backend | how | events | events/s (wall) | events/s (client CPU) | events/s (client + server CPU) |",
             "|---|---|---:|---:|---:|---:|"]
    table += [f"| {label} | {name} | {r['events']:,} | {r['wall']:,.0f} | {r['cpu']:,.0f} | {r['cpu_all']:,.0f} |"
              for label, name, r in rows]
    return "\n".join([
        "## Consent ledger writes",
        "",
        f"`{command.strip()}` on this shared 2-core machine. Each event is one of {len(KINDS)} kinds, for "
        f"{args.subjects} subjects, with a client event id (checked for idempotency), its identifying fields "
        "sealed under its subject's key, its chain link and its fact in the state table, all in the "
        "transaction that records it. SQLite: a file in WAL mode, `synchronous=NORMAL` (a commit is not "
        "fsynced; a power cut may lose the last commits, never corrupt). PostgreSQL: a local server started "
        "for the run with its durable defaults (`fsync=on`, `synchronous_commit=on`: every commit waits for "
        "its WAL flush), reached over loopback TCP. Server CPU: the PostgreSQL backend process that served "
        "the connection (`/proc/PID/stat`).",
        "",
        *table,
        "",
        "Every write takes the ledger's one sequence row first (the token a read-your-writes request will "
        "carry must mean \"every event up to N\"), so writes are serialised; a batch pays that, the "
        "transaction and the commit once for all its events. `bench/ledger.py` writes this section.",
    ])


if __name__ == "__main__":
    raise SystemExit(main())
