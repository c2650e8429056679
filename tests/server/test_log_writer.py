"""The decision log's writers, the thread (the plain path) and the process (the default): a request returns only once
its decision is committed, many share a commit, a refused write or a full queue is a LogUnavailable for every waiting
request, and closing commits what is queued. A process that dies costs only the requests waiting for it, and the rows
it writes are the rows the thread writes."""

import asyncio
import os
import signal
import sqlite3
import threading
import uuid
from unittest.mock import patch

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import pdp.server.audit as audit
from pdp.io.decision_log import DecisionLog, projected, row_fields
from pdp.io.log_process import frame
from pdp.io.log_view import Selection
from pdp.server.audit import LogProcess, LogUnavailable, LogWriter
from tests.support.generate import fewer

KEY = b"k" * 32
ROW = "decision_id, endpoint, decision, rules, policy_digest, request, people"
WRITERS = {"thread": LogWriter, "process": LogProcess}


def entry(n: int = 0, selection: Selection | None = None) -> tuple:
    request = {"action": "use", "purpose": "essential", "data_categories": ["user.name"], "data_subject": {"id": f"p{n}"}}
    response = {"decision": "allow", "reasons": [{"rule": "ops"}], "decision_id": uuid.uuid4().hex}
    return (request, response, "/v1/decide", selection)


class Hold:
    """Keeps a writer from committing until released: the thread waits inside its next commit, the process is stopped
    (SIGSTOP) and reads nothing meanwhile."""

    def __init__(self, writer):
        self.writer, self.release_event = writer, threading.Event()
        if isinstance(writer, LogWriter):
            append, log = writer.decision_log.append_decided, writer.decision_log

            def held(entries):
                self.release_event.wait(10)
                append(entries)

            log.append_decided = held  # type: ignore[method-assign]
        else:
            os.kill(writer._proc.pid, signal.SIGSTOP)

    def release(self) -> None:
        self.release_event.set()
        if isinstance(self.writer, LogProcess):
            os.kill(self.writer._proc.pid, signal.SIGCONT)


@pytest.fixture(params=list(WRITERS))
def kind(request):
    return WRITERS[request.param]


@pytest.fixture
def writer(tmp_path, kind):
    writer = kind(DecisionLog(tmp_path / "log.db", pseudonym_key=KEY))
    yield writer
    writer.close()


def commit_times(path) -> list[str]:
    with sqlite3.connect(path) as conn:
        return [time for (time,) in conn.execute("SELECT DISTINCT time FROM decisions")]


def test_a_recorded_decision_is_committed_when_record_returns(writer):
    asyncio.run(writer.record([entry()]))
    assert writer.decision_log.count() == 1


def test_decisions_handed_over_while_a_commit_waits_share_the_next_commit(writer):
    async def main():
        await writer.record([entry(0)])
        hold = Hold(writer)
        try:
            tasks = [asyncio.ensure_future(writer.record([entry(n)])) for n in range(1, 41)]
            await asyncio.sleep(0.05)
            assert not any(task.done() for task in tasks)  # nobody is answered before the commit
        finally:
            hold.release()
        await asyncio.gather(*tasks)

    asyncio.run(main())
    assert writer.decision_log.count() == 41
    assert len(commit_times(writer.decision_log.path)) == 2  # the first decision's commit, then one for the 40


def test_a_refused_write_fails_every_request_of_the_group(writer):
    with sqlite3.connect(writer.decision_log.path) as conn:  # SQLite refuses every row, as a full disk would
        conn.execute("CREATE TRIGGER refuse BEFORE INSERT ON decisions BEGIN SELECT RAISE(ABORT, 'disk full'); END")

    async def main():
        return await asyncio.gather(*(writer.record([entry(n)]) for n in range(5)), return_exceptions=True)

    outcomes = asyncio.run(main())
    assert all(isinstance(o, LogUnavailable) and "disk full" in str(o) for o in outcomes)
    assert writer.decision_log.count() == 0


