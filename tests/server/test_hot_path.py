"""The hot path answers exactly as FastAPI's full stack does, for good and bad requests alike."""

import json
import textwrap

import pytest
from hypothesis import given
from hypothesis import strategies as st
from fastapi.testclient import TestClient

from pdp.server import HOT_PATHS, Settings, create_app
from tests.support.generate import fewer

POLICY = '''
policy "demo" version "3" effective 2026-11-24
allow ops "Operate the service" cite "§2.1" to use for essential of user
deny minors "Not for children" cite "§10" when data_subject.age < 18
'''
OK = {"action": "use", "purpose": "essential.service", "data_categories": ["user.name"]}
JSON = {"content-type": "application/json"}
EVALUATION = {"subject": {"type": "service", "id": "crm"}, "action": {"name": "use"},
              "resource": {"type": "personal_data", "id": "p1",
                           "properties": {"data_categories": ["user.name"], "purpose": "essential.service"}}}

CASES = [
    ("/v1/decide", {"json": OK}),
    ("/v1/decide", {"json": {**OK, "data_subject": {"age": 9}}, "headers": {"x-request-id": "req-7"}}),
    ("/v1/decide", {"json": {**OK, "explain": True}}),
    ("/v1/decide", {"json": {**OK, "explain": "yes"}}),
    ("/v1/decide", {"content": b"{not json", "headers": JSON}),
    ("/v1/decide", {"content": b"", "headers": JSON}),
    ("/v1/decide", {"content": b'{"action": "use"}', "headers": {"content-type": "text/plain"}}),
    ("/v1/decide", {"json": {**OK, "purpose": "essentail.service"}}),
    ("/v1/decide", {"content": b'{"pad": "' + b"x" * 4000 + b'"}', "headers": JSON}),
    ("/v1/decide/batch", {"json": {"requests": [OK, {"action": "use"}]}}),
    ("/v1/decide/batch", {"json": {"requests": [OK] * 6}}),
    ("/access/v1/evaluation", {"json": EVALUATION, "headers": {"x-request-id": "abc"}}),
    ("/access/v1/evaluation", {"content": b"[]", "headers": JSON}),
    ("/access/v1/evaluations", {"json": {**EVALUATION, "evaluations": [{}, {"action": {"name": "sell"}}]}}),
    ("/access/v1/evaluations", {"json": {"evaluations": "no"}}),
]


def _comparable(response) -> tuple:
    body = response.json()

    def scrub(node):
        if isinstance(node, dict):
            return {k: scrub(v) for k, v in node.items() if k not in ("decision_id", "id", "loaded_at")}
        if isinstance(node, list):
            return [scrub(v) for v in node]
        return node

    return response.status_code, response.headers.get("content-type"), response.headers.get("x-request-id"), scrub(body)


@pytest.fixture
def clients(tmp_path):
    (tmp_path / "main.pdp").write_text(textwrap.dedent(POLICY))
    settings = Settings(policy_dir=tmp_path, max_body_bytes=2048, max_batch=5, log_path=tmp_path / "log.db")
    hot, full = create_app(settings), create_app(settings.model_copy(update={"hot_path": False}))
    assert hot.hot and not full.hot  # the second takes every request through the middleware and the router
    with TestClient(hot) as hot_client, TestClient(full) as full_client:
        yield hot_client, full_client


def test_the_decision_endpoints_take_the_hot_path(tmp_path):
    app = create_app(Settings(policy_dir=tmp_path))
    assert set(app.hot) == HOT_PATHS
    assert create_app(Settings(policy_dir=tmp_path, otel=True)).hot == {}  # telemetry sees every request


@pytest.mark.parametrize("path, kwargs", CASES)
def test_hot_path_answers_as_the_full_stack(clients, path, kwargs):
    hot_client, full_client = clients
    assert _comparable(hot_client.post(path, **kwargs)) == _comparable(full_client.post(path, **kwargs))


def test_an_unforeseen_error_is_a_json_error_not_a_traceback(tmp_path):
    (tmp_path / "main.pdp").write_text(textwrap.dedent(POLICY))
    app = create_app(Settings(policy_dir=tmp_path))

    async def broken(app, scope, receive):  # how the hot path calls an endpoint (hot_path.Asgi)
        raise RuntimeError("boom")

    app.hot = {**app.hot, "/v1/decide": broken}
    with TestClient(app, raise_server_exceptions=False) as client:
        r = client.post("/v1/decide", json=OK, headers={"x-request-id": "r1"})
    assert r.status_code == 500 and r.headers["x-request-id"] == "r1"
    assert r.json()["error"] == "internal_error" and "RuntimeError" in r.json()["detail"][0]["message"]
    assert "boom" not in r.text  # no internals leak


# -- any request, both ways -------------------------------------------------------------------------

KEYS = st.sampled_from(["use", "share", "sell", "essential", "essential.service", "essentail", "marketing",
                        "user.name", "user", "user.contact.email", "", "x" * 300])
VALUES = st.recursive(st.none() | st.booleans() | st.integers(-10**20, 10**20) | st.floats(allow_nan=False) | KEYS
                      | st.text(max_size=8), lambda inner: st.lists(inner, max_size=3)
                      | st.dictionaries(st.text(max_size=6) | KEYS, inner, max_size=3), max_leaves=8)
REQUESTS = st.fixed_dictionaries({}, optional={
    "action": KEYS | VALUES, "purpose": KEYS | VALUES, "data_categories": st.lists(KEYS, max_size=3) | VALUES,
    "data_subject": st.fixed_dictionaries({}, optional={"id": st.text(max_size=5), "age": st.integers(0, 99) | VALUES,
                                                        "consent": st.dictionaries(KEYS, st.booleans())}),
    "explain": st.booleans() | VALUES, "context": VALUES, "pad": st.text(min_size=1500, max_size=2500)})
BODIES = (REQUESTS.map(lambda r: json.dumps(r).encode()) | VALUES.map(lambda v: json.dumps(v).encode())
          | st.binary(max_size=64) | st.just(b"") | st.just(b"  \n"))
CONTENT_TYPES = st.sampled_from([None, "application/json", "application/json; charset=utf-8", "Application/JSON",
                                 "text/plain", "application/jsonx", ""])


@pytest.fixture(scope="module")
def both_ways(tmp_path_factory):
    policy_dir = tmp_path_factory.mktemp("hot")
    (policy_dir / "main.pdp").write_text(textwrap.dedent(POLICY))
    settings = Settings(policy_dir=policy_dir, max_body_bytes=2048, max_batch=5, log_path=policy_dir / "log.db",
                        reload=False)
    with TestClient(create_app(settings)) as hot, \
            TestClient(create_app(settings.model_copy(update={"hot_path": False}))) as full:
        yield hot, full


@fewer(2)
@given(body=BODIES, content_type=CONTENT_TYPES, request_id=st.none() | st.sampled_from(["r-1", "x" * 40]))
def test_any_request_to_decide_is_answered_alike_both_ways(both_ways, body, content_type, request_id):
    """`/v1/decide`'s bare ASGI form (routes.decide_asgi) answers every request as the FastAPI route does."""
    hot, full = both_ways
    headers = {k: v for k, v in (("content-type", content_type), ("x-request-id", request_id)) if v is not None}
    answers = [client.post("/v1/decide", content=body, headers=headers) for client in (hot, full)]
    assert _comparable(answers[0]) == _comparable(answers[1])
    assert answers[0].headers["content-length"] == answers[1].headers["content-length"]
