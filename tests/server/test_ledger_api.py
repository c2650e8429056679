"""The consent ledger over HTTP, against a real `pdp serve --ledger` on SQLite and on PostgreSQL: recording (single,
batch, idempotent), reading (state, history, export, verify), erasing, `Sec-GPC: 1`, tokens and scopes, and every
refusal a 4xx naming its field."""

import json
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest

from pdp.cli import main
from tests.support.ledger import BACKENDS, KEY, event, new_subject
from tests.support.ledger_server import ADMIN, BOTH, READER, WRITER, ledger_server

W, R, A = ({"Authorization": f"Bearer {token}"} for token in (WRITER, READER, ADMIN))


@pytest.fixture(scope="module", params=BACKENDS)
def server(request, tmp_path_factory):
    """An HTTP client of `pdp serve --ledger` (its ledger and log at `.served`)."""
    with ledger_server(request.param, request, tmp_path_factory.mktemp("ledger-api")) as served:
        served.client.served = served  # type: ignore[attr-defined]
        yield served.client


def refused(response, status, *fields):
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error", "detail"} and [d["field"] for d in body["detail"]] == list(fields), body
    return body


def test_an_event_recorded_is_read_back_citing_its_event(server):
    subject = new_subject()
    receipt = server.post("/v1/ledger/events", json=event("marketing.opted_out", subject), headers=W).json()
    assert receipt["seq"] >= 1 and receipt["duplicate"] is False
    state = server.post("/v1/ledger/state", json={"subject": subject, "min_seq": receipt["seq"]}, headers=R).json()
    assert state["facts"]["marketing:email"] == {"status": "opted_out", "event_id": receipt["event_id"],
                                                 "seq": receipt["seq"], "occurred_at": "2026-03-01T10:00:00Z"}
    history = server.post("/v1/ledger/history", json={"subject": subject}, headers=R).json()["events"]
    assert [(e["kind"], e["subject"], e["event_id"]) for e in history] == [
        ("marketing.opted_out", subject, receipt["event_id"])]
    verified = server.post("/v1/ledger/verify", json={"subject": subject}, headers=R).json()
    assert verified == {"ok": True, "subjects": 1, "events": 1, "breaks": []}
    assert server.post("/v1/ledger/verify", json={}, headers=A).json()["ok"] is True


def test_a_token_with_both_scopes_records_and_reads(server):
    both = {"Authorization": f"Bearer {BOTH}"}
    subject = new_subject()
    assert server.post("/v1/ledger/events", json=event("gpc.signalled", subject), headers=both).status_code == 200
    assert server.post("/v1/ledger/state", json={"subject": subject}, headers=both).status_code == 200


def test_state_as_of_a_past_time_and_what_was_known_then(server):
    subject = new_subject()
    server.post("/v1/ledger/events/batch", headers=W, json={"events": [
        event("consent.given", subject, "2026-03-01T00:00:00Z"),
        event("consent.withdrawn", subject, "2026-06-01T00:00:00Z")]})
    asked = {"subject": subject, "as_of": "2026-04-01T02:00:00+02:00"}
    april = server.post("/v1/ledger/state", json=asked, headers=R).json()
    assert april["as_of"] == "2026-04-01T00:00:00Z" and april["facts"]["consent:marketing"]["status"] == "given"
    known = server.post("/v1/ledger/state", json={**asked, "known_at": "2020-01-01T00:00:00Z"}, headers=R).json()
    assert known["facts"] == {}  # nothing was recorded by then
    now = server.post("/v1/ledger/state", json={"subject": subject}, headers=R).json()
    assert now["facts"]["consent:marketing"]["status"] == "withdrawn"
    then = server.post("/v1/ledger/state", json={"subject": subject, "known_at": "2026-04-01T00:00:00Z"}, headers=R)
    assert then.json() == {"as_of": "2026-04-01T00:00:00Z", "seq": 0, "facts": {}}  # alone: as of then, as known then
    refused(server.post("/v1/ledger/state", json={"subject": subject, "as_of": "2026-04-01"}, headers=R),
            422, "as_of")  # no time zone


