"""`pdp consent`: the ledger from the command line, on a SQLite file and on PostgreSQL; exit codes and output."""

import io
import json
import sys

import pytest

from pdp.cli import main
from tests.support.ledger import KEY, event


@pytest.fixture(autouse=True)
def no_ledger_settings(monkeypatch):
    for name in ("PDP_LEDGER_URL", "PDP_LEDGER_KEY", "PDP_LEDGER_KEY_FILE"):
        monkeypatch.delenv(name, raising=False)


def run(capsys, monkeypatch, argv, stdin=""):
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    code = main(["consent", *argv])
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture(params=["sqlite", "postgresql"])
def where(request, tmp_path, monkeypatch):
    """The `--ledger` argument of each backend (a PostgreSQL ledger reads its key from PDP_LEDGER_KEY)."""
    if request.param == "sqlite":
        return ["--ledger", str(tmp_path / "consent.db")]
    monkeypatch.setenv("PDP_LEDGER_KEY", KEY)
    return ["--ledger", request.getfixturevalue("postgres_url")]


def test_record_show_history_export_verify(capsys, monkeypatch, where, tmp_path):
    code, out, _ = run(capsys, monkeypatch, ["record", *where], json.dumps(event("consent.given")))
    assert code == 0 and json.loads(out)["seq"] == 1
    batch = [event("marketing.opted_out", occurred_at="2026-03-02T00:00:00Z"),
             event("consent.withdrawn", occurred_at="2026-03-05T00:00:00Z")]
    code, out, _ = run(capsys, monkeypatch, ["record", *where], json.dumps(batch))
    assert code == 0 and [r["seq"] for r in json.loads(out)] == [2, 3]

    code, out, _ = run(capsys, monkeypatch, ["show", "alice@example.com", *where])
    facts = json.loads(out)["facts"]
    assert code == 0 and facts["consent:marketing"]["status"] == "withdrawn" and facts["marketing:email"]["seq"] == 2
    code, out, _ = run(capsys, monkeypatch, ["show", "alice@example.com", "--as-of", "2026-03-03T00:00:00Z", *where])
    assert json.loads(out)["facts"]["consent:marketing"]["status"] == "given"

    code, out, _ = run(capsys, monkeypatch, ["history", "alice@example.com", *where])
    assert [e["kind"] for e in json.loads(out)] == ["consent.given", "marketing.opted_out", "consent.withdrawn"]
    code, _, _ = run(capsys, monkeypatch, ["export", "alice@example.com", "-o", str(tmp_path / "out.json"), *where])
    assert code == 0 and len(json.loads((tmp_path / "out.json").read_text())["events"]) == 3
    code, out, _ = run(capsys, monkeypatch, ["verify", *where])
    assert code == 0 and json.loads(out) == {"ok": True, "subjects": 1, "events": 3, "breaks": []}


def test_a_bad_event_names_each_field_and_exits_2(capsys, monkeypatch, tmp_path):
    where = ["--ledger", str(tmp_path / "consent.db")]
    code, _, err = run(capsys, monkeypatch, ["record", *where], json.dumps([event("gpc.signalled"),
                                                                            event("consent.given", topic=None)]))
    assert code == 2 and err == "pdp consent record: invalid event: `[1].topic`: required for `consent.given`\n"
    code, _, err = run(capsys, monkeypatch, ["record", *where], "{")
    assert code == 2 and "is not JSON: line 1 column 2" in err
    code, _, err = run(capsys, monkeypatch, ["record", str(tmp_path / "missing.json"), *where])
    assert code == 2 and "cannot read" in err
    code, _, err = run(capsys, monkeypatch, ["history", "alice@example.com", *where])
    assert code == 1 and "no events are recorded for this subject" in err  # nothing of the bad batch was recorded


def test_reading_a_ledger_that_does_not_exist_is_an_error_not_an_empty_ledger(capsys, monkeypatch, tmp_path):
    code, _, err = run(capsys, monkeypatch, ["show", "alice@example.com", "--ledger", str(tmp_path / "typo.db")])
    assert code == 2 and "no ledger at" in err and not (tmp_path / "typo.db").exists()


def test_show_fails_closed_on_an_unseen_sequence_number_and_bad_times(capsys, monkeypatch, tmp_path):
    where = ["--ledger", str(tmp_path / "consent.db")]
    run(capsys, monkeypatch, ["record", *where], json.dumps(event("gpc.signalled")))
    code, _, err = run(capsys, monkeypatch, ["show", "alice@example.com", "--min-seq", "2", *where])
    assert code == 1 and "not yet seen event 2" in err
    code, _, err = run(capsys, monkeypatch, ["show", "alice@example.com", "--as-of", "yesterday", *where])
    assert code == 2 and "is not a time" in err


