"""The ledger store: events appended, state kept, chains verified, subjects exported and erased (SQLAlchemy Core).

Every write runs in one transaction that first takes the sequence row
(`SELECT ... FOR UPDATE`; on SQLite the write lock, `BEGIN IMMEDIATE`): writes
are ordered, sequence numbers are given in commit order, and each subject's
chain grows one link at a time. In that transaction each event is appended,
its subject's head moved, and its fact in the state table replaced if the
event is the later one (`state.newer`, the fold's own rule). A batch is one
transaction: all its events or none.

An event dated more than five minutes after the ledger's clock is refused:
folded by time, a consent dated ahead would be in force before it was given.

Idempotency: an event with a `client_event_id` already recorded is not
recorded again; the receipt of the first is returned. The same id with other
content is refused (`client_event_id`: already recorded with other content).

Who reads the ledger learns of new events without asking before each
decision: a write tells the ledger's watchers in this process (`watch`) its
sequence number once committed, with the subjects whose states it changed,
and on PostgreSQL the write's transaction sends `NOTIFY pdp_ledger, '<schema>
<seq>'` (delivered to every listening process when, and only if, it commits;
pdp.io.ledger_listen), after one naming those subjects' pseudonyms and the
sequence number before the write when they are few (`NOTIFIED_SUBJECTS`).
Writes take the sequence's row for update, so they commit, and notify, in
order.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from sqlalchemy import Connection, Engine, String, and_, bindparam, func, insert, select, update
from uuid_utils import uuid7

from . import chain, schema
from .connect import WRITE
from .events import Event, InvalidEvent, canonical_time, from_canonical_time, parse_event, parse_events
from .records import Recorded, iso
from .sealing import LedgerKeys, Unreadable, open_fields, seal_fields
from .state import Fact, NotYetVisible, State, as_of, fold, newer

EXPORT_FORMAT = "pdp-ledger-export/1"
FUTURE_SKEW_US = 5 * 60 * 1_000_000  # an event may say it happened this far after the ledger's clock, no further
CLEAR = ("kind", "topic", "purpose", "channel", "scope", "outcome", "notice_version", "notice_digest", "method",
         "actor_type", "occurred_us", "expires_us")  # what an event says in clear: compared on a repeated client id


@dataclass(frozen=True)
class Receipt:
    """What recording an event returns: its sequence number (the read-your-writes token) and id."""

    seq: int
    event_id: str
    recorded_at: datetime
    duplicate: bool = False  # the client event id was recorded before: nothing was written

    def to_dict(self) -> dict[str, Any]:
        return {"seq": self.seq, "event_id": self.event_id, "recorded_at": iso(self.recorded_at),
                "duplicate": self.duplicate}


@dataclass(frozen=True)
class Verification:
    """What `verify` found: how much it checked, and each subject's first break (none: the ledger is intact)."""

    subjects: int
    events: int
    breaks: list[chain.Break] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.breaks

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "subjects": self.subjects, "events": self.events,
                "breaks": [b.to_dict() for b in self.breaks]}


@dataclass(frozen=True)
class Erasure:
    subject: str  # the pseudonym
    events: int  # events whose identifying fields can no longer be read
    keys_destroyed: int
    erased_at: datetime

    def to_dict(self) -> dict[str, Any]:
        return {"subject": self.subject, "events": self.events, "keys_destroyed": self.keys_destroyed,
                "erased_at": iso(self.erased_at)}


# The statements of a write, built once: building a statement costs more than running it on SQLite.
_SEQUENCE = select(schema.sequence.c.last_seq).where(schema.sequence.c.id == 1)
_TAKE_SEQUENCE = _SEQUENCE.with_for_update()
_MOVE_SEQUENCE = update(schema.sequence).where(schema.sequence.c.id == 1).values(last_seq=bindparam("last"))
_BY_CLIENT_KEY = select(schema.events).where(schema.events.c.client_event_key == bindparam("client_key"))
_SUBJECT = select(schema.subjects).where(schema.subjects.c.subject == bindparam("name"))
_NEW_SUBJECT = insert(schema.subjects)
_MOVE_HEAD = update(schema.subjects).where(schema.subjects.c.subject == bindparam("name")).values(
    events=bindparam("events"), head=bindparam("head"), last_seq=bindparam("last"))
