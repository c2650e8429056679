"""Hostile HTTP input: each gets a clear 4xx naming the field (or a decision), never a 5xx, in bounded work.

Work is bounded by counts, not clocks: the number of "did you mean" lookups
a call makes, the bytes a row stores, the rows an answer holds. The one
wait below is a hang guard (a deadlock would otherwise never end).
"""

import string
import threading
from pathlib import Path

import orjson
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import pdp.vocab.request as rq
import pdp.vocab.taxonomy as tx
from pdp.base.errors import suggest
from pdp.server import Settings, create_app
from pdp.server.deciding import SUGGESTIONS_PER_CALL, THREAD_BATCH
from tests.support.generate import fewer

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "hostile-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
GOOD = {"action": "use", "purpose": "essential.service", "data_categories": ["user.contact.email"],
        "data_subject": {"id": "u-1", "age": 30}}
MAX_ROW = 4096


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    log = tmp_path_factory.mktemp("hostile") / "log.db"
    settings = Settings(policy_dir=ROOT / "policies", reload=False, admin_token=TOKEN, log_path=log,
                        log_max_row_bytes=MAX_ROW)
    with TestClient(create_app(settings)) as c:
        yield c


@pytest.fixture
def lookups(monkeypatch):
    """The "did you mean" lookups for unknown values (the costly kind: the nearest of every known key)."""
    calls = []

    def counting(word, candidates, *args, **kwargs):
        if kwargs.get("always"):
            calls.append(word)
        return suggest(word, candidates, *args, **kwargs)

    monkeypatch.setattr(tx, "suggest", counting)  # unknown keys get their hint from taxonomy.closest_keys
    return calls


def refused(response, status=422) -> list[dict]:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"] and isinstance(body["detail"], list)
    return body["detail"]


def test_a_flood_of_unknown_categories_is_refused_naming_the_field(client, lookups):
    flood = {**GOOD, "data_categories": [f"zz{i}.qq" for i in range(5000)]}  # the finding: 74 KB, 26 s
    detail = refused(client.post("/v1/decide", json=flood))
    assert [d["field"] for d in detail] == ["data_categories"] and "at most 256" in detail[0]["message"]
    assert lookups == []
    many = {**GOOD, "data_categories": [f"zz{i}.qq" for i in range(256)]}
    detail = refused(client.post("/v1/decide", json=many))
    assert len(detail) == rq.MAX_ERRORS + 1 and detail[-1]["field"] == "request"
    assert len(lookups) == rq.MAX_ERRORS


def test_the_same_flood_through_authzen_names_the_authzen_field(client, lookups):
    body = {"subject": {"type": "service", "id": "s"}, "action": {"name": "use", "properties": {"purpose": "essential"}},
            "resource": {"type": "personal_data", "id": "u", "properties": {
                "data_categories": [f"zz{i}" for i in range(5000)]}}}
    detail = refused(client.post("/access/v1/evaluation", json=body), 400)
    assert [d["field"] for d in detail] == ["resource.properties.data_categories"]
    assert lookups == []


def test_a_batch_of_bad_requests_shares_one_suggestion_budget(client, lookups):
    bad = {**GOOD, "data_categories": [f"zz{i}.qq" for i in range(20)], "purpose": "nonsense"}
    r = client.post("/v1/decide/batch", json={"requests": [bad] * 1000})
    assert r.status_code == 200
    answers = r.json()["decisions"]
    assert len(answers) == 1000 and all(a["error"] == "bad_request" for a in answers)
    assert all(len(a["detail"]) == rq.MAX_ERRORS + 1 for a in answers)
    assert len(lookups) == SUGGESTIONS_PER_CALL  # 21,000 unknown values; 100 lookups


@pytest.mark.parametrize("part", ["request", "context", "data_subject", "recipient", "requester"])
def test_many_unknown_keys_are_refused_naming_the_part(client, part, lookups):
    keys = {f"unknown_{i}": i for i in range(5000)}
    body = {**GOOD, **keys} if part == "request" else {**GOOD, part: keys}
    detail = refused(client.post("/v1/decide", json=body))
    assert [d["field"] for d in detail] == [part] and "at most 256 attributes" in detail[0]["message"]
    assert lookups == []


@pytest.mark.parametrize("field", ["action", "purpose", "destination_country"])
def test_a_huge_string_is_refused_naming_the_field(client, field):
    detail = refused(client.post("/v1/decide", json={**GOOD, field: "x" * 900_000}))
    assert [d["field"] for d in detail] == [field]
    assert len(detail[0]["message"]) < 200 and "900,000 characters" in detail[0]["message"]


