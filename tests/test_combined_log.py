"""The combined decision log: replicas' outboxes shipped to one PostgreSQL table, resumed, through outages; erasure."""

from __future__ import annotations

import datetime as dt
import os
import signal
import threading
import time
import uuid

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pdp.io import log_shipper
from pdp.io.combined_log import CombinedLog, CombinedLogError
from pdp.io.decision_log import DecisionLog, pseudonym
from pdp.io.log_shipper import Shipper, ShipperProcess, erase_everywhere
from tests.support.generate import fewer
from tests.support.postgres import start_cluster
from tests.support.waiting import eventually

KEY = b"k" * 32
PERSON = "u-4711-the-person"
T0 = dt.datetime(2026, 3, 1, 12, 0, 0, tzinfo=dt.timezone.utc)


def request(subject: str = PERSON) -> dict:
    return {"action": "share", "purpose": "marketing.advertising", "data_categories": ["user.contact.email"],
            "data_subject": {"id": subject, "age": 34, "country": "IN"},
            "recipient": {"id": "ads-co", "type": "third_party"}}


def answer(decision: str = "deny") -> dict:
    return {"decision": decision, "reasons": [{"rule": "marketing.opt_out", "effect": decision}],
            "policy": {"digest": "sha256:abc"}, "decision_id": uuid.uuid4().hex}


def outbox(tmp_path, name: str, rows: int = 0, subject: str = PERSON) -> DecisionLog:
    log = DecisionLog(tmp_path / f"{name}.db", pseudonym_key=KEY, clock=lambda: T0)
    for _ in range(rows):
        log.append(request(subject), answer())
    return log


def combined_rows(combined: CombinedLog) -> list[tuple]:
    with combined.engine.connect() as connection:
        return connection.execute(sa.text("SELECT outbox, seq, replica, decision_id FROM decision_log "
                                          "ORDER BY outbox, seq")).all()


@pytest.fixture
def combined(postgres_url):
    log = CombinedLog(postgres_url, pseudonym_key=KEY)
    yield log
    log.close()


def test_two_replicas_ship_to_one_table_each_row_once_naming_its_replica(tmp_path, combined):
    one, two = outbox(tmp_path, "one", 5), outbox(tmp_path, "two", 3, subject="someone-else")
    shippers = [Shipper(one, combined, "replica-1", batch=2), Shipper(two, combined, "replica-2", batch=2)]
    while sum(shipper.ship_once() for shipper in shippers):
        pass
    for shipper in shippers:  # shipping again (a fresh shipper: from the combined log's mark) adds nothing
        Shipper(shipper.outbox_log, combined, shipper.replica).ship_once()
        shipper._high_water = 0  # even from the start: each row is keyed by (outbox, number)
        shipper.ship_once()
    rows = combined_rows(combined)
    assert len(rows) == 8
    assert {row.replica for row in rows} == {"replica-1", "replica-2"}
    local = {r["decision_id"] for log in (one, two) for r in log.query(limit=100)}
    assert {row.decision_id for row in rows} == local
    mine = combined.query(data_subject_id=PERSON, limit=100)
    assert len(mine) == 5 and {row["replica"] for row in mine} == {"replica-1"}
    assert mine[0]["request"]["data_subject"]["id"] == pseudonym(KEY, PERSON)


def test_a_replica_with_another_key_is_refused(postgres_url, combined):
    with pytest.raises(CombinedLogError, match="same key"):
        CombinedLog(postgres_url, pseudonym_key=b"x" * 32)


def test_a_shipper_killed_mid_way_resumes_without_loss_or_duplicates(tmp_path, combined, postgres_url):
    log = outbox(tmp_path, "killed", 3000)
    first = ShipperProcess(log, postgres_url, "replica-k", batch=20)
    eventually(lambda: len(combined_rows(combined)) > 0, "the shipper ships")
    os.kill(first.pid, signal.SIGKILL)
    first.close()
    shipped_before = len(combined_rows(combined))
    assert shipped_before < 3000, "killed after it had shipped everything: nothing to resume"
    log.append(request(), answer())  # a row committed while no shipper ran
    second = ShipperProcess(log, postgres_url, "replica-k", batch=500)
    try:
        eventually(lambda: len(combined_rows(combined)) == 3001, "the restarted shipper catches up")
    finally:
        second.close()
    rows = combined_rows(combined)
    assert [row.seq for row in rows] == list(range(1, 3002))
    assert {row.decision_id for row in rows} == {r["decision_id"] for r in log.query(limit=5000)}