def test_past_the_queue_bound_a_decision_is_refused_at_once(tmp_path, kind):
    writer = kind(DecisionLog(tmp_path / "log.db", pseudonym_key=KEY), max_pending=4)

    async def main():
        hold = Hold(writer)
        try:
            waiting = [asyncio.ensure_future(writer.record([entry(0)])),
                       asyncio.ensure_future(writer.record([entry(1), entry(2), entry(3)]))]  # 4 waiting: at the bound
            await asyncio.sleep(0.01)  # handed over at the end of the loop's turn
            with pytest.raises(LogUnavailable, match="not keeping up"):
                await writer.record([entry(4)])
        finally:
            hold.release()
        await asyncio.gather(*waiting)
        await writer.record([entry(5)])  # caught up: accepted again

    try:
        asyncio.run(main())
        assert writer.decision_log.count() == 5
    finally:
        writer.close()


def test_closing_commits_what_is_queued_and_refuses_what_comes_after(tmp_path, kind):
    path = tmp_path / "log.db"
    writer = kind(DecisionLog(path, pseudonym_key=KEY))
    hold = Hold(writer)

    async def main():
        tasks = [asyncio.ensure_future(writer.record([entry(n)])) for n in range(3)]
        await asyncio.sleep(0.01)  # handed over, not committed
        assert not any(task.done() for task in tasks)
        return tasks

    async def after_close(tasks):
        await asyncio.gather(*tasks)  # every queued request was answered
        with pytest.raises(LogUnavailable, match="closed"):
            await writer.record([entry(9)])

    loop = asyncio.new_event_loop()
    tasks = loop.run_until_complete(main())
    hold.release()
    writer.close()  # the queued decisions are written before the writer stops
    loop.run_until_complete(after_close(tasks))
    loop.close()
    with DecisionLog(path, pseudonym_key=KEY) as reopened:
        assert reopened.count() == 3


def test_a_process_that_dies_fails_the_waiting_requests_and_the_next_one_starts_another(tmp_path, monkeypatch):
    monkeypatch.setattr(audit, "RESTART_PAUSE_S", 0.0)
    writer = LogProcess(DecisionLog(tmp_path / "log.db", pseudonym_key=KEY))

    async def main():
        await writer.record([entry(0)])
        first = writer._proc
        os.kill(first.pid, signal.SIGSTOP)
        waiting = [asyncio.ensure_future(writer.record([entry(n)])) for n in range(1, 4)]
        await asyncio.sleep(0.01)
        os.kill(first.pid, signal.SIGKILL)
        outcomes = await asyncio.gather(*waiting, return_exceptions=True)
        assert all(isinstance(o, LogUnavailable) for o in outcomes)  # answered 503, never unlogged
        await writer.record([entry(9)])  # a new process
        assert writer._proc is not first

    try:
        asyncio.run(main())
        assert writer.decision_log.count() == 2
    finally:
        writer.close()


def test_decisions_of_a_turn_in_which_the_process_stopped_are_refused_not_left_waiting(tmp_path, monkeypatch):
    monkeypatch.setattr(audit, "RESTART_PAUSE_S", 60.0)
    writer = LogProcess(DecisionLog(tmp_path / "log.db", pseudonym_key=KEY))

    async def main():
        task = asyncio.ensure_future(writer.record([entry(0)]))
        await asyncio.sleep(0)  # recorded, not yet handed over
        os.kill(writer._proc.pid, signal.SIGKILL)
        writer._proc.wait()
        writer._on_readable()  # the event loop would call this now: the pipe has closed
        with pytest.raises(LogUnavailable):
            await asyncio.wait_for(task, 10)
        with pytest.raises(LogUnavailable, match="started again shortly"):
            await writer.record([entry(1)])

    try:
        asyncio.run(main())
    finally:
        writer.close()


