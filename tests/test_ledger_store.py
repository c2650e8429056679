"""The ledger's store on SQLite and on a real PostgreSQL: the same schema and the same answers on both."""

import json
from datetime import UTC, datetime

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import delete, func, select, text, update

from pdp.ledger import InvalidEvent, LedgerConfigError, NotYetVisible, migrate, open_ledger, schema
from pdp.ledger.store import EXPORT_FORMAT
from tests.support.ledger import KEY, event, new_subject


def test_recording_returns_growing_sequence_numbers_and_ids(ledger):
    first = ledger.record(event("consent.given"))
    second = ledger.record(event("marketing.opted_out"))
    assert (first.seq, second.seq) == (1, 2) and first.event_id != second.event_id
    assert not first.duplicate and ledger.last_seq() == 2


def test_the_state_cites_the_event_each_fact_came_from(ledger):
    given = ledger.record(event("consent.given"))
    out = ledger.record(event("marketing.opted_out", occurred_at="2026-03-02T00:00:00Z"))
    state = ledger.state("alice@example.com")
    assert state.fact("consent:marketing").event_id == given.event_id
    assert state.fact("marketing:email").status == "opted_out" and state.fact("marketing:email").seq == out.seq
    assert state.seq == out.seq
    assert ledger.state("bob@example.com").facts == {}


def test_a_repeated_client_event_id_records_nothing_and_returns_the_first_receipt(ledger):
    first = ledger.record(event("consent.given", client_event_id="form-17"))
    again = ledger.record(event("consent.given", client_event_id="form-17"))
    assert again.duplicate and (again.seq, again.event_id) == (first.seq, first.event_id)
    assert ledger.last_seq() == 1 and len(ledger.history("alice@example.com")) == 1


def test_a_client_event_id_reused_for_other_content_is_refused(ledger):
    ledger.record(event("consent.given", client_event_id="form-17"))
    with pytest.raises(InvalidEvent) as caught:
        ledger.record(event("consent.given", client_event_id="form-17", collection_point="another page"))
    assert caught.value.problems[0][0] == "client_event_id"
    assert "already recorded with other content" in caught.value.problems[0][1]
    with pytest.raises(InvalidEvent):
        ledger.record(event("consent.given", subject="bob@example.com", client_event_id="form-17"))


def test_a_batch_is_one_transaction_all_or_nothing(ledger):
    receipts = ledger.record_many([event("consent.given"), event("gpc.signalled", subject="bob@example.com"),
                                   event("consent.given", client_event_id="x"), event("consent.given", client_event_id="x")])
    assert [r.seq for r in receipts] == [1, 2, 3, 3] and receipts[3].duplicate
    with pytest.raises(InvalidEvent) as caught:
        ledger.record_many([event("gpc.signalled"), event("consent.given", client_event_id="x", topic="cookies")])
    assert caught.value.problems[0][0] == "[1].client_event_id"
    assert ledger.last_seq() == 3 and len(ledger.history("alice@example.com")) == 2  # nothing of the failed batch
    with pytest.raises(InvalidEvent):
        ledger.record_many([event("gpc.signalled"), event("consent.given", topic=None)])
    assert ledger.last_seq() == 3


def test_history_gives_back_what_was_recorded(ledger):
    ledger.record(event("consent.given", actor={"type": "agent", "id": "agent-7"}, collection_point="signup v3",
                        evidence={"ip": "192.0.2.1"}, client_event_id="c-1"))
    [recorded] = ledger.history("alice@example.com")
    assert recorded.to_dict()["actor"] == {"type": "agent", "id": "agent-7"}
    assert recorded.identifying == {"subject": "alice@example.com", "client_event_id": "c-1", "actor_id": "agent-7",
                                    "collection_point": "signup v3", "evidence": {"ip": "192.0.2.1"}}
    assert recorded.notice_digest == "sha256:" + "ab" * 32 and recorded.position == 0


