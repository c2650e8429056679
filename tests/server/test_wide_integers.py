"""An integer beyond 64 bits is refused at the request check, naming its field, on every decision route.

orjson, which reads every body, reads such an integer as the nearest float: the
number decided would not be the one sent (and, once a float, nothing later could
tell). Before this, such a request was decided on the rounded number; an integer
the engine kept exact could not be encoded for the decision log's writer (503).
"""

import asyncio
import json
import sqlite3
import textwrap

import orjson
import pytest
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st

from pdp.server import Settings, create_app
from pdp.server.body import LARGEST_INTEGER, SMALLEST_INTEGER, wide_integers
from pdp.server.connections import GuardedDirectHttpTools, GuardedHttpTools
from tests.server.test_direct import exchange, request_bytes, scrubbed

POLICY = '''
policy "amounts" version "1" effective 2026-11-24
allow ops "Operate the service" cite "§1" to use for essential of user
deny large "Too large" cite "§2" when context.amount > 100000000000000000000
'''
VOCABULARY = "attributes:\n  context.amount: number\n"
OK = {"action": "use", "purpose": "essential.service", "data_categories": ["user.name"]}
WIDE = 100000000000000000001  # above the rule's 10**20; orjson would read it as 1e20, which is not
EVALUATION = {"subject": {"type": "service", "id": "s"},
              "action": {"name": "use", "properties": {"purpose": "essential.service"}},
              "resource": {"type": "personal_data", "id": "r", "properties": {"data_categories": ["user.name"]}}}


@pytest.fixture
def app(tmp_path):
    policies = tmp_path / "policies"
    policies.mkdir()
    (policies / "main.pdp").write_text(textwrap.dedent(POLICY))
    (policies / "vocabulary.yaml").write_text(VOCABULARY)
    return create_app(Settings(policy_dir=policies, log_path=tmp_path / "log.db", log_key="k" * 32, reload=False))


def post(client, path: str, body: bytes):
    return client.post(path, content=body, headers={"content-type": "application/json"})


def logged(app) -> int:
    with sqlite3.connect(app.state.settings.log_path) as db:
        return db.execute("select count(*) from decisions").fetchone()[0]


def with_amount(body: dict, amount: int) -> bytes:
    return json.dumps({**body, "context": {"amount": amount}}).encode()  # the stdlib writes every digit


@pytest.mark.parametrize("path, body, status, field", [
    ("/v1/decide", with_amount(OK, WIDE), 422, "context.amount"),
    ("/v1/decide", with_amount(OK, -2**63 - 1), 422, "context.amount"),
    ("/v1/decide", with_amount(OK, 10**400), 422, "context.amount"),
    ("/access/v1/evaluation", with_amount(EVALUATION, WIDE), 400, "context.amount"),
])
@pytest.mark.parametrize("hot_path", [True, False])
def test_an_integer_beyond_64_bits_is_a_4xx_naming_its_field(app, path, body, status, field, hot_path):
    if not hot_path:
        app.hot = {}  # through FastAPI's whole stack
    with TestClient(app) as client:
        r = post(client, path, body)
        assert r.status_code == status, r.text
        assert [d["field"] for d in r.json()["detail"]] == [field]
        assert "64 bits" in r.json()["detail"][0]["message"]
        assert logged(app) == 0  # nothing was decided


@pytest.mark.parametrize("amount, decision", [(LARGEST_INTEGER, "allow"), (SMALLEST_INTEGER, "allow"), (-1, "allow")])
def test_integers_orjson_reads_exactly_are_decided(app, amount, decision):
    with TestClient(app) as client:
        r = post(client, "/v1/decide", with_amount(OK, amount))
        assert r.status_code == 200 and r.json()["decision"] == decision
        r = post(client, "/access/v1/evaluation", with_amount(EVALUATION, amount))
        assert r.status_code == 200 and r.json()["decision"] is (decision == "allow")
        assert logged(app) == 2


