"""`pdp.client.LedgerClient` and `pdp consent --url` against a real `pdp serve --ledger`, on SQLite and PostgreSQL:
the same answers as the embedded ledger, typed; every refusal raised, never a made-up answer."""

import io
import json
import sys
from datetime import UTC, datetime

import httpx
import pytest

from pdp.cli import main
from pdp.client import (LedgerClient, LedgerReceipt, NotYetVisible, PdpRequestError, PdpUnavailable,
                        UnknownSubject)
from tests.support.ledger import BACKENDS, KEY, event, new_subject
from tests.support.ledger_server import ADMIN, BOTH, READER, WRITER, ledger_server
from tests.support.serve import free_port


@pytest.fixture(scope="module", params=BACKENDS)
def served(request, tmp_path_factory):
    with ledger_server(request.param, request, tmp_path_factory.mktemp("ledger-client")) as server:
        yield server


@pytest.fixture
def ledger(served):
    with LedgerClient(served.base, token=BOTH) as client:
        yield client


def test_record_and_read_typed(ledger, served):
    subject = new_subject()
    receipt = ledger.record(event("consent.given", subject, expires_at="2027-03-01T10:00:00Z",
                                  client_event_id=f"c-{subject}"))
    assert isinstance(receipt, LedgerReceipt) and not receipt.duplicate and receipt.token == receipt.seq
    assert ledger.record(event("consent.given", subject, expires_at="2027-03-01T10:00:00Z",
                               client_event_id=f"c-{subject}")) == LedgerReceipt(
        receipt.seq, receipt.event_id, receipt.recorded_at, True)
    state = ledger.state(subject, min_seq=receipt.seq)
    fact = state.fact("consent:marketing")
    assert (fact.status, fact.event_id, fact.expires_at, fact.expired, fact.notice_version) == (
        "given", receipt.event_id, datetime(2027, 3, 1, 10, tzinfo=UTC), False, "2026-11-24")
    past = ledger.state(subject, as_of=datetime(2026, 2, 1, tzinfo=UTC))
    assert past.facts == {} and past.as_of == datetime(2026, 2, 1, tzinfo=UTC)
    [recorded] = ledger.history(subject)
    assert (recorded.kind, recorded.event_id, recorded.erased, recorded.raw["subject"]) == (
        "consent.given", receipt.event_id, False, subject)
    exported = ledger.export(subject)
    assert exported["format"] == "pdp-ledger-export/1" and exported["subject"] == subject
    assert ledger.verify(subject).ok
    with LedgerClient(served.base, token=ADMIN) as admin:  # every subject's chain: the admin token's
        assert admin.verify().ok


def test_a_batch_with_gpc(ledger):
    one, two = new_subject(), new_subject()
    batch = ledger.record_many([event("consent.given", one), event("marketing.opted_out", two)], gpc=True)
    assert len(batch.receipts) == 2 and len(batch.gpc) == 2 and batch.seq == batch.receipts[-1].seq
    single = ledger.record(event("consent.withdrawn", new_subject()), gpc=True)
    assert single.gpc is not None and single.token == single.seq == single.gpc.seq + 1
    assert ledger.state(one).fact("gpc").status == "signalled"


def test_datetimes_in_an_event_are_sent_as_iso_8601(ledger):
    subject = new_subject()
    ledger.record(event("gpc.signalled", subject, occurred_at=datetime(2026, 3, 1, 10, tzinfo=UTC)))
    assert ledger.history(subject)[0].occurred_at == datetime(2026, 3, 1, 10, tzinfo=UTC)


def test_refusals_are_raised_naming_the_field(ledger, served):
    with pytest.raises(PdpRequestError) as bad:
        ledger.record(event("consent.given", topic=None))
    assert bad.value.status_code == 422 and bad.value.fields == ["topic"]
    with pytest.raises(UnknownSubject) as unknown:
        ledger.state("nobody-known@example.com")
    assert unknown.value.status_code == 404 and unknown.value.fields == ["subject"]
    seq = ledger.record(event("gpc.signalled", new_subject())).seq
    with pytest.raises(NotYetVisible):
        ledger.state(new_subject(), min_seq=seq + 10_000)
    with LedgerClient(served.base, token=READER) as reader, pytest.raises(PdpRequestError) as wrong:
        reader.record(event("gpc.signalled"))
    assert wrong.value.status_code == 403 and wrong.value.fields == ["authorization"]
    with LedgerClient(served.base) as anonymous, pytest.raises(PdpRequestError) as none:
        anonymous.history("alice@example.com")
    assert none.value.status_code == 401


def test_erase_with_the_admin_token(served):
    subject = new_subject()
    with LedgerClient(served.base, token=WRITER) as writer:
        writer.record(event("marketing.opted_out", subject))
    with LedgerClient(served.base, token=ADMIN) as admin:
        erased = admin.erase(subject)
    assert erased.events == 1 and erased.keys_destroyed == 1 and erased.subject.startswith("hmac:")