_NEW_GENERATION = update(schema.subjects).where(schema.subjects.c.subject == bindparam("name")).values(
    key_generation=bindparam("generation"), erased_us=None)
_DATA_KEY = select(schema.subject_keys.c.wrapped).where(and_(
    schema.subject_keys.c.subject == bindparam("name"), schema.subject_keys.c.generation == bindparam("generation")))
_NEW_DATA_KEY = insert(schema.subject_keys)
_KEYS = select(schema.subject_keys.c.generation, schema.subject_keys.c.wrapped).where(
    schema.subject_keys.c.subject == bindparam("name")).order_by(schema.subject_keys.c.generation)
_APPEND = insert(schema.events)
_FACT = select(schema.state).where(and_(schema.state.c.subject == bindparam("name"),
                                        schema.state.c.key == bindparam("fact_key")))
_NEW_FACT = insert(schema.state)
NOTIFY_CHANNEL = "pdp_ledger"  # PostgreSQL: every committed write says `<schema> <last seq>` on it
# ... and first, when it recorded events for at most NOTIFIED_SUBJECTS subjects, `<schema> <last seq> <seq before
# it> <pseudonym>,<pseudonym>...`: whose states it changed (a listener then lets go of those only; one that does
# not read the longer form still reads the short one)
NOTIFIED_SUBJECTS = 64  # (a payload holds at most 8,000 bytes; a pseudonym is 64)
_NOTIFY = select(func.pg_notify(NOTIFY_CHANNEL, func.concat(func.current_schema(), " ", bindparam("last", type_=String))))
_FACT_COLUMNS = ("status", "event_id", "seq", "occurred_us", "expires_us", "notice_version")
_REPLACE_FACT = update(schema.state).where(and_(schema.state.c.subject == bindparam("name"),
                                                schema.state.c.key == bindparam("fact_key"))).values(
    **{name: bindparam(f"new_{name}") for name in _FACT_COLUMNS})


def utc_now() -> datetime:
    return datetime.now(UTC)


class Watcher(Protocol):
    """What keeps something read from the ledger (pdp.io.ledger_reader.SubjectStates): told of each write."""

    def advance(self, seq: int, start: int | None = None, subjects: frozenset[str] | None = None) -> None:
        """The ledger has seen every event up to `seq` (committed); with `subjects`, the write's events were those
        after `start`, and changed only these subjects' states (their pseudonyms)."""

    def close(self) -> None:
        """The ledger is closing: stop what watches it (a listener's thread and connection)."""