def test_as_of_a_past_time_withdrawal_is_not_retroactive(ledger):
    ledger.record(event("consent.given", occurred_at="2026-03-01T00:00:00Z"))
    ledger.record(event("consent.withdrawn", occurred_at="2026-06-01T00:00:00Z"))
    then = ledger.state_as_of("alice@example.com", datetime(2026, 4, 1, tzinfo=UTC))
    assert then.fact("consent:marketing").status == "given"
    assert ledger.state("alice@example.com").fact("consent:marketing").status == "withdrawn"


def test_a_read_that_must_see_a_later_event_fails_closed(ledger):
    receipt = ledger.record(event("marketing.opted_out"))
    assert ledger.state("alice@example.com", min_seq=receipt.seq).fact("marketing:email").status == "opted_out"
    with pytest.raises(NotYetVisible, match="not yet seen event 2"):
        ledger.state("alice@example.com", min_seq=receipt.seq + 1)


def raw_tables(ledger):
    with ledger.engine.connect() as connection:
        return json.dumps([[list(map(repr, row)) for row in connection.execute(select(table))]
                           for table in schema.metadata.sorted_tables])


def test_nothing_identifying_is_stored_in_clear(ledger):
    ledger.record(event("consent.given", subject="carol@example.com", actor={"type": "person", "id": "carol-id"},
                        collection_point="kiosk 12", evidence={"ip": "198.51.100.7"}, client_event_id="carol-form"))
    stored = raw_tables(ledger)
    for secret in ("carol@example.com", "carol-id", "kiosk 12", "198.51.100.7", "carol-form"):
        assert secret not in stored
    assert "consent.given" in stored and "marketing" in stored  # the proof stays readable


def test_erasure_shreds_what_identifies_and_keeps_the_proof(ledger):
    given = ledger.record(event("consent.given", collection_point="signup v3"))
    ledger.record(event("erasure.requested", occurred_at="2026-04-01T00:00:00Z"))
    erased = ledger.erase("alice@example.com")
    assert (erased.events, erased.keys_destroyed) == (2, 1)
    first = ledger.history("alice@example.com")[0]
    assert first.erased and first.to_dict()["erased"] is True and "subject" not in first.to_dict()
    assert (first.kind, first.event_id, first.notice_digest) == ("consent.given", given.event_id, "sha256:" + "ab" * 32)
    assert ledger.verify().ok  # no row changed: the chain still proves the consent existed
    exported = ledger.export("alice@example.com")
    assert exported["erased_at"] is not None and all(e.get("erased") for e in exported["events"])
    # the person comes back: a new key; what was shredded stays shredded
    ledger.record(event("consent.given", occurred_at="2026-05-01T00:00:00Z", collection_point="again"))
    history = ledger.history("alice@example.com")
    assert [h.erased for h in history] == [True, True, False]
    assert history[2].identifying["collection_point"] == "again"
    assert ledger.verify().ok


def test_export_is_json_with_every_event_and_the_state(ledger):
    ledger.record(event("consent.given"))
    ledger.record(event("marketing.opted_out"))
    exported = json.loads(json.dumps(ledger.export("alice@example.com")))
    assert exported["format"] == EXPORT_FORMAT and exported["subject"] == "alice@example.com"
    assert [e["kind"] for e in exported["events"]] == ["consent.given", "marketing.opted_out"]
    assert exported["state"]["facts"]["marketing:email"]["status"] == "opted_out"
    assert exported["chain"]["events"] == 2 and exported["chain"]["head"].startswith("sha256:")


def tamper(ledger, statement):
    with ledger.engine.begin() as connection:
        connection.execute(statement)


