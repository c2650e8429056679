"""Two replicas, one combined decision log: the admin API reads every replica's rows, and an erasure (the admin
API, /v1/ledger/erase, or an `erasure.requested` event) takes the person out of every log, keeping the proof."""

import contextlib
import textwrap

import pytest
from fastapi.testclient import TestClient

from pdp.io.combined_log import CombinedLog
from pdp.io.decision_log import DecisionLog, pseudonym
from pdp.ledger import open_ledger
from pdp.server import Settings, create_app
from tests.support.ledger import event
from tests.support.waiting import eventually

POLICY = '''
policy "audit" version "1" effective 2026-11-24
allow ops "Operate the service" cite "§2.1" to use for essential of user
'''
ADMIN, WRITER = "admin-token-" + "3" * 20, "w-token-" + "1" * 24
LOG_KEY = "a-log-key-every-replica-shares-0123"
A, W = ({"Authorization": f"Bearer {token}"} for token in (ADMIN, WRITER))


def decide(client, subject: str) -> str:
    answer = client.post("/v1/decide", json={"action": "use", "purpose": "essential.service",
                                             "data_categories": ["user.name"], "data_subject": {"id": subject,
                                                                                                 "age": 41}})
    assert answer.status_code == 200
    return answer.json()["decision_id"]


@contextlib.contextmanager
def replicas(tmp_path, postgres_url, count: int = 2):
    (tmp_path / "policy").mkdir()
    (tmp_path / "policy" / "main.pdp").write_text(textwrap.dedent(POLICY))
    with contextlib.ExitStack() as stack:
        clients = []
        for number in range(1, count + 1):
            open_ledger(str(tmp_path / f"consent-{number}.db")).close()  # made with its key beside it
            settings = Settings(policy_dir=tmp_path / "policy", reload=False, log_path=tmp_path / f"log-{number}.db",
                                log_key=LOG_KEY, log_url=postgres_url, log_replica=f"replica-{number}",
                                admin_token=ADMIN, ledger_url=str(tmp_path / f"consent-{number}.db"),
                                ledger_write_tokens=[WRITER])
            clients.append(stack.enter_context(TestClient(create_app(settings))))
        yield clients


def rows(client, **params) -> list[dict]:
    answer = client.get("/v1/admin/decisions", params={"limit": 1000, **params}, headers=A)
    assert answer.status_code == 200, answer.text
    return answer.json()["decisions"]


def test_the_admin_api_reads_every_replicas_rows_and_an_erasure_reaches_them_all(tmp_path, postgres_url):
    with replicas(tmp_path, postgres_url) as (one, two):
        mine = [decide(one, "alice-4711"), decide(two, "alice-4711"), decide(two, "alice-4711")]
        decide(two, "bob-0815")
        eventually(lambda: len(rows(one)) == 4, "both replicas' rows shipped")
        combined = rows(one, data_subject_id="alice-4711")
        assert sorted(row["decision_id"] for row in combined) == sorted(mine)
        assert sorted(row["replica"] for row in combined) == ["replica-1", "replica-2", "replica-2"]
        assert rows(two) == rows(one)  # one place to audit, from any replica
        assert len(rows(one, source="local")) == 1 and "replica" not in rows(one, source="local")[0]

        erased = one.delete("/v1/admin/decisions", params={"data_subject_id": "alice-4711"}, headers=A)
        assert erased.status_code == 200 and erased.json() == {"deleted": 1, "combined": 3}
        assert rows(one, data_subject_id="alice-4711") == []
        # replica 2's own log: its shipper applies the erasure on its next round
        eventually(lambda: rows(two, source="local", data_subject_id="alice-4711") == [], "replica 2 erases too")
        proof = [row for row in rows(one) if row["request"].get("erased")]
        assert sorted(row["decision_id"] for row in proof) == sorted(mine)
        assert {row["decision"] for row in proof} == {"allow"} and {tuple(row["rules"]) for row in proof} == {("ops",)}
    name = pseudonym(LOG_KEY.encode(), "alice-4711")
    for number in (1, 2):
        with DecisionLog(tmp_path / f"log-{number}.db", pseudonym_key=LOG_KEY.encode()) as log:
            assert name not in str(log.query(limit=100))
    with CombinedLog(postgres_url, pseudonym_key=LOG_KEY.encode()) as combined:
        assert name not in str(combined.query(limit=100)) and len(combined.query(limit=100)) == 4


@pytest.mark.parametrize("how", ["ledger erase", "erasure.requested"])
def test_erasing_through_the_ledger_erases_the_decision_logs(tmp_path, postgres_url, how):
    with replicas(tmp_path, postgres_url) as (one, two):
        decide(one, "carol-1"), decide(two, "carol-1"), decide(two, "dave-2")
        eventually(lambda: len(rows(one)) == 3, "both replicas' rows shipped")
        assert one.post("/v1/ledger/events", json=event("marketing.opted_out", "carol-1"), headers=W).status_code == 200
        if how == "ledger erase":
            answer = one.post("/v1/ledger/erase", json={"subject": "carol-1"}, headers=A)
            assert answer.status_code == 200 and answer.json()["decision_log"] == {"deleted": 1, "combined": 2}
        else:
            answer = one.post("/v1/ledger/events", json=event("erasure.requested", "carol-1"), headers=W)
            assert answer.status_code == 200
        assert rows(one, data_subject_id="carol-1") == [] and rows(one, source="local", data_subject_id="carol-1") == []
        eventually(lambda: rows(two, source="local", data_subject_id="carol-1") == [], "replica 2 erases too")
        assert len(rows(one)) == 3 and len(rows(one, data_subject_id="dave-2")) == 1


def test_a_combined_log_needs_the_outbox_and_a_shared_key(tmp_path):
    with pytest.raises(ValueError, match="PDP_LOG_PATH"):
        Settings(log_url="postgresql://db/pdp")
    with pytest.raises(ValueError, match="PDP_LOG_KEY"):
        Settings(log_url="postgresql://db/pdp", log_path=tmp_path / "log.db")
    with pytest.raises(ValueError, match="postgresql://"):
        Settings(log_url="mysql://db/pdp", log_path=tmp_path / "log.db", log_key=LOG_KEY)


def test_pdp_serve_with_a_log_url_needs_the_shared_key(tmp_path, clean_environment, capsys, monkeypatch):
    import os

    from pdp.cli.app import main

    (tmp_path / "main.pdp").write_text(textwrap.dedent(POLICY))
    assert main(["serve", str(tmp_path), "--log", str(tmp_path / "log.db"), "--log-url", "postgresql://db/pdp"]) == 2
    assert "PDP_LOG_KEY" in capsys.readouterr().err
    monkeypatch.setitem(os.environ, "PDP_LOG_KEY", LOG_KEY)
    assert main(["serve", str(tmp_path), "--log-url", "mysql://db/pdp"]) == 2
    assert "postgresql://" in capsys.readouterr().err
    assert main(["serve", str(tmp_path), "--no-log", "--log-url", "postgresql://db/pdp"]) == 2
    assert "PDP_LOG_PATH" in capsys.readouterr().err