def test_erase_needs_yes_and_verify_exits_1_on_a_broken_chain(capsys, monkeypatch, tmp_path):
    path = tmp_path / "consent.db"
    where = ["--ledger", str(path)]
    run(capsys, monkeypatch, ["record", *where], json.dumps(event("consent.given", collection_point="kiosk")))
    code, _, err = run(capsys, monkeypatch, ["erase", "alice@example.com", *where])
    assert code == 2 and "--yes" in err
    code, out, _ = run(capsys, monkeypatch, ["erase", "alice@example.com", "--yes", *where])
    assert code == 0 and json.loads(out)["keys_destroyed"] == 1
    code, out, _ = run(capsys, monkeypatch, ["history", "alice@example.com", *where])
    assert json.loads(out)[0]["erased"] is True and "collection_point" not in json.loads(out)[0]
    import sqlite3

    with sqlite3.connect(path) as connection:
        connection.execute("UPDATE ledger_events SET occurred_us = occurred_us + 1")
    code, out, _ = run(capsys, monkeypatch, ["verify", *where])
    assert code == 1 and json.loads(out)["breaks"][0]["position"] == 0


def test_a_wrong_key_is_refused(capsys, monkeypatch, tmp_path):
    where = ["--ledger", str(tmp_path / "consent.db")]
    run(capsys, monkeypatch, ["record", *where], json.dumps(event("gpc.signalled")))
    (tmp_path / "other.key").write_text("another key, also 32 bytes long!\n")
    code, _, err = run(capsys, monkeypatch, ["show", "alice@example.com", "--key-file", str(tmp_path / "other.key"),
                                             *where])
    assert code == 2 and "not the key this ledger was made with" in err


def test_a_database_that_fails_mid_way_is_a_clear_error(capsys, monkeypatch, tmp_path):
    import sqlite3

    path = tmp_path / "consent.db"
    where = ["--ledger", str(path)]
    run(capsys, monkeypatch, ["record", *where], json.dumps(event("gpc.signalled")))
    with sqlite3.connect(path) as connection:
        connection.execute("DROP TABLE ledger_state")
    code, _, err = run(capsys, monkeypatch, ["record", *where], json.dumps(event("consent.given")))
    assert code == 1 and "the ledger's database failed, nothing was changed: no such table: ledger_state" in err
    code, out, _ = run(capsys, monkeypatch, ["history", "alice@example.com", *where])
    assert [e["kind"] for e in json.loads(out)] == ["gpc.signalled"]


def test_init_makes_a_ledger_that_the_other_commands_then_read(capsys, monkeypatch, where, tmp_path):
    code, out, _ = run(capsys, monkeypatch, ["init", *where])
    assert code == 0 and json.loads(out)["last_seq"] == 0
    code, _, err = run(capsys, monkeypatch, ["show", "alice@example.com", *where])
    assert code == 1 and err == "pdp consent show: no events are recorded for this subject\n"
    for action in ("history", "export", "erase"):
        code, _, err = run(capsys, monkeypatch, [action, "alice@example.com", *where, *(["--yes"] if action == "erase"
                                                                                         else [])])
        assert code == 1 and "no events are recorded for this subject" in err, action
    run(capsys, monkeypatch, ["record", *where], json.dumps(event("consent.given")))
    code, out, _ = run(capsys, monkeypatch, ["init", *where])
    assert code == 0 and json.loads(out)["last_seq"] == 1  # an existing ledger is kept as it is


def test_known_at_alone_is_the_state_as_of_then_as_known_then(capsys, monkeypatch, tmp_path):
    where = ["--ledger", str(tmp_path / "consent.db")]
    run(capsys, monkeypatch, ["record", *where], json.dumps(event("consent.given")))
    code, out, _ = run(capsys, monkeypatch, ["show", "alice@example.com", "--known-at", "2026-04-01T00:00:00Z", *where])
    assert code == 0 and json.loads(out) == {"as_of": "2026-04-01T00:00:00Z", "seq": 0, "facts": {}}
    code, out, _ = run(capsys, monkeypatch, ["show", "alice@example.com", "--known-at", "2999-01-01T00:00:00Z", *where])
    assert json.loads(out)["facts"]["consent:marketing"]["status"] == "given"
