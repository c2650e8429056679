"""The decision log: round trip, privacy treatment, retention, durability, concurrency."""

import copy
import datetime as dt
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pdp.io.decision_log import MASKED, PSEUDONYM_PREFIX, ROWS_PER_STATEMENT, DecisionLog, pseudonym

KEY = b"k" * 32
T0 = dt.datetime(2026, 3, 1, 12, 0, 0, tzinfo=dt.timezone.utc)
SECRET_ID = "u-zz-4711-secret-subject"


class Clock:
    def __init__(self, now: dt.datetime = T0):
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta) -> None:
        self.now += dt.timedelta(**delta)


def request(**overrides) -> dict:
    base = {"action": "share", "purpose": "essential.service.payment_processing",
            "data_categories": ["user.contact.email"],
            "data_subject": {"id": "u-1029", "age": 34, "country": "IN", "consent": {"marketing": False}},
            "recipient": {"id": "payments-co", "type": "service_provider"}, "context": {"note": "ticket 42"}}
    base.update(overrides)
    return base


def stored_request() -> dict:
    """What the log keeps of `request()`: the fields that decide, its ids pseudonymised, no free-form context."""
    stored = request()
    del stored["context"]
    stored["recipient"] = {**stored["recipient"], "id": pseudonym(KEY, "payments-co")}
    return stored


def response(decision: str = "allow", rules=("ops",), decision_id: str | None = None) -> dict:
    return {
        "decision": decision,
        "reasons": [{"rule": r, "effect": decision, "cite": "§2.1", "message": "m"} for r in rules],
        "obligations": [],
        "policy": {"name": "cx-one-go", "version": "2026-11-24", "digest": "sha256:abc"},
        "decision_id": decision_id or uuid.uuid4().hex,
    }


def authzen(subject_id: str = SECRET_ID, type_: str = "personal_data") -> dict:
    return {
        "subject": {"type": "service", "id": "billing-service"},
        "action": {"name": "use", "properties": {"purpose": "analytics.reporting"}},
        "resource": {"type": type_, "id": subject_id,
                     "properties": {"data_categories": ["user.behavior"],
                                    "data_subject": {"id": subject_id, "age": 40}}},
        "context": {"destination_country": "US"},
    }


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def dlog(tmp_path, clock):
    with DecisionLog(tmp_path / "audit" / "decisions.db", pseudonym_key=KEY, clock=clock) as log:
        yield log


# -- round trip ---------------------------------------------------------------

def test_append_then_query_round_trip(dlog, clock, tmp_path):
    assert (tmp_path / "audit" / "decisions.db").exists()  # parent directory made
    resp = response("deny", rules=("children.under_18", "sales.never"))
    dlog.append(request(), resp, endpoint="/v1/decide/batch")
    [row] = dlog.query()
    assert row == {
        "decision_id": resp["decision_id"], "time": "2026-03-01T12:00:00.000000Z", "endpoint": "/v1/decide/batch",
        "decision": "deny", "rules": ["children.under_18", "sales.never"], "policy_digest": "sha256:abc",
        "request": {**stored_request(), "data_subject": {**request()["data_subject"], "id": pseudonym(KEY, "u-1029")}},
    }
    assert dlog.count() == 1


def test_file_is_in_wal_mode(dlog):
    with sqlite3.connect(dlog.path) as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_newest_first_and_filters(dlog, clock):
    ids = []
    for decision in ["allow", "deny", "allow", "deny", "allow"]:
        resp = response(decision)
        ids.append(resp["decision_id"])
        dlog.append(request(), resp)
        clock.advance(minutes=10)
    assert [r["decision_id"] for r in dlog.query()] == ids[::-1]
    assert [r["decision_id"] for r in dlog.query(decision="deny")] == [ids[3], ids[1]]
    assert [r["decision_id"] for r in dlog.query(limit=2)] == [ids[4], ids[3]]
    assert dlog.query(limit=0) == []
    # since is inclusive, until exclusive; offsets and "Z" are understood
    assert [r["decision_id"] for r in dlog.query(since="2026-03-01T12:10:00Z", until="2026-03-01T12:30:00+00:00")] \
        == [ids[2], ids[1]]
    assert [r["decision_id"] for r in dlog.query(since="2026-03-01T13:20:00+01:00")] == [ids[4], ids[3], ids[2]]
    assert [r["decision_id"] for r in dlog.query(decision_id=ids[2])] == [ids[2]]
    assert dlog.query(decision_id="nope") == []
    assert dlog.query(decision="allow", until="2026-03-01T12:10:00Z")[0]["decision_id"] == ids[0]


