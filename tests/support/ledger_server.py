"""A real `pdp serve --ledger` for the ledger's HTTP tests, on SQLite or PostgreSQL, with a token of each kind."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from pdp.ledger import open_ledger
from tests.support.ledger import KEY
from tests.support.serve import SERVE_VARIABLES, own_environment, served
from tests.support.sets import CX_ONE_GO

WRITER, READER, ADMIN = "w-token-" + "1" * 24, "r-token-" + "2" * 24, "admin-token-" + "3" * 20
BOTH = "rw-token-" + "4" * 23  # may read and write


@dataclass
class LedgerServer:
    base: str
    target: str  # the ledger the server serves, for opening it here too
    output: Path  # the server's log (access log on)
    client: httpx.Client


@contextlib.contextmanager
def new_ledger(backend: str, request: pytest.FixtureRequest, directory: Path) -> Iterator[str]:
    """A new ledger on `backend`, made first (the server opens only a ledger that exists)."""
    with contextlib.ExitStack() as stack:
        if backend == "sqlite":
            target = str(directory / "consent.db")
        else:
            target = stack.enter_context(request.getfixturevalue("postgres_cluster").schema())
        open_ledger(target, key=KEY).close()
        yield target


@contextlib.contextmanager
def ledger_server(backend: str, request: pytest.FixtureRequest, directory: Path) -> Iterator[LedgerServer]:
    """`pdp serve --ledger` with a write, a read, a read-and-write (from a tokens file) and an admin token."""
    with new_ledger(backend, request, directory) as target, own_environment(*SERVE_VARIABLES):
        (directory / "tokens").write_text(f"# the services' tokens\nwrite {WRITER}\nread {READER}\n"
                                          f"read,write {BOTH}\n")
        os.environ.update(PDP_LEDGER_KEY=KEY, PDP_ADMIN_TOKEN=ADMIN, PDP_LEDGER_TOKENS_FILE=str(directory / "tokens"))
        output = directory / "server.log"
        with served(CX_ONE_GO, "--ledger", target, "--log-level", "info", output=output) as base, \
                httpx.Client(base_url=base, timeout=30) as client:
            yield LedgerServer(base, target, output, client)