class Ledger:
    """A consent and rights ledger on one database. Open one with `pdp.ledger.open_ledger`."""

    def __init__(self, engine: Engine, keys: LedgerKeys, *, clock: Callable[[], datetime] = utc_now):
        self.engine = engine
        self.keys = keys
        self.clock = clock
        # held weakly: a decider dropped by its owner stops being told (and its listener ends with it)
        self._watchers: weakref.WeakSet[Watcher] = weakref.WeakSet()

    def watch(self, watcher: Watcher) -> None:
        """Tell `watcher` of every write through this ledger once committed, and close it with the ledger."""
        self._watchers.add(watcher)

    def _committed(self, seq: int, writer: _Writer | None = None) -> None:
        """Tell the watchers: of `seq`, and of the subjects `writer` wrote for when it recorded anything."""
        start, subjects = (writer.start, frozenset(writer.heads)) if writer and writer.last != writer.start else (None, None)
        for watcher in list(self._watchers):
            watcher.advance(seq, start, subjects)

    def close(self) -> None:
        for watcher in list(self._watchers):
            watcher.close()
        self.engine.dispose()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # -- writing ---------------------------------------------------------------

    @contextmanager
    def _writing(self) -> Iterator[tuple[Connection, _Writer]]:
        with self.engine.connect() as connection:
            connection.execution_options(**{WRITE: True})
            with connection.begin():
                writer = _Writer(connection, self.keys, canonical_time(self.clock()))
                yield connection, writer
                writer.finish()

    @contextmanager
    def _reading(self) -> Iterator[Connection]:
        """A read of several statements that sees one state of the ledger (PostgreSQL: REPEATABLE READ; SQLite:
        a transaction's snapshot), so that an export's events, state and chain head agree."""
        with self.engine.connect() as connection:
            if connection.dialect.name == "postgresql":
                connection.execution_options(isolation_level="REPEATABLE READ")
            with connection.begin():
                yield connection

    def record(self, event: Event | dict[str, Any]) -> Receipt:
        """Record one event (a dict is validated first: InvalidEvent names each bad field)."""
        checked = parse_event(event)
        with self._writing() as (_, writer):
            receipt = writer.record(checked, where="")
        self._committed(receipt.seq, writer)
        return receipt

    def record_many(self, events: Iterable[Event | dict[str, Any]]) -> list[Receipt]:
        """Record events in one transaction, in order: all or none. Every invalid field of every event is named."""
        items = list(events)
        checked = parse_events(items) if items else []
        with self._writing() as (_, writer):
            receipts = [writer.record(event, where=f"[{i}]") for i, event in enumerate(checked)]
        if receipts:
            self._committed(max(r.seq for r in receipts), writer)
        return receipts

    def erase(self, subject_id: str) -> Erasure:
        """Crypto-shred a subject: destroy its data keys, so its identifying fields can never be read again.
        Rows stay as they were (and their chain verifies): kind, times, notice digest remain as proof."""
        subject = self.keys.subject(subject_id)
        with self._writing() as (connection, writer):
            now = writer.now
            destroyed = connection.execute(
                update(schema.subject_keys)
                .where(and_(schema.subject_keys.c.subject == subject, schema.subject_keys.c.wrapped.is_not(None)))
                .values(wrapped=None, destroyed_us=now)).rowcount
            count = connection.execute(update(schema.subjects).where(schema.subjects.c.subject == subject)
                                       .values(erased_us=now).returning(schema.subjects.c.events)).scalar()
        return Erasure(subject=subject, events=count or 0, keys_destroyed=destroyed or 0,
                       erased_at=from_canonical_time(now))

    # -- reading ---------------------------------------------------------------

    def last_seq(self) -> int:
        """The last sequence number the ledger has given (0: none)."""
        with self._reading() as connection:
            return _last_seq(connection)

    def state(self, subject_id: str, *, min_seq: int | None = None) -> State:
        """The subject's current state, from the state table. With `min_seq` (a receipt's token), NotYetVisible
        unless the ledger has seen that sequence number."""
        subject = self.keys.subject(subject_id)
        with self._reading() as connection:
            if min_seq is not None and _last_seq(connection) < min_seq:
                raise NotYetVisible(f"the ledger has not yet seen event {min_seq}")
            rows = connection.execute(select(schema.state).where(schema.state.c.subject == subject)).mappings()
            facts = {row["key"]: _fact(row) for row in rows}
            last = connection.execute(select(schema.subjects.c.last_seq)
                                      .where(schema.subjects.c.subject == subject)).scalar()
        return State(facts=facts, seq=last or 0)

    def state_as_of(self, subject_id: str, at: datetime, *, known_at: datetime | None = None) -> State:
        """The subject's state at `at`, replayed from its history (see `state.as_of`)."""
        return as_of(self.history(subject_id, identifying=False), at, known_at)

    def history(self, subject_id: str, *, identifying: bool = True) -> list[Recorded]:
        """Every event of the subject in the order recorded; identifying fields None once erased."""
        with self._reading() as connection:
            return self._history(connection, self.keys.subject(subject_id), identifying)

    def _history(self, connection: Connection, subject: str, identifying: bool) -> list[Recorded]:
        rows = _event_rows(connection, subject)
        data_keys = self._data_keys(connection, subject) if identifying else {}
        return [_recorded(row, _opened(row, data_keys)) for row in rows]

    def export(self, subject_id: str) -> dict[str, Any]:
        """Everything the ledger holds on a subject, machine-readable (GDPR Art. 20; privacy policy §4)."""
        subject = self.keys.subject(subject_id)
        now = self.clock()
        with self._reading() as connection:
            history = self._history(connection, subject, True)
            head = connection.execute(_SUBJECT, {"name": subject}).mappings().first()
        state = fold(history)
        return {"format": EXPORT_FORMAT, "subject": subject_id, "exported_at": iso(now),
                "erased_at": iso(from_canonical_time(head["erased_us"])) if head and head["erased_us"] else None,
                "state": state.to_dict(now), "events": [r.to_dict() for r in history],
                "chain": {"events": head["events"] if head else 0, "head": head["head"] if head else chain.GENESIS}}

    def verify(self, subject_id: str | None = None) -> Verification:
        """Check every subject's chain (or one's), that its state table is the fold of its events, and that its
        data keys open."""
        with self._reading() as connection:
            if subject_id is not None:
                names = [self.keys.subject(subject_id)]
            else:
                names = sorted(set(connection.execute(select(schema.events.c.subject).distinct()).scalars())
                               | set(connection.execute(select(schema.subjects.c.subject)).scalars()))
            breaks, count = [], 0
            for subject in names:
                rows = _event_rows(connection, subject)
                count += len(rows)
                head_row = connection.execute(select(schema.subjects.c.events, schema.subjects.c.head)
                                              .where(schema.subjects.c.subject == subject)).first()
                found = chain.first_break(subject, rows, (head_row[0], head_row[1]) if head_row else None)
                if found is None:
                    found = _state_break(connection, subject, rows) or self._key_break(connection, subject)
                if found is not None:
                    breaks.append(found)
        return Verification(subjects=len(names), events=count, breaks=breaks)

    def _data_keys(self, connection: Connection, subject: str) -> dict[int, bytes]:
        """The subject's data keys that open, by generation: a destroyed one is left out, and so is one that was
        changed (its events then read as unreadable; `verify` names the changed key)."""
        opened = {}
        for generation, wrapped in connection.execute(_KEYS, {"name": subject}):
            if wrapped is not None:
                try:
                    opened[generation] = self.keys.unwrap(wrapped, subject, generation)
                except Unreadable:
                    pass
        return opened

    def _key_break(self, connection: Connection, subject: str) -> chain.Break | None:
        for generation, wrapped in connection.execute(_KEYS, {"name": subject}):
            if wrapped is not None:
                try:
                    self.keys.unwrap(wrapped, subject, generation)
                except Unreadable:
                    return chain.Break(subject, 0, None, f"its data key of generation {generation} does not open")
        return None


