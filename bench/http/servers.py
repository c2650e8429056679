"""Starting a server for a benchmark or a test: a free loopback port, wait until it answers, stop it."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator

import httpx

START_TIMEOUT_S = 30.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(argv: list[str], ready_url: str, env: dict | None = None) -> subprocess.Popen:
    """Run `argv`; return once `ready_url` answers (any status), or fail with the server's error output.

    The server's output goes to a file, never to a pipe nobody reads: a server that logs would block on a full
    pipe, and a benchmark would measure that.
    """
    errors = tempfile.TemporaryFile()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=errors, env={**os.environ, **(env or {})})
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            httpx.get(ready_url, timeout=0.5)
            return proc
        except httpx.TransportError:
            time.sleep(0.05)
    proc.kill()
    proc.wait()
    errors.seek(0)
    raise RuntimeError(f"server did not start: {' '.join(argv)}\n{errors.read().decode(errors='replace')}")


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@contextlib.contextmanager
def running(argv: list[str], ready_url: str, env: dict | None = None) -> Iterator[subprocess.Popen]:
    proc = start(argv, ready_url, env)
    try:
        yield proc
    finally:
        stop(proc)
