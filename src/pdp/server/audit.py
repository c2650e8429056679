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

By default (`PDP_LOG_WRITER=process`) the writer is a process of its own
(`LogProcess`, `pdp.io.log_process`) rather than a thread: the treatment of
the rows is Python work, and a thread doing it holds the interpreter lock
the event loop needs. The event loop then only encodes each turn's rows in
one orjson call, writes them to the process's pipe and reads its
acknowledgements; the promise is the same (`LogWriter`, the thread, stays
as the plain path, `PDP_LOG_WRITER=thread`).

A request answered on the ASGI path waits on a future of its own (a task
awaiting a shared one would cancel it for all). The direct path
(`pdp.server.direct`) has no task to wake: it hands over a callback
instead (`submit_then`), and a group's callbacks are called together, in
order, where its commit is read, with no future nor loop handle per
request (`CALLBACKS`; off, each gets a future and a done-callback as
before).
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import select
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path

import orjson

from pdp.engine.policy_set import PolicySet
from pdp.io.decision_log import DecisionLog
from pdp.io.log_process import bounded, frame, frames, open_arguments, selection_json
from pdp.io.log_view import Selection, selection_of
from .errors import error_response
from .settings import Settings

log = logging.getLogger("pdp.audit")


# A response handed over with the JSON it was answered with goes to the writer process as that text, not encoded
# again (False: encoded from the response; the frame is the same bytes either way, tests/server/test_log_writer.py).
ENCODED_ANSWERS = True

# A response handed over with what its row keeps of it (`decision_log.projected`, made once per outcome by
# `deciding.Answers`) goes to the writer process as those fields, which it stores as they are, rather than as the
# whole answer, which it would decode to pick them out (False: the answer's JSON; test_log_writer.py holds the rows
# alike).
PROJECTED_ANSWERS = True

# The direct path's requests are woken by a callback each, called with their group (False: a future each, and
# its done-callback scheduled on the loop, as the ASGI path waits; tests/server/test_direct.py holds both alike).
CALLBACKS = True

Handed = bytes | list  # a response for the writer process: its JSON, or its row's fields (`handed`)
Then = Callable[[str | None], None]  # called once the rows are committed (None), or with why they were not
Waiter = asyncio.Future | Then  # a request waiting for its rows' commit: its future, or its callback


class LogUnavailable(Exception):
    """A decision could not be recorded: it is not answered (503), so the audit trail has no gaps."""


def unrecorded():
    """The answer to a request whose decision could not be recorded (LogUnavailable)."""
    return error_response(503, "log_unavailable", [{"field": "decision_log",
                          "message": "the decision could not be recorded, so it is not given; try again"}])


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


def _admit(closing: bool, pending: int, rows: int, max_pending: int) -> None:
    """Refuse rows at once (LogUnavailable, answered 503) to a closed log, or past the bound of rows waiting."""
    if closing:
        raise LogUnavailable("the decision log is closed")
    if pending + rows > max_pending:
        log.error("%d decisions wait for the decision log; refusing more until it catches up", pending)
        raise LogUnavailable("the decision log is not keeping up")


MAX_PENDING_ROWS = 100_000  # decisions queued for the log; more are refused (503) rather than kept in memory


class _Submitting:
    """What both writers offer on top of their own `submit_then`."""

    def submit_then(self, entries: list[tuple], then: Waiter, answers: list[Handed] | None = None) -> None:
        raise NotImplementedError

    async def record(self, entries: list[tuple]) -> None:
        """Queue `entries` (request, response, endpoint, selection); return once they are committed."""
        await self.submit(entries)

    def submit(self, entries: list[tuple], answers: list[Handed] | None = None) -> asyncio.Future:
        """Queue `entries`; the future is done once they are committed (LogUnavailable if not). Raises LogUnavailable
        at once when the log refuses them. `answers`: each entry's response as the JSON it was answered with (the
        writer process takes it as it is; this thread reads the responses themselves)."""
        done = asyncio.get_running_loop().create_future()
        self.submit_then(entries, done, answers)
        return done