class _Writer:
    """One write transaction: the sequence row taken, subjects' heads and data keys cached, the sequence moved
    on at the end."""

    def __init__(self, connection: Connection, keys: LedgerKeys, now: int):
        self.connection, self.keys, self.now = connection, keys, now
        self.last = connection.execute(_TAKE_SEQUENCE).scalar_one()
        self.start = self.last
        self.heads: dict[str, dict[str, Any]] = {}
        self.data_keys: dict[tuple[str, int], bytes] = {}

    def finish(self) -> None:
        if self.last != self.start:
            self.connection.execute(_MOVE_SEQUENCE, {"last": self.last})
            if self.connection.dialect.name == "postgresql":  # sent on commit, never for a rolled-back write
                if len(self.heads) <= NOTIFIED_SUBJECTS:
                    said = f"{self.last} {self.start} {','.join(sorted(self.heads))}"
                    self.connection.execute(_NOTIFY, {"last": said})
                self.connection.execute(_NOTIFY, {"last": str(self.last)})

    def record(self, event: Event, *, where: str) -> Receipt:
        subject = self.keys.subject(event.subject)
        client_key = self.keys.client_event_key(event.client_event_id) if event.client_event_id else None
        clear = _clear(event)
        if clear["occurred_us"] > self.now + FUTURE_SKEW_US:  # a consent dated ahead would be in force before it was given
            raise InvalidEvent([(f"{where}.occurred_at" if where else "occurred_at",
                                 "is in the future (more than 5 minutes after the ledger's clock)")])
        if client_key is not None:
            earlier = self.connection.execute(_BY_CLIENT_KEY, {"client_key": client_key}).mappings().first()
            if earlier is not None:
                return self._repeated(earlier, subject, clear, event, where)
        head = self._head(subject)
        generation = head["key_generation"]
        data_key = self._data_key(subject, generation)
        assert data_key is not None  # made when missing; a destroyed one was replaced by a new generation
        self.last += 1
        event_id = str(uuid7())
        row = {"seq": self.last, "event_id": event_id, "subject": subject, "position": head["events"],
               **clear, "recorded_us": self.now, "client_event_key": client_key, "key_generation": generation,
               "sealed": seal_fields(data_key, event.identifying(), event_id)}
        row["link"] = chain.link(head["head"], row)
        self.connection.execute(_APPEND, row)
        head.update(events=head["events"] + 1, head=row["link"], last_seq=self.last)
        self.connection.execute(_MOVE_HEAD, {"name": subject, "events": head["events"], "head": head["head"],
                                             "last": self.last})
        self._keep_state(subject, Fact.of(_recorded(row, None)))
        return Receipt(seq=self.last, event_id=event_id, recorded_at=from_canonical_time(self.now))

    def _repeated(self, earlier: Any, subject: str, clear: dict[str, Any], event: Event, where: str) -> Receipt:
        same = earlier["subject"] == subject and all(earlier[name] == clear[name] for name in CLEAR)
        if same:
            try:
                key = self._data_key(subject, earlier["key_generation"], create=False)
                same = key is None or open_fields(key, earlier["sealed"], earlier["event_id"]) == _sealable(event)
            except Unreadable:
                same = False
        if not same:
            raise InvalidEvent([(f"{where}.client_event_id" if where else "client_event_id",
                                 f"already recorded with other content (event {earlier['event_id']}, "
                                 f"seq {earlier['seq']})")])
        return Receipt(seq=earlier["seq"], event_id=earlier["event_id"],
                       recorded_at=from_canonical_time(earlier["recorded_us"]), duplicate=True)

    def _head(self, subject: str) -> dict[str, Any]:
        head = self.heads.get(subject)
        if head is None:
            found = self.connection.execute(_SUBJECT, {"name": subject}).mappings().first()
            if found is None:
                head = {"subject": subject, "events": 0, "head": chain.GENESIS, "last_seq": 0, "key_generation": 1,
                        "erased_us": None}
                self.connection.execute(_NEW_SUBJECT, head)
            else:
                head = dict(found)
                if head["erased_us"] is not None:  # a subject recorded again after erasure: a new data key
                    head.update(key_generation=head["key_generation"] + 1, erased_us=None)
                    self.connection.execute(_NEW_GENERATION, {"name": subject, "generation": head["key_generation"]})
            self.heads[subject] = head
        return head

    def _data_key(self, subject: str, generation: int, *, create: bool = True) -> bytes | None:
        cached = self.data_keys.get((subject, generation))
        if cached is not None:
            return cached
        found = self.connection.execute(_DATA_KEY, {"name": subject, "generation": generation}).first()
        if found is not None:
            if found[0] is None:
                return None  # destroyed
            key = self.keys.unwrap(found[0], subject, generation)
        elif create:
            key, wrapped = self.keys.new_data_key(subject, generation)
            self.connection.execute(_NEW_DATA_KEY, {"subject": subject, "generation": generation, "wrapped": wrapped,
                                                    "created_us": self.now, "destroyed_us": None})
        else:
            return None
        self.data_keys[(subject, generation)] = key
        return key

    def _keep_state(self, subject: str, fact: Fact) -> None:
        old = self.connection.execute(_FACT, {"name": subject, "fact_key": fact.key}).mappings().first()
        if old is None:
            self.connection.execute(_NEW_FACT, {"subject": subject, **_fact_row(fact)})
        elif newer(fact, _fact(old)):
            values = _fact_row(fact)
            self.connection.execute(_REPLACE_FACT, {"name": subject, "fact_key": fact.key,
                                                    **{f"new_{name}": values[name] for name in _FACT_COLUMNS}})


