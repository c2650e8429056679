"""Wiring the decision log into the service: open it, key it, and commit in groups on a writer thread.

A request queues its decisions and waits; at the end of the event loop's
turn, the decisions of that turn are handed to the writer thread together.
The thread takes everything handed over since its last commit, treats it (each row's
logged view, its identifiers pseudonymised: `pdp.io.log_view`) and commits
it in one transaction, then wakes the waiting requests. Under load many
decisions share a commit; alone, a decision waits for just its own. Either
way a response leaves only after its decision is committed, and a decision
the log refuses is answered 503 (`LogUnavailable`), never given unlogged.

Why a thread: SQLite writes without holding Python's lock, so the commit
runs beside the event loop (on another core) instead of stopping it; the
treatment of the rows is off the request's path too. The queue is bounded:
past `MAX_PENDING_ROWS` decisions waiting, a new one is refused at once
(503), the safe side of a log that cannot keep up.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import threading
from collections import deque
from pathlib import Path

from pdp.engine.policy_set import PolicySet
from pdp.io.decision_log import DecisionLog
from pdp.io.log_view import selection_of
from .settings import Settings

log = logging.getLogger("pdp.audit")


class LogUnavailable(Exception):
    """A decision could not be recorded: it is not answered (503), so the audit trail has no gaps."""


def _key(settings: Settings) -> bytes:
    if settings.log_key is not None:
        return settings.log_key.get_secret_value().encode()
    # Every worker and every restart must use the same key, or one person
    # would get several pseudonyms: keep a random one beside the log.
    key_file = Path(f"{settings.log_path}.key")
    if not key_file.exists():
        key_file.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another worker wrote it first
        else:
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_hex(32))
    return key_file.read_text().strip().encode()


MAX_PENDING_ROWS = 100_000  # decisions queued for the log; more are refused (503) rather than kept in memory


class LogWriter:
    """The decision log's writer thread, and the queue requests wait in (see the module's note)."""

    def __init__(self, decision_log: DecisionLog, max_pending: int = MAX_PENDING_ROWS):
        self.decision_log = decision_log
        self.max_pending = max_pending
        self._turn: list[tuple[list, asyncio.Future, asyncio.AbstractEventLoop]] = []  # this loop turn's decisions
        self._queue: deque[tuple[list, asyncio.Future, asyncio.AbstractEventLoop]] = deque()  # the writer's
        self._pending = 0  # rows handed over and not yet committed
        self._closing = False
        self._ready = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="pdp-decision-log", daemon=True)
        self._thread.start()

    async def record(self, entries: list[tuple]) -> None:
        """Queue `entries` (request, response, endpoint, selection); return once they are committed."""
        if self._closing:
            raise LogUnavailable("the decision log is closed")
        if self._pending + len(entries) > self.max_pending:
            log.error("%d decisions wait for the decision log; refusing more until it catches up", self._pending)
            raise LogUnavailable("the decision log is not keeping up")
        loop = asyncio.get_running_loop()
        done = loop.create_future()
        if not self._turn:  # the decisions of one loop turn are handed over together, at its end
            loop.call_soon(self._hand_over)
        self._turn.append((entries, done, loop))
        await done

    def _hand_over(self) -> None:
        turn, self._turn = self._turn, []
        with self._ready:
            self._queue.extend(turn)
            self._pending += sum(len(entries) for entries, _, _ in turn)
            self._ready.notify()

    def close(self) -> None:
        """Commit what is queued, stop the thread, close the log."""
        with self._ready:
            self._closing = True
            self._ready.notify()
        self._thread.join()
        self.decision_log.close()

    def _run(self) -> None:
        while True:
            with self._ready:
                while not self._queue and not self._closing:
                    self._ready.wait()
                if not self._queue:
                    return  # closing, and nothing left to commit
                group = list(self._queue)
                self._queue.clear()
            self._commit(group)
            with self._ready:
                self._pending -= sum(len(entries) for entries, _, _ in group)

    def _commit(self, group: list) -> None:
        error: Exception | None = None
        try:
            self.decision_log.append_many([entry for entries, _, _ in group for entry in entries])
        except Exception as exc:  # noqa: BLE001 - each waiting request answers 503, never unlogged
            log.exception("the decision log refused a write")
            error = exc
        by_loop: dict[asyncio.AbstractEventLoop, list[asyncio.Future]] = {}
        for _, done, loop in group:
            by_loop.setdefault(loop, []).append(done)
        for loop, waiting in by_loop.items():
            try:
                loop.call_soon_threadsafe(_settle, waiting, error)
            except RuntimeError:  # the loop is closed: nobody waits any more
                pass


def _settle(waiting: list[asyncio.Future], error: Exception | None) -> None:
    for done in waiting:
        if done.cancelled():
            continue
        if error is None:
            done.set_result(None)
        else:
            done.set_exception(LogUnavailable(str(error)))


def open_log(settings: Settings) -> LogWriter | None:
    if settings.log_path is None:
        return None
    decision_log = DecisionLog(settings.log_path, pseudonym_key=_key(settings), mask=settings.log_mask,
                               retention_days=settings.log_retention_days, synchronous=settings.log_synchronous,
                               attributes=settings.log_attributes, max_row_bytes=settings.log_max_row_bytes,
                               max_bytes=settings.log_max_bytes)
    return LogWriter(decision_log)


async def record(app, entries: list[tuple[dict, dict]], endpoint: str, policy_set: PolicySet | None = None) -> None:
    """Append (request, decision) pairs decided by `policy_set`; returns only once they are committed."""
    writer = app.state.decision_log
    if writer is None or not entries:
        return
    selection = selection_of(policy_set)  # what of the requests its rules read
    await writer.record([(request, response, endpoint, selection) for request, response in entries])
