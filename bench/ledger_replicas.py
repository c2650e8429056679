"""How long an event recorded through one replica takes to reach another's decisions without a token.

    python bench/ledger_replicas.py [--events 50] [--out docs/benchmarks.md]

Two real `pdp serve` replicas (tests/support/replicas.py) of the CX-ONE-GO set
share one ledger. Per event: replica B decides a person's marketing request
(allowed: consent given; B keeps the person's state), then a withdrawal is
recorded through replica A, and from the moment A's receipt arrives B is
asked the same request, without the token, again and again until it denies.
The delay is the wall time from A's receipt to the sending of the request
that B first denies (B asked back to back: the delay is known to within one
HTTP round trip, 0 when B's very first answer is already a deny). Median and p99 over --events events, for:

- PostgreSQL with the listener (the default: LISTEN/NOTIFY);
- PostgreSQL without it (PDP_LEDGER_LISTEN=false): the sequence number polled
  at most every PDP_LEDGER_RECHECK_MS (5 ms);
- SQLite, both replicas on one host and one file: `PRAGMA data_version` at most
  every 5 ms.

While it is asked, replica B also decides another person's requests back to
back, as a replica in service does (so the recheck period is what bounds a
look at the ledger, not B's idleness).

A wall-clock figure by nature (a delay), on a shared machine: read it with the
load average given. Nothing here is a test; tests/server/test_ledger_replicas.py
proves the behaviour.
"""

from __future__ import annotations

import argparse
import os
import shlex
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

if __package__ in (None, ""):  # run as a script: python bench/ledger_replicas.py
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.ledger_decide import KEY, NOTICE, ROOT, request  # noqa: E402
from bench.sections import publish  # noqa: E402

TOKEN = "bench-replicas-token-read-write-0123456789"


def event(kind: str, subject: str, day: int) -> dict:
    return {"kind": kind, "subject": subject, "method": "web_form", "actor": {"type": "person"},
            "occurred_at": f"2026-03-{day:02d}T10:00:00Z",
            **({"topic": "marketing"} if kind.startswith("consent.") else {}),
            **({"notice": NOTICE} if kind in ("consent.given", "policy.accepted") else {})}


def delays(target: str, environment: dict[str, str], events: int, directory: Path) -> list[float]:
    import httpx

    from pdp.ledger import open_ledger
    from tests.support.replicas import PATIENCE_S, serving

    open_ledger(target, key=KEY).close()  # made first, as `pdp consent init`
    tokens = directory / "tokens"
    tokens.write_text(f"read,write {TOKEN}\n")
    tokens.chmod(0o600)
    env = {"PDP_LEDGER_KEY": KEY, "PDP_LEDGER_TOKENS_FILE": str(tokens), **environment}
    found = []
    with serving(2, ROOT / "policies", target, directory, env) as (a_url, b_url), \
            httpx.Client(base_url=a_url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30) as a, \
            httpx.Client(base_url=b_url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30) as b, \
            busy(b_url):
        for n in range(events):
            subject = f"replica-person-{n}-{os.urandom(4).hex()}@example.com"
            seq = a.post("/v1/ledger/events/batch", json={"events": [
                event("consent.given", subject, 1), event("policy.accepted", subject, 1)]}).json()
            asked = request(subject)
            assert b.post("/v1/decide", json={**asked, "ledger_seq": seq["seq"]}).json()["decision"] == "allow"
            assert b.post("/v1/decide", json=asked).json()["decision"] == "allow"  # B keeps the state now
            withdrawn = a.post("/v1/ledger/events", json=event("consent.withdrawn", subject, 2))
            assert withdrawn.status_code == 200, withdrawn.text
            recorded = time.perf_counter()
            first = True
            while True:  # asked back to back: the delay is known to within one round trip
                sent = time.perf_counter()
                if b.post("/v1/decide", json=asked).json()["decision"] == "deny":
                    break
                assert sent - recorded < PATIENCE_S, "replica B never applied the withdrawal"
                first = False
            found.append(0.0 if first else sent - recorded)
    return found


@contextmanager
def busy(base: str) -> Iterator[None]:
    """Replica B deciding another person's requests back to back meanwhile, as a replica in service does: its
    kept states are then in use, and a look at the ledger is due only every recheck period."""
    import httpx

    stop = threading.Event()

    def load() -> None:
        with httpx.Client(base_url=base, timeout=30) as client:
            while not stop.is_set():
                client.post("/v1/decide", json=request("someone-else@example.com"))

    worker = threading.Thread(target=load, daemon=True)
    worker.start()
    try:
        yield
    finally:
        stop.set()
        worker.join(30)


def p99(values: list[float]) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[98] if len(values) >= 2 else values[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=50)
    parser.add_argument("--out", type=Path, help="write the table to this file's `ledger_replicas` section")
    args = parser.parse_args()
    from tests.support.postgres import start_cluster

    rows = []
    load_before = os.getloadavg()[0]
    with ExitStack() as stack:
        directory = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        cluster = start_cluster()
        stack.callback(cluster.stop)
        runs = [("PostgreSQL, listener (the default)", {}),
                ("PostgreSQL, listener off (polled every 5 ms)", {"PDP_LEDGER_LISTEN": "false"})]
        for label, environment in runs:
            with cluster.schema() as url:
                (directory / label[:10]).mkdir(exist_ok=True)
                rows.append((label, delays(url, environment, args.events, directory / label[:10])))
        (directory / "sqlite").mkdir()
        rows.append(("SQLite, one file on one host (data_version every 5 ms)",
                     delays(str(directory / "sqlite" / "ledger.db"), {}, args.events, directory / "sqlite")))
    load_after = os.getloadavg()[0]
    command = "python bench/ledger_replicas.py " + shlex.join(sys.argv[1:])
    lines = ["## Replica propagation delay without a token", "",
             f"`{command}` on this shared 2-core machine (load average {load_before:.1f} before, {load_after:.1f} "
             f"after): {args.events} events each, the wall time from replica A's receipt of a withdrawal to the "
             "sending of the request, without its token, that replica B first denies (B asked back to back over "
             "HTTP: known to within one round trip; 0 when B's first answer is a deny).", "",
             "| ledger | median ms | p99 ms | max ms | first answer already a deny |", "|---|---:|---:|---:|---:|"]
    lines += [f"| {label} | {statistics.median(v) * 1e3:.1f} | {p99(v) * 1e3:.1f} | {max(v) * 1e3:.1f} | "
              f"{sum(1 for d in v if d == 0.0)}/{len(v)} |" for label, v in rows]
    publish(lines, "bench/ledger_replicas.py", args.out, "ledger_replicas")


if __name__ == "__main__":
    main()
