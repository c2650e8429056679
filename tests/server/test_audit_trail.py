"""Every decision is in the log before it is answered; the log is private; kill -9 loses nothing acknowledged."""

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from pdp.server import Settings, create_app
from pdp.io.decision_log import DecisionLog

ROOT = Path(__file__).resolve().parents[2]
POLICY = '''
policy "audit" version "1" effective 2026-11-24
allow ops "Operate the service" cite "§2.1" to use for essential of user
'''
REQUEST = {"action": "use", "purpose": "essential.service", "data_categories": ["user.name"],
           "data_subject": {"id": "alice-4711", "age": 41}}
TOKEN = "audit-token"


@pytest.fixture
def policy_dir(tmp_path):
    (tmp_path / "policy").mkdir()
    (tmp_path / "policy" / "main.pdp").write_text(textwrap.dedent(POLICY))
    return tmp_path / "policy"


def test_decisions_are_logged_pseudonymised_and_masked(policy_dir, tmp_path):
    settings = Settings(policy_dir=policy_dir, reload=False, log_path=tmp_path / "log.db", log_mask=["data_subject.age"],
                        admin_token=TOKEN)
    with TestClient(create_app(settings)) as client:
        decision_id = client.post("/v1/decide", json=REQUEST).json()["decision_id"]
        client.post("/v1/decide/batch", json={"requests": [REQUEST, {"action": "bad"}]})
        assert client.get("/v1/admin/decisions").status_code == 401
        rows = client.get("/v1/admin/decisions", headers={"Authorization": f"Bearer {TOKEN}"}).json()["decisions"]
    assert len(rows) == 2  # the bad batch item was refused, not decided
    first = next(r for r in rows if r["decision_id"] == decision_id)
    assert first["request"]["data_subject"]["id"].startswith("hmac:")
    assert first["request"]["data_subject"]["age"] == "***"
    stored = b"".join(p.read_bytes() for p in tmp_path.glob("log.db*"))
    assert stored and b"alice-4711" not in stored
    key_file = tmp_path / "log.db.key"
    assert key_file.exists() and oct(key_file.stat().st_mode & 0o777) == "0o600"


