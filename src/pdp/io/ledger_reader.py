"""Deciding with a consent ledger: subjects' states read from the store, cached, and the request decided on them.

`SubjectStates` reads a subject's current state from a `pdp.ledger.Ledger`
and keeps it, by subject, until the ledger records something for that
subject. Where the ledger says whose states a write changed, only those are
let go of; where it says only that its last sequence number (`seen`) moved,
every kept state is. It learns of new events without a round trip per
decision:

- an event recorded through the same `Ledger` object (this process) moves
  `seen` when it commits (`Ledger.watch`), naming its subjects: applied to the
  next decision;
- on PostgreSQL, a listener (pdp.io.ledger_listen) hears every other
  process's writes (LISTEN/NOTIFY, naming their subjects when they are few)
  and moves `seen`; while it vouches for its
  connection, no decision asks the database anything;
- otherwise (SQLite; PostgreSQL while the listener is down or reconnecting)
  the ledger is asked at most every `recheck_s` seconds (RECHECK_S, 5 ms, by
  default): on SQLite `PRAGMA data_version` (a few µs), then the sequence
  number only when something was committed; on PostgreSQL the sequence
  number. A change recorded by another process is so applied within
  `recheck_s` (with the listener, within its notification's delay). SQLite's
  `data_version` says that another connection committed, not for whom: every
  kept state is let go of.

A write's subjects are let go of alone only when its events directly follow
the last seen (writes commit in sequence order; a gap, a heartbeat's or a
poll's news, or a token read: all are let go of). A state whose read began
before its subject was let go of is not kept (`generation`, `_ticks`).
  `recheck_s=0` asks before every decision, listener or not.

A request carrying a read-your-writes token (`ledger_seq`) beyond `seen`
makes it ask at once, and wait up to `wait_s` for the ledger to reach the
token (that decision is made in full, not from the memo). `cache=False` reads
the store for every decision (the plain path a property test proves the cache
equal to); `watch=False` and `listen=False` switch off `PRAGMA data_version`
and the listener; `memo=False` fills, decides and cites every request anew
(without it, a decision is remembered with the subject's kept readings:
pdp.engine.ledger_memo).

`decide(policy_set, request, states)` fails closed: a ledger that cannot be
read, or has not seen the token in time, is a deny naming why; never a
decision on facts that are missing or older than the caller asked for.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from pdp.base.errors import FieldError, RequestError
from pdp.engine.decision import Decision
from pdp.engine.filled import (LEDGER_NOT_YET, LEDGER_UNAVAILABLE, as_of_of, decide_filled, deciding_version,
                               failed_closed, subject_of)
from pdp.engine.policy_set import PolicySet
from pdp.ledger.fill import Fill, Readings, read
from pdp.ledger.state import NotYetVisible, State

from .ledger_listen import HEARTBEAT_S, Listener

if TYPE_CHECKING:  # the store (SQLAlchemy) is loaded when a ledger is opened, not by `import pdp`
    from pdp.ledger.store import Ledger

log = logging.getLogger("pdp.ledger")

WAIT_S = 0.2  # how long a decision waits for the ledger to reach its token before failing closed
POLL_S = 0.01  # how often the ledger is asked meanwhile
MAX_SUBJECTS = 100_000  # states kept; past it, the cache starts again
RECHECK_S = 0.005  # without a listener, how long an answer to "did anything change?" is trusted


class LedgerUnavailable(Exception):
    """The ledger could not be read: the decision fails closed."""


class SubjectStates:
    """Subjects' current states from one ledger, kept while its sequence number stays the same."""

    def __init__(self, ledger: Ledger, *, cache: bool = True, recheck_s: float = RECHECK_S, wait_s: float = WAIT_S,
                 poll_s: float = POLL_S, monotonic: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep, max_subjects: int = MAX_SUBJECTS, watch: bool = True,
                 listen: bool = True, heartbeat_s: float = HEARTBEAT_S, memo: bool = True):
        self.ledger = ledger
        self.cache = cache
        self.memo = memo  # decisions remembered with the kept readings (pdp.engine.ledger_memo)
        self.recheck_s, self.wait_s, self.poll_s = recheck_s, wait_s, poll_s
        self.monotonic, self.sleep = monotonic, sleep
        self.max_subjects = max_subjects
        self.seen = 0  # the ledger's last sequence number when last asked
        self._checked: float | None = None  # when it was last asked
        # subject -> (`generation` and `_ticks` when it began to be read, its pseudonym, its state)
        self._states: dict[str, tuple[int, int, str, State]] = {}
        self.generation = 0  # moves when every kept state is let go of
        self._ticks = 0  # moves when one subject's are
        self._dropped: dict[str, int] = {}  # pseudonym -> `_ticks` when its state was let go of
        self._readings: dict[str, tuple[State, tuple[Fill, ...], Readings]] = {}  # subject -> what its state says
        self._lock = threading.Lock()
        # on SQLite, whether anything was committed is a few µs to ask (`PRAGMA data_version`); the ledger's
        # sequence number (a query and a transaction) is then asked only when something was
        self._changes = SqliteChanges.of(ledger) if cache and watch else None
        ledger.watch(self)  # writes through this process: applied at once
        # on PostgreSQL, other processes' writes are heard (pdp.io.ledger_listen); polling is the fallback
        postgres = ledger.engine.url.get_backend_name() == "postgresql"
        self._listener = (Listener(ledger, self.advance, heartbeat_s=heartbeat_s, monotonic=monotonic).start()
                          if cache and listen and postgres and recheck_s > 0 else None)

    def advance(self, seq: int, start: int | None = None, subjects: frozenset[str] | None = None) -> None:
        """The ledger has seen every event up to `seq` (a write committed through this process, or heard of): the
        kept states are let go of when it is news; only `subjects`' (pseudonyms) when the write named them and its
        events, those after `start`, follow the last one seen (writes commit in sequence order: pdp.ledger.store)."""
        if seq > self.seen:
            with self._lock:
                if seq > self.seen:
                    if subjects is not None and start is not None and start <= self.seen \
                            and len(self._dropped) + len(subjects) <= self.max_subjects:
                        self._ticks += 1
                        for pseudonym in subjects:
                            self._dropped[pseudonym] = self._ticks
                        self.seen = seq
                    else:
                        self._forget(seq)

    def _forget(self, seq: int) -> None:
        """Let go of every kept state: the ledger has seen `seq`, and what changed is not known (under the lock)."""
        self.seen = seq
        self.generation += 1
        self._states.clear()
        self._readings.clear()
        self._dropped.clear()

    def close(self) -> None:
        """Stop listening (the ledger closes its watchers when it is closed)."""
        if self._listener is not None:
            self._listener.close()

    @property
    def listening(self) -> bool:
        """Whether the listener vouches now that every write elsewhere has been heard of."""
        return self._listener is not None and self._listener.vouches(self.monotonic())

    def state(self, subject_id: str, min_seq: int | None = None, *, wait: bool = True) -> State:
        """The subject's current state; with `min_seq`, one the ledger read after seeing that sequence number
        (NotYetVisible after waiting `wait_s`, or at once without `wait`). LedgerUnavailable when the ledger cannot
        be read."""
        try:
            if min_seq is not None and min_seq > self.seen:
                self._reach(min_seq, self.wait_s if wait else 0.0)
            if not self.cache:
                return self.ledger.state(subject_id)
            now = self.monotonic()
            listener = self._listener
            if (listener is None or now >= listener.until) and (
                    self._checked is None or now - self._checked >= self.recheck_s):
                if self._changes is None or self._changes.changed():
                    self._saw(self.ledger.last_seq(), now)
                else:
                    self._checked = now
            kept = self._states.get(subject_id)
            if kept is not None and kept[0] == self.generation and kept[1] >= self._dropped.get(kept[2], 0):
                return kept[3]
            generation, ticks = self.generation, self._ticks  # (before the read: a write heard meanwhile wins)
            pseudonym = kept[2] if kept is not None else self.ledger.keys.subject(subject_id)
            state = self.ledger.state(subject_id)  # read after `seen`: at least as new
            with self._lock:
                if len(self._states) >= self.max_subjects:
                    self._states.clear()
                    self._readings.clear()
                self._states[subject_id] = (generation, ticks, pseudonym, state)
            return state
        except NotYetVisible:
            raise
        except Exception as error:  # a database down, a network gone, a lock held too long: fail closed
            log.warning("the consent ledger cannot be read: %s", error)
            raise LedgerUnavailable(f"the consent ledger cannot be read ({error.__class__.__name__})") from error

    def readings(self, subject_id: str, state: State, fills: tuple[Fill, ...], clock: Callable[[], datetime],
                 version: str) -> Readings:
        """What `state` says of each of `fills` now (`clock`): kept with the state, while they hold (no expiry
        passed, the same version)."""
        known = self._readings.get(subject_id)
        if known is not None and known[0] is state and known[1] is fills and known[2].hold_now(clock, version):
            return known[2]
        made = read(state, fills, at=clock(), version=version)
        self._readings[subject_id] = (state, fills, made)
        return made

    def as_of(self, subject_id: str, at: datetime) -> State:
        """The subject's state as of a past time, replayed from its history (never cached)."""
        try:
            return self.ledger.state_as_of(subject_id, at)
        except Exception as error:
            raise LedgerUnavailable(f"the consent ledger cannot be read ({error.__class__.__name__})") from error

    def _saw(self, last: int, now: float) -> None:
        with self._lock:
            self._checked = now
            if last != self.seen:
                self._forget(last)

    def caught_up(self, min_seq: int) -> bool:
        """Wait up to `wait_s` for the ledger to have seen `min_seq` (the server waits so, off its event loop,
        then decides without waiting); whether it has. False too when the ledger cannot be read."""
        try:
            self._reach(min_seq, self.wait_s)
        except Exception:  # noqa: BLE001 - the decision that follows fails closed, saying why
            return False
        return True

    def _reach(self, min_seq: int, wait_s: float) -> None:
        deadline = self.monotonic() + wait_s
        while True:
            now = self.monotonic()
            self._saw(self.ledger.last_seq(), now)
            if self.seen >= min_seq:
                return
            if now >= deadline:
                raise NotYetVisible(f"the ledger has not yet seen event {min_seq} (it has seen {self.seen}); "
                                    f"waited {self.wait_s:g} s")
            self.sleep(min(self.poll_s, max(deadline - now, 0.0)))