def _clear(event: Event) -> dict[str, Any]:
    return {"kind": event.kind, "topic": event.topic, "purpose": event.purpose, "channel": event.channel,
            "scope": event.scope, "outcome": event.outcome,
            "notice_version": event.notice.version if event.notice else None,
            "notice_digest": event.notice.digest if event.notice else None, "method": event.method,
            "actor_type": event.actor.type, "occurred_us": canonical_time(event.occurred_at),
            "expires_us": canonical_time(event.expires_at) if event.expires_at else None}


def _sealable(event: Event) -> dict[str, Any]:
    """The identifying fields as they come back out of their seal (JSON: what sealing keeps)."""
    import orjson

    loaded: dict[str, Any] = orjson.loads(orjson.dumps(event.identifying(), option=orjson.OPT_SORT_KEYS))
    return loaded


def _last_seq(connection: Connection) -> int:
    return int(connection.execute(select(schema.sequence.c.last_seq).where(schema.sequence.c.id == 1)).scalar_one())


def _event_rows(connection: Connection, subject: str) -> list[dict[str, Any]]:
    return [dict(row) for row in connection.execute(select(schema.events).where(schema.events.c.subject == subject)
                                                    .order_by(schema.events.c.position)).mappings()]


def _opened(row: dict[str, Any], data_keys: dict[int, bytes]) -> dict[str, Any] | None:
    key = data_keys.get(row["key_generation"])
    if key is None:
        return None
    try:
        return open_fields(key, row["sealed"], row["event_id"])
    except Unreadable:
        return None  # verify names a changed row; history shows it as unreadable rather than failing


