"""The native HTTP API: /v1/decide, /v1/decide/batch, /v1/policies, /health, /ready."""

import json
import textwrap
from datetime import datetime, timezone

import pytest
from fastapi.testclient import TestClient

from pdp.cli.app import main
from pdp.cli.common import EXIT_USAGE
from pdp.server import Settings, create_app

POLICY = '''
policy "demo" version "3" effective 2026-11-24
allow ops "Operate the service" cite "§2.1" to use for essential of user
deny minors "Not for children" cite "§10" when data_subject.age < 18
'''
OK = {"action": "use", "purpose": "essential.service", "data_categories": ["user.name"]}


@pytest.fixture
def policy_dir(tmp_path):
    (tmp_path / "main.pdp").write_text(textwrap.dedent(POLICY))
    return tmp_path


@pytest.fixture
def client(policy_dir):
    with TestClient(create_app(Settings(policy_dir=policy_dir, max_body_bytes=2048, max_batch=5))) as c:
        yield c


def test_decide_allow_and_deny(client):
    r = client.post("/v1/decide", json=OK)
    assert r.status_code == 200
    body = r.json()
    assert body["decision"] == "allow" and body["reasons"][0]["rule"] == "ops"
    assert body["policy"]["name"] == "demo" and body["policy"]["version"] == "3"
    r = client.post("/v1/decide", json={**OK, "data_subject": {"age": 9}})
    assert r.json()["decision"] == "deny" and r.json()["reasons"][0]["cite"] == "§10"


@pytest.mark.parametrize("kwargs, status, field", [
    ({"content": b"{not json", "headers": {"content-type": "application/json"}}, 400, "body"),
    ({"content": b"", "headers": {"content-type": "application/json"}}, 400, "body"),
    ({"content": b"[1, 2]", "headers": {"content-type": "application/json"}}, 400, "body"),
    ({"content": b'{"action": "use"}', "headers": {"content-type": "text/plain"}}, 415, "content-type"),
    ({"json": {"action": "use", "purpose": "essential"}}, 422, "data_categories"),
    ({"json": {**OK, "purpose": "essentail.service"}}, 422, "purpose"),
    ({"json": {**OK, "data_subject": {"age": "nine"}}}, 422, "data_subject.age"),
    ({"content": b'{"pad": "' + b"x" * 4000 + b'"}', "headers": {"content-type": "application/json"}}, 413, "body"),
])
def test_bad_requests_are_4xx_naming_the_field(client, kwargs, status, field):
    r = client.post("/v1/decide", **kwargs)
    assert r.status_code == status
    body = r.json()
    assert body["error"] and field in [d["field"] for d in body["detail"]]


def test_unknown_key_has_suggestions(client):
    r = client.post("/v1/decide", json={**OK, "data_categories": ["user.nme"]})
    assert r.status_code == 422
    assert "user.name" in r.json()["detail"][0]["suggestions"]


def test_batch_keeps_order_and_isolates_bad_items(client):
    r = client.post("/v1/decide/batch", json={"requests": [OK, {"action": "use"}, {**OK, "data_subject": {"age": 3}}]})
    assert r.status_code == 200
    first, bad, third = r.json()["decisions"]
    assert first["decision"] == "allow" and third["decision"] == "deny"
    assert bad["error"] == "bad_request" and {d["field"] for d in bad["detail"]} == {"purpose", "data_categories"}


def test_batch_limits(client):
    assert client.post("/v1/decide/batch", json={"requests": [OK] * 6}).status_code == 413
    r = client.post("/v1/decide/batch", json={"requests": "no"})
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "requests"


def test_policies_health_ready(client):
    (entry,) = client.get("/v1/policies").json()["policies"]
    assert entry["name"] == "demo" and entry["rules"] == 2 and entry["digest"].startswith("sha256:") and entry["loaded_at"]
    assert client.get("/health").json() == {"status": "ok"}
    assert client.get("/ready").status_code == 200


def test_not_ready_without_a_policy_set(tmp_path):
    with TestClient(create_app(Settings(policy_dir=tmp_path / "missing"))) as c:
        assert c.get("/health").status_code == 200
        assert c.get("/ready").status_code == 503
        assert c.post("/v1/decide", json=OK).status_code == 503


def test_an_engine_fault_fails_closed_not_500(client, monkeypatch):
    policy_set = client.app.state.holder.current
    # Both ways into the engine fail: `select` (with `explain`) and `decide` (without, the batch's way too).
    monkeypatch.setattr(policy_set, "select", lambda request: 1 / 0)
    monkeypatch.setattr(policy_set, "decide", lambda request: 1 / 0)
    for body in (OK, {**OK, "explain": True}):
        r = client.post("/v1/decide", json=body)
        assert r.status_code == 200
        assert r.json()["decision"] == "deny" and r.json()["reasons"][0]["effect"] == "error"


