"""Operations: hot reload, the last good set on a broken edit, admin token, metrics."""

import textwrap

import pytest
from fastapi.testclient import TestClient

from pdp.server import Settings, create_app
from tests.support.serve import wait_for

POLICY = '''
policy "ops" version "1" effective 2026-11-24
allow ops "Operate the service" cite "§2.1" to use for essential of user
'''
OK = {"action": "use", "purpose": "essential.service", "data_categories": ["user.name"]}
TOKEN = "s3cret-token"


@pytest.fixture
def policy_dir(tmp_path):
    (tmp_path / "main.pdp").write_text(textwrap.dedent(POLICY))
    return tmp_path


@pytest.mark.slow
def test_hot_reload_swaps_in_a_good_edit_and_refuses_a_broken_one(policy_dir):
    settings = Settings(policy_dir=policy_dir, reload_debounce_ms=50)
    with TestClient(create_app(settings)) as client:
        first = client.get("/v1/policies").json()["policies"][0]["digest"]
        (policy_dir / "main.pdp").write_text(textwrap.dedent(POLICY).replace('version "1"', 'version "2"'))
        assert wait_for(lambda: client.get("/v1/policies").json()["policies"][0]["version"] == "2")
        second = client.get("/v1/policies").json()["policies"][0]["digest"]
        assert second != first

        (policy_dir / "main.pdp").write_text(textwrap.dedent(POLICY) + "\nallow broken to usee\n")
        assert wait_for(lambda: client.get("/v1/policies").json()["last_reload_failure"] is not None)
        body = client.get("/v1/policies").json()
        assert body["policies"][0]["digest"] == second  # the last good set keeps serving
        (error,) = body["last_reload_failure"]["errors"]
        assert (error["file"].endswith("main.pdp"), error["line"], error["code"]) == (True, 5, "unknown-action")
        assert client.post("/v1/decide", json=OK).json()["decision"] == "allow"
        metrics = client.get("/metrics").text
        assert "pdp_policy_reload_failures_total 1.0" in metrics


def test_admin_endpoints_need_the_token(policy_dir):
    with TestClient(create_app(Settings(policy_dir=policy_dir, reload=False, admin_token=TOKEN))) as client:
        assert client.post("/v1/admin/reload").status_code == 401
        assert client.post("/v1/admin/reload", headers={"Authorization": "Bearer wrong"}).status_code == 401
        r = client.post("/v1/admin/reload", headers={"Authorization": f"Bearer {TOKEN}"})
        assert r.status_code == 200 and r.json()["reloaded"] is True


def test_admin_endpoints_are_closed_without_a_configured_token(policy_dir):
    with TestClient(create_app(Settings(policy_dir=policy_dir, reload=False))) as client:
        assert client.post("/v1/admin/reload", headers={"Authorization": "Bearer anything"}).status_code == 401


def test_metrics_count_decisions_by_result(policy_dir):
    with TestClient(create_app(Settings(policy_dir=policy_dir, reload=False))) as client:
        client.post("/v1/decide", json=OK)
        client.post("/v1/decide", json={**OK, "purpose": "marketing"})
        client.post("/v1/decide", json={**OK, "purpose": "nope"})
        text = client.get("/metrics").text
        assert 'pdp_decisions_total{decision="allow"} 1.0' in text
        assert 'pdp_decisions_total{decision="deny"} 1.0' in text
        assert "pdp_bad_requests_total 1.0" in text
        assert "pdp_decision_seconds_bucket" in text and "pdp_policy_rules 1.0" in text