def test_recording_twice_with_one_client_event_id_records_once(server):
    subject = new_subject()
    once = event("consent.given", subject, client_event_id=f"form-{subject}")
    first = server.post("/v1/ledger/events", json=once, headers=W).json()
    again = server.post("/v1/ledger/events", json=once, headers=W).json()
    assert again == {**first, "duplicate": True}
    in_a_batch = server.post("/v1/ledger/events/batch", json={"events": [once]}, headers=W).json()
    assert in_a_batch["receipts"] == [again] and in_a_batch["seq"] == first["seq"]
    history = server.post("/v1/ledger/history", json={"subject": subject}, headers=R).json()["events"]
    assert len(history) == 1
    other = server.post("/v1/ledger/events", json={**once, "topic": "cookies"}, headers=W)
    assert "already recorded with other content" in refused(other, 422, "client_event_id")["detail"][0]["message"]


def test_one_client_event_id_sent_at_once_from_many_clients_records_once(server):
    subject = new_subject()
    once = event("marketing.opted_out", subject, client_event_id=f"burst-{subject}")
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: server.post("/v1/ledger/events", json=once, headers=W).json(), range(16)))
    assert sum(not a["duplicate"] for a in answers) == 1 and len({(a["seq"], a["event_id"]) for a in answers}) == 1
    assert len(server.post("/v1/ledger/history", json={"subject": subject}, headers=R).json()["events"]) == 1


def test_a_batch_is_all_or_nothing_and_its_seq_is_the_token_of_all_of_it(server):
    subject = new_subject()
    ahead = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    bad = [event("consent.given", subject), event("marketing.opted_out", subject, ahead)]
    refused(server.post("/v1/ledger/events/batch", json={"events": bad}, headers=W), 422, "events[1].occurred_at")
    refused(server.post("/v1/ledger/history", json={"subject": subject}, headers=R), 404, "subject")
    good = [event("consent.given", subject), event("marketing.opted_out", subject), event("gpc.signalled", subject)]
    answer = server.post("/v1/ledger/events/batch", json={"events": good}, headers=W).json()
    seqs = [r["seq"] for r in answer["receipts"]]
    assert seqs == sorted(seqs) and len(set(seqs)) == 3 and answer["seq"] == seqs[-1] and "gpc" not in answer
    state = server.post("/v1/ledger/state", json={"subject": subject, "min_seq": answer["seq"]}, headers=R).json()
    assert set(state["facts"]) == {"consent:marketing", "marketing:email", "gpc"}


def test_a_malformed_event_names_each_missing_field(server):
    refused(server.post("/v1/ledger/events", json={}, headers=W), 422, "kind", "subject", "occurred_at", "method",
            "actor")
    body = refused(server.post("/v1/ledger/events", json=event("consent.given", topic=None, notice=None, extra=1),
                               headers=W), 422, "extra")  # an unknown field is named before the kind's own checks
    assert body["detail"][0]["message"] == "not a field of an event"
    refused(server.post("/v1/ledger/events", json=event("consent.given", topic=None, notice=None), headers=W),
            422, "notice", "topic")
    refused(server.post("/v1/ledger/events/batch", json={"events": [event("gpc.signalled"), {"kind": "gpc.signalled"},
                                                                    "text"]}, headers=W),
            422, "events[1].subject", "events[1].occurred_at", "events[1].method", "events[1].actor", "events[2]")
    refused(server.post("/v1/ledger/events/batch", json={"events": []}, headers=W), 422, "events")
    refused(server.post("/v1/ledger/events/batch", json={"event": []}, headers=W), 422, "event")
    refused(server.post("/v1/ledger/events/batch", json={"events": {}}, headers=W), 422, "events")
    refused(server.post("/v1/ledger/state", json={"subject": "", "min_seq": 0}, headers=R), 422, "subject", "min_seq")
    refused(server.post("/v1/ledger/history", json={"subjects": "x"}, headers=R), 422, "subject", "subjects")
    refused(server.post("/v1/ledger/events", content=b"{", headers={**W, "Content-Type": "application/json"}),
            400, "body")
    refused(server.post("/v1/ledger/events", content=b"{}", headers={**W, "Content-Type": "text/plain"}),
            415, "content-type")


def test_a_too_large_batch_or_body_is_refused(server):
    refused(server.post("/v1/ledger/events/batch", json={"events": [event("gpc.signalled")] * 1001}, headers=W),
            413, "events")
    big = event("gpc.signalled", evidence={f"k{i}": "x" * 1000 for i in range(32)})
    refused(server.post("/v1/ledger/events/batch", json={"events": [big] * 40}, headers=W), 413, "body")