def test_same_time_keeps_insertion_order(dlog):
    ids = [response()["decision_id"] for _ in range(3)]
    for i in ids:
        dlog.append(request(), response(decision_id=i))
    assert [r["decision_id"] for r in dlog.query()] == ids[::-1]


def test_bad_arguments_are_refused(tmp_path, dlog):
    with pytest.raises(ValueError, match="pseudonym_key"):
        DecisionLog(tmp_path / "x.db", pseudonym_key=b"short")
    with pytest.raises(ValueError, match="synchronous"):
        DecisionLog(tmp_path / "x.db", pseudonym_key=KEY, synchronous="OFF")
    with pytest.raises(ValueError, match="mask path"):
        DecisionLog(tmp_path / "x.db", pseudonym_key=KEY, mask=["context..note"])
    with pytest.raises(ValueError, match="mask"):
        DecisionLog(tmp_path / "x.db", pseudonym_key=KEY, mask="context.note")
    with pytest.raises(ValueError, match="decision_id"):
        dlog.append(request(), {"decision": "allow"})
    with pytest.raises(ValueError, match="since"):
        dlog.query(since="yesterday")
    for off_the_calendar in ("9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+23:59"):
        with pytest.raises(ValueError, match="until"):  # not an OverflowError
            dlog.query(until=off_the_calendar)
    resp = response()
    dlog.append(request(), resp)
    with pytest.raises(sqlite3.IntegrityError):
        dlog.append(request(), resp)
    assert dlog.count() == 1


@pytest.mark.parametrize("rows", [5, ROWS_PER_STATEMENT + 7])  # one statement, and several in one transaction
def test_a_group_of_rows_is_committed_all_or_none(tmp_path, rows):
    dlog = DecisionLog(tmp_path / "d.db", pseudonym_key=KEY)
    entries = [(request(), response(), "/v1/decide") for _ in range(rows)]
    dlog.append_many(entries)
    assert dlog.count() == rows
    again = [(request(), response(), "/v1/decide") for _ in range(rows - 1)] + [entries[0]]  # the last one is a repeat
    with pytest.raises(sqlite3.IntegrityError):
        dlog.append_many(again)
    assert dlog.count() == rows
    assert {r["decision_id"] for r in dlog.query(limit=1000)} == {e[1]["decision_id"] for e in entries}


def test_rows_outlive_the_object(tmp_path):
    path = tmp_path / "d.db"
    log = DecisionLog(path, pseudonym_key=KEY)
    resp = response()
    log.append(request(), resp)
    log.close()
    log.close()  # idempotent
    with pytest.raises(ValueError, match="closed"):
        log.count()
    with DecisionLog(path, pseudonym_key=KEY) as again:
        assert [r["decision_id"] for r in again.query()] == [resp["decision_id"]]


# -- privacy -------------------------------------------------------------------

def _raw_bytes(path) -> bytes:
    return b"".join(p.read_bytes() for p in path.parent.iterdir() if p.name.startswith(path.name))


