"""AuthZEN protocol behaviour beyond the interop cases: errors, batch semantics, data-use mapping."""

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from pdp.server import Settings, create_app

ROOT = Path(__file__).resolve().parents[2]
RICK = "CiRmZDA2MTRkMy1jMzlhLTQ3ODEtYjdiZC04Yjk2ZjVhNTEwMGQSBWxvY2Fs"
BETH = "CiRmZDM2MTRkMy1jMzlhLTQ3ODEtYjdiZC04Yjk2ZjVhNTEwMGQSBWxvY2Fs"
TODO = {"type": "todo", "id": "t1", "properties": {"ownerID": "beth@the-smiths.com"}}


@pytest.fixture(scope="module")
def todo():
    with TestClient(create_app(Settings(policy_dir=ROOT / "examples" / "authzen-todo"))) as c:
        yield c


def one(subject, action, resource=TODO, **extra):
    return {"subject": {"type": "user", "id": subject}, "action": {"name": action}, "resource": resource, **extra}


def test_single_evaluation_carries_reasons_in_context(todo):
    body = todo.post("/access/v1/evaluation", json=one(RICK, "can_delete_todo")).json()
    assert body["decision"] is True
    assert body["context"]["reasons"][0]["rule"] == "todo.delete_any"


def test_unknown_fields_are_ignored(todo):
    r = todo.post("/access/v1/evaluation", json={**one(RICK, "can_read_todos"), "extra": 1, "subject": {
        "type": "user", "id": RICK, "_note": "x"}})
    assert r.status_code == 200 and r.json()["decision"] is True


@pytest.mark.parametrize("kwargs", [
    {"content": b"{oops", "headers": {"content-type": "application/json"}},
    {"content": b"", "headers": {"content-type": "application/json"}},
    {"content": b'{"a": 1}', "headers": {"content-type": "text/plain"}},
    {"json": {"subject": {"type": "user", "id": RICK}, "action": {"name": "can_read_todos"}}},
    {"json": {"subject": {"type": "user"}, "action": {"name": "can_read_todos"}, "resource": TODO}},
])
def test_malformed_requests_are_400(todo, kwargs):
    assert todo.post("/access/v1/evaluation", **kwargs).status_code == 400


def test_missing_field_is_named(todo):
    r = todo.post("/access/v1/evaluation", json={"subject": {"type": "user", "id": RICK}, "action": {"name": "x"}})
    assert r.json()["detail"][0]["field"] == "resource"


def test_unknown_action_is_denied_with_a_suggestion(todo):
    body = todo.post("/access/v1/evaluation", json=one(RICK, "can_delete_todos")).json()
    assert body["decision"] is False and "can_delete_todo" in body["context"]["reasons"][0]["message"]


def test_item_values_override_the_defaults(todo):
    body = {"subject": {"type": "user", "id": BETH}, "action": {"name": "can_create_todo"}, "resource": TODO,
            "evaluations": [{}, {"subject": {"type": "user", "id": RICK}}, {"action": {"name": "can_read_todos"}}]}
    assert todo.post("/access/v1/evaluations", json=body).json()["evaluations"] == [
        {"decision": False}, {"decision": True}, {"decision": True}]


@pytest.mark.parametrize("semantic, expected", [
    ("execute_all", [True, False, True]),
    ("deny_on_first_deny", [True, False]),
    ("permit_on_first_permit", [True]),
])
def test_evaluations_semantics(todo, semantic, expected):
    body = {"subject": {"type": "user", "id": BETH}, "resource": TODO, "options": {"evaluations_semantic": semantic},
            "evaluations": [{"action": {"name": "can_read_todos"}}, {"action": {"name": "can_delete_todo"}},
                            {"action": {"name": "can_read_user"}}]}
    got = todo.post("/access/v1/evaluations", json=body).json()["evaluations"]
    assert [e["decision"] for e in got] == expected


def test_batch_context_only_when_asked_and_bad_items_in_place(todo):
    body = {"action": {"name": "can_read_todos"}, "resource": TODO, "options": {"include_context": True},
            "evaluations": [{"subject": {"type": "user", "id": RICK}}, {}]}
    good, bad = todo.post("/access/v1/evaluations", json=body).json()["evaluations"]
    assert good["decision"] is True and good["context"]["reasons"]
    assert bad["decision"] is False and bad["context"]["code"] == "400"
    assert todo.post("/access/v1/evaluations", json={**body, "options": {"evaluations_semantic": "maybe"}}).status_code == 400


def test_evaluations_without_items_is_a_single_evaluation(todo):
    assert todo.post("/access/v1/evaluations", json=one(RICK, "can_read_todos")).json()["decision"] is True


def test_data_use_questions_map_onto_authzen(tmp_path):
    (tmp_path / "p.pdp").write_text('policy "d" version "1"\nallow ops cite "§2.1" to use for essential of user\n'
                                    'deny minors cite "§10" when data_subject.age < 18\n')
    with TestClient(create_app(Settings(policy_dir=tmp_path))) as c:
        req = {"subject": {"type": "service", "id": "billing"},
               "action": {"name": "use", "properties": {"purpose": "essential.service"}},
               "resource": {"type": "personal_data", "id": "u-1",
                            "properties": {"data_categories": ["user.name"], "data_subject": {"age": 30}}}}
        assert c.post("/access/v1/evaluation", json=req).json()["decision"] is True
        req["resource"]["properties"]["data_subject"]["age"] = 12
        body = c.post("/access/v1/evaluation", json=req).json()
        assert body["decision"] is False and body["context"]["reasons"][0]["cite"] == "§10"
        req["action"]["properties"]["purpose"] = "essentail"
        r = c.post("/access/v1/evaluation", json=req)
        assert r.status_code == 400 and r.json()["detail"][0]["field"] == "action.properties.purpose"
