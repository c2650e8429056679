"""The AuthZEN Search API: what it lists is what evaluations allow, page by page, bounded, failing closed.

The interop cases themselves run against a real `pdp serve` in
test_authzen_interop_scenarios.py; here the protocol's edges, in process.
"""

import shutil
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st

from pdp.server import Settings, create_app
from tests.support.generate import fewer

ROOT = Path(__file__).resolve().parents[2]
SEARCH = ROOT / "examples" / "authzen-search"
# What the registers list (the candidates a search decides), and ids they do not list (asked about, never listed:
# an evaluation may allow one, e.g. a manager may view any record, but a search lists only what the set knows).
USERS, RECORDS = ["alice", "bob", "carol", "dan", "erin", "felix"], [str(n) for n in range(101, 121)]
ASKED_USERS, ASKED_RECORDS = [*USERS, "mallory"], [*RECORDS, "999"]
ACTIONS = ["view", "edit", "delete", "print"]


def client(policy_dir: Path = SEARCH, **settings) -> TestClient:
    return TestClient(create_app(Settings(policy_dir=policy_dir, log_path=None, **settings)))


@pytest.fixture(scope="module")
def search():
    with client() as c:
        yield c


def resource_search(user: str, action: str, **page) -> dict:
    body = {"subject": {"type": "user", "id": user}, "action": {"name": action}, "resource": {"type": "record"}}
    return {**body, "page": page} if page else body


def all_pages(c: TestClient, endpoint: str, body: dict, limit: int | None = None) -> list[list[dict]]:
    """Every page of a search, following `next_token` (bounded by a count of pages, never by the clock)."""
    pages, token = [], None
    for _ in range(200):
        page = {k: v for k, v in (("limit", limit), ("token", token)) if v is not None}
        r = c.post(endpoint, json={**body, "page": page} if page else body)
        assert r.status_code == 200, r.text
        answer = r.json()
        assert list(answer) == ["page", "results"]  # `page` first, as the spec recommends
        assert answer["page"]["count"] == len(answer["results"])
        pages.append(answer["results"])
        token = answer["page"]["next_token"]
        if token == "":
            return pages
    raise AssertionError("the search never ended")


def allowed(c: TestClient, request: dict) -> bool:
    r = c.post("/access/v1/evaluation", json=request)
    assert r.status_code == 200
    return r.json()["decision"]


@fewer(4)
@given(user=st.sampled_from(ASKED_USERS), action=st.sampled_from(ACTIONS), limit=st.none() | st.integers(1, 25))
def test_resource_search_lists_exactly_what_evaluations_allow(search, user, action, limit):
    body = resource_search(user, action)
    pages = all_pages(search, "/access/v1/search/resource", body, limit)
    listed = [r["id"] for page in pages for r in page]
    assert all(limit is None or len(page) <= limit for page in pages)
    expected = [rid for rid in RECORDS if allowed(search, {**body, "resource": {"type": "record", "id": rid}})]
    assert listed == sorted(expected)  # in one fixed order, each once


@fewer(4)
@given(record=st.sampled_from(ASKED_RECORDS), action=st.sampled_from(ACTIONS), limit=st.none() | st.integers(1, 7))
def test_subject_search_lists_exactly_what_evaluations_allow(search, record, action, limit):
    body = {"subject": {"type": "user"}, "action": {"name": action}, "resource": {"type": "record", "id": record}}
    listed = [r for page in all_pages(search, "/access/v1/search/subject", body, limit) for r in page]
    expected = [u for u in USERS if allowed(search, {**body, "subject": {"type": "user", "id": u}})]
    assert listed == [{"type": "user", "id": u} for u in sorted(expected)]


@fewer(4)
@given(user=st.sampled_from(ASKED_USERS), record=st.sampled_from(ASKED_RECORDS), limit=st.none() | st.integers(1, 3))
def test_action_search_lists_exactly_what_evaluations_allow(search, user, record, limit):
    body = {"subject": {"type": "user", "id": user}, "resource": {"type": "record", "id": record}}
    listed = [r["name"] for page in all_pages(search, "/access/v1/search/action", body, limit) for r in page]
    expected = [a for a in ACTIONS if allowed(search, {**body, "action": {"name": a}})]
    assert listed == sorted(expected)


def test_the_searched_id_is_ignored(search):
    body = {"subject": {"type": "user", "id": "nobody"}, "action": {"name": "edit"},
            "resource": {"type": "record", "id": "110"}}
    assert search.post("/access/v1/search/subject", json=body).json()["results"] == [
        {"type": "user", "id": "alice"}, {"type": "user", "id": "dan"}]


