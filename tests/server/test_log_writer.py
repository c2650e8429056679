"""The decision log's writer thread: a request returns only once its decision is committed, many share a commit,
a refused write or a full queue is a LogUnavailable for every waiting request, and closing commits what is queued."""

import asyncio
import threading
import uuid

import pytest

from pdp.io.decision_log import DecisionLog
from pdp.server.audit import LogUnavailable, LogWriter

KEY = b"k" * 32


def entry(n: int = 0) -> tuple:
    request = {"action": "use", "purpose": "essential", "data_categories": ["user.name"], "data_subject": {"id": f"p{n}"}}
    response = {"decision": "allow", "reasons": [{"rule": "ops"}], "decision_id": uuid.uuid4().hex}
    return (request, response, "/v1/decide", None)


@pytest.fixture
def writer(tmp_path):
    writer = LogWriter(DecisionLog(tmp_path / "log.db", pseudonym_key=KEY))
    yield writer
    writer.close()


class Counting:
    """Wraps `append_many` to count the transactions and to hold the first one until released."""

    def __init__(self, decision_log: DecisionLog):
        self.append_many, self.calls, self.release = decision_log.append_many, [], threading.Event()
        decision_log.append_many = self  # type: ignore[method-assign]

    def __call__(self, entries):
        entries = list(entries)
        self.calls.append(len(entries))
        self.release.wait(10)
        self.append_many(entries)


def test_a_recorded_decision_is_committed_when_record_returns(writer):
    asyncio.run(writer.record([entry()]))
    assert writer.decision_log.count() == 1


def test_decisions_queued_while_a_commit_runs_share_the_next_commit(writer):
    counting = Counting(writer.decision_log)

    async def main():
        first = asyncio.ensure_future(writer.record([entry(0)]))
        while not counting.calls:  # the writer is inside the first commit
            await asyncio.sleep(0.001)
        rest = [asyncio.ensure_future(writer.record([entry(n)])) for n in range(1, 41)]
        await asyncio.sleep(0.01)
        assert not any(task.done() for task in [first, *rest])  # nobody is answered before the commit
        counting.release.set()
        await asyncio.gather(first, *rest)

    asyncio.run(main())
    assert counting.calls == [1, 40]
    assert writer.decision_log.count() == 41


def test_a_refused_write_fails_every_request_of_the_group(writer):
    def broken(entries):
        raise OSError("disk full")

    writer.decision_log.append_many = broken

    async def main():
        return await asyncio.gather(*(writer.record([entry(n)]) for n in range(5)), return_exceptions=True)

    outcomes = asyncio.run(main())
    assert all(isinstance(o, LogUnavailable) and "disk full" in str(o) for o in outcomes)


def test_past_the_queue_bound_a_decision_is_refused_at_once(tmp_path):
    writer = LogWriter(DecisionLog(tmp_path / "log.db", pseudonym_key=KEY), max_pending=4)
    counting = Counting(writer.decision_log)

    async def main():
        first = asyncio.ensure_future(writer.record([entry(0)]))
        while not counting.calls:
            await asyncio.sleep(0.001)
        queued = asyncio.ensure_future(writer.record([entry(1), entry(2), entry(3)]))  # 4 waiting: at the bound
        await asyncio.sleep(0.01)  # handed over at the end of the loop's turn
        with pytest.raises(LogUnavailable, match="not keeping up"):
            await writer.record([entry(4)])
        counting.release.set()
        await asyncio.gather(first, queued)
        await writer.record([entry(5)])  # caught up: accepted again

    try:
        asyncio.run(main())
        assert writer.decision_log.count() == 5
    finally:
        writer.close()


def test_closing_commits_what_is_queued_and_refuses_what_comes_after(tmp_path):
    path = tmp_path / "log.db"
    writer = LogWriter(DecisionLog(path, pseudonym_key=KEY))
    counting = Counting(writer.decision_log)

    async def main():
        tasks = [asyncio.ensure_future(writer.record([entry(n)])) for n in range(3)]
        while not counting.calls:
            await asyncio.sleep(0.001)
        return tasks

    async def after_close(tasks):
        await asyncio.gather(*tasks)  # every queued request was answered
        with pytest.raises(LogUnavailable, match="closed"):
            await writer.record([entry(9)])

    loop = asyncio.new_event_loop()
    tasks = loop.run_until_complete(main())
    counting.release.set()
    writer.close()  # the queued decisions are written before the thread stops
    loop.run_until_complete(after_close(tasks))
    loop.close()
    with DecisionLog(path, pseudonym_key=KEY) as reopened:
        assert reopened.count() == 3
