"""HTTP throughput and latency of `pdp serve`, beside a bare FastAPI ceiling, in one run.

    python bench/http/load.py [--duration 10] [--connections 32] [--out FILE]

Each server runs alone as one uvicorn worker; wrk (a second process, on
loopback) drives it. Reported: requests per second and the p50 / p99
latency wrk measured, for
  - the bare endpoint (returns a constant: the ceiling FastAPI allows here),
  - POST /v1/decide with a CX-ONE-GO request,
  - POST /v1/decide/batch with 100 requests a call (decisions per second).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))  # run as a script: make `bench` importable
HERE = Path(__file__).resolve().parent
REQUEST = ROOT / "examples" / "requests" / "promotional-email.json"


HEADING = """## The HTTP service

Throughput and latency of `pdp serve` (one uvicorn worker, decision log on,
as `pdp serve` runs by default) under load from `wrk` in a second process on
loopback, beside a bare FastAPI endpoint that returns a constant (the
ceiling this framework reaches on this machine), in the same run. wrk and
the server share the machine's 2 cores.

"""
NOTES = """Notes: the target is 80 % of the bare ceiling for `/v1/decide`. Each pdp
request parses and checks the body, decides (about 15 µs, above), commits
the decision to the SQLite log (group commit: the decisions of one event
loop turn share a transaction) and renders a response about 25 times
larger than the constant. The figures vary by several percent between runs
on this shared 2-core machine.
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(argv: list[str], url: str, env=None) -> subprocess.Popen:
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env={**os.environ, **(env or {})})
    for _ in range(300):
        try:
            httpx.get(url, timeout=0.5)
            return proc
        except httpx.TransportError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit(f"server did not start: {' '.join(argv)}\n{proc.stderr.read().decode()}")


def wrk(url: str, body_file: Path, duration: int, connections: int) -> dict:
    out = subprocess.run(["wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--latency", "-s", str(HERE / "post.lua"), url],
                         env={**os.environ, "BODY": str(body_file)}, capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if non2xx:
        raise SystemExit(f"{url}: {non2xx.group(1)} error responses:\n{out}")

    def pct(p):
        value, unit = re.search(rf"\s{p}%\s+([\d.]+)(us|ms|s)", out).groups()
        return float(value) * {"us": 1, "ms": 1000, "s": 1_000_000}[unit]

    return {"rps": rps, "p50_us": pct(50), "p99_us": pct(99)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--out")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is needed (Debian: apt-get install wrk)")

    tmp = Path(tempfile.mkdtemp())
    single = tmp / "single.json"
    single.write_text(REQUEST.read_text())
    batch = tmp / "batch.json"
    batch.write_text(json.dumps({"requests": [json.loads(REQUEST.read_text())] * 100}))
    results = {}

    port = free_port()
    bare = start([sys.executable, "-m", "uvicorn", "bench.http.bare_app:app", "--port", str(port), "--log-level", "warning",
                  "--no-access-log"], f"http://127.0.0.1:{port}/docs", env={"PYTHONPATH": str(ROOT)})
    try:
        results["bare FastAPI endpoint (constant)"] = wrk(f"http://127.0.0.1:{port}/const", single, args.duration, args.connections)
    finally:
        bare.terminate()
        bare.wait()

    port = free_port()
    log_dir = Path(tempfile.mkdtemp())
    pdp = start([sys.executable, "-m", "pdp.cli", "serve", str(ROOT / "policies"), "--port", str(port), "--log-level", "warning",
                 "--log", str(log_dir / "decisions.db")],
                f"http://127.0.0.1:{port}/health")
    try:
        results["pdp POST /v1/decide"] = wrk(f"http://127.0.0.1:{port}/v1/decide", single, args.duration, args.connections)
        b = wrk(f"http://127.0.0.1:{port}/v1/decide/batch", batch, args.duration, args.connections)
        results["pdp POST /v1/decide/batch (100 a call)"] = {**b, "decisions_per_s": b["rps"] * 100}
    finally:
        pdp.terminate()
        pdp.wait()

    port = free_port()
    unlogged = start([sys.executable, "-m", "pdp.cli", "serve", str(ROOT / "policies"), "--port", str(port),
                      "--log-level", "warning", "--no-log"], f"http://127.0.0.1:{port}/health")
    try:
        results["pdp POST /v1/decide, decision log off"] = wrk(f"http://127.0.0.1:{port}/v1/decide", single,
                                                               args.duration, args.connections)
    finally:
        unlogged.terminate()
        unlogged.wait()

    ceiling = results["bare FastAPI endpoint (constant)"]["rps"]
    lines = [
        f"Command: `python bench/http/load.py --duration {args.duration} --connections {args.connections}`"
        f" (wrk, 1 thread, {args.connections} connections, {args.duration} s each; one uvicorn worker per server)",
        "",
        "| endpoint | requests/s | decisions/s | p50 µs | p99 µs | share of the bare ceiling |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, r in results.items():
        decisions = r.get("decisions_per_s", r["rps"] if "pdp" in name else None)
        share = f"{100 * r['rps'] / ceiling:.0f} %" if "batch" not in name else "-"
        lines.append(f"| {name} | {r['rps']:,.0f} | {'-' if decisions is None else f'{decisions:,.0f}'} | "
                     f"{r['p50_us']:,.0f} | {r['p99_us']:,.0f} | {share} |")
    text = "\n".join(lines)
    print(text)
    if args.out:
        from bench.sections import write_section

        write_section(Path(args.out), "http", HEADING + text + "\n\n" + NOTES)


if __name__ == "__main__":
    main()
