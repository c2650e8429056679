"""`pdp serve` as a real process, for the tests of what only a real server shows (connections, signals); waiting
for a server to get somewhere."""

import contextlib
import os
import socket
import subprocess
import sys
import time

import httpx
import pytest


HANG_GUARD_S = 30


def wait_for(predicate, seconds: float = HANG_GUARD_S) -> bool:
    """True as soon as `predicate()` holds; False after `seconds` (a hang guard, never a measure of speed)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


@contextlib.contextmanager
def own_environment(*cleared: str):
    """`pdp serve` run in this process hands its options on through PDP_* variables: clear `cleared` for it,
    and put the whole environment back afterwards (monkeypatch.delenv keeps no record of an absent variable)."""
    saved = dict(os.environ)
    for name in cleared:
        os.environ.pop(name, None)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


SERVE_VARIABLES = ("PDP_POLICY_DIR", "PDP_HOST", "PDP_PORT", "PDP_LOG_PATH", "PDP_RELOAD", "PDP_BUNDLE_URL",
                   "PDP_BUNDLE_PUBLIC_KEY", "PDP_BUNDLE_POLL_S", "PDP_BUNDLE_INSECURE_UNSIGNED", "PDP_ADMIN_TOKEN",
                   "PDP_LEDGER_URL", "PDP_LEDGER_KEY", "PDP_LEDGER_KEY_FILE", "PDP_LEDGER_OPEN",
                   "PDP_LEDGER_WRITE_TOKENS", "PDP_LEDGER_READ_TOKENS", "PDP_LEDGER_TOKENS_FILE", "PDP_LOG_URL",
                   "PDP_LOG_KEY", "PDP_LOG_REPLICA")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def served(policy_dir, *extra_args: str, output=None):
    """`pdp serve` in a subprocess (decision log off unless asked); yields its base URL once it is ready.

    `output`: a file path that receives the server's log (standard output and error).
    """
    port = free_port()
    args = list(extra_args) if "--log" in extra_args else ["--no-log", *extra_args]
    sink = open(output, "wb") if output is not None else subprocess.PIPE  # noqa: SIM115 - closed below
    where = [str(policy_dir)] if policy_dir is not None else []  # None: `--bundle URL` among the arguments
    proc = subprocess.Popen([sys.executable, "-m", "pdp.cli", "serve", *where, "--port", str(port),
                             "--log-level", "warning", *args],
                            stdout=sink, stderr=subprocess.STDOUT, env={**os.environ})
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/ready", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        else:
            proc.kill()
            log = proc.stdout.read().decode() if output is None else open(output).read()
            pytest.fail("pdp serve did not become ready: " + log)
        yield base
    finally:
        proc.terminate()
        proc.wait(10)
        if output is not None:
            sink.close()
