"""CPU time per request of pdp's app itself, without sockets or HTTP parsing, and where it goes.

    python bench/http/app_cost.py [--requests 20000] [--concurrency 32] [--via direct|protocol|app]
                                  [--rounds 1] [--loop uvloop|asyncio] [--profile cprofile|pyinstrument]
                                  [--beside-busy] [--switch MODULE.NAME]

Builds the app as `pdp serve` does (`create_app`), runs its lifespan, and
sends it requests from `--concurrency` connections at once, so that
decisions share the decision log's commits as they do under load: by
default through uvicorn's httptools protocol with pdp's connection guard and
direct path, as `pdp serve` runs (raw HTTP bytes in, no socket), or
without the direct path (`--via protocol`), or calling the ASGI app itself
(`--via app`: an ASGI scope, the body in one message). Reported: CPU microseconds
per request of the whole process (every thread, and the decision log's
writer process), with the decision log on and off (medians of `--rounds`,
on and off alternately), for a CX-ONE-GO request and for the benchmark
policy's seeded requests, on uvloop's event loop as `pdp serve` runs
(uvicorn's choice when uvloop is installed) unless `--loop asyncio`.
`--beside-busy` measures instead, with the decision log off, the event loop's
CPU per request alone and beside a process that only burns CPU (on a
machine of two cores, the other one): the share of the log's cost on the
event loop that comes from its writer process running beside it, not from
work the loop does.
`--switch pdp.server.app_state.MIRRORED` measures instead, with the decision
log on, the event loop's CPU per request with that optimisation's switch on
and off, interleaved round by round (medians of `--rounds`): each fast path's
gain, side by side in one run (`MODULE.SWITCHES`: every switch the module
lists, together).
CPU time is what the other processes of a shared machine disturb least;
the HTTP figures (bench/http/load.py) add uvicorn's protocol, the kernel's
sockets and wrk.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import subprocess
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
                  concurrency: int, via: str = "app") -> tuple[float, float]:
    """CPU per request (`drive`), calling the ASGI app (`via="app"`) or through uvicorn's protocol with the
    direct path (`"direct"`) or without it (`"protocol"`)."""
    app = build(policy_dir, log_path)
    async with app.router.lifespan_context(app):
        if via == "app":
            return await drive(app, bodies, requests, concurrency)
        return await drive_protocol(app, bodies, requests, concurrency, direct=via == "direct")


class _Transport:
    """The socket's end of uvicorn's protocol: keeps nothing, tells `answered` when a response is written."""

    def __init__(self, answered):
        self.answered, self.closed = answered, False

    def write(self, data: bytes) -> None:
        if data.startswith(b"HTTP/1.1 "):
            status = int(data[9:12])
            if status != 200:
                raise SystemExit(f"answered {status}: {data[:300]!r}")
            self.answered()

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    def get_extra_info(self, name, default=None):
        return {"sockname": ("127.0.0.1", 8181), "peername": ("127.0.0.1", 50000)}.get(name, default)

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


async def drive_protocol(app, bodies: list[bytes], requests: int, concurrency: int, direct: bool) -> tuple[float, float]:
    """`drive`, through uvicorn's httptools protocol as `pdp serve` runs it (the connection guard; the direct path
    or the ASGI task), each of `concurrency` connections sending its next request once answered."""
    from uvicorn.config import Config
    from uvicorn.server import ServerState

    from pdp.server.connections import ConnectionLimits, guarded_protocol

    config = Config(app=app, lifespan="off", log_config=None, access_log=False)
    config.load()
    state, loop = ServerState(), asyncio.get_running_loop()
    limits = ConnectionLimits(30, 30, concurrency + 1, 65_536)
    protocol = guarded_protocol("httptools", direct)
    raw = [b"POST /v1/decide HTTP/1.1\r\nHost: pdp\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%b"
           % (len(body), body) for body in bodies]
    finished = loop.create_future()
    sent = iter(range(max(requests - concurrency, 0)))  # the first `concurrency` are sent below
    answered = 0

    def connect(number: int):
        def next_request():
            nonlocal answered
            answered += 1
            if answered == requests and not finished.done():
                finished.set_result(None)
            if (n := next(sent, None)) is not None:
                loop.call_soon(connection.data_received, raw[(number + n) % len(raw)])

        connection = protocol(config=config, server_state=state, app_state={}, limits=limits)
        connection.connection_made(_Transport(next_request))
        return connection

    connections = [connect(n) for n in range(concurrency)]
    started, loop_started = own_cpu(), time.thread_time()
    for number, connection in enumerate(connections):
        connection.data_received(raw[number % len(raw)])
    await finished
    return (own_cpu() - started) / requests, (time.thread_time() - loop_started) / requests


def run(coroutine, loop: str = "uvloop"):
    """`asyncio.run`, on uvloop's event loop (as uvicorn runs pdp when uvloop is installed) unless `loop="asyncio"`."""
    factory = None
    if loop == "uvloop":
        import uvloop

        factory = uvloop.new_event_loop
    with asyncio.Runner(loop_factory=factory) as runner:
        return runner.run(coroutine)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=1, help="rounds of log on and off, alternately; medians")
    parser.add_argument("--loop", choices=("uvloop", "asyncio"), default="uvloop")
    parser.add_argument("--profile", choices=("cprofile", "pyinstrument"))
    parser.add_argument("--beside-busy", action="store_true",
                        help="the log off, the event loop's CPU a request alone and beside a process burning CPU")
    parser.add_argument("--only", choices=("cx", "seeded"))
    parser.add_argument("--no-log", action="store_true", help="with --profile: the decision log off")
    parser.add_argument("--switch", metavar="MODULE.NAME",
                        help="a fast path's switch (a module's True/False constant): the log on, on and off interleaved")
    parser.add_argument("--via", choices=("direct", "protocol", "app"), default="direct",
                        help="through uvicorn's protocol with pdp's direct path (as `pdp serve` runs), through it "
                             "without (PDP_DIRECT=false: an ASGI task a request), or calling the ASGI app alone")
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
    if args.beside_busy:
        for name, (policy_dir, bodies) in cases.items():
            alone, beside = [], []
            for _ in range(args.rounds):
                alone.append(run(measure(policy_dir, bodies, None, args.requests, args.concurrency, args.via), args.loop))
                with busy():
                    beside.append(run(measure(policy_dir, bodies, None, args.requests, args.concurrency, args.via),
                                      args.loop))
            lone, near = (statistics.median(loop for _, loop in figures) for figures in (alone, beside))
            print(f"{name} ({args.via}, decision log off): µs of CPU a request on the event loop's thread: alone "
                  f"{lone * 1e6:.1f}, beside a busy process {near * 1e6:.1f} (+{100 * (near / lone - 1):.0f} %)"
                  + (f" (medians of {args.rounds} rounds)" if args.rounds > 1 else ""))
        return
    if args.switch:
        compare_switch(args.switch, cases, tmp, args)
        return
    if args.profile:
        [(name, (policy_dir, bodies))] = list(cases.items())[:1]
        log_path = None if args.no_log else tmp / f"{name}.db"
        profile(args.profile, lambda: measure(policy_dir, bodies, log_path, args.requests, args.concurrency, args.via),
                args.loop)
        return
    for name, (policy_dir, bodies) in cases.items():
        on, off = [], []
        for round_ in range(args.rounds):
            on.append(run(measure(policy_dir, bodies, tmp / f"{name}-{args.via}-{round_}.db", args.requests,
                                  args.concurrency, args.via), args.loop))
            off.append(run(measure(policy_dir, bodies, None, args.requests, args.concurrency, args.via), args.loop))
        logged, logged_loop = (statistics.median(figures) for figures in zip(*on))
        unlogged, unlogged_loop = (statistics.median(figures) for figures in zip(*off))
        print(f"{name} ({args.via}): µs of CPU a request, the whole process and its log writer (the event loop's thread):"
              f" decision log on {logged * 1e6:.1f} ({logged_loop * 1e6:.1f}), off {unlogged * 1e6:.1f}"
              f" ({unlogged_loop * 1e6:.1f}); the log costs the event loop {(logged_loop - unlogged_loop) * 1e6:.1f} µs, "
              f"{100 * (1 - unlogged_loop / logged_loop):.0f} % of its time"
              + (f" (medians of {args.rounds} rounds)" if args.rounds > 1 else ""))