class SqliteChanges:
    """Whether a SQLite ledger's database was committed to since last asked: `PRAGMA data_version` on a read-only
    connection of its own, which changes whenever another connection commits (SQLite's documented way to tell)."""

    def __init__(self, path: str):
        self._path = path
        self._file: tuple[int, int] | None = None  # the file watched (device, inode): one put in its place is news
        self._connection: sqlite3.Connection | None = None
        self._version: int | None = None
        self._lock = threading.Lock()

    @classmethod
    def of(cls, ledger: Ledger) -> SqliteChanges | None:
        url = ledger.engine.url
        if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
            return None
        return cls(url.database)

    def changed(self) -> bool:
        """Whether it was committed to since the last call (True the first time)."""
        with self._lock:
            try:
                found = os.stat(self._path)
            except OSError:
                return True  # gone: the ledger is asked, and fails, and the decision fails closed
            if self._connection is None or (found.st_dev, found.st_ino) != self._file:
                if self._connection is not None:
                    self._connection.close()
                self._file = (found.st_dev, found.st_ino)
                self._connection = sqlite3.connect(f"file:{self._path}?mode=ro", uri=True, check_same_thread=False,
                                                   isolation_level=None)
                self._version = None
            try:
                version = self._connection.execute("PRAGMA data_version").fetchone()[0]
            except sqlite3.Error:
                self._version = None
                return True
            changed, self._version = version != self._version, version
        return bool(changed)


