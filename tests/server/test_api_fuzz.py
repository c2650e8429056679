"""Fuzz every operation of the API from its own OpenAPI schema (schemathesis), with all of its checks.

The native operations are fuzzed against a data-use policy set (CX-ONE-GO),
the AuthZEN ones against the AuthZEN interop sets (Todo; Search for the Search
API), whose rules answer any well-formed evaluation. Two checks are off where the contract says
otherwise, each for one operation family (see `EXCLUDED`).

The examples are derandomized, so that every CI run sends the same ones and a
red run can be replayed; to fuzz further, drop `derandomize` locally and run
with `--hypothesis-seed=N` for several N.
"""

import tempfile
from pathlib import Path

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import negative_data_rejection, positive_data_acceptance

from pdp.ledger import open_ledger
from pdp.server import Settings, create_app
from pdp.server.audit import open_log
from tests.support.generate import fewer
from tests.support.ledger import KEY

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "fuzz-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
LEDGER_TOKEN = "fuzz-ledger-token-to-read-and-write"
LEDGER_AUTH = {"Authorization": f"Bearer {LEDGER_TOKEN}"}

# Why a check is off for an operation:
EXCLUDED = {
    # Vocabulary keys (actions, purposes, categories, countries) are the served policy set's, which a
    # reload may change, so the schema says "a string": a schema-valid request naming a key the set does
    # not know is a 422 naming it (docs/service.md), never a decision.
    ("POST", "/v1/decide"): [positive_data_acceptance],
    # A batch answers a bad item in its place (an error entry; for AuthZEN, `decision: false` with the
    # error), by the contract, rather than failing the whole call: an invalid item is not a rejected call.
    ("POST", "/v1/decide/batch"): [negative_data_rejection],
    ("POST", "/access/v1/evaluations"): [negative_data_rejection],
    # What an event of each kind needs (`topic` for a consent, ...) and that it is not dated ahead of the
    # ledger's clock are checked by the ledger, not said by the schema: such an event is a 422 naming the field.
    ("POST", "/v1/ledger/events"): [positive_data_acceptance],
    ("POST", "/v1/ledger/events/batch"): [positive_data_acceptance],
    # A page token is one the server issued for the same search (the schema can say only "a string"): any
    # other is a 400 naming `page.token`.
    **{("POST", f"/access/v1/search/{kind}"): [positive_data_acceptance] for kind in ("subject", "resource", "action")},
}


def _app(policy_dir: Path, ledger: bool = False):
    directory = Path(tempfile.mkdtemp(prefix="pdp-fuzz-"))
    app_settings = Settings(policy_dir=policy_dir, reload=False, admin_token=TOKEN, log_path=directory / "log.db",
                            ledger_read_tokens=[LEDGER_TOKEN] if ledger else [],
                            ledger_write_tokens=[LEDGER_TOKEN] if ledger else [])
    app = create_app(app_settings)
    # schemathesis calls the app without running its lifespan: load the set and open the log (and ledger) here.
    app.state.holder.reload()
    app.state.decision_log = open_log(app_settings)
    if ledger:
        app.state.ledger = open_ledger(directory / "consent.db", key=KEY)
    return app


native = schemathesis.openapi.from_asgi("/openapi.json", _app(ROOT / "policies")).exclude(
    path_regex="^/(access|v1/ledger)/")
ledger = schemathesis.openapi.from_asgi("/openapi.json", _app(ROOT / "policies", ledger=True)).include(
    path_regex="^/v1/ledger/")
authzen = schemathesis.openapi.from_asgi("/openapi.json", _app(ROOT / "examples" / "authzen-todo")).include(
    path_regex="^/access/").exclude(path_regex="^/access/v1/search/")
search = schemathesis.openapi.from_asgi("/openapi.json", _app(ROOT / "examples" / "authzen-search")).include(
    path_regex="^/access/v1/search/")


def check(case, headers=AUTH) -> None:
    excluded = EXCLUDED.get((case.method.upper(), case.path), [])
    response = case.call_and_validate(headers=headers, excluded_checks=excluded)
    if response.status_code >= 400 and "json" in response.headers.get("content-type", [""])[0]:
        body = response.json()
        assert "error" in body and isinstance(body["detail"], list), body


@native.parametrize()
@settings(fewer(5), suppress_health_check=list(HealthCheck), derandomize=True)
def test_every_native_operation_passes_every_check(case):
    check(case)


@authzen.parametrize()
@settings(fewer(5), suppress_health_check=list(HealthCheck), derandomize=True)
def test_every_authzen_operation_passes_every_check(case):
    check(case)


@search.parametrize()
@settings(fewer(5), suppress_health_check=list(HealthCheck), derandomize=True)
def test_every_search_operation_passes_every_check(case):
    check(case)


@ledger.parametrize()
@settings(fewer(5), suppress_health_check=list(HealthCheck), derandomize=True)
def test_every_ledger_operation_passes_every_check(case):
    check(case, AUTH if case.path == "/v1/ledger/erase" else LEDGER_AUTH)


# -- what the fuzzing found, pinned ----------------------------------------------

def test_a_405_lists_every_method_of_the_path():
    from fastapi.testclient import TestClient

    with TestClient(_app(ROOT / "policies")) as client:
        r = client.put("/v1/admin/decisions", headers=AUTH)
    assert r.status_code == 405 and r.headers["allow"] == "DELETE, GET"


def test_an_unknown_admin_parameter_is_refused_naming_it():
    from fastapi.testclient import TestClient

    with TestClient(_app(ROOT / "policies")) as client:
        r = client.get("/v1/admin/decisions", params={"decison": "allow"}, headers=AUTH)
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "query.decison"


def test_the_schema_documents_every_body_and_error_shape():
    document = native.raw_schema
    for path in ("/access/v1/evaluation", "/access/v1/evaluations", "/v1/decide", "/v1/decide/batch"):
        assert document["paths"][path]["post"]["requestBody"]["required"] is True
    for method in ("get", "delete"):
        error = document["paths"]["/v1/admin/decisions"][method]["responses"]["422"]
        assert error["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorBody")