def test_two_workers_shippers_of_one_outbox_take_turns(tmp_path, combined, postgres_url):
    """`pdp serve --workers 2`: both workers start a shipper on their shared log; one ships, and when it is killed
    the other takes over where the combined log is."""
    log = outbox(tmp_path, "shared", 2000)
    first = ShipperProcess(log, postgres_url, "replica-w", batch=20)
    eventually(lambda: len(combined_rows(combined)) > 0, "the first shipper ships")
    second = ShipperProcess(log, postgres_url, "replica-w", batch=500)
    try:
        os.kill(first.pid, signal.SIGKILL)
        first.close()
        log.append(request(), answer())
        eventually(lambda: len(combined_rows(combined)) == 2001, "the waiting shipper takes over")
    finally:
        second.close()
    assert [row.seq for row in combined_rows(combined)] == list(range(1, 2002))


def _restart(cluster) -> None:
    options = (f"-p {cluster.port} -k {cluster.directory} -c listen_addresses=127.0.0.1 -c fsync=off "
               "-c max_connections=100")
    cluster._run(str(cluster.bin_dir / "pg_ctl"), "-D", str(cluster.data), "-o", options, "-l",
                 str(cluster.directory / "server.log"), "-w", "-t", "60", "start")


def test_postgresql_down_then_up_loses_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr(log_shipper, "MAX_PAUSE_S", 0.5)
    cluster = start_cluster()  # a server of its own, to stop and start
    try:
        combined = CombinedLog(cluster.url(), pseudonym_key=KEY)
        log = outbox(tmp_path, "outage", 10)
        shipper = Shipper(log, combined, "replica-o")
        stop = threading.Event()
        worker = threading.Thread(target=shipper.run, args=(stop,))
        worker.start()
        try:
            eventually(lambda: shipper.shipped == 10, "the first rows shipped")
            cluster._run(str(cluster.bin_dir / "pg_ctl"), "-D", str(cluster.data), "-m", "fast", "-w", "stop")
            for _ in range(15):  # answered while PostgreSQL is down: committed in the outbox
                log.append(request(), answer())
            time.sleep(1.0)  # the shipper meets the outage and backs off
            assert shipper.shipped == 10
            _restart(cluster)
            eventually(lambda: shipper.shipped == 25, "the rows of the outage shipped once it is back")
        finally:
            stop.set()
            worker.join()
        assert [row.seq for row in combined_rows(combined)] == list(range(1, 26))
        combined.close()
    finally:
        cluster.stop()


def test_erasure_takes_the_person_out_of_every_replica_and_keeps_the_proof(tmp_path, combined):
    here, there = outbox(tmp_path, "here", 2), outbox(tmp_path, "there", 2)
    there.append(request("someone-else"), answer("allow"))
    shippers = [Shipper(here, combined, "replica-1"), Shipper(there, combined, "replica-2")]
    for shipper in shippers:
        shipper.ship_once()
    there.append(request(), answer())  # decided on replica 2 before the erasure, not yet shipped

    result = erase_everywhere(here, combined, PERSON)
    assert result == {"deleted": 2, "combined": 4}
    assert here.query(data_subject_id=PERSON) == [] and combined.query(data_subject_id=PERSON) == []
    assert len(there.query(data_subject_id=PERSON)) == 3  # replica 2 has not heard yet
    for shipper in shippers:
        shipper.ship_once()  # ... its shipper applies the erasure before it ships
    assert there.query(data_subject_id=PERSON) == [] and combined.query(data_subject_id=PERSON) == []

    name = pseudonym(KEY, PERSON)
    every = [*here.query(limit=100), *there.query(limit=100), *combined.query(limit=100)]
    assert len(every) == 2 + 4 + 6
    for row in every:
        assert name not in str(row)
    erased = [row for row in every if row["request"].get("erased")]
    assert len(erased) == 2 + 3 + 5
    for row in erased:  # the proof: what was decided, when, by which rules and policy, and about what
        assert row["decision"] == "deny" and row["rules"] == ["marketing.opt_out"]
        assert row["policy_digest"] == "sha256:abc" and row["time"] == "2026-03-01T12:00:00.000000Z"
        assert row["request"] == {"erased": True, "action": "share", "purpose": "marketing.advertising",
                                  "data_categories": ["user.contact.email"], "data_subject": {"id": "erased"},
                                  "recipient": {"id": pseudonym(KEY, "ads-co")}}
    others = [row for row in every if not row["request"].get("erased")]
    assert {row["request"]["data_subject"]["id"] for row in others} == {pseudonym(KEY, "someone-else")}
    for path in (here.path, there.path):
        assert name.encode() not in b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))


