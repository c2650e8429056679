"""The benchmark policy written for Cerbos decides the 1,000 seeded requests as pdp does (and as the oracle does).

bench/http/load.py compares pdp's HTTP service with the Cerbos server on
that policy; the comparison means something only if both decide alike.
Cerbos runs for real (`cerbos server`, installed from npm into
bench/http/.cache on first use: this needs npm and the registry once);
pdp is asked through its HTTP app (one batch call). Nothing here is timed.
"""

from __future__ import annotations

import sys
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import reference  # noqa: E402
from bench.http import cerbos  # noqa: E402
from bench.workload import make_requests  # noqa: E402
from pdp.server import Settings, create_app  # noqa: E402

POLICY_DIR = ROOT / "bench" / "policy"


@pytest.fixture(scope="module")
def requests() -> list[dict]:
    return make_requests(1000)


@pytest.fixture(scope="module")
def cerbos_decisions(requests) -> list[str]:
    with cerbos.served(audit=False) as base, httpx.Client(timeout=30) as client:
        return cerbos.decide_all(client, base, requests)


@pytest.fixture(scope="module")
def pdp_decisions(requests) -> list[str]:
    # one batch call (bench/http/load.py asks /v1/decide once per request, over a socket)
    with TestClient(create_app(Settings(policy_dir=POLICY_DIR, reload=False))) as client:
        answer = client.post("/v1/decide/batch", json={"requests": requests}).raise_for_status().json()
    return [d["decision"] for d in answer["decisions"]]


def test_cerbos_and_pdp_decide_every_seeded_request_alike(requests, cerbos_decisions, pdp_decisions):
    differ = [(n, ours, theirs, requests[n]) for n, (ours, theirs) in enumerate(zip(pdp_decisions, cerbos_decisions))
              if ours != theirs]
    assert len(cerbos_decisions) == len(pdp_decisions) == 1000
    assert not differ, differ[:5]


def test_both_decide_as_the_oracle_and_the_requests_reach_both_answers(requests, cerbos_decisions):
    assert cerbos_decisions == [reference.decide(r) for r in requests]
    assert 100 < cerbos_decisions.count("allow") < 900


def test_a_request_becomes_one_resource_with_what_the_rules_read(requests):
    [entry] = cerbos.check_body([requests[0]])["resources"]
    attr = entry["resource"]["attr"]
    assert entry["actions"] == [requests[0]["action"]]
    assert attr["purpose"] == requests[0]["purpose"]
    assert attr["data_categories"] == requests[0]["data_categories"]
    assert attr["data_subject"]["age"] == requests[0]["data_subject"]["age"]
    assert attr["recipient"]["dpa"] == requests[0]["recipient"]["dpa"]
