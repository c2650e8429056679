"""AuthZEN evaluations with a consent ledger, through a real app on SQLite and PostgreSQL: a read-your-writes token
and a past time in `context` (`ledger_seq`, `as_of`), with /v1/decide's fail-closed semantics, `Sec-GPC: 1`, and
bad values answered 400 naming the AuthZEN field."""

import json
import sqlite3
import textwrap

import pytest
from fastapi.testclient import TestClient

from pdp.server import Settings, create_app
from tests.support.ledger import KEY, event, ledger_service, marketing_evaluation, new_subject

POLICY = '''
policy "demo" version "3" effective 2026-01-01
ledger fills data_subject.consent.marketing from consent "marketing"
ledger fills context.gpc from gpc
allow marketing.consented "You agreed to marketing" cite "§2.5" to use for marketing
  when data_subject.consent.marketing == true
deny marketing.opted_out "You opted out of marketing" cite "§2.6" to use for marketing
  when data_subject.consent.marketing is absent or data_subject.consent.marketing == false
deny marketing.gpc "You asked not to have your data sold or shared" cite "§2.6" to use for marketing
  when context.gpc == true
'''
VOCABULARY = "consent_topics: [marketing]\nattributes:\n  context.gpc: bool\n"


def write_policy(directory) -> None:
    directory.mkdir(exist_ok=True)
    (directory / "main.pdp").write_text(textwrap.dedent(POLICY))
    (directory / "vocabulary.yaml").write_text(VOCABULARY)


@pytest.fixture
def served(ledger_target, tmp_path, monkeypatch):
    """A service on the policy and a new ledger (on each backend), with its decision log."""
    monkeypatch.setenv("PDP_LEDGER_KEY", KEY)
    write_policy(tmp_path / "policy")
    with ledger_service(ledger_target, tmp_path / "policy", tmp_path / "decisions.db") as served:
        yield served


def evaluation(subject: str, consent: bool = True, **context) -> dict:
    asked = marketing_evaluation(subject, consent)
    return {**asked, "context": context} if context else asked


def test_a_token_in_context_is_read_your_writes_and_fails_closed_when_not_seen(served):
    client, ledger = served
    subject = new_subject()
    given = ledger.record(event("consent.given", subject))
    answer = client.post("/access/v1/evaluation", json=evaluation(subject, ledger_seq=given.seq)).json()
    assert answer["decision"] is True
    assert answer["context"]["ledger"]["seq"] == given.seq
    unseen = client.post("/access/v1/evaluation", json=evaluation(subject, ledger_seq=given.seq + 1)).json()
    assert unseen["decision"] is False
    assert [r["rule"] for r in unseen["context"]["reasons"]] == ["ledger.not_yet_visible"]
    assert f"has not yet seen event {given.seq + 1}" in unseen["context"]["ledger"]["error"]


def test_the_ledger_wins_and_the_answer_names_its_event(served):
    client, ledger = served
    subject = new_subject()
    withdrawn = ledger.record(event("consent.withdrawn", subject))
    answer = client.post("/access/v1/evaluation", json=evaluation(subject, ledger_seq=withdrawn.seq)).json()
    assert answer["decision"] is False
    assert answer["context"]["reasons"][0]["ledger"][0]["event_ids"] == [withdrawn.event_id]
    assert [e["event_id"] for e in answer["context"]["ledger"]["events"]] == [withdrawn.event_id]


def test_a_batch_waits_for_each_items_token(served):
    client, ledger = served
    subject = new_subject()
    given = ledger.record(event("consent.given", subject))
    body = {**evaluation(subject), "options": {"include_context": True},
            "evaluations": [{"context": {"ledger_seq": given.seq}}, {"context": {"ledger_seq": given.seq + 5}}]}
    answers = client.post("/access/v1/evaluations", json=body).json()["evaluations"]
    assert [a["decision"] for a in answers] == [True, False]
    assert answers[1]["context"]["reasons"][0]["rule"] == "ledger.not_yet_visible"
    # the defaults' context is each item's unless it has its own
    defaulted = {**evaluation(subject, ledger_seq=given.seq + 5), "evaluations": [{}, {}]}
    assert [a["decision"] for a in client.post("/access/v1/evaluations", json=defaulted).json()["evaluations"]] \
        == [False, False]


def test_as_of_replays_the_ledger_to_that_time(served):
    client, ledger = served
    subject = new_subject()
    ledger.record(event("consent.given", subject, occurred_at="2026-02-01T10:00:00Z"))
    ledger.record(event("consent.withdrawn", subject, occurred_at="2026-06-01T10:00:00Z"))
    then = client.post("/access/v1/evaluation", json=evaluation(subject, as_of="2026-04-01T00:00:00Z")).json()
    assert then["decision"] is True  # withdrawal is not retroactive
    now = client.post("/access/v1/evaluation", json=evaluation(subject)).json()
    assert now["decision"] is False
    batch = {**evaluation(subject), "evaluations": [{"context": {"as_of": "2026-04-01T00:00:00Z"}}, {}]}
    assert [a["decision"] for a in client.post("/access/v1/evaluations", json=batch).json()["evaluations"]] \
        == [True, False]


