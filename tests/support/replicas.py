"""Real `pdp serve` replicas on one consent ledger, for the replicas test and bench/ledger_replicas.py: processes
started as an operator would (`python -m pdp.cli serve POLICIES --ledger URL`), awaited on /ready, stopped at
the end."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx

from .postgres import free_port
from .waiting import eventually

PATIENCE_S = 60  # bench/ledger_replicas.py: how long it waits for replica B, a hang guard, never a measure of speed


def _up(process: subprocess.Popen, base: str) -> bool:
    """Whether the replica answers /ready (or has exited: the caller then shows why)."""
    if process.poll() is not None:
        return True
    try:
        return httpx.get(f"{base}/ready", timeout=2).status_code == 200
    except httpx.TransportError:
        return False


@contextmanager
def serving(count: int, policies: Path, ledger: str, directory: Path,
            environment: Mapping[str, str]) -> Iterator[list[str]]:
    """`count` replicas of `pdp serve policies --ledger ledger` (their stderr in `directory`), with `environment`
    on top of this process's; yields their base URLs once every one is ready."""
    env = {**os.environ, "PDP_RELOAD": "false", **environment}
    with ExitStack() as stack:
        started = []
        for n in range(count):
            port = free_port()
            errors = stack.enter_context(open(directory / f"replica-{n}.err", "w"))
            process = subprocess.Popen(
                [sys.executable, "-m", "pdp.cli", "serve", str(policies), "--port", str(port), "--no-log",
                 "--ledger", ledger, "--log-level", "warning"],
                stdout=subprocess.DEVNULL, stderr=errors, env=env)
            stack.callback(process.wait, 30)
            stack.callback(process.terminate)
            started.append((n, process, f"http://127.0.0.1:{port}"))
        for n, process, base in started:
            eventually(lambda: _up(process, base), f"replica {n} ready")  # noqa: B023 - called at once
            assert process.poll() is None, (directory / f"replica-{n}.err").read_text()
        yield [base for _, _, base in started]


__all__ = ["PATIENCE_S", "serving"]