@pytest.mark.parametrize("writer", ["process", "thread"])
def test_an_unwritable_log_refuses_to_answer(policy_dir, tmp_path, writer):
    settings = Settings(policy_dir=policy_dir, reload=False, log_path=tmp_path / "log.db", log_writer=writer)
    with TestClient(create_app(settings)) as client:
        with sqlite3.connect(tmp_path / "log.db") as conn:  # SQLite itself refuses every row, as a full disk would
            conn.execute("CREATE TRIGGER refuse BEFORE INSERT ON decisions BEGIN SELECT RAISE(ABORT, 'disk full'); END")
        r = client.post("/v1/decide", json=REQUEST)
        assert r.status_code == 503 and r.json()["error"] == "log_unavailable"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_kill_9_of_the_server_loses_no_acknowledged_decision(policy_dir, tmp_path):
    port, log_path = _free_port(), tmp_path / "served.db"
    proc = subprocess.Popen([sys.executable, "-m", "pdp.cli", "serve", str(policy_dir), "--port", str(port),
                             "--log", str(log_path), "--log-level", "warning"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ, "PDP_RELOAD": "false"})
    base = f"http://127.0.0.1:{port}"
    acknowledged = []
    try:
        for _ in range(300):
            try:
                if httpx.get(f"{base}/ready", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        with httpx.Client(base_url=base, timeout=5) as client:
            for i in range(150):
                r = client.post("/v1/decide", json={**REQUEST, "data_subject": {"id": f"p-{i}", "age": 30}})
                acknowledged.append(r.json()["decision_id"])
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
    assert proc.returncode == -signal.SIGKILL
    key = (tmp_path / "served.db.key").read_text().strip().encode()
    with DecisionLog(log_path, pseudonym_key=key) as log:
        logged = {row["decision_id"] for row in log.query(limit=1000)}
    assert len(acknowledged) == 150 and set(acknowledged) <= logged


# -- what is logged, and how it is protected ------------------------------------

AUTH = {"Authorization": f"Bearer {TOKEN}"}
AUTHZEN = {"subject": {"type": "service", "id": "alice-4711"}, "action": {"name": "use", "properties": {
    "purpose": "essential.service"}}, "resource": {"type": "personal_data", "id": "bob-0815", "properties": {
        "data_categories": ["user.name"], "data_subject": {"age": 30}}}}


def serving(policy_dir, tmp_path, **overrides):
    settings = Settings(policy_dir=policy_dir, reload=False, log_path=tmp_path / "log.db", admin_token=TOKEN, **overrides)
    return TestClient(create_app(settings))


def logged(client, **params) -> list[dict]:
    r = client.get("/v1/admin/decisions", params=params, headers=AUTH)
    assert r.status_code == 200, r.text
    return r.json()["decisions"]


def test_an_engine_fault_on_the_authzen_routes_is_a_logged_deny_not_a_500(policy_dir, tmp_path, monkeypatch):
    with serving(policy_dir, tmp_path) as client:
        def broken(request, decide=None):
            raise RuntimeError("engine bug")

        monkeypatch.setattr(client.app.state.holder.current, "decide_authzen", broken)
        one = client.post("/access/v1/evaluation", json=AUTHZEN)
        many = client.post("/access/v1/evaluations", json={**AUTHZEN, "options": {"include_context": True},
                                                           "evaluations": [{}, {}]})
        rows = logged(client)
    assert one.status_code == 200 and one.json()["decision"] is False
    assert [r["rule"] for r in one.json()["context"]["reasons"]] == ["internal.error"]
    assert "RuntimeError" in one.json()["context"]["reasons"][0]["message"]
    assert many.status_code == 200
    assert [e["decision"] for e in many.json()["evaluations"]] == [False, False]
    assert all(e["context"]["reasons"][0]["rule"] == "internal.error" for e in many.json()["evaluations"])
    assert [(r["decision"], r["rules"]) for r in rows] == [("deny", ["internal.error"])] * 3


def test_an_answer_that_cannot_be_encoded_is_a_logged_deny_not_a_500(policy_dir, tmp_path, monkeypatch):
    # A rule message with a lone surrogate cannot be sent as JSON: the request must not get a 500
    # while the log says allow.
    from pdp.engine.decision import Reason
    from pdp.engine.decision import Decision

    with serving(policy_dir, tmp_path) as client:
        policy_set = client.app.state.holder.current

        def unsendable(request):
            return Decision("allow", (Reason("ops", "allow", "§2.1", "bad \ud800 text"),), (), policy_set.info, uuid4())

        class Selected:  # what PolicySet.select gives: a request admitted, decided on `decide()`
            def __init__(self, request):
                self.request = request

            def decide(self):
                return unsendable(self.request)

        monkeypatch.setattr(policy_set, "decide", unsendable)
        monkeypatch.setattr(policy_set, "select", Selected)
        answers = [client.post("/v1/decide", json=REQUEST), client.post("/v1/decide", json={**REQUEST, "explain": True}),
                   client.post("/v1/decide/batch", json={"requests": [REQUEST, REQUEST]}),
                   client.post("/access/v1/evaluation", json=AUTHZEN),
                   client.post("/access/v1/evaluations", json={**AUTHZEN, "evaluations": [{}],
                                                                "options": {"include_context": True}})]
        rows = logged(client)
    assert [a.status_code for a in answers] == [200] * 5
    single, explained, batch, one, many = (a.json() for a in answers)
    for answer in (single, explained, *batch["decisions"]):
        assert answer["decision"] == "deny" and answer["reasons"][0]["rule"] == "internal.error"
    assert one["decision"] is False and many["evaluations"][0]["decision"] is False
    assert len(rows) == 6 and {r["decision"] for r in rows} == {"deny"}
    assert {r["decision_id"] for r in rows} >= {single["decision_id"], batch["decisions"][0]["decision_id"]}


def uuid4() -> str:
    import uuid

    return uuid.uuid4().hex


def test_identifiers_are_pseudonymised_and_free_text_left_out(policy_dir, tmp_path):
    native = {**REQUEST, "data_subject": {"id": "alice-4711", "email": "alice@example.com", "age": 41},
              "requester": {"id": "carol@example.com"}, "context": {"note": "call dave@example.com"}}
    with serving(policy_dir, tmp_path) as client:
        client.post("/v1/decide", json=native)
        client.post("/access/v1/evaluation", json={**AUTHZEN, "subject": {"type": "user", "id": "erin@example.com"}})
        rows = logged(client)
    stored = b"".join(p.read_bytes() for p in tmp_path.glob("log.db*") if not p.name.endswith(".key"))
    for secret in (b"alice-4711", b"alice@example.com", b"carol@example.com", b"dave@example.com", b"erin@example.com",
                   b"bob-0815"):
        assert secret not in stored
    az, first = rows
    assert first["request"]["data_subject"] == {"id": pseudonym(tmp_path, "alice-4711"), "age": 41}
    assert first["request"]["requester"] == {"id": pseudonym(tmp_path, "carol@example.com")}
    assert "context" not in first["request"]
    assert az["request"]["subject"]["id"] == pseudonym(tmp_path, "erin@example.com")
    assert az["request"]["resource"]["id"] == pseudonym(tmp_path, "bob-0815")


def pseudonym(tmp_path, value) -> str:
    from pdp.base.pseudonym import pseudonym as of

    return of((tmp_path / "log.db.key").read_text().strip().encode(), value)


def test_the_log_files_are_readable_by_their_owner_only(policy_dir, tmp_path):
    old = os.umask(0o022)
    try:
        with serving(policy_dir, tmp_path) as client:
            client.post("/v1/decide", json=REQUEST)
            modes = {p.name: p.stat().st_mode & 0o777 for p in tmp_path.glob("log.db*")}
    finally:
        os.umask(old)
    assert {"log.db", "log.db-wal", "log.db-shm", "log.db.key"} <= set(modes)
    assert set(modes.values()) == {0o600}, modes


def test_one_persons_rows_can_be_found_and_erased(policy_dir, tmp_path):
    with serving(policy_dir, tmp_path) as client:
        for subject in ("alice-4711", "alice-4711", "bob-0815"):
            client.post("/v1/decide", json={**REQUEST, "data_subject": {"id": subject, "age": 30}})
        client.post("/access/v1/evaluation", json=AUTHZEN)  # alice as the requester, bob as the data subject
        assert len(logged(client, data_subject_id="alice-4711")) == 3
        assert len(logged(client, data_subject_id="bob-0815")) == 2
        assert logged(client, data_subject_id="nobody") == []
        assert client.delete("/v1/admin/decisions", params={"data_subject_id": "alice-4711"}).status_code == 401
        erased = client.delete("/v1/admin/decisions", params={"data_subject_id": "alice-4711"}, headers=AUTH)
        assert erased.status_code == 200 and erased.json() == {"deleted": 3}
        assert logged(client, data_subject_id="alice-4711") == []
        rows = logged(client)
        assert len(rows) == 4  # each row stays as the proof of what was decided, without alice (§4)
        assert sum(1 for row in rows if row["request"].get("erased")) == 3
        assert len(logged(client, data_subject_id="bob-0815")) == 2  # bob's rows stay his
        missing = client.delete("/v1/admin/decisions", headers=AUTH)
        assert missing.status_code == 422 and missing.json()["detail"][0]["field"].endswith("data_subject_id")
        gone = pseudonym(tmp_path, "alice-4711").encode()
    stored = b"".join(p.read_bytes() for p in tmp_path.glob("log.db*") if not p.name.endswith(".key"))
    assert gone not in stored  # overwritten, in the database file and the WAL


def test_rows_and_reads_of_the_log_are_bounded(policy_dir, tmp_path):
    huge = {**REQUEST, "context": {f"k{i}": "x" * 3000 for i in range(250)}}  # ~750 KB
    with serving(policy_dir, tmp_path, log_attributes=["context"], log_max_row_bytes=4096) as client:
        assert client.post("/v1/decide", json=huge).status_code == 200
        assert client.post("/v1/decide", json=REQUEST).status_code == 200
        r = client.get("/v1/admin/decisions", params={"limit": 1000}, headers=AUTH)
        too_many = client.get("/v1/admin/decisions", params={"limit": 100_000}, headers=AUTH)
    assert r.status_code == 200 and len(r.content) < 2 * 4096 + 1000
    big, small = r.json()["decisions"][::-1]
    assert big["request"]["truncated"] is True and big["request"]["action"] == "use"
    assert "truncated" not in small["request"]
    assert too_many.status_code == 422 and too_many.json()["detail"][0]["field"].endswith("limit")


def test_the_attributes_the_rules_read_are_kept_words_as_sent_other_text_pseudonymised(tmp_path):
    policy = tmp_path / "p"
    policy.mkdir()
    (policy / "main.pdp").write_text(textwrap.dedent(POLICY) + 'deny sms "No SMS" to use when context.channel == "sms"\n')
    (policy / "vocabulary.yaml").write_text("attributes:\n  context.channel: string\n")
    with serving(policy, tmp_path) as client:
        for channel in ("sms", "alice@example.com"):
            client.post("/v1/decide", json={**REQUEST, "context": {"channel": channel, "note": "private"}})
        by_address, by_sms = (r["request"]["context"] for r in logged(client))
    assert by_sms == {"channel": "sms"}
    assert by_address == {"channel": pseudonym(tmp_path, "alice@example.com")}


def test_every_logged_cx_one_go_decision_replays_to_itself(tmp_path, cx_one_go):
    # The log keeps less than the request; `pdp diff --replay` must still re-decide every row alike:
    # each CX-ONE-GO policy test request, natively and through AuthZEN, served, logged, replayed.
    from pdp.analysis.diff import replay
    from pdp.testing.discovery import discover

    requests = [case.request for test_file in discover(ROOT / "policies") for case in test_file.cases if not case.error]
    settings = Settings(policy_dir=ROOT / "policies", reload=False, log_path=tmp_path / "log.db")
    with TestClient(create_app(settings)) as client:
        answers = client.post("/v1/decide/batch", json={"requests": requests}).json()["decisions"]
        decided = [r for r, a in zip(requests, answers) if "decision" in a]
        for r in decided[:40]:
            authzen = {"subject": {"type": "service", **(r.get("requester") or {"id": "svc"})},
                       "action": {"name": r["action"], "properties": {"purpose": r["purpose"]}},
                       "resource": {"type": "personal_data", "id": (r.get("data_subject") or {}).get("id", "u"),
                                    "properties": {"data_categories": r["data_categories"],
                                                   "data_subject": r.get("data_subject") or {}}},
                       "context": {k: r[k] for k in ("recipient", "destination_country") if k in r}}
            assert client.post("/access/v1/evaluation", json=authzen).status_code == 200
    result = replay(cx_one_go, cx_one_go, tmp_path / "log.db")
    assert len(decided) > 300 and result.total == len(decided) + 40
    assert (result.replayed, result.refused, result.stale, result.flipped) == (result.total, 0, 0, 0)