def test_a_huge_identifier_is_decided_and_stored_bounded(client):
    r = client.post("/v1/decide", json={**GOOD, "data_subject": {"id": "p" * 900_000, "age": 30},
                                        "context": {"note": "n" * 50_000}})
    assert r.status_code == 200
    row = client.get("/v1/admin/decisions", params={"decision_id": r.json()["decision_id"]}, headers=AUTH).json()
    [stored] = row["decisions"]
    assert len(orjson.dumps(stored["request"])) <= MAX_ROW
    assert stored["request"]["data_subject"]["id"].startswith("hmac:") and "context" not in stored["request"]


@pytest.mark.parametrize("depth", [100, 1000, 5000])
def test_deep_json_is_answered_never_a_5xx(client, depth):
    nested = b"[" * depth + b"]" * depth
    for path in ("/v1/decide", "/access/v1/evaluation", "/v1/decide/batch"):
        body = b'{"action":"use","purpose":"essential","data_categories":["user"],"context":{"deep":' + nested + b"}}"
        r = client.post(path, content=body, headers={"content-type": "application/json"})
        assert r.status_code < 500, (path, depth, r.text[:200])
        if r.status_code >= 400:
            assert r.json()["detail"][0]["field"]


@pytest.mark.parametrize("params", [{"limit": 10**9}, {"limit": -1}, {"limit": "all"}, {"decision": "maybe"},
                                    {"since": "yesterday"}, {"limt": 10}])
def test_admin_queries_out_of_bounds_are_refused_naming_the_parameter(client, params):
    detail = refused(client.get("/v1/admin/decisions", params=params, headers=AUTH))
    assert any(name in d["field"] or name in d["message"] for d in detail for name in params)


def test_the_largest_admin_answer_is_bounded(client):
    for _ in range(4):
        r = client.post("/v1/decide/batch", json={"requests": [{**GOOD, "context": {"n": "x" * 2000}}] * 300})
        assert r.status_code == 200
    r = client.get("/v1/admin/decisions", params={"limit": 1000}, headers=AUTH)
    assert r.status_code == 200
    rows = r.json()["decisions"]
    assert len(rows) == 1000 and len(r.content) <= 1000 * (MAX_ROW + 400)


def test_health_answers_while_a_long_bad_batch_is_being_decided(client, monkeypatch):
    policy_set = client.app.state.holder.current
    decide, started, answered, seen = policy_set.decide, threading.Event(), threading.Event(), {}

    def slow(request):
        if not started.is_set():  # the first item holds the batch until /health has answered
            started.set()
            seen["health_first"] = answered.wait(10)  # a hang guard: on the event loop this would never end
        return decide(request)

    monkeypatch.setattr(policy_set, "decide", slow)
    bad = {**GOOD, "data_categories": [f"zz{i}" for i in range(200)]}
    batch = threading.Thread(target=lambda: seen.update(batch=client.post(
        "/v1/decide/batch", json={"requests": [bad] * (THREAD_BATCH + 8)})))
    batch.start()
    assert started.wait(10)
    health = client.get("/health")
    answered.set()
    batch.join(30)
    assert health.status_code == 200 and seen["health_first"] is True
    answers = seen["batch"].json()["decisions"]
    assert seen["batch"].status_code == 200 and len(answers) == THREAD_BATCH + 8
    assert all(a["error"] == "bad_request" for a in answers)


# -- generated ---------------------------------------------------------------------

text = st.text(alphabet=string.printable, max_size=40)
json_values = st.recursive(st.none() | st.booleans() | st.integers(-2**63, 2**63 - 1)
                           | st.floats(allow_nan=False, allow_infinity=False) | text,
                           lambda inner: st.lists(inner, max_size=6) | st.dictionaries(text, inner, max_size=6),
                           max_leaves=40)
requests = st.fixed_dictionaries({}, optional={
    "action": json_values | st.sampled_from(["use", "share", "collect"]),
    "purpose": json_values | st.sampled_from(["essential.service", "marketing"]),
    "data_categories": st.lists(text | st.sampled_from(["user", "user.contact.email"]), max_size=300) | json_values,
    "data_subject": st.dictionaries(text, json_values, max_size=300) | json_values,
    "context": st.dictionaries(text, json_values, max_size=300) | json_values,
    "recipient": json_values, "requester": json_values, "destination_country": json_values,
})


@settings(fewer(5), suppress_health_check=list(HealthCheck))
@given(body=requests)
def test_any_generated_request_is_decided_or_refused_with_its_field(client, body):
    r = client.post("/v1/decide", json=body)
    assert r.status_code in (200, 422), r.text[:300]
    if r.status_code == 422:
        detail = r.json()["detail"]
        assert 1 <= len(detail) <= rq.MAX_ERRORS + 1 and all(d["field"] for d in detail)


@settings(fewer(5), suppress_health_check=list(HealthCheck))
@given(items=st.lists(requests, max_size=50))
def test_any_generated_batch_is_answered_item_by_item(client, items):
    r = client.post("/v1/decide/batch", json={"requests": items})
    assert r.status_code == 200, r.text[:300]
    assert len(r.json()["decisions"]) == len(items)