def test_verify_names_a_changed_row(ledger):
    for day in range(1, 4):
        ledger.record(event("consent.given", occurred_at=f"2026-03-0{day}T00:00:00Z"))
    subject = ledger.keys.subject("alice@example.com")
    assert ledger.verify().ok and ledger.verify("alice@example.com").ok
    tamper(ledger, update(schema.events).where(schema.events.c.seq == 2).values(kind="consent.refused"))
    [found] = ledger.verify().breaks
    assert (found.subject, found.position, found.seq) == (subject, 1, 2)


def test_verify_finds_a_deleted_last_row_and_a_changed_state(ledger):
    ledger.record(event("consent.given"))
    ledger.record(event("consent.withdrawn", occurred_at="2026-04-01T00:00:00Z"))
    tamper(ledger, update(schema.state).values(status="given"))
    assert "state table" in ledger.verify().breaks[0].reason
    tamper(ledger, delete(schema.events).where(schema.events.c.seq == 2))
    assert "head" in ledger.verify().breaks[0].reason


def test_a_ledger_refuses_a_key_it_was_not_made_with(ledger_target):
    open_ledger(ledger_target, key=KEY).close()
    with pytest.raises(LedgerConfigError, match="not the key this ledger was made with"):
        open_ledger(ledger_target, key="another key, also 32 bytes long!")
    with pytest.raises(LedgerConfigError, match="at least 16"):
        open_ledger(ledger_target, key="short")


def test_the_migrations_make_exactly_the_schema_the_store_uses(ledger_target):
    with open_ledger(ledger_target, key=KEY) as ledger:
        with ledger.engine.connect() as connection:
            assert migrate.current(connection) == migrate.head()
            context = MigrationContext.configure(connection)
            differences = [d for d in compare_metadata(context, schema.metadata)
                           if not (isinstance(d, tuple) and d[0] == "remove_table" and d[1].name == migrate.VERSION_TABLE)]
        assert differences == []
    with open_ledger(ledger_target, key=KEY) as again:  # opening again migrates nothing, keeps everything
        assert again.last_seq() == 0


def test_a_sqlite_ledger_makes_its_key_beside_it_owner_only(tmp_path, monkeypatch):
    monkeypatch.delenv("PDP_LEDGER_KEY", raising=False)
    monkeypatch.delenv("PDP_LEDGER_KEY_FILE", raising=False)
    path = tmp_path / "consent.db"
    with open_ledger(path) as ledger:
        ledger.record(event("gpc.signalled"))
    key_file = tmp_path / "consent.db.key"
    assert key_file.stat().st_mode & 0o777 == 0o600 and path.stat().st_mode & 0o777 == 0o600
    with open_ledger(path) as ledger:
        assert ledger.state("alice@example.com").fact("gpc").status == "signalled"
    with ledger.engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"


def test_a_postgresql_ledger_never_makes_a_key(postgres_url, monkeypatch):
    monkeypatch.delenv("PDP_LEDGER_KEY", raising=False)
    monkeypatch.delenv("PDP_LEDGER_KEY_FILE", raising=False)
    with pytest.raises(LedgerConfigError, match="PDP_LEDGER_KEY_FILE"):
        open_ledger(postgres_url)
    monkeypatch.setenv("PDP_LEDGER_KEY", KEY)
    open_ledger(postgres_url).close()


@pytest.mark.parametrize(("target", "message"), [
    ("mysql://db/ledger", "SQLite or PostgreSQL, not `mysql`"),
    ("postgresql://nobody:secret@127.0.0.1:1/none", "cannot open the ledger at `postgresql+psycopg://nobody:***@"),
])
def test_a_ledger_that_cannot_be_opened_says_why_without_its_password(target, message):
    with pytest.raises(LedgerConfigError) as caught:
        open_ledger(target, key=KEY)
    assert message in str(caught.value) and "secret" not in str(caught.value)


