"""Two `pdp serve` replicas on one PostgreSQL ledger (issue 11, "Many replicas"): an opt-out recorded through one
is applied by the other on the next decision that carries its token, and within the bounded delay without it.

Real processes (`python -m pdp.cli serve --ledger postgresql://...`) on a real PostgreSQL server
(tests/support/postgres.py); nothing here measures speed: what is awaited is awaited with a generous hang guard."""

from collections.abc import Iterator

import httpx
import pytest

from pdp.ledger import open_ledger
from tests.server.test_ledger_decide_api import POLICY, ask
from tests.support.ledger import KEY, event, new_subject
from tests.support.replicas import serving
from tests.support.waiting import eventually

TOKEN = "replica-test-token-read-write-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def replicas(postgres_url, tmp_path) -> Iterator[tuple[httpx.Client, httpx.Client]]:
    """Two replicas serving one policy directory and one PostgreSQL ledger (made first, as `pdp consent init`)."""
    (tmp_path / "policy").mkdir()
    (tmp_path / "policy" / "main.pdp").write_text(POLICY)
    (tmp_path / "policy" / "vocabulary.yaml").write_text("consent_topics: [marketing]\n")
    (tmp_path / "tokens").write_text(f"read,write {TOKEN}\n")
    (tmp_path / "tokens").chmod(0o600)
    open_ledger(postgres_url, key=KEY).close()
    environment = {"PDP_LEDGER_KEY": KEY, "PDP_LEDGER_TOKENS_FILE": str(tmp_path / "tokens")}
    with serving(2, tmp_path / "policy", postgres_url, tmp_path, environment) as (a, b):
        with httpx.Client(base_url=a, headers=AUTH, timeout=30) as first, \
                httpx.Client(base_url=b, headers=AUTH, timeout=30) as second:
            yield first, second


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