def test_a_log_the_process_cannot_open_stops_the_start(tmp_path, monkeypatch):
    decision_log = DecisionLog(tmp_path / "log.db", pseudonym_key=KEY)
    monkeypatch.setattr(decision_log, "key_hex", lambda: "not hex")
    with pytest.raises(LogUnavailable, match="could not open"):
        LogProcess(decision_log)
    decision_log.close()


# -- the same rows as the writer thread (the plain path) ------------------------------------------------------------

SELECTIONS = [None, Selection(), Selection(frozenset({("context", "ticket"), ("data_subject", "email")}),
                                           frozenset({"T-1", "marketing"}))]
names = st.sampled_from(["a", "b", "T-1", "marketing", "x" * 300, "é€😀", ""])
values = st.recursive(st.none() | st.booleans() | st.integers(-2**63, 2**64 - 1) | st.floats(allow_nan=False,
                      allow_infinity=False) | names,
                      lambda inner: st.lists(inner, max_size=4) | st.dictionaries(names, inner, max_size=4), max_leaves=12)
requests = st.fixed_dictionaries({"action": names, "purpose": names}, optional={
    "data_categories": st.lists(names, max_size=3), "data_subject": st.dictionaries(
        st.sampled_from(["id", "type", "age", "email", "consent"]), values, max_size=4),
    "recipient": st.dictionaries(st.sampled_from(["id", "type", "dpa", "note"]), values, max_size=3),
    "requester": st.dictionaries(st.sampled_from(["id", "name"]), values, max_size=2),
    "context": st.dictionaries(names, values, max_size=3), "subject": st.dictionaries(names, values, max_size=2)})
responses = st.fixed_dictionaries({"decision": st.sampled_from(["allow", "deny"]),
                                   "reasons": st.lists(st.fixed_dictionaries({"rule": names}), max_size=3)},
                                  optional={"policy": st.fixed_dictionaries({"digest": names})})


@pytest.fixture(scope="module")
def both(tmp_path_factory):
    """The same log settings written by the thread and by the process (module-wide: a process is dear to start)."""
    tmp = tmp_path_factory.mktemp("both")
    options = dict(pseudonym_key=KEY, mask=["data_subject.age"], attributes=["context.ticket"], max_row_bytes=512)
    thread = LogWriter(DecisionLog(tmp / "thread.db", **options))
    process = LogProcess(DecisionLog(tmp / "process.db", **options))
    yield thread, process
    thread.close()
    process.close()


def rows(decision_log: DecisionLog, ids: list[str]) -> list[tuple]:
    with sqlite3.connect(decision_log.path) as conn:
        found = {row[0]: row for row in conn.execute(f"SELECT {ROW} FROM decisions WHERE decision_id IN "
                                                     f"({', '.join('?' * len(ids))})", ids)}
    return [found.get(i) for i in ids]


@settings(fewer(5), suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow], deadline=None)
@given(batch=st.lists(st.tuples(requests, responses, st.sampled_from(["/v1/decide", "/access/v1/evaluation"]),
                                st.sampled_from(SELECTIONS)), min_size=1, max_size=6))
def test_the_process_writes_the_rows_the_thread_writes(both, batch):
    thread, process = both
    entries = [(request, {**response, "decision_id": uuid.uuid4().hex}, endpoint, selection)
               for request, response, endpoint, selection in batch]

    async def through(writer):
        await asyncio.gather(*(writer.record([e]) for e in entries))

    asyncio.run(through(thread))
    asyncio.run(through(process))
    ids = [response["decision_id"] for _, response, _, _ in entries]
    assert rows(process.decision_log, ids) == rows(thread.decision_log, ids)
    assert None not in rows(process.decision_log, ids)


@settings(fewer(5), suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow], deadline=None)
@given(batch=st.lists(st.tuples(requests, responses, st.sampled_from(["/v1/decide", "/access/v1/evaluation"]),
                                st.sampled_from(SELECTIONS)), min_size=1, max_size=6))