@pytest.mark.parametrize(("context", "field"), [
    ({"ledger_seq": 0}, "context.ledger_seq"),
    ({"ledger_seq": "7"}, "context.ledger_seq"),
    ({"ledger_seq": True}, "context.ledger_seq"),
    ({"as_of": "yesterday"}, "context.as_of"),
    ({"as_of": "2026-04-01T00:00:00"}, "context.as_of"),  # no zone
    ({"as_of": 20260401}, "context.as_of"),
])
def test_a_bad_token_or_time_is_a_400_naming_the_authzen_field(served, context, field):
    client, _ = served
    answer = client.post("/access/v1/evaluation", json=evaluation(new_subject(), **context))
    assert answer.status_code == 400
    assert [d["field"] for d in answer.json()["detail"]] == [field]
    # in a batch, the item is refused in its place and the others decided
    body = {**evaluation(new_subject()), "evaluations": [{"context": context}, {}]}
    items = client.post("/access/v1/evaluations", json=body).json()["evaluations"]
    assert items[0]["decision"] is False and items[0]["context"]["code"] == "400"
    assert [e["field"] for e in items[0]["context"]["errors"]] == [field]
    assert items[1] == {"decision": True}


def test_as_of_without_a_subject_is_refused_naming_it(served):
    client, _ = served
    asked = evaluation(new_subject(), as_of="2026-04-01T00:00:00Z")
    asked["resource"] = {"type": "personal_data", "id": "",
                         "properties": {"data_categories": ["user.contact.email"]}}
    answer = client.post("/access/v1/evaluation", json=asked)
    assert answer.status_code == 400 and answer.json()["detail"][0]["field"] == "context.as_of"


def test_as_of_with_a_set_that_fills_nothing_is_refused_naming_it(ledger_target, tmp_path, monkeypatch):
    monkeypatch.setenv("PDP_LEDGER_KEY", KEY)
    write_policy(tmp_path / "policy")
    main = tmp_path / "policy" / "main.pdp"
    main.write_text("\n".join(line for line in main.read_text().splitlines() if not line.startswith("ledger")))
    with ledger_service(ledger_target, tmp_path / "policy", tmp_path / "decisions.db") as (client, _):
        answer = client.post("/access/v1/evaluation", json=evaluation("u-1", as_of="2026-04-01T00:00:00Z"))
        assert answer.status_code == 400 and answer.json()["detail"][0]["field"] == "context.as_of"
        assert client.post("/access/v1/evaluation", json=evaluation("u-1")).json()["decision"] is True


def test_sec_gpc_counts_as_a_signal_and_is_logged(served, tmp_path):
    client, ledger = served
    subject = new_subject()
    ledger.record(event("consent.given", subject))
    assert client.post("/access/v1/evaluation", json=evaluation(subject)).json()["decision"] is True
    answer = client.post("/access/v1/evaluation", json=evaluation(subject, gpc=False), headers={"Sec-GPC": "1"})
    assert answer.json()["decision"] is False
    assert "marketing.gpc" in [r["rule"] for r in answer.json()["context"]["reasons"]]
    batch = client.post("/access/v1/evaluations", json={**evaluation(subject), "evaluations": [{}, {}]},
                        headers={"Sec-GPC": "1"}).json()
    assert [a["decision"] for a in batch["evaluations"]] == [False, False]
    assert client.post("/access/v1/evaluation", json=evaluation(subject),
                       headers={"Sec-GPC": "0"}).json()["decision"] is True
    with sqlite3.connect(tmp_path / "decisions.db") as db:
        (stored,) = db.execute("SELECT request FROM decisions WHERE decision_id = ?",
                               (answer.json()["context"]["id"],)).fetchone()
    assert json.loads(stored)["context"]["gpc"] is True  # the value decided on, as the caller's was overruled


def test_without_a_ledger_sec_gpc_still_makes_an_evaluation_stricter(tmp_path):
    write_policy(tmp_path)
    with TestClient(create_app(Settings(policy_dir=tmp_path))) as client:
        asked = evaluation("u-1")
        assert client.post("/access/v1/evaluation", json=asked).json()["decision"] is True
        answer = client.post("/access/v1/evaluation", json=asked, headers={"Sec-GPC": "1"}).json()
        assert answer["decision"] is False and "ledger" not in answer["context"]