def test_subject_id_never_reaches_the_disk(dlog):
    dlog.append(request(data_subject={"id": SECRET_ID, "age": 12}), response())
    dlog.append(authzen(), response(), endpoint="/access/v1/evaluation")
    dlog.append({"evaluations": [authzen()], "subject": {"type": "service", "id": "s"}}, response(),
                endpoint="/access/v1/evaluations")
    files = [p.name for p in dlog.path.parent.iterdir()]
    assert "decisions.db-wal" in files  # the rows are in the WAL now: read it too
    raw = _raw_bytes(dlog.path)
    assert SECRET_ID.encode() not in raw
    assert pseudonym(KEY, SECRET_ID).encode() in raw  # the bytes read do hold the rows
    dlog.close()  # checkpoints the WAL into the main file
    assert SECRET_ID.encode() not in _raw_bytes(dlog.path)


def test_same_id_same_pseudonym_other_key_other_pseudonym(tmp_path, dlog):
    dlog.append(request(data_subject={"id": SECRET_ID}), response())
    dlog.append(authzen(), response(), endpoint="/access/v1/evaluation")
    native, az = dlog.query()[::-1]
    p = native["request"]["data_subject"]["id"]
    assert p.startswith("hmac:") and len(p) == len("hmac:") + 64
    assert az["request"]["resource"]["id"] == p
    assert az["request"]["resource"]["properties"]["data_subject"]["id"] == p
    with DecisionLog(tmp_path / "other.db", pseudonym_key=b"x" * 32) as other:
        other.append(request(data_subject={"id": SECRET_ID}), response())
        q = other.query()[0]["request"]["data_subject"]["id"]
    assert q.startswith("hmac:") and q != p
    dlog.append(request(data_subject={"id": "u-other"}), response())
    assert dlog.query()[0]["request"]["data_subject"]["id"] not in (p, q)


def test_every_identifier_is_pseudonymised_and_free_text_left_out(dlog):
    # AuthZEN subject and resource ids (emails in the interop set), the requester's id, an email and
    # a note in the request: none of them reaches the file as sent.
    doc = {"subject": {"type": "user", "id": "alice@example.com"}, "action": {"name": "can_read"},
           "resource": {"type": "document", "id": "bob@example.com", "properties": {"owner": "carol@example.com"}},
           "context": {"note": "call dave@example.com"}}
    native = request(data_subject={"id": "u-1", "email": "erin@example.com", "age": 40},
                     requester={"id": "frank@example.com"}, context={"note": "grace@example.com"})
    dlog.append(doc, response(), endpoint="/access/v1/evaluation")
    dlog.append(native, response())
    az, row = dlog.query()[::-1]
    assert az["request"] == {"subject": {"type": "user", "id": pseudonym(KEY, "alice@example.com")},
                             "action": {"name": "can_read"},
                             "resource": {"type": "document", "id": pseudonym(KEY, "bob@example.com")}}
    assert row["request"]["requester"] == {"id": pseudonym(KEY, "frank@example.com")}
    assert row["request"]["data_subject"] == {"id": pseudonym(KEY, "u-1"), "age": 40}
    assert "context" not in row["request"]
    raw = _raw_bytes(dlog.path)
    for person in ("alice", "bob", "carol", "dave", "erin", "frank", "grace"):
        assert f"{person}@example.com".encode() not in raw


def test_masking_and_callers_dicts_untouched(tmp_path):
    mask = ["data_subject.age", "data_subject.consent.marketing",
            "resource.properties.data_subject.age", "recipient.missing.path"]
    with DecisionLog(tmp_path / "m.db", pseudonym_key=KEY, mask=mask) as log:
        req, resp = request(), response()
        az = authzen()
        before, before_resp, before_az = copy.deepcopy(req), copy.deepcopy(resp), copy.deepcopy(az)
        log.append(req, resp)
        log.append(az, response(), endpoint="/access/v1/evaluation")
        assert (req, resp, az) == (before, before_resp, before_az)
        az_row, native_row = log.query()
    stored = native_row["request"]
    assert stored["data_subject"]["age"] == MASKED
    assert stored["data_subject"]["consent"] == {"marketing": MASKED}
    assert stored["data_subject"]["country"] == "IN"  # not listed, kept
    assert "missing" not in stored["recipient"]  # a path that is absent is not invented
    assert az_row["request"]["resource"]["properties"]["data_subject"]["age"] == MASKED