def test_a_broken_edit_keeps_the_last_good_set(client, policy_dir):
    digest = client.get("/v1/policies").json()["policies"][0]["digest"]
    (policy_dir / "main.pdp").write_text(textwrap.dedent(POLICY) + "\nallow broken when x = 1\n")
    assert client.app.state.holder.reload() is False
    body = client.get("/v1/policies").json()
    assert body["policies"][0]["digest"] == digest
    assert body["last_reload_failure"]["errors"][0]["code"] == "syntax"
    assert client.post("/v1/decide", json=OK).json()["decision"] == "allow"


def test_openapi_documents_the_body_and_errors(client):
    spec = client.get("/openapi.json").json()
    op = spec["paths"]["/v1/decide"]["post"]
    assert "requestBody" in op and {"400", "413", "415", "422"} <= set(op["responses"])


def test_as_of_without_a_ledger_is_refused_naming_it(client, policy_dir):
    """A question about a past time cannot be answered without the ledger to replay: refused, never answered as of
    now (the one, the batch item, the AuthZEN evaluation, `pdp decide`)."""
    asked = {**OK, "as_of": "2026-01-01T00:00:00Z"}
    response = client.post("/v1/decide", json=asked)
    assert response.status_code == 422 and response.json()["detail"][0]["field"] == "as_of"
    assert "ledger" in response.json()["detail"][0]["message"]
    first, refused = client.post("/v1/decide/batch", json={"requests": [OK, asked]}).json()["decisions"]
    assert first["decision"] == "allow" and [d["field"] for d in refused["detail"]] == ["as_of"]
    assert client.post("/v1/decide", json=OK).json()["decision"] == "allow"
    (policy_dir / "asked.json").write_text(json.dumps(asked))
    assert main(["decide", str(policy_dir), "--request", str(policy_dir / "asked.json")]) == EXIT_USAGE


def test_an_authzen_evaluation_as_of_without_a_ledger_is_refused_naming_it(client):
    asked = {"subject": {"type": "service", "id": "ops"}, "action": {"name": "use", "properties": {"purpose":
             "essential.service"}}, "resource": {"type": "personal_data", "id": "u-1", "properties": {
             "data_categories": ["user.name"]}}}
    assert client.post("/access/v1/evaluation", json=asked).json()["decision"] is True
    response = client.post("/access/v1/evaluation", json={**asked, "context": {"as_of": "2026-01-01T00:00:00Z"}})
    assert response.status_code == 400 and "context.as_of" in response.text


TIMED = '''
policy "timed" version "1" effective 2026-01-01
allow run "Run the Service" cite "§2.1" to use for essential of user
deny old_consent "Consent lapses after 13 months" cite "§1.3" to use
  when context.consent_given_on is older than 13 months
'''


def test_the_server_stamps_now_and_refuses_a_clients(tmp_path):
    """A rule of time is decided on the server's clock: an old consent is denied on every way in (without the stamp
    `now` would be unknown, the deny would not apply and the request would be allowed), and a client that says
    `now` itself is refused, naming it."""
    (tmp_path / "main.pdp").write_text(textwrap.dedent(TIMED))
    (tmp_path / "vocabulary.yaml").write_text("attributes:\n  context.consent_given_on: date\n")
    old = {**OK, "context": {"consent_given_on": "2020-01-01"}}
    with TestClient(create_app(Settings(policy_dir=tmp_path))) as client:
        assert client.post("/v1/decide", json=OK).json()["decision"] == "allow"
        denied = client.post("/v1/decide", json=old).json()
        assert denied["decision"] == "deny" and denied["reasons"][0]["rule"] == "old_consent"
        assert [d["decision"] for d in client.post("/v1/decide/batch", json={"requests": [OK, old]}).json()[
            "decisions"]] == ["allow", "deny"]
        asked = {"subject": {"type": "service", "id": "ops"}, "action": {"name": "use", "properties": {
                 "purpose": "essential.service"}}, "resource": {"type": "personal_data", "id": "u-1", "properties": {
                 "data_categories": ["user.name"]}}, "context": {"consent_given_on": "2020-01-01"}}
        assert client.post("/access/v1/evaluation", json=asked).json()["decision"] is False
        asked["context"] = {"consent_given_on": datetime.now(timezone.utc).date().isoformat()}  # (today's: in force)
        assert client.post("/access/v1/evaluation", json=asked).json()["decision"] is True
        claimed = client.post("/v1/decide", json={**old, "now": "2020-06-01"})
        assert claimed.status_code == 422 and [d["field"] for d in claimed.json()["detail"]] == ["now"]