def compare_switch(switch: str, cases: dict, tmp: Path, args) -> None:
    """The CPU per request with `switch` (module.NAME, a constant) on and off, interleaved, the decision log on."""
    import importlib

    module_name, name = switch.rsplit(".", 1)
    module = importlib.import_module(module_name)
    names = getattr(module, name) if name == "SWITCHES" else (name,)  # MODULE.SWITCHES: every switch it lists
    original = {each: getattr(module, each) for each in names}
    for case, (policy_dir, bodies) in cases.items():
        figures: dict[bool, list[tuple[float, float]]] = {True: [], False: []}
        try:
            for round_ in range(args.rounds):
                for on in (True, False):
                    for each in names:
                        setattr(module, each, on)
                    figures[on].append(run(measure(policy_dir, bodies, tmp / f"{case}-{on}-{round_}.db", args.requests,
                                                   args.concurrency, args.via), args.loop))
        finally:
            for each, value in original.items():
                setattr(module, each, value)
        whole, loop = ({on: statistics.median(f[i] for f in figures[on]) * 1e6 for on in figures} for i in (0, 1))
        print(f"{case} ({args.via}, decision log on): µs of CPU a request, the whole process (the event loop's "
              f"thread): {name} on {whole[True]:.1f} ({loop[True]:.1f}), off {whole[False]:.1f} ({loop[False]:.1f})"
              + (f" (medians of {args.rounds} interleaved rounds)" if args.rounds > 1 else ""))


@contextlib.contextmanager
def busy():
    """A process that only burns CPU, for as long as the block runs."""
    burner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.2)  # running before the measure starts
        yield
    finally:
        burner.kill()
        burner.wait()


def profile(kind: str, measured, loop: str) -> None:
    if kind == "cprofile":
        import cProfile
        import pstats

        profiler = cProfile.Profile()
        profiler.enable()
        run(measured(), loop)
        profiler.disable()
        pstats.Stats(profiler).sort_stats("tottime").print_stats(40)
    else:
        from pyinstrument import Profiler

        with Profiler(async_mode="disabled") as profiler:
            run(measured(), loop)
        print(profiler.output_text(unicode=True, color=False, show_all=False))


if __name__ == "__main__":
    main()