# -- retention -----------------------------------------------------------------

def test_retention_deletes_only_old_rows(tmp_path, clock):
    with DecisionLog(tmp_path / "r.db", pseudonym_key=KEY, retention_days=30, clock=clock) as log:
        old, mid = response(decision_id="old"), response(decision_id="mid")
        log.append(request(), old)                       # at T0
        clock.advance(days=20)
        log.append(request(), mid)                       # at T0 + 20 d
        clock.advance(days=15)                           # T0 + 35 d: cutoff T0 + 5 d
        assert log.enforce_retention() == 1
        assert [r["decision_id"] for r in log.query()] == ["mid"]
        clock.advance(days=15)                           # T0 + 50 d: cutoff is exactly mid's time
        assert log.enforce_retention() == 0              # strictly older only
        clock.advance(microseconds=1)
        assert log.enforce_retention() == 1
        assert log.count() == 0


class CountingLog(DecisionLog):
    runs = 0

    def enforce_retention(self) -> int:
        self.runs += 1
        return super().enforce_retention()


def test_append_enforces_retention_at_most_hourly(tmp_path, clock):
    with CountingLog(tmp_path / "h.db", pseudonym_key=KEY, retention_days=1, clock=clock) as log:
        log.append(request(), response(decision_id="a"))   # first append checks
        assert log.runs == 1
        clock.advance(minutes=59)
        log.append(request(), response(decision_id="b"))
        assert log.runs == 1
        clock.advance(days=1, minutes=30)                  # a and b are now older than a day
        log.append(request(), response(decision_id="c"))
        assert log.runs == 2
        assert [r["decision_id"] for r in log.query()] == ["c"]


# -- durability and concurrency ------------------------------------------------

CHILD = textwrap.dedent("""
    import sys, uuid
    from pdp.io.decision_log import DecisionLog
    log = DecisionLog(sys.argv[1], pseudonym_key=b"k" * 32, synchronous=sys.argv[2])
    i = 0
    while True:
        did = uuid.uuid4().hex
        log.append({"action": "use", "purpose": "analytics", "data_categories": ["user"],
                    "data_subject": {"id": f"u-{i}"}},
                   {"decision": "allow" if i % 2 else "deny", "reasons": [{"rule": "r"}],
                    "obligations": [], "policy": {"digest": "sha256:x"}, "decision_id": did})
        sys.stdout.write(did + "\\n")  # the acknowledgement: only after append returned
        sys.stdout.flush()
        i += 1
""")


def _watchdog(proc: subprocess.Popen, seconds: float = 120) -> threading.Timer:
    """Kill a hung child so that the test fails instead of hanging (not a timing assertion)."""
    timer = threading.Timer(seconds, proc.kill)
    timer.daemon = True
    timer.start()
    return timer


