"""Every decision is in the log before it is answered; the log is private; kill -9 loses nothing acknowledged."""

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from pdp.server import Settings, create_app
from pdp.server.decision_log import DecisionLog

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


def test_an_unwritable_log_refuses_to_answer(policy_dir, tmp_path, monkeypatch):
    settings = Settings(policy_dir=policy_dir, reload=False, log_path=tmp_path / "log.db")
    with TestClient(create_app(settings)) as client:
        def broken(*args, **kwargs):
            raise OSError("disk full")

        monkeypatch.setattr(client.app.state.decision_log.decision_log, "append_many", broken)
        r = client.post("/v1/decide", json=REQUEST)
        assert r.status_code == 503 and r.json()["error"] == "log_unavailable"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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
