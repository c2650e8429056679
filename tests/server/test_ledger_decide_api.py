"""The service deciding with a consent ledger (`pdp serve --ledger`, PDP_LEDGER_URL), on SQLite and PostgreSQL:
/v1/decide, its batch and AuthZEN fill from it, name the events, wait for a token, and fail closed."""

import json
import sqlite3
import textwrap

import pytest
from fastapi.testclient import TestClient

from pdp.cli.app import main
from pdp.server import Settings, create_app
from tests.support.ledger import KEY, event, ledger_service, marketing_evaluation, new_subject

POLICY = '''
policy "demo" version "3" effective 2026-11-24
ledger fills data_subject.consent.marketing from consent "marketing"
allow marketing.consented "You agreed to marketing" cite "§2.5" to use for marketing
  when data_subject.consent.marketing == true
deny marketing.opted_out "You opted out of marketing" cite "§2.6" to use for marketing
  when data_subject.consent.marketing is absent or data_subject.consent.marketing == false
'''


def ask(subject, **extra) -> dict:
    return {"action": "use", "purpose": "marketing", "data_categories": ["user.contact.email"],
            "data_subject": {"id": subject, "consent": {"marketing": True}}, **extra}


@pytest.fixture
def served(ledger_target, tmp_path, monkeypatch):
    """A service on a policy directory and a ledger (a new one, on each backend), with its decision log."""
    monkeypatch.setenv("PDP_LEDGER_KEY", KEY)
    (tmp_path / "policy").mkdir()
    (tmp_path / "policy" / "main.pdp").write_text(textwrap.dedent(POLICY))
    (tmp_path / "policy" / "vocabulary.yaml").write_text("consent_topics: [marketing]\n")
    with ledger_service(ledger_target, tmp_path / "policy", tmp_path / "decisions.db") as served:
        yield served


def test_decide_fills_from_the_ledger_and_names_the_event(served):
    client, ledger = served
    subject = new_subject()
    withdrawn = ledger.record(event("consent.withdrawn", subject))
    answer = client.post("/v1/decide", json=ask(subject)).json()
    assert answer["decision"] == "deny"
    assert answer["reasons"][0]["ledger"][0]["event_ids"] == [withdrawn.event_id]
    assert [e["event_id"] for e in answer["ledger"]["events"]] == [withdrawn.event_id]
    batch = client.post("/v1/decide/batch", json={"requests": [ask(subject), ask(new_subject())]}).json()
    assert [d["decision"] for d in batch["decisions"]] == ["deny", "allow"]


def test_the_decision_log_keeps_the_values_decided_on_and_their_events(served, tmp_path):
    client, ledger = served
    subject = new_subject()
    withdrawn = ledger.record(event("consent.withdrawn", subject))
    answer = client.post("/v1/decide", json=ask(subject)).json()
    with sqlite3.connect(tmp_path / "decisions.db") as db:
        (stored,) = db.execute("SELECT request FROM decisions WHERE decision_id = ?",
                               (answer["decision_id"],)).fetchone()
    stored = json.loads(stored)
    assert stored["data_subject"]["consent"] == {"marketing": False}  # what the rules read, not what was sent
    assert stored["ledger"] == {"seq": withdrawn.seq, "events": [withdrawn.event_id]}


def test_a_token_is_waited_for_then_fails_closed(served):
    client, ledger = served
    subject = new_subject()
    receipt = ledger.record(event("consent.given", subject))
    assert client.post("/v1/decide", json=ask(subject, ledger_seq=receipt.seq)).json()["decision"] == "allow"
    answer = client.post("/v1/decide", json=ask(subject, ledger_seq=receipt.seq + 1)).json()
    assert answer["decision"] == "deny" and answer["reasons"][0]["rule"] == "ledger.not_yet_visible"
    refused = client.post("/v1/decide", json=ask(subject, ledger_seq=0))
    assert refused.status_code == 422 and refused.json()["detail"][0]["field"] == "ledger_seq"