def test_an_id_no_register_lists_is_never_listed(search):
    # a manager may view any record, even one the register does not list; the search lists the records it knows
    assert allowed(search, {**resource_search("alice", "view"), "resource": {"type": "record", "id": "999"}})
    listed = [r["id"] for p in all_pages(search, "/access/v1/search/resource", resource_search("alice", "view")) for r in p]
    assert listed == RECORDS


def test_unknown_ids_and_actions_find_nothing(search):
    assert search.post("/access/v1/search/resource", json=resource_search("mallory", "view")).json() == {
        "page": {"next_token": "", "count": 0}, "results": []}
    assert search.post("/access/v1/search/resource", json=resource_search("alice", "print")).json()["results"] == []


def test_a_token_continues_only_the_search_it_came_from(search):
    first = search.post("/access/v1/search/resource", json=resource_search("alice", "view", limit=2)).json()
    token = first["page"]["next_token"]
    assert token and first["results"] == [{"type": "record", "id": "101"}, {"type": "record", "id": "102"}]
    second = search.post("/access/v1/search/resource", json=resource_search("alice", "view", limit=2, token=token))
    assert second.json()["results"] == [{"type": "record", "id": "103"}, {"type": "record", "id": "104"}]
    for changed in (resource_search("bob", "view", limit=2, token=token),
                    resource_search("alice", "edit", limit=2, token=token),
                    resource_search("alice", "view", limit=3, token=token)):
        r = search.post("/access/v1/search/resource", json=changed)
        assert r.status_code == 400
        assert r.json()["detail"][0]["field"] == "page.token"
        assert "another search" in r.json()["detail"][0]["message"]


@pytest.mark.parametrize("token", ["", "not-a-token", "e30", "eyJhdCI6LTEsIm9mIjoieCJ9", "x" * 5000, 7])
def test_a_bad_token_is_a_400_naming_it(search, token):
    r = search.post("/access/v1/search/resource", json=resource_search("alice", "view", token=token))
    assert r.status_code == 400
    assert r.json()["detail"][0]["field"] == "page.token"


@pytest.mark.parametrize(("body", "field"), [
    ({"subject": {"type": "user", "id": "alice"}, "action": {"name": "view"}}, "resource"),
    ({"subject": {"type": "user", "id": "alice"}, "action": {"name": "view"}, "resource": {"id": "1"}}, "resource.type"),
    ({"subject": {"type": "user"}, "action": {"name": "view"}, "resource": {"type": "record"}}, "subject.id"),
    ({**resource_search("alice", "view"), "page": {"limit": -1}}, "page.limit"),
    ({**resource_search("alice", "view"), "page": {"limit": "3"}}, "page.limit"),
    ({**resource_search("alice", "view"), "page": {"limit": True}}, "page.limit"),
    ({**resource_search("alice", "view"), "page": []}, "page"),
    ({**resource_search("alice", "view"), "now": "2020-01-01"}, None),  # unknown fields are ignored
])
def test_a_bad_search_is_a_400_naming_the_field(search, body, field):
    r = search.post("/access/v1/search/resource", json=body)
    if field is None:
        assert r.status_code == 200
        return
    assert r.status_code == 400
    assert [d["field"] for d in r.json()["detail"]] == [field]


@pytest.mark.parametrize("content", [b"[]", b"{oops", b""])
def test_a_body_that_is_not_an_object_is_a_400(search, content):
    r = search.post("/access/v1/search/action", content=content, headers={"content-type": "application/json"})
    assert r.status_code == 400


def test_a_page_holds_at_most_max_batch_results():
    with client(max_batch=3) as c:
        answer = c.post("/access/v1/search/resource", json=resource_search("alice", "view", limit=50)).json()
        assert answer["page"]["count"] == 3 and answer["page"]["next_token"]
        assert len([r for p in all_pages(c, "/access/v1/search/resource", resource_search("alice", "view")) for r in p]) == 20


def test_one_request_decides_at_most_the_candidate_bound_and_the_next_page_goes_on():
    with client(search_max_candidates=4) as c:
        answer = c.post("/access/v1/search/resource", json=resource_search("erin", "view")).json()
        # records 101-104 decided: none erin's; the page says there is more, and lists nothing it has not decided
        assert answer == {"page": {"next_token": answer["page"]["next_token"], "count": 0}, "results": []}
        assert answer["page"]["next_token"]
        listed = [r["id"] for p in all_pages(c, "/access/v1/search/resource", resource_search("erin", "view")) for r in p]
        assert listed == ["105", "111", "115", "117"]


def test_a_search_past_its_time_is_a_503_never_a_shorter_list():
    with client(search_timeout_s=1e-9) as c:
        r = c.post("/access/v1/search/resource", json=resource_search("alice", "view"))
        assert r.status_code == 503
        assert r.json()["error"] == "search_unfinished"


