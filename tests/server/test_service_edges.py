"""Smaller service faults (issue 8, finding 15): a far-off `since` (was a 500), a setting that is not JSON, discovery
metadata built from the caller's `Host` header, a 401 without `WWW-Authenticate`."""

import pytest
from fastapi.testclient import TestClient

from pdp.cli import main
from pdp.server import Settings, create_app

POLICY = '''policy "ops" version "1" effective 2026-11-24
allow ops "Operate the service" cite "§2.1" to use for essential of user
'''
TOKEN = "s3cret-token"
ADMIN = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def policy_dir(tmp_path):
    (tmp_path / "main.pdp").write_text(POLICY)
    return tmp_path


@pytest.mark.parametrize("name", ["since", "until"])
@pytest.mark.parametrize("value", ["9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+23:59", "yesterday"])
def test_a_time_bound_outside_the_calendar_is_a_422_naming_it(policy_dir, tmp_path, name, value):
    settings = Settings(policy_dir=policy_dir, reload=False, admin_token=TOKEN, log_path=tmp_path / "log.db")
    with TestClient(create_app(settings)) as client:
        r = client.get("/v1/admin/decisions", params={name: value}, headers=ADMIN)
        assert r.status_code == 422, r.text  # as every other malformed admin query parameter
        assert r.json()["detail"][0]["field"] == name and value in r.json()["detail"][0]["message"]
        assert client.get("/v1/admin/decisions", params={name: "2026-03-01T12:00:00+01:00"},
                          headers=ADMIN).status_code == 200


def test_a_401_says_how_to_authenticate(policy_dir):
    with TestClient(create_app(Settings(policy_dir=policy_dir, reload=False, admin_token=TOKEN))) as client:
        for headers in ({}, {"Authorization": "Bearer wrong"}):
            r = client.post("/v1/admin/reload", headers=headers)
            assert (r.status_code, r.headers.get("www-authenticate")) == (401, "Bearer")
            assert r.json()["error"] == "http_error"


def test_discovery_metadata_ignores_the_callers_host_header(policy_dir):
    settings = Settings(policy_dir=policy_dir, reload=False, host="127.0.0.1", port=9191)
    with TestClient(create_app(settings)) as client:
        meta = client.get("/.well-known/authzen-configuration", headers={"Host": "evil.example"}).json()
    assert meta == {"policy_decision_point": "http://127.0.0.1:9191",
                    "access_evaluation_endpoint": "http://127.0.0.1:9191/access/v1/evaluation",
                    "access_evaluations_endpoint": "http://127.0.0.1:9191/access/v1/evaluations",
                    "search_subject_endpoint": "http://127.0.0.1:9191/access/v1/search/subject",
                    "search_resource_endpoint": "http://127.0.0.1:9191/access/v1/search/resource",
                    "search_action_endpoint": "http://127.0.0.1:9191/access/v1/search/action"}


def test_discovery_metadata_uses_the_configured_public_url(policy_dir):
    settings = Settings(policy_dir=policy_dir, reload=False, public_url="https://pdp.example.com/")
    with TestClient(create_app(settings)) as client:
        meta = client.get("/.well-known/authzen-configuration", headers={"Host": "evil.example"}).json()
    assert meta["policy_decision_point"] == "https://pdp.example.com"
    assert meta["access_evaluation_endpoint"] == "https://pdp.example.com/access/v1/evaluation"


@pytest.mark.parametrize("value", ["data_subject.age", '{"not": "a list"}', "[1, "])
def test_a_log_mask_that_is_not_a_json_list_stops_serve_with_one_line(policy_dir, monkeypatch, capsys, value):
    monkeypatch.setenv("PDP_LOG_MASK", value)
    assert main(["serve", str(policy_dir), "--no-log"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("pdp serve: PDP_LOG_MASK: ") and err.count("\n") == 1, err
    assert "Traceback" not in err


def test_a_log_mask_given_as_a_json_list_is_read(monkeypatch):
    monkeypatch.setenv("PDP_LOG_MASK", '["data_subject.age", "context.note"]')
    assert Settings().log_mask == ["data_subject.age", "context.note"]
