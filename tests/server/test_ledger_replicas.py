"""Two `pdp serve` replicas on one PostgreSQL ledger (issue 11, "Many replicas"): an opt-out recorded through one
is applied by the other on the next decision that carries its token, and within the bounded delay without it.

Real processes (`python -m pdp.cli serve --ledger postgresql://...`) on a real PostgreSQL server
(tests/support/postgres.py); nothing here measures speed: what is awaited is awaited with a generous hang guard."""

import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from contextlib import ExitStack
from functools import partial

import httpx
import pytest

from pdp.ledger import open_ledger
from tests.support.ledger import KEY, event, new_subject
from tests.support.postgres import free_port
from tests.server.test_ledger_decide_api import POLICY, ask

PATIENCE_S = 60  # a hang guard (start-up on a loaded machine; the delay awaited), never a measure of speed
TOKEN = "replica-test-token-read-write-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def eventually(check, what: str):
    deadline = time.monotonic() + PATIENCE_S
    while True:
        found = check()
        if found:
            return found
        assert time.monotonic() < deadline, f"{what}: not within {PATIENCE_S} s"
        time.sleep(0.02)


def up(process: subprocess.Popen, base: str) -> bool:
    """Whether the replica answers /ready (or has exited: the fixture then shows why)."""
    if process.poll() is not None:
        return True
    try:
        return httpx.get(f"{base}/ready", timeout=2).status_code == 200
    except httpx.TransportError:
        return False


@pytest.fixture
def replicas(postgres_url, tmp_path) -> Iterator[tuple[httpx.Client, httpx.Client]]:
    """Two replicas serving one policy directory and one PostgreSQL ledger (made first, as `pdp consent init`)."""
    (tmp_path / "policy").mkdir()
    (tmp_path / "policy" / "main.pdp").write_text(textwrap.dedent(POLICY))
    (tmp_path / "policy" / "vocabulary.yaml").write_text("consent_topics: [marketing]\n")
    (tmp_path / "tokens").write_text(f"read,write {TOKEN}\n")
    (tmp_path / "tokens").chmod(0o600)
    open_ledger(postgres_url, key=KEY).close()
    environment = {**os.environ, "PDP_LEDGER_KEY": KEY, "PDP_LEDGER_TOKENS_FILE": str(tmp_path / "tokens"),
                   "PDP_RELOAD": "false"}
    with ExitStack() as stack:
        started = []
        for name in ("a", "b"):
            base = f"http://127.0.0.1:{free_port()}"
            errors = stack.enter_context(open(tmp_path / f"{name}.err", "w"))
            process = subprocess.Popen(
                [sys.executable, "-m", "pdp.cli", "serve", str(tmp_path / "policy"), "--port", base.rsplit(":", 1)[1],
                 "--no-log", "--ledger", postgres_url, "--log-level", "warning"],
                stdout=subprocess.DEVNULL, stderr=errors, env=environment)
            stack.callback(process.wait, 30)
            stack.callback(process.terminate)
            started.append((name, process, base))
        clients = []
        for name, process, base in started:
            eventually(partial(up, process, base), f"replica {name} ready")
            assert process.poll() is None, (tmp_path / f"{name}.err").read_text()
            clients.append(stack.enter_context(httpx.Client(base_url=base, headers=AUTH, timeout=30)))
        yield clients[0], clients[1]


def decided(client: httpx.Client, request: dict) -> str:
    answer = client.post("/v1/decide", json=request)
    assert answer.status_code == 200, answer.text
    return answer.json()["decision"]


@pytest.mark.slow
def test_an_opt_out_through_one_replica_is_applied_by_the_other(replicas):
    a, b = replicas
    subject = new_subject()
    given = a.post("/v1/ledger/events", json=event("consent.given", subject)).json()
    assert decided(b, ask(subject, ledger_seq=given["seq"])) == "allow"
    assert decided(b, ask(subject)) == "allow"  # B keeps the subject's state now

    # with the token: the next decision applies it
    withdrawn = a.post("/v1/ledger/events", json=event("consent.withdrawn", subject, "2026-03-02T10:00:00Z")).json()
    answer = b.post("/v1/decide", json=ask(subject, ledger_seq=withdrawn["seq"])).json()
    assert answer["decision"] == "deny" and answer["reasons"][0]["rule"] == "marketing.opted_out"
    assert answer["reasons"][0]["ledger"][0]["event_ids"] == [withdrawn["event_id"]]

    # without it: within the bounded delay (B's listener hears A's write; polling were it down)
    other = new_subject()
    given = a.post("/v1/ledger/events", json=event("consent.given", other)).json()
    assert decided(b, ask(other, ledger_seq=given["seq"])) == "allow"
    assert decided(b, ask(other)) == "allow"
    withdrawn = a.post("/v1/ledger/events", json=event("consent.withdrawn", other, "2026-03-02T10:00:00Z")).json()
    eventually(lambda: decided(b, ask(other)) == "deny", "B applies A's opt-out without a token")
    state = b.post("/v1/ledger/state", json={"subject": other}).json()
    assert state["facts"]["consent:marketing"]["event_id"] == withdrawn["event_id"]

    # and the other way round, a batch through B applied by A
    batch = b.post("/v1/ledger/events/batch", json={"events": [
        event("consent.given", other, "2026-03-03T10:00:00Z")]}).json()
    assert decided(a, ask(other, ledger_seq=batch["seq"])) == "allow"