def test_an_unreachable_server_is_raised_never_answered_for():
    with LedgerClient(f"http://127.0.0.1:{free_port()}", token=BOTH, timeout=2) as client:
        with pytest.raises(PdpUnavailable, match="cannot connect"):
            client.record(event("gpc.signalled"))
        with pytest.raises(PdpUnavailable):
            client.state("alice@example.com")


def test_a_server_error_is_unavailable():
    def failing(_request):
        return httpx.Response(503, json={"error": "ledger_unavailable", "detail": [
            {"field": "ledger", "message": "the ledger's database failed; nothing was changed"}]})

    with LedgerClient("http://pdp", transport=httpx.MockTransport(failing)) as client, \
            pytest.raises(PdpUnavailable, match="nothing was changed"):
        client.record(event("gpc.signalled"))


# -- pdp consent --url: the same output as the embedded ledger ------------------------------------------------

def cli(capsys, monkeypatch, argv, stdin=""):
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    code = main(["consent", *argv])
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture
def token_file(tmp_path):
    path = tmp_path / "token"
    path.write_text(BOTH + "\n")
    return str(path)


def test_pdp_consent_url_prints_what_the_embedded_ledger_prints(served, capsys, monkeypatch, token_file, tmp_path):
    monkeypatch.setenv("PDP_LEDGER_KEY", KEY)
    monkeypatch.delenv("PDP_LEDGER_URL", raising=False)
    remote, local = ["--url", served.base, "--token-file", token_file], ["--ledger", served.target]
    subject = new_subject()
    code, out, _ = cli(capsys, monkeypatch, ["record", *remote], json.dumps(event("consent.given", subject)))
    first = json.loads(out)
    assert code == 0 and first["duplicate"] is False
    code, out, _ = cli(capsys, monkeypatch, ["record", *remote], json.dumps(
        [event("marketing.opted_out", subject, "2026-03-02T00:00:00Z"),
         event("consent.withdrawn", subject, "2026-03-05T00:00:00Z")]))
    assert code == 0 and [r["seq"] for r in json.loads(out)] == [first["seq"] + 1, first["seq"] + 2]
    for argv in (["show", subject], ["show", subject, "--as-of", "2026-03-03T00:00:00Z"],
                 ["show", subject, "--as-of", "2026-03-03T00:00:00+01:00", "--known-at", "2030-01-01T00:00:00Z"],
                 ["history", subject], ["verify", subject]):
        served_code, served_out, _ = cli(capsys, monkeypatch, [*argv, *remote])
        embedded_code, embedded_out, _ = cli(capsys, monkeypatch, [*argv, *local])
        assert served_code == embedded_code == 0 and served_out == embedded_out, argv
    cli(capsys, monkeypatch, ["export", subject, "-o", str(tmp_path / "served.json"), *remote])
    cli(capsys, monkeypatch, ["export", subject, "-o", str(tmp_path / "embedded.json"), *local])
    served_export, embedded_export = (json.loads((tmp_path / f"{name}.json").read_text())
                                      for name in ("served", "embedded"))
    assert {**served_export, "exported_at": None} == {**embedded_export, "exported_at": None}


def test_pdp_consent_url_errors_and_exit_codes(served, capsys, monkeypatch, token_file, tmp_path):
    remote = ["--url", served.base, "--token-file", token_file]
    code, _, err = cli(capsys, monkeypatch, ["record", *remote], json.dumps([event("gpc.signalled"),
                                                                             event("consent.given", topic=None)]))
    assert code == 2 and err == "pdp consent record: invalid event: `[1].topic`: required for `consent.given`\n"
    code, _, err = cli(capsys, monkeypatch, ["show", "nobody-known@example.com", *remote])
    assert code == 1 and err == "pdp consent show: no events are recorded for this subject\n"
    code, _, err = cli(capsys, monkeypatch, ["show", new_subject(), "--min-seq", "99999999", *remote])
    assert code == 1 and "has not yet seen event 99999999" in err
    code, _, err = cli(capsys, monkeypatch, ["erase", new_subject(), "--yes", *remote])  # not the admin token
    assert code == 2 and "the server refused (403)" in err and "`authorization`" in err
    monkeypatch.setenv("PDP_TOKEN", "not-a-token-of-this-server")
    code, _, err = cli(capsys, monkeypatch, ["history", "x", "--url", served.base])
    assert code == 2 and "the server refused (401)" in err
    code, _, err = cli(capsys, monkeypatch, ["history", "x", "--url", served.base, "--key-file", token_file])
    assert code == 2 and "--key-file goes with the embedded ledger" in err
    code, _, err = cli(capsys, monkeypatch, ["history", "x", "--url", served.base, "--token-file",
                                             str(tmp_path / "missing")])
    assert code == 2 and "cannot read the token file" in err
    code, _, err = cli(capsys, monkeypatch, ["record", "--url", f"http://127.0.0.1:{free_port()}"],
                       json.dumps(event("gpc.signalled")))
    assert code == 1 and "cannot connect" in err and "record it again with the same client_event_id" in err
    with pytest.raises(SystemExit):  # one ledger or the other
        main(["consent", "history", "x", "--url", served.base, "--ledger", served.target])
    capsys.readouterr()