def test_an_unknown_subject_is_a_404_everywhere_without_echoing_its_id(server):
    for path in ("state", "history", "export"):
        body = refused(server.post(f"/v1/ledger/{path}", json={"subject": "nobody@example.com"}, headers=R),
                       404, "subject")
        assert "nobody" not in json.dumps(body)
    refused(server.post("/v1/ledger/verify", json={"subject": "nobody@example.com"}, headers=R), 404, "subject")
    refused(server.post("/v1/ledger/erase", json={"subject": "nobody@example.com"}, headers=A), 404, "subject")


def test_an_unseen_sequence_number_is_a_409(server):
    subject = new_subject()
    seq = server.post("/v1/ledger/events", json=event("gpc.signalled", subject), headers=W).json()["seq"]
    refused(server.post("/v1/ledger/state", json={"subject": subject, "min_seq": seq + 10_000}, headers=R),
            409, "min_seq")


def test_tokens_and_scopes(server):
    subject = new_subject()
    one = event("gpc.signalled", subject)
    for headers in ({}, {"Authorization": "Bearer not-a-token-of-this-server"}, {"Authorization": f"Basic {WRITER}"}):
        response = server.post("/v1/ledger/events", json=one, headers=headers)
        refused(response, 401, "authorization")
        assert response.headers["www-authenticate"] == "Bearer"
    for wrong in (R, A):  # a reader may not record; nor may the admin (its token is not handed to services)
        refused(server.post("/v1/ledger/events", json=one, headers=wrong), 403, "authorization")
        refused(server.post("/v1/ledger/events/batch", json={"events": [one]}, headers=wrong), 403, "authorization")
    server.post("/v1/ledger/events", json=one, headers=W)
    for path in ("state", "history", "export"):
        for wrong in (W, A):
            refused(server.post(f"/v1/ledger/{path}", json={"subject": subject}, headers=wrong), 403, "authorization")
    refused(server.post("/v1/ledger/verify", json={}, headers=W), 403, "authorization")
    refused(server.post("/v1/ledger/verify", json={"subject": subject}, headers=W), 403, "authorization")
    for wrong in (W, R):
        refused(server.post("/v1/ledger/erase", json={"subject": subject}, headers=wrong), 403, "authorization")
    refused(server.post("/v1/ledger/erase", json={"subject": subject}), 401, "authorization")
    # refused before the body is read: a bad body from someone without a token learns nothing
    refused(server.post("/v1/ledger/events", content=b"{", headers={"Content-Type": "application/json"}),
            401, "authorization")


def test_verifying_every_chain_takes_the_admin_token_and_one_subjects_a_read_token(server):
    subject = new_subject()
    server.post("/v1/ledger/events", json=event("gpc.signalled", subject), headers=W)
    everyone = server.post("/v1/ledger/verify", json={}, headers=A)
    assert everyone.status_code == 200 and everyone.json()["ok"] is True and everyone.json()["subjects"] >= 1
    body = refused(server.post("/v1/ledger/verify", json={}, headers=R), 403, "authorization")
    assert "may not verify every subject's chain" in body["detail"][0]["message"]
    one = server.post("/v1/ledger/verify", json={"subject": subject}, headers=R).json()
    assert one == {"ok": True, "subjects": 1, "events": 1, "breaks": []}
    # the admin token is no ledger token: one subject's chain is a read token's question
    refused(server.post("/v1/ledger/verify", json={"subject": subject}, headers=A), 403, "authorization")
    # without a token of either, refused before the body is read
    refused(server.post("/v1/ledger/verify", content=b"{", headers={"Content-Type": "application/json"}),
            401, "authorization")
    refused(server.post("/v1/ledger/verify", json={}), 401, "authorization")


def test_export_is_what_pdp_consent_export_writes(server, tmp_path, monkeypatch, capsys):
    subject = new_subject()
    server.post("/v1/ledger/events/batch", headers=W, json={"events": [
        event("consent.given", subject, collection_point="signup v3", evidence={"ip": "192.0.2.1"}),
        event("policy.accepted", subject, actor={"type": "agent", "id": "agent-7"})]})
    exported = server.post("/v1/ledger/export", json={"subject": subject}, headers=R).json()
    monkeypatch.setenv("PDP_LEDGER_KEY", KEY)
    assert main(["consent", "export", subject, "--ledger", server.served.target, "-o", str(tmp_path / "out.json")]) == 0
    written = json.loads((tmp_path / "out.json").read_text())
    assert {**exported, "exported_at": None} == {**written, "exported_at": None}
    assert exported["format"] == "pdp-ledger-export/1" and len(exported["events"]) == 2