@pytest.mark.slow
@pytest.mark.parametrize("synchronous", ["NORMAL", "FULL"])
def test_acknowledged_decisions_survive_kill_9(tmp_path, synchronous):
    path = tmp_path / "kill.db"
    n = 200
    proc = subprocess.Popen([sys.executable, "-c", CHILD, str(path), synchronous],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    timer = _watchdog(proc)
    acked: list[str] = []
    try:
        while len(acked) < n + 100:  # the 200, then a little of the endless loop
            line = proc.stdout.readline()
            if not line:
                pytest.fail(f"the writer stopped early: {proc.stderr.read()}")
            acked.append(line.strip())
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        # lines already in the pipe were acknowledged too; a torn last line was not
        acked += proc.stdout.read().split("\n")[:-1]
    finally:
        timer.cancel()
        if proc.poll() is None:
            proc.kill()
        proc.stdout.close()
        proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL
    with DecisionLog(path, pseudonym_key=KEY) as log:
        stored = {r["decision_id"] for r in log.query(limit=10**9)}
    missing = [i for i in acked if i not in stored]
    assert not missing, f"{len(missing)} of {len(acked)} acknowledged decisions lost"
    assert len(stored) >= len(acked)


WRITER = textwrap.dedent("""
    import sys
    from pdp.io.decision_log import DecisionLog
    path, tag, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    sys.stdin.readline()  # start together
    log = DecisionLog(path, pseudonym_key=b"k" * 32)  # both may create the file
    for i in range(n):
        log.append({"action": "use", "data_subject": {"id": f"{tag}-{i}"}},
                   {"decision": "allow", "reasons": [], "policy": {"digest": "d"}, "decision_id": f"{tag}-{i}"})
    log.close()
""")


@pytest.mark.slow
def test_two_processes_appending_lose_nothing(tmp_path):
    path, n = tmp_path / "shared" / "two.db", 500
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(path), tag, str(n)],
                              stdin=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for tag in ("a", "b")]
    timers = [_watchdog(p) for p in procs]
    for p in procs:
        p.stdin.write("go\n")
        p.stdin.flush()
    errors = [p.communicate()[1] for p in procs]
    for t in timers:
        t.cancel()
    assert [p.returncode for p in procs] == [0, 0], errors
    with DecisionLog(path, pseudonym_key=KEY) as log:
        assert log.count() == 2 * n
        stored = {r["decision_id"] for r in log.query(limit=10**9)}
    assert stored == {f"{tag}-{i}" for tag in ("a", "b") for i in range(n)}


