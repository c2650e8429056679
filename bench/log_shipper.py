"""The combined decision log's shipper: its throughput, and what it costs the decision log's writer process.

    python bench/log_shipper.py [--rows 20000] [--group 32] [--rounds 3] [--batch 500] [--out docs/benchmarks.md]

On a throwaway PostgreSQL server (tests/support/postgres.py, fsync on, as a
real one runs) and the CX-ONE-GO request's rows:

- throughput: an outbox of `--rows` rows (written beforehand by the writer
  process) shipped by `log_shipper.Shipper` in this process, `--batch` rows a
  transaction, until the combined log holds them all; the shipper's CPU
  seconds (this process's user + system) and the wall time, which includes
  PostgreSQL's own work (its CPU is not counted here); the rows copied
  (`combined_log.COPIED`) and inserted with parameters (the plain path),
  alternately in each round;
- the writer's cost: bench/log_writer.py's run (the writer process handed
  `--rows` rows in groups of `--group`, each once the last is committed,
  its CPU measured), with the shipper's process shipping the same file to
  PostgreSQL as it is written, and without, alternately in each round; the
  medians of the writer's CPU seconds side by side, and the shipper
  process's CPU over the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run as a script: make `bench` and `tests` importable
KEY = b"k" * 32


def throughput(outbox_path: Path, url: str, batch: int, copied: bool = True) -> tuple[int, float, float]:
    """(rows shipped, the shipper's CPU seconds, wall seconds) of shipping the whole outbox once, its rows copied
    (`combined_log.COPIED`) or inserted with parameters (the plain path)."""
    from pdp.io import combined_log
    from pdp.io.combined_log import CombinedLog
    from pdp.io.decision_log import DecisionLog
    from pdp.io.log_shipper import Shipper

    combined_log.COPIED = copied
    with DecisionLog(outbox_path, pseudonym_key=KEY) as outbox, CombinedLog(url, pseudonym_key=KEY) as combined:
        shipper = Shipper(outbox, combined, "bench", batch=batch)
        cpu, wall = time.process_time(), time.perf_counter()
        while shipper.ship_once():
            pass
        return shipper.shipped, time.process_time() - cpu, time.perf_counter() - wall


def shipping_beside(url: str, spent: list[float]):
    """`run_writer`'s `beside`: the shipper's process on the writer's file; stopping it waits until it has shipped
    every row, then records its CPU seconds in `spent`."""
    from bench.http.load import cpu_seconds
    from pdp.io.combined_log import CombinedLog
    from pdp.io.decision_log import DecisionLog
    from pdp.io.log_shipper import ShipperProcess
    from sqlalchemy.exc import SQLAlchemyError

    def start(db: Path):
        outbox = DecisionLog(db, pseudonym_key=KEY)
        process = ShipperProcess(outbox, url, "bench")
        while True:  # its start (imports, connecting, migrating) is not counted: it is paid once, not a row
            try:
                CombinedLog(url, pseudonym_key=KEY, read_only=True).close()
                break
            except SQLAlchemyError:
                time.sleep(0.05)
        time.sleep(0.5)
        started = cpu_seconds(process.pid)

        def stop() -> None:
            with CombinedLog(url, pseudonym_key=KEY) as combined:
                name, _ = outbox.outbox()
                last = outbox.rows_after(0, 1 << 30)[-1][0]
                while combined.high_water(name) < last:
                    time.sleep(0.05)
            spent.append(cpu_seconds(process.pid) - started)
            process.close()
            outbox.close()

        return stop

    return start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--group", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch", type=int, default=500, help="rows a shipping transaction")
    parser.add_argument("--out", type=Path, help="write the table to this file's `log_shipper` section")
    args = parser.parse_args()
    from bench.log_writer import REQUEST, make_frames, run_writer
    from tests.support.postgres import start_cluster

    tmp = Path(tempfile.mkdtemp())
    opened, frames = make_frames(ROOT / "policies", [json.loads(REQUEST.read_text())], args.rows, args.group,
                                 tmp / "made.db")
    cluster = start_cluster(fsync=True)
    try:
        shipped: dict[bool, list[tuple[int, float, float]]] = {False: [], True: []}
        writer: dict[bool, list[float]] = {False: [], True: []}
        shipper_cpu: list[float] = []
        for round_ in range(args.rounds):
            for beside in ((False, True) if round_ % 2 == 0 else (True, False)):
                db = tmp / f"{round_}-{beside}.db"
                url = cluster.url()
                if beside:
                    cluster.execute(f"CREATE SCHEMA s{round_}")
                    url = cluster.url(f"s{round_}")
                writer[beside].append(run_writer(opened, frames[True], db, True,
                                                 shipping_beside(url, shipper_cpu) if beside else None))
                if not beside:  # the outbox the writer made alone, shipped alone: plain and copied, alternately
                    for copied in ((False, True) if round_ % 2 == 0 else (True, False)):
                        name = f"t_{uuid.uuid4().hex[:8]}"
                        cluster.execute(f"CREATE SCHEMA {name}")
                        shipped[copied].append(throughput(db, cluster.url(name), args.batch, copied))
    finally:
        cluster.stop()
    text = report(args, shipped, writer, shipper_cpu)
    print(text)
    if args.out:
        from bench.sections import write_section

        write_section(args.out, "log_shipper", text)


def report(args, shipped, writer, shipper_cpu) -> str:
    command = (f"python bench/log_shipper.py --rows {args.rows} --group {args.group} --rounds {args.rounds} "
               f"--batch {args.batch}")
    rows = shipped[True][0][0]
    cpu, plain_cpu = (statistics.median(s[1] for s in shipped[copied]) for copied in (True, False))
    wall, plain_wall = (statistics.median(s[2] for s in shipped[copied]) for copied in (True, False))
    alone, beside = statistics.median(writer[False]), statistics.median(writer[True])
    return "\n".join([
        "## The combined decision log's shipper",
        "",
        f"`{command} --out docs/benchmarks.md` (load average {os.getloadavg()[0]:.1f} at the end; a throwaway",
        "PostgreSQL server on the same machine, fsync on; the CX-ONE-GO request's rows; medians of the rounds).",
        "",
        "| what | figure |",
        "|---|---:|",
        f"| shipping {rows:,} rows, {args.batch} a transaction, copied (`COPIED`): rows per shipper CPU s (µs a row) "
        f"| {rows / cpu:,.0f} ({cpu / rows * 1e6:.1f}) |",
        f"| the same: rows per wall s (PostgreSQL's work included) | {rows / wall:,.0f} |",
        f"| the same, inserted with parameters (the plain path): rows per shipper CPU s (µs a row) "
        f"| {rows / plain_cpu:,.0f} ({plain_cpu / rows * 1e6:.1f}) |",
        f"| the same: rows per wall s | {rows / plain_wall:,.0f} |",
        f"| copying's gain in the shipper's CPU (plain / copied) | {plain_cpu / cpu:.2f}x |",
        f"| the writer process alone: CPU s for {args.rows:,} rows (µs a row) "
        f"| {alone:.2f} ({alone / args.rows * 1e6:.1f}) |",
        f"| the writer process, the shipper shipping its file meanwhile: CPU s (µs a row) "
        f"| {beside:.2f} ({beside / args.rows * 1e6:.1f}) |",
        f"| the writer's cost of the shipper (beside / alone) | {beside / alone:.2f}x |",
        f"| the shipper process over that run (from its first poll; its start apart): CPU s (µs a row) "
        f"| {statistics.median(shipper_cpu):.2f} ({statistics.median(shipper_cpu) / args.rows * 1e6:.1f}) |",
    ]) + "\n"


if __name__ == "__main__":
    main()
