"""The public AuthZEN "Todo" interop cases, against the real server (`pdp serve`).

The policy set is examples/authzen-todo, written in pdp's own language. Batch
results are compared exactly, as the upstream interop runner does.
"""

import json
from pathlib import Path

import httpx
import pytest

from tests.support.serve import served

pytestmark = pytest.mark.slow  # a real `pdp serve`

ROOT = Path(__file__).resolve().parents[2]
INTEROP = ROOT / "tests" / "data" / "authzen-interop"  # copied from openid/authzen, see NOTICE.md there
CASES_02 = json.loads((INTEROP / "decisions-authorization-api-1_0-02.json").read_text())
CASES_01 = json.loads((INTEROP / "decisions-authorization-api-1_0-01.json").read_text())


@pytest.fixture(scope="module")
def server():
    with served(ROOT / "examples" / "authzen-todo") as base, httpx.Client(base_url=base, timeout=10) as client:
        yield client


def _ids(cases):
    return [f"{i}-{c['request']['action']['name']}" for i, c in enumerate(cases)]


@pytest.mark.parametrize("case", CASES_02["evaluation"], ids=_ids(CASES_02["evaluation"]))
def test_evaluation_02(server, case):
    r = server.post("/access/v1/evaluation", json=case["request"])
    assert r.status_code == 200
    assert r.json()["decision"] is case["expected"]


@pytest.mark.parametrize("case", CASES_02["evaluations"], ids=_ids(CASES_02["evaluations"]))
def test_evaluations_02_exactly(server, case):
    r = server.post("/access/v1/evaluations", json=case["request"])
    assert r.status_code == 200
    assert r.json()["evaluations"] == case["expected"]


@pytest.mark.parametrize("case", CASES_01["evaluation"], ids=_ids(CASES_01["evaluation"]))
def test_evaluation_01(server, case):
    assert server.post("/access/v1/evaluation", json=case["request"]).json()["decision"] is case["expected"]


def test_discovery_and_request_id(server):
    meta = server.get("/.well-known/authzen-configuration").json()
    assert meta["access_evaluation_endpoint"].endswith("/access/v1/evaluation")
    assert meta["access_evaluations_endpoint"].endswith("/access/v1/evaluations")
    r = server.post("/access/v1/evaluation", json=CASES_02["evaluation"][0]["request"], headers={"X-Request-ID": "abc-123"})
    assert r.headers["x-request-id"] == "abc-123"
