"""CPU time per request of pdp's app itself, without sockets or HTTP parsing, and where it goes.

    python bench/http/app_cost.py [--requests 20000] [--concurrency 32] [--profile cprofile|pyinstrument]

Builds the app as `pdp serve` does (`create_app`), runs its lifespan, and
calls it as uvicorn would (an ASGI scope, the body in one message) from
`--concurrency` tasks in one event loop, so that decisions share the
decision log's commits as they do under load. Reported: CPU microseconds
per request of the whole process (every thread, and the decision log's
writer process), with the decision log on and off,
for a CX-ONE-GO request and for the benchmark policy's seeded requests.
CPU time is what the other processes of a shared machine disturb least;
the HTTP figures (bench/http/load.py) add uvicorn's protocol, the kernel's
sockets and wrk.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))  # run as a script: make `bench` importable
REQUEST = ROOT / "examples" / "requests" / "promotional-email.json"


def scope_for(path: str, body: bytes) -> dict:
    return {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
            "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
            "headers": [(b"host", b"127.0.0.1:8181"), (b"content-type", b"application/json"),
                        (b"content-length", str(len(body)).encode())],
            "server": ("127.0.0.1", 8181), "client": ("127.0.0.1", 50000), "state": {}}


async def _one(app, path: str, body: bytes) -> int:
    status = 0

    async def receive():
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message):
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(scope_for(path, body), receive, send)
    return status


async def drive(app, bodies: list[bytes], requests: int, concurrency: int,
                path: str = "/v1/decide") -> tuple[float, float]:
    """CPU seconds per request (the whole process, the event loop's thread), `requests` spread over `concurrency`
    tasks, after a warm-up."""
    counter = iter(range(requests))

    async def client(first: int):
        for number in counter:
            status = await _one(app, path, bodies[(first + number) % len(bodies)])
            if status != 200:
                raise SystemExit(f"request {number} answered {status}")

    await asyncio.gather(*(_one(app, path, body) for body in bodies[:concurrency]))  # warm-up
    started, loop_started = own_cpu(), time.thread_time()
    await asyncio.gather(*(client(n) for n in range(concurrency)))
    return (own_cpu() - started) / requests, (time.thread_time() - loop_started) / requests


def own_cpu() -> float:
    """CPU seconds of this process and of its children (the decision log's writer process) so far."""
    from bench.http.load import children, cpu_seconds

    return time.process_time() + sum(cpu_seconds(child) for child in children(os.getpid()))


def build(policy_dir: Path, log_path: Path | None):
    from pdp.server import Settings, create_app

    return create_app(Settings(policy_dir=policy_dir, log_path=log_path, reload=False))


async def measure(policy_dir: Path, bodies: list[bytes], log_path: Path | None, requests: int,
                  concurrency: int) -> tuple[float, float]:
    app = build(policy_dir, log_path)
    async with app.router.lifespan_context(app):
        return await drive(app, bodies, requests, concurrency)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--profile", choices=("cprofile", "pyinstrument"))
    parser.add_argument("--only", choices=("cx", "seeded"))
    parser.add_argument("--no-log", action="store_true", help="with --profile: the decision log off")
    args = parser.parse_args()
    from bench.workload import make_requests

    tmp = Path(tempfile.mkdtemp())
    os.environ.setdefault("PDP_LOG_KEY", "k" * 32)
    cases = {
        "cx": (ROOT / "policies", [json.dumps(json.loads(REQUEST.read_text())).encode()]),
        "seeded": (ROOT / "bench" / "policy", [json.dumps(r).encode() for r in make_requests(1000)]),
    }
    if args.only:
        cases = {args.only: cases[args.only]}
    if args.profile:
        [(name, (policy_dir, bodies))] = list(cases.items())[:1]
        log_path = None if args.no_log else tmp / f"{name}.db"
        profile(args.profile, lambda: measure(policy_dir, bodies, log_path, args.requests, args.concurrency))
        return
    for name, (policy_dir, bodies) in cases.items():
        logged, logged_loop = asyncio.run(measure(policy_dir, bodies, tmp / f"{name}.db", args.requests, args.concurrency))
        unlogged, unlogged_loop = asyncio.run(measure(policy_dir, bodies, None, args.requests, args.concurrency))
        print(f"{name}: µs of CPU a request, the whole process and its log writer (the event loop's thread): decision log on "
              f"{logged * 1e6:.1f} ({logged_loop * 1e6:.1f}), off {unlogged * 1e6:.1f} ({unlogged_loop * 1e6:.1f}); "
              f"the log costs the event loop {(logged_loop - unlogged_loop) * 1e6:.1f} µs, "
              f"{100 * (1 - unlogged_loop / logged_loop):.0f} % of its time")


def profile(kind: str, run) -> None:
    if kind == "cprofile":
        import cProfile
        import pstats

        profiler = cProfile.Profile()
        profiler.enable()
        asyncio.run(run())
        profiler.disable()
        pstats.Stats(profiler).sort_stats("tottime").print_stats(40)
    else:
        from pyinstrument import Profiler

        with Profiler(async_mode="disabled") as profiler:
            asyncio.run(run())
        print(profiler.output_text(unicode=True, color=False, show_all=False))


if __name__ == "__main__":
    main()