class LogWriter(_Submitting):
    """The decision log's writer thread, and the queue requests wait in (see the module's note)."""

    def __init__(self, decision_log: DecisionLog, max_pending: int = MAX_PENDING_ROWS):
        self.decision_log = decision_log
        self.max_pending = max_pending
        self._turn: list[tuple[list, Waiter, asyncio.AbstractEventLoop]] = []  # this loop turn's decisions
        self._queue: deque[tuple[list, Waiter, asyncio.AbstractEventLoop]] = deque()  # the writer's
        self._pending = 0  # rows handed over and not yet committed
        self._closing = False
        self._ready = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="pdp-decision-log", daemon=True)
        self._thread.start()

    def submit_then(self, entries: list[tuple], then: Waiter, answers: list[Handed] | None = None) -> None:
        """`submit`, without a future: `then` is called once they are committed (see `Then`)."""
        _admit(self._closing, self._pending, len(entries), self.max_pending)
        loop = asyncio.get_running_loop()
        if not self._turn:  # the decisions of one loop turn are handed over together, at its end
            loop.call_soon(self._hand_over)
        self._turn.append((entries, then, loop))

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

    def _commit(self, group: list) -> None:
        error: Exception | None = None
        try:
            self.decision_log.append_many([entry for entries, _, _ in group for entry in entries])
        except Exception as exc:  # noqa: BLE001 - each waiting request answers 503, never unlogged
            log.exception("the decision log refused a write")
            error = exc
        with self._ready:  # before the requests are woken: one that records again at once must not find them counted
            self._pending -= sum(len(entries) for entries, _, _ in group)
        _settle_anywhere([(done, loop) for _, done, loop in group], error, running=None)


def _settle(waiting: list[Waiter], error: Exception | str | None) -> None:
    """Wake the requests waiting for a group, in order: each future done (or failed: LogUnavailable), each callback
    called (with None, or why the rows were not committed)."""
    why = None if error is None else str(error)
    for done in waiting:
        if isinstance(done, asyncio.Future):
            if done.cancelled():
                continue
            if error is None:
                done.set_result(None)
            else:
                done.set_exception(LogUnavailable(why))
            continue
        try:
            done(why)
        except Exception:  # noqa: BLE001 - one answer that fails must not keep the others of its group waiting
            log.exception("answering a logged decision failed")


_RUNNING = object()  # `_settle_anywhere`: the loop that runs now, whichever it is


def _settle_anywhere(waiting: list[tuple[Waiter, asyncio.AbstractEventLoop]], error: Exception | str | None,
                     running=_RUNNING) -> None:
    """`_settle`, each waiter on the loop it waits on: directly on the `running` one, through the others' queues
    (from a thread of its own, nothing runs: `running=None`)."""
    if running is _RUNNING:
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:  # outside a loop (a close from another thread, a test)
            running = None
    by_loop: dict[asyncio.AbstractEventLoop, list[Waiter]] = {}
    for done, loop in waiting:
        same = by_loop.get(loop)
        if same is None:
            by_loop[loop] = [done]
        else:
            same.append(done)
    for loop, waiters in by_loop.items():
        if loop is running:
            _settle(waiters, error)
        else:
            try:
                loop.call_soon_threadsafe(_settle, waiters, error)
            except RuntimeError:  # the loop is closed: nobody waits any more
                pass


START_TIMEOUT_S = 30.0  # for the writer process to open the log when the server starts
RESTART_PAUSE_S = 1.0  # a writer process that stopped is started again at most this often
MAX_NAMED_SELECTIONS = 16  # selections named to the writer process; more, and the names start over