def token_of(request: Any) -> int | None:
    """The read-your-writes token a request carries (`ledger_seq`); None when absent or not a whole number >= 1
    (the request check then refuses it)."""
    token = request.get("ledger_seq") if isinstance(request, dict) else None
    return token if isinstance(token, int) and not isinstance(token, bool) and token >= 1 else None


def decide(policy_set: PolicySet, request: dict[str, Any], states: SubjectStates | None, *,
           clock: Callable[[], datetime] = lambda: datetime.now(UTC), wait: bool = True,
           decide: Callable[[dict[str, Any]], Decision] | None = None) -> Decision:
    """Decide `request` (by `decide`, default `policy_set.decide`), its declared attributes filled from the ledger
    when the set declares some, the request names its data subject and there is a ledger; otherwise exactly as
    `decide` does. `wait=False`: a token not yet seen fails closed at once. Raises RequestError."""
    subject = subject_of(request) if states is not None and policy_set.ledger_fills else None
    as_of = as_of_of(request)  # (RequestError when it is no time)
    if subject is None or states is None:
        if as_of is not None:
            raise RequestError([FieldError("as_of", "a decision as of a past time replays the person's choices: "
                                           "it needs a consent ledger, a set that declares `ledger fills`, and "
                                           "`data_subject.id`")])
        return (decide or policy_set.decide)(request)
    try:
        if as_of is not None:  # the state then, replayed: withdrawal is not retroactive
            state = states.as_of(subject, as_of)
        else:
            token = token_of(request)
            unseen = token is not None and token > states.seen  # (read before the state: the ledger is asked)
            state = states.state(subject, token, wait=wait)
    except (NotYetVisible, LedgerUnavailable) as error:
        policy_set.decide(request)  # a malformed request is still a 4xx naming its field, not a deny
        rule = LEDGER_NOT_YET if isinstance(error, NotYetVisible) else LEDGER_UNAVAILABLE
        return failed_closed(policy_set, rule, f"{error}; failing closed")
    if as_of is not None:
        return decide_filled(policy_set, request, state, at=as_of, decide=decide)
    if not states.cache:
        return decide_filled(policy_set, request, state, at=clock(), decide=decide)
    readings = states.readings(subject, state, policy_set.ledger_fills, clock, deciding_version(policy_set, request))
    # (judged as of the time they were read at: they hold now.) A decision waiting for a token is made in full:
    # the memo is for states already known
    return decide_filled(policy_set, request, state, at=readings.at, decide=decide,
                         readings=readings, memo=states.memo and not unseen)


class LedgerDecider:
    """A policy set deciding with a consent ledger (`pdp.with_ledger`): `decide` fills the attributes the set
    declares (`ledger fills ...`) from the subject's state before deciding; the rest is the set's own."""

    def __init__(self, policy_set: PolicySet, states: SubjectStates,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)):
        self.policy_set = policy_set
        self.states = states
        self.clock = clock

    def decide(self, request: dict[str, Any]) -> Decision:
        return decide(self.policy_set, request, self.states, clock=self.clock)

    def decide_many(self, requests: list[dict[str, Any]]) -> list[Decision]:
        return [self.decide(r) for r in requests]

    def decide_authzen(self, request: dict[str, Any]) -> Decision:
        """An AuthZEN Access Evaluation, put in the set's own terms, then decided as `decide` does."""
        return self.policy_set.decide_authzen(request, self.decide)


__all__ = ["LedgerDecider", "SqliteChanges", "LedgerUnavailable", "POLL_S", "RECHECK_S", "SubjectStates", "WAIT_S",
           "decide", "token_of"]