def test_threads_sharing_one_log_lose_nothing(dlog):
    def write(tag):
        for i in range(100):
            dlog.append(request(), response(decision_id=f"{tag}-{i}"))

    threads = [threading.Thread(target=write, args=(t,)) for t in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert dlog.count() == 800
    assert {r["decision_id"] for r in dlog.query(limit=1000)} == {f"{t}-{i}" for t in range(8) for i in range(100)}


def test_pseudonym_of_a_number_is_that_of_its_text():
    assert pseudonym(KEY, 1029) == pseudonym(KEY, "1029")


def test_entering_wal_mode_waits_out_a_briefly_locked_file():
    # Several workers opening a new log together: SQLite may answer "locked" at
    # once, without its busy timeout, while another process switches the file.
    from pdp.io.decision_log import _enter_wal_mode

    class Flaky:
        def __init__(self, failures):
            self.failures = failures

        def execute(self, sql):
            assert sql == "PRAGMA journal_mode=WAL"
            if self.failures:
                self.failures -= 1
                raise sqlite3.OperationalError("database is locked")
            return self

        def fetchone(self):
            return ("wal",)

    assert _enter_wal_mode(Flaky(3)) == "wal"

    class Broken(Flaky):
        def execute(self, sql):
            raise sqlite3.OperationalError("disk I/O error")

    with pytest.raises(sqlite3.OperationalError, match="disk I/O"):
        _enter_wal_mode(Broken(0))  # only a lock is waited out


def test_without_a_mask_the_callers_dicts_are_untouched_too(tmp_path):
    # Without a mask the log copies only what it pseudonymises; it must still never write to the caller's request.
    batch = {"evaluations": [authzen(), authzen()], "subject": {"id": "svc"}}
    with DecisionLog(tmp_path / "n.db", pseudonym_key=KEY) as log:
        req, az = request(), authzen()
        before = copy.deepcopy((req, az, batch))
        log.append(req, response())
        log.append(az, response(), endpoint="/access/v1/evaluation")
        log.append(batch, response(), endpoint="/access/v1/evaluations")
        assert (req, az, batch) == before
        rows = log.query()
    stored = {row["endpoint"]: row["request"] for row in rows}
    assert stored["/v1/decide"]["data_subject"]["id"].startswith(PSEUDONYM_PREFIX)
    assert stored["/access/v1/evaluation"]["resource"]["id"].startswith(PSEUDONYM_PREFIX)
    assert stored["/access/v1/evaluations"] == {"subject": {"id": pseudonym(KEY, "svc")}}  # the server logs each item


# -- bounds, erasure, streaming, files ------------------------------------------

def test_the_size_limit_deletes_the_oldest_rows(tmp_path, clock, monkeypatch):
    import pdp.io.decision_log as dl

    monkeypatch.setattr(dl, "SIZE_CHECK_EVERY", 50)
    with DecisionLog(tmp_path / "s.db", pseudonym_key=KEY, clock=clock, max_bytes=1_000_000,
                     attributes=["context.note"]) as log:
        for i in range(1500):
            log.append(request(context={"note": "n" * 1500}), response(decision_id=f"{i:05d}"))
            clock.advance(seconds=1)
        assert log.used_bytes() <= 1_000_000 + 50 * 4096
        kept = [r["decision_id"] for r in log.query(limit=10**6)]
    assert 100 < len(kept) < 1500
    assert kept == [f"{i:05d}" for i in range(1499, 1499 - len(kept), -1)]  # the newest, every one of them


def test_a_stored_request_is_bounded(dlog):
    deep: dict = {}
    node = deep
    for _ in range(50):
        node["d"] = node = {}
    big = request(data_categories=["user.name"] * 300, data_subject={"id": "x" * 10_000, "consent": deep})
    dlog.append(big, response())
    stored = dlog.query()[0]["request"]
    assert stored["truncated"] is True
    assert len(stored["data_categories"]) == 256
    assert stored["data_subject"]["id"] == pseudonym(KEY, "x" * 10_000)
    assert "..." in str(stored["data_subject"]["consent"])


def test_a_row_over_the_row_limit_keeps_its_ids_action_and_purpose(tmp_path):
    with DecisionLog(tmp_path / "r.db", pseudonym_key=KEY, max_row_bytes=300) as log:
        log.append(request(data_categories=[f"user.c{i}" for i in range(40)]), response())
        stored = log.query()[0]["request"]
    assert stored == {"truncated": True, "action": "share", "purpose": "essential.service.payment_processing",
                      "data_subject": {"id": pseudonym(KEY, "u-1029")}, "recipient": {"id": pseudonym(KEY, "payments-co")}}


def test_erasure_takes_the_id_out_of_every_row_naming_it_in_any_role_and_keeps_the_proof(dlog):
    dlog.append(request(data_subject={"id": SECRET_ID}), response(decision_id="as-subject"))
    dlog.append(request(requester={"id": SECRET_ID}), response(decision_id="as-requester"))
    dlog.append(authzen(), response(decision_id="as-resource"), endpoint="/access/v1/evaluation")
    dlog.append(request(), response(decision_id="someone-else"))
    assert {r["decision_id"] for r in dlog.query(data_subject_id=SECRET_ID)} == {"as-subject", "as-requester", "as-resource"}
    assert dlog.erase(SECRET_ID) == 3
    assert dlog.erase(SECRET_ID) == 0
    assert dlog.query(data_subject_id=SECRET_ID) == []
    rows = {r["decision_id"]: r for r in dlog.query()}
    assert set(rows) == {"as-subject", "as-requester", "as-resource", "someone-else"}  # each row stays: the proof
    assert rows["as-subject"]["request"] == {
        "erased": True, "action": "share", "purpose": "essential.service.payment_processing",
        "data_categories": ["user.contact.email"], "data_subject": {"id": "erased"},
        "recipient": {"id": pseudonym(KEY, "payments-co")}}  # another party's id stays theirs
    assert rows["as-requester"]["request"]["requester"] == {"id": "erased"}
    assert rows["as-requester"]["request"]["data_subject"] == {"id": pseudonym(KEY, "u-1029")}
    assert rows["as-resource"]["request"]["resource"] == {"id": "erased", "type": "personal_data",
                                                          "properties": {"data_categories": ["user.behavior"],
                                                                         "data_subject": {"id": "erased"}}}
    assert rows["as-subject"]["rules"] == ["ops"] and rows["as-subject"]["policy_digest"] == "sha256:abc"
    assert "age" not in str(rows["as-subject"]["request"])  # what described the person goes with them
    assert rows["someone-else"]["request"] == stored_request() | {
        "data_subject": {**request()["data_subject"], "id": pseudonym(KEY, "u-1029")}}
    assert pseudonym(KEY, SECRET_ID).encode() not in _raw_bytes(dlog.path)


def test_a_log_of_schema_2_keeps_its_people_findable(tmp_path):
    """Schema 2 kept the pseudonyms in a `people` table; opening it moves them into the rows."""
    path = tmp_path / "v2.db"
    with sqlite3.connect(path) as raw:
        raw.executescript("""
            CREATE TABLE decisions (decision_id TEXT PRIMARY KEY, time TEXT NOT NULL, endpoint TEXT NOT NULL,
                decision TEXT NOT NULL, rules TEXT NOT NULL, policy_digest TEXT, request TEXT NOT NULL);
            CREATE TABLE people (pseudonym TEXT NOT NULL, decision_id TEXT NOT NULL,
                PRIMARY KEY (pseudonym, decision_id)) WITHOUT ROWID;
            CREATE TRIGGER decisions_forget AFTER DELETE ON decisions BEGIN
                DELETE FROM people WHERE decision_id = old.decision_id; END;
            PRAGMA user_version = 2;""")
        for decision_id, who in (("a", SECRET_ID), ("b", "someone-else")):
            raw.execute("INSERT INTO decisions VALUES (?, '2026-11-30T00:00:00.000000Z', '/v1/decide', 'allow', "
                        "'[]', NULL, '{}')", (decision_id,))
            raw.execute("INSERT INTO people VALUES (?, ?)", (pseudonym(KEY, who), decision_id))
    with DecisionLog(path, pseudonym_key=KEY) as log:
        assert [r["decision_id"] for r in log.query(data_subject_id=SECRET_ID)] == ["a"]
        assert log.erase(SECRET_ID) == 1
        assert log.query(data_subject_id=SECRET_ID) == [] and len(log.query()) == 2
    with sqlite3.connect(path) as raw:
        assert raw.execute("PRAGMA user_version").fetchone() == (4,)  # schema 4: each row numbered (`seq`)
        assert raw.execute("SELECT name FROM sqlite_master WHERE name = 'people'").fetchall() == []


def test_a_log_of_schema_3_gets_row_numbers_in_its_order_and_they_are_never_reused(tmp_path, clock):
    """Schema 4 numbers the rows (`seq`, AUTOINCREMENT): the combined log's shipper keeps its place by it, and a
    rowid would start again at 1 once retention emptied the table."""
    path = tmp_path / "v3.db"
    with sqlite3.connect(path) as raw:
        raw.executescript("""
            CREATE TABLE decisions (decision_id TEXT PRIMARY KEY, time TEXT NOT NULL, endpoint TEXT NOT NULL,
                decision TEXT NOT NULL, rules TEXT NOT NULL, policy_digest TEXT, request TEXT NOT NULL,
                people TEXT NOT NULL DEFAULT '');
            PRAGMA user_version = 3;""")
        for decision_id in ("a", "b", "c"):
            raw.execute("INSERT INTO decisions VALUES (?, '2026-11-30T00:00:00.000000Z', '/v1/decide', 'allow', "
                        "'[]', NULL, '{}', '')", (decision_id,))
    with DecisionLog(path, pseudonym_key=KEY, clock=clock) as log:
        with sqlite3.connect(path) as raw:
            assert raw.execute("SELECT seq, decision_id FROM decisions ORDER BY seq").fetchall() == [
                (1, "a"), (2, "b"), (3, "c")]
            raw.execute("DELETE FROM decisions")  # as retention does after a long pause
        log.append(request(), response(decision_id="d"))
        with sqlite3.connect(path) as raw:
            assert raw.execute("SELECT seq, decision_id FROM decisions").fetchall() == [(4, "d")]
            assert raw.execute("PRAGMA user_version").fetchone() == (4,)


def test_the_stream_reads_what_query_reads(dlog, clock):
    import json

    for i, decision in enumerate(["allow", "deny", "allow"]):
        dlog.append(request(data_subject={"id": f"u-{i % 2}"}), response(decision, decision_id=f"d{i}"))
        clock.advance(minutes=1)
    for params in ({}, {"decision": "allow"}, {"limit": 1}, {"data_subject_id": "u-0"}, {"decision_id": "d1"}):
        assert json.loads(b"".join(dlog.stream(**params))) == {"decisions": dlog.query(**params)}
    with pytest.raises(ValueError, match="since"):
        dlog.stream(since="yesterday")  # refused before any row is read


def test_the_files_are_created_readable_by_the_owner_only(tmp_path):
    old = os.umask(0o022)
    try:
        with DecisionLog(tmp_path / "o.db", pseudonym_key=KEY) as log:
            log.append(request(), response())
            modes = {p.name: p.stat().st_mode & 0o777 for p in tmp_path.iterdir()}
    finally:
        os.umask(old)
    assert modes == {"o.db": 0o600, "o.db-wal": 0o600, "o.db-shm": 0o600}


def test_a_log_of_the_first_schema_is_narrowed_and_indexed(tmp_path):
    path = tmp_path / "v1.db"
    with sqlite3.connect(path) as raw:
        raw.execute("CREATE TABLE decisions (decision_id TEXT PRIMARY KEY, time TEXT NOT NULL, endpoint TEXT NOT NULL, "
                    "decision TEXT NOT NULL, rules TEXT NOT NULL, policy_digest TEXT, request TEXT NOT NULL)")
        whole = request(data_subject={"id": pseudonym(KEY, SECRET_ID), "email": "a@example.com"})
        raw.execute("INSERT INTO decisions VALUES ('old', '2026-01-01T00:00:00.000000Z', '/v1/decide', 'allow', '[]', "
                    "NULL, ?)", (json_text(whole),))
        raw.execute("PRAGMA user_version=1")
    os.chmod(path, 0o644)
    with DecisionLog(path, pseudonym_key=KEY) as log:
        [row] = log.query(data_subject_id=SECRET_ID)
    assert row["request"]["data_subject"] == {"id": pseudonym(KEY, SECRET_ID)}
    assert "context" not in row["request"]
    assert path.stat().st_mode & 0o777 == 0o600


def json_text(value) -> str:
    import json

    return json.dumps(value)


@given(value=st.one_of(st.text(max_size=300), st.integers(), st.lists(st.text(max_size=5), max_size=3)),
       key=st.binary(min_size=16, max_size=40))
def test_a_cached_pseudonym_is_the_computed_one(value, key):
    import pdp.base.pseudonym as ps

    cached = ps.pseudonym(key, value)
    ps.CACHE = False
    try:
        assert ps.pseudonym(key, value) == cached
    finally:
        ps.CACHE = True
    assert ps.pseudonym(key, value) == cached


def test_an_allow_listed_part_still_has_its_identifiers_pseudonymised(tmp_path):
    az = authzen()
    az["context"] = {"recipient": {"id": "acme-ltd", "type": "service_provider"}, "ticket": "T-1"}
    with DecisionLog(tmp_path / "a.db", pseudonym_key=KEY, attributes=["context", "data_subject"]) as log:
        log.append(request(data_subject={"id": SECRET_ID, "email": "e@example.com"}), response())
        log.append(az, response(), endpoint="/access/v1/evaluation")
        az_row, native = log.query()
    assert native["request"]["data_subject"] == {"id": pseudonym(KEY, SECRET_ID), "email": "e@example.com"}
    assert az_row["request"]["context"] == {"recipient": {"id": pseudonym(KEY, "acme-ltd"), "type": "service_provider"},
                                            "ticket": "T-1"}
