"""Hearing of a PostgreSQL ledger's new events without asking before each decision: LISTEN on a connection of its
own, in a thread of its own.

Every write to a PostgreSQL ledger sends `NOTIFY pdp_ledger, '<schema> <seq>'`
in its transaction (pdp.ledger.store), delivered when it commits, and before
it, for a write about few subjects, `'<schema> <seq> <seq before> <pseudonym>,...'`.
A `Listener` holds one connection that listens on that channel; each
notification for its own schema (several ledgers may share a database, each
in its schema) tells `advance(seq)` (or `advance(seq, start, subjects)`),
which lets go of the states kept (or of those subjects' only).

Every `heartbeat_s` the listener also reads the sequence number itself on its
connection: that catches anything sent while it was (re)connecting, and
proves the connection alive. It *vouches* for freshness only until two
heartbeats after the last one that succeeded (`vouches(now)`); a connection
that died, silently or not, stops vouching within that time, and the reader
then asks the ledger itself (pdp.io.ledger_reader: polling is the fallback,
and a kept state is never trusted on the word of a listener that is gone).
A lost connection is made again every `retry_s`.

The schema in the payload is the writer's `current_schema()`; the listener
compares it with its own (replicas serve the same URL, so they agree). One
that does not match is ignored: the heartbeat still catches the write up
within `heartbeat_s`, never later.
"""

from __future__ import annotations

import logging
import threading
import time
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pdp.ledger.store import Ledger

log = logging.getLogger("pdp.ledger")

HEARTBEAT_S = 0.5  # how often the listener reads the sequence number itself (and so proves its connection alive)
RETRY_S = 1.0  # how long after a lost connection another is tried
CONNECT_TIMEOUT_S = 5
APPLICATION_NAME = "pdp-ledger-listener"  # how its connection shows in pg_stat_activity


# told (seq) of a heartbeat, or (seq, the sequence number before the write, its subjects' pseudonyms) of a write
Advance = Callable[[int, int | None, frozenset[str] | None], None]


class Listener:
    """A thread listening for a PostgreSQL ledger's notifications and telling `advance` each sequence number."""

    def __init__(self, ledger: Ledger, advance: Advance, *, heartbeat_s: float = HEARTBEAT_S,
                 retry_s: float = RETRY_S, monotonic: Callable[[], float] = time.monotonic):
        from pdp.ledger.store import NOTIFY_CHANNEL

        self.channel = NOTIFY_CHANNEL
        self._engine = ledger.engine
        # held weakly: states dropped by their owner let the thread end (and its connection close)
        self._advance = weakref.WeakMethod(advance) if hasattr(advance, "__self__") else (lambda: advance)
        self.heartbeat_s, self.retry_s, self.monotonic = heartbeat_s, retry_s, monotonic
        self.until = 0.0  # the monotonic time until which every committed write has been passed on (0: not now)
        self.heard = 0  # notifications passed on (for the tests and the benchmark)
        self.connections = 0  # connections made (a lost one is made again)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="pdp-ledger-listener", daemon=True)

    def start(self) -> Listener:
        self._thread.start()
        return self

    def vouches(self, now: float) -> bool:
        """Whether every write committed before `now` (less the notification's own delay) has been passed on."""
        return now < self.until

    def close(self) -> None:
        """Stop vouching at once; the thread closes its connection and ends within `heartbeat_s` (not waited
        for: closing a ledger should not take that long)."""
        self._stop.set()
        self.until = 0.0

    def _connect(self) -> Any:
        # psycopg as the engine loaded it (the `postgresql` extra): a connection of its own, outside the pool,
        # with the engine's own arguments (host, user, search path in `options`, ...)
        dialect = self._engine.dialect
        args, params = dialect.create_connect_args(self._engine.url)
        params.setdefault("connect_timeout", CONNECT_TIMEOUT_S)
        params.setdefault("application_name", APPLICATION_NAME)
        return dialect.loaded_dbapi.connect(*args, **params, autocommit=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                with self._connect() as connection:
                    connection.execute(f"LISTEN {self.channel}")
                    self.connections += 1
                    schema = connection.execute("SELECT current_schema()").fetchone()[0]
                    while not self._stop.is_set():
                        self._heartbeat(connection)
                        for note in connection.notifies(timeout=self.heartbeat_s):
                            self._heard(note.payload, schema)
                            if self._stop.is_set():
                                break
            except Exception as error:  # noqa: BLE001 - a lost connection: decisions poll meanwhile
                self.until = 0.0
                if self._advance() is None:  # its states were dropped (and maybe their database with them)
                    self._stop.set()
                if not self._stop.is_set():
                    log.warning("the consent ledger's listener lost its connection (%s); polling until it is back",
                                error.__class__.__name__)
            finally:
                self.until = 0.0
            self._stop.wait(self.retry_s)

    def _heartbeat(self, connection: Any) -> None:
        started = self.monotonic()
        # LISTEN is already in force: anything committed after this read is notified, anything before is in it
        (last,) = connection.execute("SELECT last_seq FROM ledger_sequence WHERE id = 1").fetchone()
        self._tell(int(last))
        if not self._stop.is_set():
            self.until = started + 2 * self.heartbeat_s

    def _heard(self, payload: str, schema: str) -> None:
        parts = payload.split(" ")
        if len(parts) == 2 and parts[0] == schema and parts[1].isdigit():
            self.heard += 1
            self._tell(int(parts[1]))
        elif len(parts) == 4 and parts[0] == schema and parts[1].isdigit() and parts[2].isdigit():
            # the write's subjects (pseudonyms): only their states are let go of, when nothing came between
            self.heard += 1
            self._tell(int(parts[1]), int(parts[2]), frozenset(parts[3].split(",")))

    def _tell(self, seq: int, start: int | None = None, subjects: frozenset[str] | None = None) -> None:
        advance = self._advance()
        if advance is None:  # nobody left to tell
            self.close()
        else:
            advance(seq, start, subjects)


__all__ = ["APPLICATION_NAME", "HEARTBEAT_S", "Listener", "RETRY_S"]