def test_authzen_evaluations_read_the_same_ledger(served):
    client, ledger = served
    subject = new_subject()
    ledger.record(event("consent.withdrawn", subject))
    evaluation = marketing_evaluation(subject)
    answer = client.post("/access/v1/evaluation", json=evaluation).json()
    assert answer["decision"] is False
    many = client.post("/access/v1/evaluations", json={**evaluation, "evaluations": [{}]}).json()
    assert many["evaluations"][0]["decision"] is False


def test_as_of_with_a_set_that_fills_nothing_is_refused_not_answered_as_of_now(ledger_target, tmp_path,
                                                                               monkeypatch):
    monkeypatch.setenv("PDP_LEDGER_KEY", KEY)
    (tmp_path / "policy").mkdir()
    (tmp_path / "policy" / "main.pdp").write_text(textwrap.dedent(POLICY).replace(
        'ledger fills data_subject.consent.marketing from consent "marketing"\n', ""))
    (tmp_path / "policy" / "vocabulary.yaml").write_text("consent_topics: [marketing]\n")
    with ledger_service(ledger_target, tmp_path / "policy", tmp_path / "decisions.db") as (client, _):
        for as_of in ("2026-04-01T00:00:00Z", "garbage"):
            refused = client.post("/v1/decide", json=ask("u-1", as_of=as_of))
            assert refused.status_code == 422 and refused.json()["detail"][0]["field"] == "as_of"
        assert client.post("/v1/decide", json=ask("u-1")).json()["decision"] == "allow"  # decided as it says


def test_a_service_without_a_ledger_decides_as_the_request_says(tmp_path):
    (tmp_path / "main.pdp").write_text(textwrap.dedent(POLICY))
    (tmp_path / "vocabulary.yaml").write_text("consent_topics: [marketing]\n")
    with TestClient(create_app(Settings(policy_dir=tmp_path))) as client:
        answer = client.post("/v1/decide", json=ask("u-1")).json()
    assert answer["decision"] == "allow" and "ledger" not in answer


def test_pdp_serve_says_why_a_ledger_cannot_be_opened_before_serving(tmp_path, capsys, clean_environment):
    (tmp_path / "main.pdp").write_text(textwrap.dedent(POLICY))
    (tmp_path / "vocabulary.yaml").write_text("consent_topics: [marketing]\n")
    assert main(["serve", str(tmp_path), "--no-log", "--ledger", str(tmp_path / "missing.db")]) == 2
    assert f"pdp serve: the consent ledger: no ledger at `{tmp_path / 'missing.db'}`" in capsys.readouterr().err


def test_sec_gpc_counts_as_a_gpc_signal_and_only_makes_it_stricter(tmp_path):
    (tmp_path / "main.pdp").write_text(textwrap.dedent(POLICY) + textwrap.dedent('''
        ledger fills context.gpc from gpc
        deny marketing.gpc "You asked not to have your data sold or shared" cite "§2.6" to use for marketing
          when context.gpc == true
    '''))
    (tmp_path / "vocabulary.yaml").write_text("consent_topics: [marketing]\nattributes:\n  context.gpc: bool\n")
    with TestClient(create_app(Settings(policy_dir=tmp_path))) as client:
        assert client.post("/v1/decide", json=ask("u-1")).json()["decision"] == "allow"
        answer = client.post("/v1/decide", json=ask("u-1"), headers={"Sec-GPC": "1"}).json()
        assert answer["decision"] == "deny" and answer["reasons"][0]["rule"] == "marketing.gpc"
        batch = client.post("/v1/decide/batch", json={"requests": [ask("u-1")]}, headers={"Sec-GPC": "1"}).json()
        assert batch["decisions"][0]["decision"] == "deny"
        lifted = client.post("/v1/decide", json=ask("u-1", context={"gpc": False}), headers={"Sec-GPC": "1"})
        assert lifted.json()["decision"] == "deny"
        assert client.post("/v1/decide", json=ask("u-1"), headers={"Sec-GPC": "0"}).json()["decision"] == "allow"