def test_writers_on_one_ledger_interleave_without_losing_an_event(ledger_target):
    """Two stores on one database (two replicas): every event kept, sequence numbers unique, chains intact."""
    import threading

    subject = new_subject()
    with open_ledger(ledger_target, key=KEY) as one, open_ledger(ledger_target, key=KEY) as two:
        seqs: list[int] = []

        def write(ledger, n):
            for i in range(n):
                seqs.append(ledger.record(event("consent.given" if i % 2 else "consent.withdrawn", subject=subject,
                                                occurred_at=f"2026-03-01T00:00:{i:02d}Z")).seq)

        threads = [threading.Thread(target=write, args=(ledger, 15)) for ledger in (one, two, one)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(seqs) == list(range(1, 46))
        assert one.verify().ok and len(two.history(subject)) == 45
        with one.engine.connect() as connection:
            assert connection.execute(select(func.count()).select_from(schema.events)).scalar() == 45


def test_an_event_dated_in_the_future_is_refused(ledger_target):
    """Folded by time, a consent dated ahead would count as given before it was: refused, beyond a small skew."""
    now = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    with open_ledger(ledger_target, key=KEY, clock=lambda: now) as ledger:
        ledger.record(event("consent.given", occurred_at="2026-03-01T12:04:00Z"))  # a clock a little ahead
        with pytest.raises(InvalidEvent) as caught:
            ledger.record_many([event("gpc.signalled"), event("consent.given", occurred_at="2026-03-02T00:00:00Z")])
        assert caught.value.problems == [("[1].occurred_at", "is in the future (more than 5 minutes after the "
                                                             "ledger's clock)")]
        assert ledger.last_seq() == 1


def test_importing_the_ledger_loads_no_database_library():
    """A pure stage may read pdp.ledger's facts: the store (SQLAlchemy, alembic) loads on first use only."""
    import subprocess
    import sys

    code = ("import sys, pdp.ledger, pdp.ledger.state; "
            "print(sorted(m for m in ('sqlalchemy', 'alembic', 'psycopg') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
    from pdp import ledger

    assert ledger.open_ledger is open_ledger


def test_as_of_what_was_known_leaves_out_events_recorded_later(ledger_target):
    """`known_at`: what pdp could have answered at that moment (a paper withdrawal entered a week late)."""
    now = [datetime(2026, 3, 10, tzinfo=UTC)]
    with open_ledger(ledger_target, key=KEY, clock=lambda: now[0]) as ledger:
        ledger.record(event("consent.given", occurred_at="2026-03-01T00:00:00Z"))
        now[0] = datetime(2026, 3, 20, tzinfo=UTC)
        late = ledger.record(event("consent.withdrawn", occurred_at="2026-03-05T00:00:00Z"))
        at = datetime(2026, 3, 15, tzinfo=UTC)
        assert ledger.state_as_of("alice@example.com", at).fact("consent:marketing").event_id == late.event_id
        known = ledger.state_as_of("alice@example.com", at, known_at=datetime(2026, 3, 12, tzinfo=UTC))
        assert known.fact("consent:marketing").status == "given"


def test_an_existing_sqlite_ledger_without_its_key_is_refused_not_given_a_new_one(tmp_path, monkeypatch):
    monkeypatch.delenv("PDP_LEDGER_KEY", raising=False)
    monkeypatch.delenv("PDP_LEDGER_KEY_FILE", raising=False)
    path = tmp_path / "consent.db"
    open_ledger(path).close()
    (tmp_path / "consent.db.key").unlink()
    with pytest.raises(LedgerConfigError, match="exists but its key"):
        open_ledger(path)
    assert not (tmp_path / "consent.db.key").exists()


def test_a_changed_data_key_is_named_by_verify_and_reads_as_unreadable(ledger):
    ledger.record(event("consent.given", collection_point="signup v3"))
    tamper(ledger, update(schema.subject_keys).values(wrapped=b"\x00" * 60))
    [found] = ledger.verify().breaks
    assert "data key of generation 1 does not open" in found.reason
    assert ledger.history("alice@example.com")[0].identifying is None