def test_a_set_without_a_register_cannot_list_that_part():
    with client(ROOT / "examples" / "authzen-todo") as c:
        r = c.post("/access/v1/search/resource", json={"subject": {"type": "user", "id": "x"},
                                                       "action": {"name": "can_read_todos"}, "resource": {"type": "todo"}})
        assert r.status_code == 400
        assert r.json()["detail"][0]["field"] == "resource"
        assert "lookup resource in data." in r.json()["detail"][0]["message"]
        # its actions it declares: those a subject may do are listed
        r = c.post("/access/v1/search/action", json={"subject": {"type": "user", "id": "nobody"},
                                                     "resource": {"type": "todo", "id": "1"}})
        assert r.json()["results"] == [{"name": "can_read_todos"}, {"name": "can_read_user"}]


def test_a_data_use_set_lists_no_subjects():
    with client(ROOT / "policies") as c:
        r = c.post("/access/v1/search/subject", json={"subject": {"type": "user"}, "action": {"name": "collect"},
                                                      "resource": {"type": "record", "id": "1"}})
        assert r.status_code == 400
        assert r.json()["detail"][0]["field"] == "subject"
        assert "model authzen" in r.json()["detail"][0]["message"]


def test_a_register_entry_of_another_type_is_not_listed_as_the_type_searched(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "set.pdp").write_text(
        'policy "typed"\n  version "1"\n  effective 2025-01-01\n  model authzen\n\n'
        "lookup subject in data.principals\n\n"
        'allow anyone "Anyone listed may read"\n  to read\n')
    (tmp_path / "vocabulary.yaml").write_text("actions: [read]\n")
    (tmp_path / "data" / "principals.yaml").write_text("ann: {type: user}\nops: {type: group}\nbo: {}\n")
    with client(tmp_path) as c:
        body = {"subject": {"type": "user"}, "action": {"name": "read"}, "resource": {"type": "doc", "id": "1"}}
        assert [s["id"] for s in c.post("/access/v1/search/subject", json=body).json()["results"]] == ["ann", "bo"]
        body["subject"] = {"type": "group"}
        assert [s["id"] for s in c.post("/access/v1/search/subject", json=body).json()["results"]] == ["bo", "ops"]


def test_every_candidate_decided_is_logged_as_an_evaluation(tmp_path):
    settings = Settings(policy_dir=SEARCH, reload=False, log_path=tmp_path / "log.db", admin_token="search-token")
    with TestClient(create_app(settings)) as c:
        answer = c.post("/access/v1/search/resource", json=resource_search("erin", "view")).json()
        rows = c.get("/v1/admin/decisions", params={"limit": 100},
                     headers={"Authorization": "Bearer search-token"}).json()["decisions"]
    assert len(rows) == len(RECORDS)  # every record decided, the allowed ones and the others
    assert {r["endpoint"] for r in rows} == {"/access/v1/search/resource"}
    assert sum(r["decision"] == "allow" for r in rows) == answer["page"]["count"] == 4


@pytest.mark.parametrize("purpose", ["essential.service", "marketing.advertising", "analytics.reporting"])
def test_a_data_use_sets_action_search_reads_the_purpose_from_action_properties(purpose):
    body = {"subject": {"type": "service", "id": "billing"}, "action": {"properties": {"purpose": purpose}},
            "resource": {"type": "personal_data", "id": "u-1", "properties": {
                "data_categories": ["user.name", "user.contact.email"],
                "data_subject": {"type": "customer", "age": 30, "country": "IN"}}}}
    with client(ROOT / "policies") as c:
        listed = [a["name"] for p in all_pages(c, "/access/v1/search/action", body) for a in p]
        actions = sorted(c.app.state.holder.current.vocabulary.actions)
        expected = [a for a in actions
                    if allowed(c, {**body, "action": {"name": a, "properties": {"purpose": purpose}}})]
    assert listed == expected
    if purpose == "essential.service":
        assert listed  # not vacuous


def test_a_token_from_before_a_reload_is_refused(tmp_path):
    policy_dir = tmp_path / "search"
    shutil.copytree(SEARCH, policy_dir)
    settings = Settings(policy_dir=policy_dir, reload=False, log_path=None, admin_token="search-token")
    with TestClient(create_app(settings)) as c:
        token = c.post("/access/v1/search/resource", json=resource_search("alice", "view", limit=2)).json()["page"]["next_token"]
        rules = policy_dir / "search.pdp"
        rules.write_text(rules.read_text().replace('version "1"', 'version "2"'))
        assert c.post("/v1/admin/reload", headers={"Authorization": "Bearer search-token"}).status_code == 200
        r = c.post("/access/v1/search/resource", json=resource_search("alice", "view", limit=2, token=token))
    assert r.status_code == 400
    assert r.json()["detail"][0]["field"] == "page.token"
    assert "another version of the policy set" in r.json()["detail"][0]["message"]