class LogProcess(_Submitting):
    """The decision log's writer process (`pdp.io.log_process`), and the requests waiting for its commits.

    Same promise and bound as `LogWriter`: `record` returns once the rows are
    committed, a refused write is a LogUnavailable for every request of its
    group, more than `max_pending` rows waiting is refused at once. If the
    process stops, every request waiting for it is answered 503 and the next
    one starts a new process. All its work on the event loop is non-blocking:
    encoding a turn's rows, writing them to the pipe (what the pipe cannot
    take waits in memory, within the same bound), reading acknowledgements.
    """

    def __init__(self, decision_log: DecisionLog, max_pending: int = MAX_PENDING_ROWS):
        self.decision_log = decision_log  # this process's own connection: reading and erasure (admin)
        self.max_pending = max_pending
        self._open_frame = frame(["open", open_arguments(decision_log)])
        self._turn: list[tuple[list, Waiter, asyncio.AbstractEventLoop]] = []  # this loop turn's rows, at its end
        self._waiting: dict[int, tuple[list[tuple[Waiter, asyncio.AbstractEventLoop]], int]] = {}  # group -> (its
        # requests, its rows)
        self._pending = 0  # rows recorded and not yet committed
        self._seq = 0
        self._names: dict[int, tuple[Selection, int]] = {}  # id(selection) -> (selection, its name on the wire)
        self._next_name = 0
        self._outbox = bytearray()  # written when the pipe can take it
        self._inbox = bytearray()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._proc: subprocess.Popen | None = None
        self._started = 0.0
        self._closing = False
        self._ready = False
        self._start(wait=True)

    # -- the process ---------------------------------------------------------------------

    def _start(self, wait: bool = False) -> None:
        """Start the process; with `wait`, until it has opened the log (a server answers only once its log works)."""
        root = str(Path(__file__).resolve().parents[2])  # the child imports this very pdp
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))}
        self._started = time.monotonic()
        proc = subprocess.Popen([sys.executable, "-m", "pdp.io.log_process"], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, env=env)
        assert proc.stdin is not None and proc.stdout is not None
        self._proc, self._in, self._out = proc, proc.stdin.fileno(), proc.stdout.fileno()
        self._outbox, self._inbox, self._names = bytearray(self._open_frame), bytearray(), {}
        os.set_blocking(self._in, False)
        os.set_blocking(self._out, False)
        if wait:
            self._flush()
            if not self._outbox and select.select([self._out], [], [], START_TIMEOUT_S)[0]:
                self._on_readable()
            if self._proc is None or not self._ready:
                self._lost("it did not open the log")
                raise LogUnavailable(f"the decision log's writer process could not open {self.decision_log.path}")
        if self._loop is not None and not self._loop.is_closed():
            self._watch(self._loop)

    def _watch(self, loop: asyncio.AbstractEventLoop) -> None:
        """Read the acknowledgements (and write what waits) on `loop`, the one requests are recorded on."""
        if self._loop is not None and self._loop is not loop and not self._loop.is_closed() and self._proc:
            self._loop.remove_reader(self._out)
            self._loop.remove_writer(self._in)
        self._loop = loop
        loop.add_reader(self._out, self._on_readable)
        if self._outbox:
            loop.add_writer(self._in, self._flush)

    def _lost(self, reason: str) -> None:
        """The process stopped: fail every request waiting for it; the next record starts another."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        log.error("the decision log's writer process stopped (%s); waiting decisions are answered 503", reason)
        if self._loop is not None and not self._loop.is_closed():
            self._loop.remove_reader(self._out)
            self._loop.remove_writer(self._in)
        if proc.poll() is None:
            proc.kill()
        for pipe in (proc.stdin, proc.stdout):
            try:
                pipe.close()  # type: ignore[union-attr]
            except OSError:
                pass
        waiting, self._waiting = self._waiting, {}
        self._pending -= sum(rows for _, rows in waiting.values())
        _settle_anywhere([waiter for waiters, _ in waiting.values() for waiter in waiters], reason)

    # -- writing -------------------------------------------------------------------------

    def submit_then(self, entries: list[tuple], then: Waiter, answers: list[Handed] | None = None) -> None:
        """`submit`, without a future: `then` is called once they are committed (see `Then`)."""
        _admit(self._closing, self._pending, len(entries), self.max_pending)
        loop = asyncio.get_running_loop()
        if self._proc is None:
            if time.monotonic() - self._started < RESTART_PAUSE_S:
                raise LogUnavailable("the decision log's writer process stopped; it is started again shortly")
            self._start()
        if loop is not self._loop:
            self._watch(loop)
        rows = self._rows(entries, answers)
        if not self._turn:  # the decisions of one loop turn are handed over together, at its end
            loop.call_soon(self._hand_over)
        self._turn.append((rows, then, loop))
        self._pending += len(rows)

    def _rows(self, entries: list[tuple], answers: list[Handed] | None) -> list[list]:
        """The rows of the wire for `entries`: each response as its JSON text when it comes encoded (`answers`,
        `ENCODED_ANSWERS`), which orjson copies into the frame instead of encoding the response again, or as its
        row's fields when it comes with them (`handed`)."""
        rows = [[request, response, endpoint, self._name(selection)] for request, response, endpoint, selection in entries]
        if answers is not None and ENCODED_ANSWERS:
            for row, answer in zip(rows, answers, strict=True):
                row[1] = orjson.Fragment(answer) if type(answer) is bytes else answer
        return rows

    def _name(self, selection: Selection | None) -> int | None:
        """The selection's name on the wire; a selection not named yet is sent first."""
        if selection is None:
            return None
        known = self._names.get(id(selection))
        if known is not None and known[0] is selection:
            return known[1]
        if len(self._names) >= MAX_NAMED_SELECTIONS:  # one per policy set served; old sets go
            self._send(frame(["forget", [name for _, name in self._names.values()]]))
            self._names.clear()
        name, self._next_name = self._next_name, self._next_name + 1
        self._names[id(selection)] = (selection, name)
        self._send(frame(["selection", name, selection_json(selection)]))
        return name

    def _hand_over(self) -> None:
        turn, self._turn = self._turn, []
        if not turn:
            return
        rows = [row for group, _, _ in turn for row in group]
        waiters = [(done, loop) for _, done, loop in turn]
        if self._proc is None:  # it stopped during this turn: these were never sent
            self._pending -= len(rows)
            _settle_anywhere(waiters, "the decision log's writer process stopped")
            return
        self._seq += 1
        try:
            data = frame(["rows", self._seq, rows])
        except TypeError:  # a request nested deeper than orjson encodes: cut it where no row can show the cut
            try:
                data = frame(["rows", self._seq, [[bounded(request), *rest] for request, *rest in rows]])
            except Exception as error:  # noqa: BLE001 - these requests are answered 503, never left waiting
                log.exception("decisions could not be handed to the decision log")
                self._pending -= len(rows)
                _settle_anywhere(waiters, f"the decisions could not be handed to the log ({error.__class__.__name__})")
                return
        self._waiting[self._seq] = (waiters, len(rows))
        self._send(data)

    def _send(self, data: bytes) -> None:
        if self._proc is None:
            return  # the group already failed with the process (`_lost`)
        if self._outbox:
            self._outbox += data
            return
        try:
            written = os.write(self._in, data)
        except BlockingIOError:
            written = 0
        except OSError as error:  # a broken pipe: the process is gone
            self._lost(str(error))
            return
        if written < len(data):
            self._outbox += data[written:]
            if self._loop is not None:
                self._loop.add_writer(self._in, self._flush)

    def _flush(self) -> None:
        try:
            written = os.write(self._in, self._outbox)
        except BlockingIOError:
            return
        except OSError as error:
            self._lost(str(error))
            return
        del self._outbox[:written]
        if not self._outbox and self._loop is not None:
            self._loop.remove_writer(self._in)

    # -- acknowledgements ----------------------------------------------------------------

    def _on_readable(self) -> None:
        try:
            data = os.read(self._out, 1 << 16)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self._lost("its pipe closed")
            return
        self._inbox += data
        self._acknowledge()

    def _acknowledge(self) -> None:
        for message in frames(self._inbox):
            if message[0] == "done":
                _, first, last, error = message
                for seq in range(first, last + 1):
                    waiters, rows = self._waiting.pop(seq, ([], 0))
                    self._pending -= rows
                    _settle_anywhere(waiters, error)
            elif message[0] == "ready":
                self._ready = True
            elif message[0] == "failed":
                log.error("the decision log's writer process could not open the log: %s", message[1])

    def close(self) -> None:
        """Commit what is queued, stop the process, close the log."""
        self._closing = True
        self._hand_over()
        proc = self._proc
        if proc is not None:
            if self._loop is not None and not self._loop.is_closed():
                self._loop.remove_reader(self._out)
                self._loop.remove_writer(self._in)
            try:
                os.set_blocking(self._in, True)
                while self._outbox:
                    del self._outbox[:os.write(self._in, self._outbox)]
                proc.stdin.close()  # type: ignore[union-attr]  # the process commits what it read, then exits
                os.set_blocking(self._out, True)
                while data := os.read(self._out, 1 << 16):
                    self._inbox += data
                self._acknowledge()
            except OSError as error:
                log.error("closing the decision log's writer process: %s", error)
            self._proc = None
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
            proc.stdout.close()  # type: ignore[union-attr]
        waiting, self._waiting = self._waiting, {}
        _settle_anywhere([waiter for waiters, _ in waiting.values() for waiter in waiters], "the decision log is closed")
        self.decision_log.close()