@pytest.mark.slow
def test_pdp_diff_replays_the_combined_log_of_every_replica(tmp_path, combined, postgres_url, cx_one_go,
                                                           monkeypatch, capsys):
    import pdp
    from pdp.analysis.diff import replay
    from pdp.cli import main
    from tests.test_diff import POLICIES, edited

    minors = {"action": "use", "purpose": "essential.service.operations", "data_categories": ["user.contact.email"],
              "data_subject": {"id": "u-1", "age": 17}}
    adults = {**minors, "data_subject": {"id": "u-2", "age": 30}}
    logs = [outbox(tmp_path, "r1"), outbox(tmp_path, "r2")]
    for log, asked in zip(logs, (minors, adults)):
        for _ in range(2):
            log.append(asked, cx_one_go.decide(asked).to_dict())
    logs[0].append({**minors, "data_subject": {"id": "gone", "age": 17}}, cx_one_go.decide(minors).to_dict())
    for number, log in enumerate(logs):
        Shipper(log, combined, f"replica-{number}").ship_once()
    erase_everywhere(logs[0], combined, "gone")  # only the proof is left of its row: not replayed

    new_dir = edited(tmp_path, "children.pdp", "  to collect, use, share, transfer, access, correct\n"
                     "  when data_subject.age < 18\n", "  to collect, use, share, transfer, access, correct\n"
                     "  when data_subject.age < 16\n")
    result = replay(cx_one_go, pdp.load(new_dir), postgres_url, key=KEY)
    assert (result.total, result.replayed, result.skipped, result.stale) == (5, 4, 1, 0)
    assert dict(result.flips) == {("deny", "allow"): 2}
    monkeypatch.setenv("PDP_LOG_KEY", KEY.decode())
    assert main(["diff", str(POLICIES), str(new_dir), "--replay", postgres_url]) == 1
    assert "2 would now be decided differently" in capsys.readouterr().out
    monkeypatch.delenv("PDP_LOG_KEY")
    assert main(["diff", str(POLICIES), str(new_dir), "--replay", postgres_url]) == 2
    assert "needs its key" in capsys.readouterr().err
    monkeypatch.setenv("PDP_LOG_KEY", KEY.decode())
    assert main(["diff", str(POLICIES), str(new_dir), "--replay", "postgresql://nobody@127.0.0.1:1/none"]) == 2
    assert "cannot read the combined decision log" in capsys.readouterr().err


def test_pdp_consent_erase_takes_the_subject_out_of_the_decision_logs(tmp_path, combined, postgres_url, capsys,
                                                                      monkeypatch):
    import json

    from pdp.cli import main
    from tests.support.ledger import event

    ledger = str(tmp_path / "consent.db")
    (tmp_path / "events.json").write_text(json.dumps(event("marketing.opted_out", PERSON)))
    assert main(["consent", "record", str(tmp_path / "events.json"), "--ledger", ledger]) == 0
    log = outbox(tmp_path, "cli", 2)
    log.append(request("someone-else"), answer())
    Shipper(log, combined, "replica-1").ship_once()
    log.close()
    (tmp_path / "cli.db.key").write_text(KEY.decode())  # as `pdp serve` keeps it
    capsys.readouterr()
    assert main(["consent", "erase", PERSON, "--yes", "--ledger", ledger, "--log", str(tmp_path / "cli.db"),
                 "--log-url", postgres_url]) == 0
    erased = json.loads(capsys.readouterr().out)
    assert erased["events"] == 1 and erased["decision_log"] == {"deleted": 2, "combined": 2}
    with DecisionLog(tmp_path / "cli.db", pseudonym_key=KEY) as log:
        assert log.query(data_subject_id=PERSON) == [] and len(log.query()) == 3
    assert combined.query(data_subject_id=PERSON) == [] and len(combined.query()) == 3
    assert main(["consent", "erase", PERSON, "--yes", "--ledger", ledger, "--log", str(tmp_path / "none.db")]) == 2
    assert "no decision log at" in capsys.readouterr().err


texts = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=40)
times = st.text(alphabet="0123456789-:.TZ", min_size=27, max_size=27)  # as `format_time` writes them
shipped_rows = st.lists(st.tuples(st.integers(1, 40), texts, times, texts, st.sampled_from(["allow", "deny"]), texts,
                                  st.none() | texts, texts, texts), max_size=30)


@settings(parent=fewer(4), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(first=shipped_rows, second=shipped_rows)
def test_copying_a_shipment_stores_what_inserting_it_stores(combined, monkeypatch, first, second):
    """COPIED (PostgreSQL's COPY into a temporary table, then one insert) against the plain insert, row by row:
    the same rows, a row already there (or twice in one shipment) left as it was."""
    from pdp.io import combined_log

    stored = {}
    for copied in (False, True):
        monkeypatch.setattr(combined_log, "COPIED", copied)
        outbox = uuid.uuid4().hex
        for rows in (first, second):  # the second overlaps the first where their numbers meet
            with combined.shipping() as shipment:
                if rows:
                    shipment.insert(outbox, "replica", rows)
        with combined.engine.connect() as connection:
            stored[copied] = connection.execute(sa.text(
                "SELECT seq, replica, decision_id, time, endpoint, decision, rules, policy_digest, request, people "
                "FROM decision_log WHERE outbox = :o ORDER BY seq"), {"o": outbox}).all()
    assert stored[True] == stored[False]