def _recorded(row: dict[str, Any], identifying: dict[str, Any] | None) -> Recorded:
    expires = row["expires_us"]
    return Recorded(seq=row["seq"], event_id=row["event_id"], position=row["position"],
                    recorded_at=from_canonical_time(row["recorded_us"]), kind=row["kind"],
                    occurred_at=from_canonical_time(row["occurred_us"]), method=row["method"],
                    actor_type=row["actor_type"], topic=row["topic"], purpose=row["purpose"], channel=row["channel"],
                    scope=row["scope"], outcome=row["outcome"], notice_version=row["notice_version"],
                    notice_digest=row["notice_digest"],
                    expires_at=from_canonical_time(expires) if expires is not None else None, identifying=identifying)


def _fact(row: Any) -> Fact:
    expires = row["expires_us"]
    return Fact(key=row["key"], status=row["status"], event_id=row["event_id"], seq=row["seq"],
                occurred_at=from_canonical_time(row["occurred_us"]),
                expires_at=from_canonical_time(expires) if expires is not None else None,
                notice_version=row["notice_version"])


def _fact_row(fact: Fact) -> dict[str, Any]:
    return {"key": fact.key, "status": fact.status, "event_id": fact.event_id, "seq": fact.seq,
            "occurred_us": canonical_time(fact.occurred_at),
            "expires_us": canonical_time(fact.expires_at) if fact.expires_at is not None else None,
            "notice_version": fact.notice_version}


def _state_break(connection: Connection, subject: str, rows: list[dict[str, Any]]) -> chain.Break | None:
    """Whether the state table holds exactly the fold of the subject's events (the chain already verified)."""
    folded = fold(_recorded(row, None) for row in rows).facts
    kept = {row["key"]: _fact(row) for row in connection.execute(
        select(schema.state).where(schema.state.c.subject == subject)).mappings()}
    for key in sorted(set(folded) | set(kept)):
        if folded.get(key) != kept.get(key):
            return chain.Break(subject, len(rows), None, f"the state table's `{key}` is not what the events say")
    return None


__all__ = ["EXPORT_FORMAT", "NOTIFIED_SUBJECTS", "NOTIFY_CHANNEL", "Erasure", "Ledger", "NotYetVisible", "Receipt",
           "Verification", "Watcher"]