def test_an_answer_handed_over_as_its_rows_fields_is_stored_alike(both, batch):
    """The direct path hands the writer process only what a row keeps of an answer when its outcome's answer was
    kept (`PROJECTED_ANSWERS`, `deciding.Answers`): the process stores the rows the thread stores from the answers."""
    thread, process = both
    entries = [(request, {**response, "decision_id": uuid.uuid4().hex}, endpoint, selection)
               for request, response, endpoint, selection in batch]

    async def through_thread():
        await asyncio.gather(*(thread.record([e]) for e in entries))

    async def through_process():
        await asyncio.gather(*(process.submit([e], [projected(e[1])]) for e in entries))

    asyncio.run(through_thread())
    asyncio.run(through_process())
    ids = [response["decision_id"] for _, response, _, _ in entries]
    assert rows(process.decision_log, ids) == rows(thread.decision_log, ids)
    assert None not in rows(process.decision_log, ids)


@pytest.mark.parametrize("fields", [[], ["", "allow", "[]", None], ["d1", "allow", ["r1"], None],
                                    ["d1", None, "[]", None], ["d1", "allow", "[]", 3], ["d1", "allow", "[]"]])
def test_fields_not_of_a_rows_shape_are_refused(fields):
    with pytest.raises(ValueError):
        row_fields(fields)


@pytest.mark.parametrize("depth", [200, 300, 1000, 5000])
def test_a_request_nested_deeper_than_orjson_encodes_is_logged_as_the_thread_logs_it(both, depth):
    thread, process = both
    nested: object = "bottom"
    for _ in range(depth):
        nested = [nested]
    selection = Selection(frozenset({("context", "deep")}))
    entries = [({"action": "use", "context": {"deep": nested, "ticket": "T-1"}},
                {"decision": "allow", "decision_id": uuid.uuid4().hex}, "/v1/decide", selection)]
    for writer in (thread, process):
        asyncio.run(writer.record(entries))
    ids = [entries[0][1]["decision_id"]]
    assert rows(process.decision_log, ids) == rows(thread.decision_log, ids) != [None]


def test_selections_named_anew_after_the_names_start_over(tmp_path, monkeypatch):
    monkeypatch.setattr(audit, "MAX_NAMED_SELECTIONS", 2)
    thread = LogWriter(DecisionLog(tmp_path / "thread.db", pseudonym_key=KEY))
    process = LogProcess(DecisionLog(tmp_path / "process.db", pseudonym_key=KEY))
    selections = [Selection(frozenset({("context", f"k{n}")})) for n in range(5)]
    entries = [({"action": "use", "context": {f"k{n}": "v", "other": "w"}}, {"decision": "deny",
                "decision_id": uuid.uuid4().hex}, "/v1/decide", selections[n % 5]) for n in range(12)]
    try:
        for writer in (thread, process):
            for e in entries:
                asyncio.run(writer.record([e]))
        ids = [response["decision_id"] for _, response, _, _ in entries]
        assert rows(process.decision_log, ids) == rows(thread.decision_log, ids)
    finally:
        thread.close()
        process.close()


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(batch=st.lists(st.tuples(requests, responses, st.sampled_from(["/v1/decide", "/access/v1/evaluation"]),
                                st.sampled_from(SELECTIONS)), min_size=1, max_size=6))
def test_an_answer_handed_over_as_its_json_is_the_same_frame(both, batch):
    """The direct path hands each response over with the JSON it answered (`ENCODED_ANSWERS`): the writer process
    is sent the very bytes it would be sent for the response itself, so it stores the same rows."""
    _, process = both
    entries = [(request, {**response, "decision_id": uuid.uuid4().hex}, endpoint, selection)
               for request, response, endpoint, selection in batch]
    answers = [orjson.dumps(response) for _, response, _, _ in entries]
    framed = {}
    for encoded in (True, False):
        with patch.object(audit, "ENCODED_ANSWERS", encoded):
            framed[encoded] = frame(["rows", 1, process._rows(entries, answers)])
    assert framed[True] == framed[False]