def test_erasure_takes_the_admin_token_and_keeps_the_proof(server):
    subject = new_subject()
    server.post("/v1/ledger/events", json=event("marketing.opted_out", subject), headers=W)
    erased = server.post("/v1/ledger/erase", json={"subject": subject}, headers=A).json()
    assert erased["events"] == 1 and erased["keys_destroyed"] == 1 and erased["subject"].startswith("hmac:")
    [kept] = server.post("/v1/ledger/history", json={"subject": subject}, headers=R).json()["events"]
    assert kept["erased"] is True and "subject" not in kept and kept["kind"] == "marketing.opted_out"
    state = server.post("/v1/ledger/state", json={"subject": subject}, headers=R).json()
    assert state["facts"]["marketing:email"]["status"] == "opted_out"  # an opt-out keeps denying


def test_sec_gpc_records_a_signal_for_the_subject_once(server):
    subject = new_subject()
    first = event("consent.given", subject, client_event_id=f"page-{subject}", collection_point="checkout")
    answer = server.post("/v1/ledger/events", json=first, headers={**W, "Sec-GPC": "1"}).json()
    signal = answer["gpc"]
    assert signal["seq"] == answer["seq"] - 1 and signal["duplicate"] is False  # recorded just before the event
    again = server.post("/v1/ledger/events", json=first, headers={**W, "Sec-GPC": "1"}).json()
    assert again == {**answer, "duplicate": True, "gpc": {**signal, "duplicate": True}}  # a retry records nothing
    history = server.post("/v1/ledger/history", json={"subject": subject}, headers=R).json()["events"]
    assert [(e["kind"], e["method"], e["actor"]["type"], e.get("collection_point")) for e in history] == [
        ("gpc.signalled", "gpc_header", "person", "checkout"), ("consent.given", "web_form", "person", "checkout")]
    state = server.post("/v1/ledger/state", json={"subject": subject}, headers=R).json()
    assert state["facts"]["gpc"]["event_id"] == signal["event_id"]
    # any other value is no signal
    other = new_subject()
    assert "gpc" not in server.post("/v1/ledger/events", json=event("consent.given", other),
                                    headers={**W, "Sec-GPC": "0"}).json()


def test_sec_gpc_on_a_batch_signals_once_a_subject(server):
    one, two = new_subject(), new_subject()
    answer = server.post("/v1/ledger/events/batch", headers={**W, "Sec-GPC": "1"}, json={"events": [
        event("consent.given", one), event("marketing.opted_out", two), event("consent.withdrawn", one),
        event("gpc.signalled", two, method="api")]}).json()  # `two` records its own signal: none is added
    assert len(answer["receipts"]) == 4 and len(answer["gpc"]) == 1
    assert answer["gpc"][0]["seq"] == answer["receipts"][0]["seq"] - 1 and answer["seq"] == answer["receipts"][-1]["seq"]
    kinds = [e["kind"] for e in server.post("/v1/ledger/history", json={"subject": one}, headers=R).json()["events"]]
    assert kinds == ["gpc.signalled", "consent.given", "consent.withdrawn"]
    # an error in a given event is named as the caller sent it, not counting the signals
    ahead = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    refused(server.post("/v1/ledger/events/batch", headers={**W, "Sec-GPC": "1"}, json={"events": [
        event("consent.given", new_subject()), event("consent.given", new_subject(), ahead)]}),
        422, "events[1].occurred_at")


def test_subject_ids_never_reach_the_server_log(server):
    subject = new_subject()
    server.post("/v1/ledger/events", json=event("consent.given", subject), headers=W)
    for path in ("state", "history", "export"):
        server.post(f"/v1/ledger/{path}", json={"subject": subject}, headers=R)
    server.post("/v1/ledger/events", json=event("consent.given", subject, topic=None), headers=W)  # a 422
    log = server.served.output.read_text()
    assert "POST /v1/ledger/history" in log  # the access log is on
    assert subject not in log and subject.split("@")[0] not in log


def test_the_openapi_document_describes_the_ledger(server):
    document = server.get("/openapi.json").json()
    record = document["paths"]["/v1/ledger/events"]["post"]
    assert record["requestBody"]["required"] is True
    assert set(record["requestBody"]["content"]["application/json"]["schema"]["required"]) >= {
        "kind", "subject", "occurred_at", "method", "actor"}
    for path in ("events", "events/batch", "state", "history", "export", "verify", "erase"):
        responses = document["paths"][f"/v1/ledger/{path}"]["post"]["responses"]
        assert {"200", "401", "403", "404", "422"} <= set(responses), path