def test_the_direct_path_leaves_it_to_the_app_which_refuses_it(app):
    raw = request_bytes(with_amount(OK, WIDE))

    async def through_both():
        async with app.router.lifespan_context(app):
            return [await exchange(app, protocol, [raw], 1) for protocol in (GuardedDirectHttpTools, GuardedHttpTools)]

    (direct, direct_tasks), (plain, _) = asyncio.run(through_both())
    assert direct_tasks == 1  # not answered directly: the app's ASGI task answered it
    assert direct.startswith(b"HTTP/1.1 422") and b"context.amount" in direct
    assert scrubbed(direct) == scrubbed(plain)


JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.integers(min_value=-2**70, max_value=2**70)
                    | st.floats(allow_nan=False, allow_infinity=False) | st.text(alphabet="0123456789a.", max_size=25),
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
                    max_leaves=10)


def exact(value) -> object:
    """`value` with its numbers' types kept apart (1 and 1.0 differ), to compare what was read with what was sent."""
    if isinstance(value, dict):
        return {name: exact(item) for name, item in value.items()}
    if isinstance(value, list):
        return [exact(item) for item in value]
    return (type(value).__name__, value)


@given(JSON)
def test_no_field_named_exactly_when_orjson_reads_every_number_as_sent(value):
    raw = json.dumps(value).encode()
    assert (wide_integers(raw) == []) == (exact(orjson.loads(raw)) == exact(json.loads(raw)))


def test_long_runs_of_digits_elsewhere_are_decided(app):
    body = {**OK, "data_subject": {"id": "1" * 30}, "context": {"amount": 1.5e30}}
    with TestClient(app) as client:
        r = post(client, "/v1/decide", json.dumps(body).encode())
        assert r.status_code == 200 and r.json()["decision"] == "deny"


def test_in_a_batch_the_item_holding_one_is_answered_in_its_place(app):
    # Before, a batch read it as the nearest float: 10**20 + 1 was decided as 1e20, under the rule's bound (allow).
    body = json.dumps({"requests": [OK, {**OK, "context": {"amount": WIDE}}, {**OK, "context": {"amount": 1}}]}).encode()
    with TestClient(app) as client:
        r = post(client, "/v1/decide/batch", body)
        assert r.status_code == 200, r.text
        first, wide, last = r.json()["decisions"]
        assert first["decision"] == "allow" and last["decision"] == "allow"
        assert wide["error"] == "bad_request"
        assert [d["field"] for d in wide["detail"]] == ["requests.1.context.amount"]
        assert "64 bits" in wide["detail"][0]["message"]
        assert logged(app) == 2  # the two decided items, not the refused one


def test_in_an_authzen_batch_the_evaluation_holding_one_is_refused_in_its_place(app):
    items = [{"context": {"amount": 1}}, {"context": {"amount": WIDE}}]
    body = json.dumps({**EVALUATION, "evaluations": items}).encode()
    with TestClient(app) as client:
        r = post(client, "/access/v1/evaluations", body)
        assert r.status_code == 200, r.text
        decided, refused = r.json()["evaluations"]
        assert decided["decision"] is True and refused["decision"] is False
        assert "evaluations.1.context.amount" in json.dumps(refused)
        assert logged(app) == 1


@pytest.mark.parametrize("path, body", [
    ("/v1/decide/batch", {"requests": [OK], "context": {"amount": WIDE}}),
    ("/access/v1/evaluations", {**EVALUATION, "context": {"amount": WIDE}, "evaluations": [{}]}),
])
def test_in_a_batch_one_outside_the_items_refuses_the_call(app, path, body):
    with TestClient(app) as client:
        r = post(client, path, json.dumps(body).encode())
        assert r.status_code in (400, 422), r.text
        assert [d["field"] for d in r.json()["detail"]] == ["context.amount"]
        assert logged(app) == 0
