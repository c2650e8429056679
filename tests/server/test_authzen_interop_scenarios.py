"""The public AuthZEN interop scenarios beyond Todo (API gateway, Search, IdP), against the real server (`pdp serve`).

The policy sets are examples/authzen-gateway and examples/authzen-search (the
IdP scenario uses the Search scenario's policy), written in pdp's own
language; the cases are the upstream test harnesses' files, copied unchanged
(tests/data/authzen-interop/NOTICE.md). Search results are compared as the
upstream runner compares them: as lists, after sorting (order is not part of
the contract).
"""

import json
from pathlib import Path

import httpx
import pytest

from tests.support.serve import served

pytestmark = pytest.mark.slow  # a real `pdp serve`

ROOT = Path(__file__).resolve().parents[2]
INTEROP = ROOT / "tests" / "data" / "authzen-interop"  # copied from openid/authzen, see NOTICE.md there
GATEWAY = json.loads((INTEROP / "api-gateway-decisions.json").read_text())["evaluation"]
SEARCHES = [(kind, case) for kind in ("subject", "resource", "action")
            for case in json.loads((INTEROP / f"search-{kind}-results.json").read_text())["evaluation"]]
IDP = json.loads((INTEROP / "idp-results.json").read_text())["search"]


@pytest.fixture(scope="module")
def gateway():
    with served(ROOT / "examples" / "authzen-gateway") as base, httpx.Client(base_url=base, timeout=10) as client:
        yield client


@pytest.fixture(scope="module")
def search():
    with served(ROOT / "examples" / "authzen-search") as base, httpx.Client(base_url=base, timeout=10) as client:
        yield client


def _sorted(results: list[dict]) -> list[dict]:
    return sorted(results, key=lambda r: (r.get("type", ""), r.get("id", ""), r.get("name", "")))


def _name(case: dict) -> str:
    request = case["request"]
    parts = [request["subject"].get("id", "?"), request.get("action", {}).get("name", "?"), request["resource"].get("id", "?")]
    return "-".join(parts)


@pytest.mark.parametrize("case", GATEWAY, ids=[_name(c) for c in GATEWAY])
def test_api_gateway(gateway, case):
    r = gateway.post("/access/v1/evaluation", json=case["request"])
    assert r.status_code == 200
    assert r.json()["decision"] is case["expected"]


@pytest.mark.parametrize(("kind", "case"), SEARCHES, ids=[f"{k}-{_name(c)}" for k, c in SEARCHES])
def test_search(search, kind, case):
    r = search.post(f"/access/v1/search/{kind}", json=case["request"])
    assert r.status_code == 200
    body = r.json()
    assert _sorted(body["results"]) == _sorted(case["expected"]["results"])
    assert body["page"] == {"next_token": "", "count": len(case["expected"]["results"])}  # the whole list, one page


@pytest.mark.parametrize("case", IDP, ids=[_name(c) for c in IDP])
def test_idp(search, case):
    r = search.post("/access/v1/search/resource", json=case["request"])
    assert r.status_code == 200
    assert _sorted(r.json()["results"]) == _sorted(case["expected"]["results"])


def test_every_search_result_is_allowed_by_an_evaluation(search):
    # the spec's semantics: a result, used in an Access Evaluation, is allowed (here: always, by construction)
    request = {"subject": {"type": "user", "id": "dan"}, "action": {"name": "edit"}, "resource": {"type": "record"}}
    results = search.post("/access/v1/search/resource", json=request).json()["results"]
    assert results
    for resource in results:
        r = search.post("/access/v1/evaluation", json={**request, "resource": resource})
        assert r.json()["decision"] is True


def test_discovery_lists_the_search_endpoints(search):
    meta = search.get("/.well-known/authzen-configuration").json()
    for kind in ("subject", "resource", "action"):
        assert meta[f"search_{kind}_endpoint"] == f"{meta['policy_decision_point']}/access/v1/search/{kind}"


def test_the_search_sets_own_policy_tests_pass():
    # `pdp test` takes an AuthZEN set's cases as AuthZEN evaluations (docs/service.md, "AuthZEN 1.0")
    from pdp.testing.discovery import run_directory

    results, errors = run_directory(ROOT / "examples" / "authzen-search")
    assert errors == [] and len(results) == 4
    assert [r.failures for r in results if not r.passed] == []
