"""Any JSON body sent to the studio's API is answered, never with a 500: a bad one is a 4xx naming its field."""

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from tests.server.studio_support import AUTH, copy_policies, studio_client
from tests.support.generate import fewer

ROUTES = ("check", "complete", "hover", "definition", "format", "decide", "test", "diff", "query", "save")
KEYS = ("edits", "file", "line", "col", "request", "events", "against", "decision", "action", "purpose",
        "categories", "where", "warnings", "base")
PATHS = st.sampled_from(["marketing.pdp", "use.pdp", "../x.pdp", "tests/t.yaml", "data/d.yaml", "vocabulary.yaml",
                         "clauses.yaml", "/abs.pdp", "privacy-policy.txt", "x"])
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-5, 10_000), st.text(max_size=20),
                    st.sampled_from(["served", "committed", "allowed", "denied", "use", "marketing", "user"]))
VALUES = st.recursive(SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                       st.dictionaries(st.text(max_size=8), inner, max_size=3)),
                      max_leaves=8)
EDITS = st.one_of(VALUES, st.dictionaries(PATHS, st.one_of(st.text(max_size=40), VALUES), max_size=2))
BODIES = st.fixed_dictionaries({}, optional={**dict.fromkeys(KEYS, VALUES), "edits": EDITS, "file": PATHS})


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    with studio_client(copy_policies(tmp_path_factory.mktemp("fuzz"))) as client:
        yield client


@settings(fewer(5), suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(route=st.sampled_from(ROUTES), body=BODIES)
def test_no_body_gets_a_500(client, route, body):
    if route == "save" and isinstance(body.get("edits"), dict) and body["edits"]:
        body = {**body, "base": dict.fromkeys(body["edits"])}  # a save of new files only (none are new)
    answer = client.post(f"/studio/api/{route}", headers=AUTH, json=body)
    assert answer.status_code < 500 or answer.json()["error"] == "timeout", answer.text
    if answer.status_code >= 400:
        problems = answer.json()["errors"]
        assert problems and all(p["field"] and p["message"] for p in problems)
