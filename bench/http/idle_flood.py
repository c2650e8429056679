"""What 3,000 idle connections do to `pdp serve` (docs/service.md, "Connections").

    python bench/http/idle_flood.py [--connections 3000] [--wait 12]

Starts `pdp serve policies` (one worker, default limits unless PDP_* says
otherwise), opens the connections and sends nothing, then reports how many
the server closed at once and after `--wait` seconds, and whether `/health`
answers while they are held and afterwards. Raise `ulimit -n` above the
connection count first.
"""

from __future__ import annotations

import argparse
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))  # run as a script: make `bench` importable

from bench.http.servers import free_port  # noqa: E402


def _closed(sock: socket.socket) -> bool:
    sock.settimeout(0.001)
    try:
        return sock.recv(1) == b""
    except socket.timeout:
        return False
    except OSError:
        return True


def _health(base: str) -> str:
    try:
        return str(httpx.get(f"{base}/health", timeout=30).status_code)
    except httpx.HTTPError as error:
        return error.__class__.__name__


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--connections", type=int, default=3000)
    parser.add_argument("--wait", type=float, default=12.0, help="seconds to hold them (default: past the 10 s header timeout)")
    args = parser.parse_args()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen([sys.executable, "-m", "pdp.cli", "serve", str(ROOT / "policies"), "--port", str(port),
                               "--no-log", "--log-level", "error"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while _health(base) != "200":
            if time.monotonic() > deadline:
                raise SystemExit("pdp serve did not start")
            time.sleep(0.2)
        held = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(args.connections)]
        time.sleep(1)
        print(f"opened {len(held)}; /health while held: {_health(base)}")
        print(f"closed by the server after 1 s: {sum(_closed(s) for s in held)}")
        time.sleep(args.wait)
        print(f"closed by the server after {args.wait + 1:g} s: {sum(_closed(s) for s in held)}")
        print(f"/health afterwards: {_health(base)}")
        for sock in held:
            sock.close()
    finally:
        server.terminate()
        server.wait(10)


if __name__ == "__main__":
    main()