def open_log(settings: Settings) -> LogWriter | LogProcess | None:
    if settings.log_path is None:
        return None
    decision_log = DecisionLog(settings.log_path, pseudonym_key=_key(settings), mask=settings.log_mask,
                               retention_days=settings.log_retention_days, synchronous=settings.log_synchronous,
                               attributes=settings.log_attributes, max_row_bytes=settings.log_max_row_bytes,
                               max_bytes=settings.log_max_bytes)
    return LogProcess(decision_log) if settings.log_writer == "process" else LogWriter(decision_log)


async def record(app, entries: list[tuple[dict, dict]], endpoint: str, policy_set: PolicySet | None = None) -> None:
    """Append (request, decision) pairs decided by `policy_set`; returns only once they are committed."""
    committed = submit(app, entries, endpoint, policy_set)
    if committed is not None:
        await committed


def submit(app, entries: list[tuple[dict, dict]], endpoint: str,
           policy_set: PolicySet | None = None) -> asyncio.Future | None:
    """`record` without waiting: the future is done once the pairs are committed; None when nothing is to be logged.
    Raises LogUnavailable at once when the log refuses them."""
    writer = app.state.decision_log
    if writer is None or not entries:
        return None
    return writer.submit(_entries(entries, endpoint, policy_set))


def submit_then(app, entries: list[tuple[dict, dict]], endpoint: str, policy_set: PolicySet | None,
                then: Then, answers: list[Handed] | None = None) -> bool:
    """`submit`, and `then(None)` once the pairs are committed (`then(why)` if they are not), called on this loop
    with the rest of its group: False, and nothing called, when nothing is to be logged. Raises LogUnavailable at
    once when the log refuses them. With `CALLBACKS` off, through a future and its done-callback. `answers`: each
    response exactly as `orjson.dumps` encodes it (the bytes answered), not encoded again for the writer, or what
    its row keeps of it (`handed`)."""
    writer = app.state.decision_log
    if writer is None or not entries:
        return False
    if CALLBACKS:
        writer.submit_then(_entries(entries, endpoint, policy_set), then, answers)
    else:
        writer.submit(_entries(entries, endpoint, policy_set), answers).add_done_callback(lambda done: then(_why(done)))
    return True


def handed(payload: bytes, fields: list | None) -> Handed:
    """What the writer process is handed of an answer sent as `payload`: its row's fields when they were kept
    (`PROJECTED_ANSWERS`), else the answer's JSON."""
    return fields if fields is not None and PROJECTED_ANSWERS else payload


def _entries(pairs: list[tuple[dict, dict]], endpoint: str, policy_set: PolicySet | None) -> list[tuple]:
    selection = selection_of(policy_set)  # what of the requests its rules read
    return [(request, response, endpoint, selection) for request, response in pairs]


def _why(done: asyncio.Future) -> str | None:
    """What a callback of `submit_then` is told of a future's end: None once committed, else why not."""
    if done.cancelled():
        return "the wait for the decision log was cancelled"
    error = done.exception()
    return None if error is None else str(error)
