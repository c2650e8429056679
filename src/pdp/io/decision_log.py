"""The decision log: every decision the server makes, kept for audit.

One row per decision: its id, the time (UTC), the endpoint, the decision, the
ids of the rules that decided, the digest of the policy set that decided it,
and what an auditor needs of the request (server/log_view.py: the fields
that decide, identifiers pseudonymised, no free-form text, bounded in size).
The legal team queries it later ("what did we decide about this person,
under which policy, and why"); `erase` takes one person out of the rows
that name them, each row kept as the proof of what was decided (§4,
`log_erasure`). With a combined log (`combined_log`), this file is also
the replica's outbox, which `log_shipper` ships from.

Why SQLite (stdlib `sqlite3`) in WAL mode:

- queryable for audits: filter by time, decision or id with plain SQL, an
  index on `time`;
- retention is one `DELETE ... WHERE time < ?`;
- each row is one atomic transaction: a row is either wholly there or not;
- several worker processes can write the same file: WAL lets readers and
  the one writer proceed together, and `PRAGMA busy_timeout=5000` makes a
  writer wait (up to 5 s) for another process's write instead of failing.

Durability. `append` commits before it returns, and the server sends the
HTTP response only after `append` returned, so an acknowledged decision is
a committed row. With `synchronous=NORMAL` (the default here) in WAL mode a
commit is a `write()` of the WAL frames without an fsync: the pages are in
the operating system's cache, so the row survives the process being killed
(`kill -9`, an OOM kill, a crash) but not a power cut or kernel panic, which
may lose the last commits before the next checkpoint's fsync (the file stays
consistent either way). `synchronous="FULL"` fsyncs the WAL at every commit,
so a committed row also survives power loss, at the price of one fsync per
decision. The test suite kills a writing process with SIGKILL and checks
every acknowledged row is there; power loss cannot be tested that way.

Privacy. What is stored of a request is `log_view.view` of it: every
identifier becomes `"hmac:" + HMAC-SHA256(key, id)` in hex (the same person
maps to the same pseudonym, so an audit can follow one person; without the
key nobody can reverse it or test a guessed id; rotating the key breaks the
link between old and new rows; this is pseudonymisation, not
anonymisation: the key holder can re-identify). The pseudonyms of a row are
kept beside it (column `people`), so that one person's rows can be found and
erased. They are not indexed: an index keyed by pseudonym takes a write at a
random place of its tree for every id of every decision (it halved the log's
throughput), while finding one person is a rare admin request that can afford
a scan of that column.
The dotted attribute paths given in `mask` are then replaced by `"***"`.

Bounds. A stored request is at most `max_row_bytes`; when the file's live
pages pass `max_bytes`, the oldest rows are deleted (checked every
`SIZE_CHECK_EVERY` rows, so it may pass the limit by that many rows); rows
older than `retention_days` are deleted hourly. The files (database, WAL,
shared memory) are created readable by their owner only (0600).

`PRAGMA secure_delete` is on, so rows removed by retention, the size limit
or erasure are overwritten in the database file rather than left in free
pages; erasure also checkpoints and truncates the WAL.

No web framework here: the server wires `DecisionLog` in and calls
`append` after deciding and before answering.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import sqlite3
import threading
import time

import orjson
from collections.abc import Callable, Iterable, Iterator
from itertools import chain
from pathlib import Path
from typing import Any, NamedTuple

from pdp.base.pseudonym import PSEUDONYM_PREFIX, pseudonym
from .log_erasure import proof, without
from .log_view import Selection, minimal, view

log = logging.getLogger("pdp.io.decision_log")

MASKED = "***"
SYNCHRONOUS = ("NORMAL", "FULL", "EXTRA")
BUSY_TIMEOUT_MS = 5000
RETENTION_CHECK_EVERY = dt.timedelta(hours=1)
SIZE_CHECK_EVERY = 1000  # rows appended between two checks of the size limit
MAX_ROW_BYTES = 16_384  # of the stored request, by default
WAL_SIZE_LIMIT = 16 * 1024 * 1024  # the WAL file is cut back to this after a checkpoint
SCHEMA_VERSION = 4  # 1: whole requests, only the data subject's id pseudonymised; 2: a `people` table; 3: a
# `people` column; 4: `seq`, the row's number, never reused (AUTOINCREMENT), which the shipper to the combined log
# (`log_shipper`) keeps its place by: a plain rowid starts again at 1 once retention has emptied the table

_TABLE = """
CREATE TABLE IF NOT EXISTS {name} (
    seq           INTEGER PRIMARY KEY AUTOINCREMENT,
    decision_id   TEXT NOT NULL UNIQUE,
    time          TEXT NOT NULL,   -- UTC, fixed width: YYYY-MM-DDTHH:MM:SS.ffffffZ
    endpoint      TEXT NOT NULL,
    decision      TEXT NOT NULL,
    rules         TEXT NOT NULL,   -- JSON list of rule ids
    policy_digest TEXT,
    request       TEXT NOT NULL,   -- JSON: log_view.view of the request, then masked
    people        TEXT NOT NULL DEFAULT ''  -- the pseudonyms the row names, space-separated (erasure)
)"""
_SCHEMA = (_TABLE.format(name="decisions"), "CREATE INDEX IF NOT EXISTS decisions_time ON decisions (time)",
           # the log as an outbox of the combined log (`log_shipper`): its name there, and the erasures applied
           """CREATE TABLE IF NOT EXISTS outbox (id INTEGER PRIMARY KEY CHECK (id = 1), outbox TEXT NOT NULL,
               erasures_applied INTEGER NOT NULL DEFAULT 0)""",
           "INSERT OR IGNORE INTO outbox (id, outbox) VALUES (1, lower(hex(randomblob(16))))")
# A pseudonym is `hmac:` and 64 hex digits, with no space: found in the space-separated column,
# it is one of the row's pseudonyms, never a piece of two.
_NAMES_PERSON = "instr(people, ?) > 0"
_COLUMNS = ("decision_id", "time", "endpoint", "decision", "rules", "policy_digest", "request")
# Rows are inserted many to a statement: SQLite releases Python's interpreter lock once per statement (once per
# row with `executemany`), so a writer thread beside the event loop waits for the lock back once per group.
ROWS_PER_STATEMENT = 256  # 8 values a row: far below SQLite's limit on a statement's parameters
# The writer process builds every row (`bench/log_writer.py` measures it). False: each row's pseudonyms sorted
# again and its values gathered in Python; a property test proves both store the same rows.
FAST_ROWS = True
SWITCHES = ("FAST_ROWS",)


def _insert(rows: int) -> str:
    return (f"INSERT INTO decisions ({', '.join(_COLUMNS)}, people) VALUES "
            + ", ".join(["(?, ?, ?, ?, ?, ?, ?, ?)"] * rows))
_OWNER_ONLY = 0o600


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def format_time(moment: dt.datetime) -> str:
    """A fixed-width UTC timestamp, so that text order is time order.

    A naive datetime is taken to be UTC.
    """
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    return moment.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _enter_wal_mode(conn: sqlite3.Connection) -> str:
    """`PRAGMA journal_mode=WAL`, waiting out other processes opening the same new file.

    Switching a new file to WAL needs it to itself, and SQLite answers
    "database is locked" at once, without the busy timeout, while another
    process holds it (several workers starting together do). Retry until the
    busy timeout has passed.
    """
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    pause = 0.001
    while True:
        try:
            return conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() > deadline:
                raise
        time.sleep(pause)
        pause = min(pause * 2, 0.05)


def _parse_bound(value: str, name: str) -> str:
    try:
        return format_time(dt.datetime.fromisoformat(value))
    except (TypeError, ValueError, OverflowError):  # OverflowError: a time the offset pushes off the calendar
        raise ValueError(f"`{name}` must be an ISO 8601 time, got `{value}`") from None


# -- privacy treatment (pure) -------------------------------------------------

def _mask_path(node: Any, parts: list[str]) -> None:
    if isinstance(node, list):
        for item in node:
            _mask_path(item, parts)
        return
    if not isinstance(node, dict) or parts[0] not in node:
        return
    if len(parts) == 1:
        node[parts[0]] = MASKED
    else:
        _mask_path(node[parts[0]], parts[1:])


def treat(request: dict, *, key: bytes, mask: Iterable[str] = (), selection: Selection = Selection(),
          max_bytes: int | None = None) -> tuple[str, list[str]]:
    """(what is stored of `request`, as JSON text; its pseudonyms): `log_view.view`, the `mask` paths masked,
    and only its ids, action and purpose when the text would pass `max_bytes`."""
    out, people = view(request, key=key, selection=selection)
    for path in mask:  # the view is a new object: masking in place leaves the caller's request alone
        _mask_path(out, path.split("."))
    text = _json(out)
    if max_bytes is not None and len(text) > max_bytes:
        text = orjson.dumps(minimal(out), default=str, option=_TEXT_KEYS)
    return text.decode(), people


_TEXT_KEYS = orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS


def _json(out: dict) -> bytes:
    """`out` as sorted JSON, any key as text. A view from parsed JSON has only text keys, and orjson encodes it
    faster when not asked to convert keys: the same bytes, as a key that is not text fails and takes the other way."""
    if FAST_ROWS:
        try:
            return orjson.dumps(out, default=str, option=orjson.OPT_SORT_KEYS)
        except TypeError:
            pass
    return orjson.dumps(out, default=str, option=_TEXT_KEYS)


def response_fields(response: dict) -> tuple[str, str, list[str], str | None]:
    """(decision id, decision, ids of the rules that decided, policy digest): what a row keeps of an answer.

    Raises `ValueError` for an answer without `decision_id` or `decision`.
    """
    decision_id, decision = response.get("decision_id"), response.get("decision")
    if not decision_id or not isinstance(decision_id, str):
        raise ValueError("the response has no `decision_id` to log")
    if not isinstance(decision, str):
        raise ValueError("the response has no `decision` to log")
    policy = response.get("policy")
    digest = policy.get("digest") if isinstance(policy, dict) else None
    reasons = response.get("reasons") or []
    rules = [r["rule"] for r in reasons if isinstance(r, dict) and r.get("rule") is not None]
    return decision_id, decision, rules, digest


Fields = list  # [decision id, decision, the rules' ids as JSON text, policy digest]: what a row keeps of an answer


def row_fields(response: dict | Fields) -> Fields:
    """What a row keeps of `response`: an answer (`response_fields`, the rules as their JSON text), or the server's
    projection of one, which is that already (a writer process is handed it: the answer is not decoded there, nor
    its rules encoded again; `pdp.server.deciding.Answers` makes it once per outcome with `projected`).

    Raises `ValueError` for an answer without `decision_id` or `decision`, or a projection not of that shape.
    """
    if not isinstance(response, list):
        return projected(response)
    if len(response) != 4:
        raise ValueError("a projected answer is [decision_id, decision, rules, policy digest]")
    decision_id, decision, rules, digest = response
    if not decision_id or not isinstance(decision_id, str):
        raise ValueError("the response has no `decision_id` to log")
    if not isinstance(decision, str) or not isinstance(rules, str) or not isinstance(digest, (str, type(None))):
        raise ValueError("a projected answer is [decision_id, decision, rules as JSON text, policy digest]")
    return response


def projected(response: dict) -> Fields:
    """`row_fields` of an answer (a JSON object): its `response_fields`, the rules' ids as their JSON text."""
    decision_id, decision, rules, digest = response_fields(response)
    return [decision_id, decision, orjson.dumps(rules).decode(), digest]


def _values(rows: list[tuple]) -> list:
    """The rows' values in one list, as a statement of many rows takes them."""
    return list(chain.from_iterable(rows)) if FAST_ROWS else [value for row in rows for value in row]


def _people(pseudonyms) -> str:
    return " ".join(sorted(set(pseudonyms)))


def _owner_only(path: Path) -> None:
    """Create the log file readable by its owner only; SQLite gives its WAL and shared-memory files the same mode.

    A log made by an older pdp (0644) is narrowed too, with its side files.
    """
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, _OWNER_ONLY))
    except FileExistsError:
        pass
    for file in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        try:
            if file.stat().st_mode & 0o077:
                file.chmod(_OWNER_ONLY)
        except FileNotFoundError:
            pass


# -- the store ----------------------------------------------------------------

class DecisionLog:
    """An append-only SQLite log of decisions; safe across threads and processes."""

    def __init__(self, path: str | Path, *, pseudonym_key: bytes, mask: Iterable[str] = (),
                 retention_days: int = 365, synchronous: str = "NORMAL",
                 clock: Callable[[], dt.datetime] = utc_now, attributes: Iterable[str] = (),
                 max_row_bytes: int = MAX_ROW_BYTES, max_bytes: int | None = None):
        if not isinstance(pseudonym_key, (bytes, bytearray)) or len(pseudonym_key) < 16:
            raise ValueError("`pseudonym_key` must be at least 16 random bytes (32 recommended)")
        synchronous = str(synchronous).upper()
        if synchronous not in SYNCHRONOUS:
            raise ValueError(f"`synchronous` must be one of {', '.join(SYNCHRONOUS)}, got `{synchronous}`")
        if not isinstance(retention_days, int) or retention_days < 1:
            raise ValueError(f"`retention_days` must be a whole number of days >= 1, got `{retention_days}`")
        for name, paths in (("mask", mask), ("attributes", attributes)):
            if isinstance(paths, str):
                raise ValueError(f"`{name}` is a list of dotted paths, not one string")
            for entry in paths:
                if not isinstance(entry, str) or not entry or any(not part for part in entry.split(".")):
                    raise ValueError(f"{name} path `{entry}` is not a dotted attribute path")
        if not isinstance(max_row_bytes, int) or max_row_bytes < 256:
            raise ValueError(f"`max_row_bytes` must be a whole number >= 256, got `{max_row_bytes}`")
        if max_bytes is not None and (not isinstance(max_bytes, int) or max_bytes < 1_000_000):
            raise ValueError(f"`max_bytes` must be a whole number >= 1000000, got `{max_bytes}`")
        self.path = Path(path)
        self.mask = tuple(mask)
        self.attributes = tuple(attributes)
        self.max_row_bytes, self.max_bytes = max_row_bytes, max_bytes
        self._selections: dict[Selection, Selection] = {}  # a policy set's selection, with `attributes`
        self._since_size_check = 0
        self.retention_days = retention_days
        self.synchronous = synchronous
        self._key = bytes(pseudonym_key)
        self._clock = clock
        self._lock = threading.Lock()  # one connection, used by one thread at a time
        self._conn: sqlite3.Connection | None = None
        self._pid: int | None = None
        self._closed = False
        self._last_retention: dt.datetime | None = None
        with self._lock:
            self._connection()

    # connection --------------------------------------------------------------

    def _connection(self) -> sqlite3.Connection:
        """The connection of this process (opened anew after a fork). Call under the lock."""
        if self._closed:
            raise ValueError("the decision log is closed")
        if self._conn is not None and self._pid == os.getpid():
            return self._conn
        # A connection inherited through fork() must not be used (nor closed) here.
        self.path.parent.mkdir(parents=True, exist_ok=True)
        _owner_only(self.path)
        conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None,
                               check_same_thread=False)
        try:
            conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            mode = _enter_wal_mode(conn)
            if mode.lower() != "wal":
                raise sqlite3.OperationalError(f"cannot put the decision log in WAL mode (got `{mode}`)")
            conn.execute(f"PRAGMA synchronous={self.synchronous}")
            conn.execute("PRAGMA secure_delete=ON")
            conn.execute(f"PRAGMA journal_size_limit={WAL_SIZE_LIMIT}")
            conn.execute("BEGIN IMMEDIATE")  # schema in one transaction: processes may open a new file together
            try:
                version = conn.execute("PRAGMA user_version").fetchone()[0]
                for statement in _SCHEMA:
                    conn.execute(statement)
                self._add_people_column(conn)
                if version == 1:
                    self._migrate_whole_requests(conn)
                if version == 2:
                    self._migrate_people_table(conn)
                self._add_seq_column(conn)
                if version < SCHEMA_VERSION:
                    conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        except BaseException:
            conn.close()
            raise
        self._conn, self._pid = conn, os.getpid()
        return conn

    def _migrate_whole_requests(self, conn: sqlite3.Connection) -> None:
        """A log of pdp's first schema kept whole requests: keep only what is kept now, and index its people."""
        rows = conn.execute("SELECT decision_id, request FROM decisions").fetchall()
        for decision_id, text in rows:
            try:
                request = json.loads(text)
            except ValueError:
                request = {}
            stored, people = treat(request, key=self._key, mask=self.mask, max_bytes=self.max_row_bytes,
                                   selection=Selection().with_attributes(self.attributes))
            conn.execute("UPDATE decisions SET request = ?, people = ? WHERE decision_id = ?",
                         (stored, _people(people), decision_id))
        if rows:
            log.warning("decision log %s: %d rows of the first schema now keep only what is logged today",
                        self.path, len(rows))

    @staticmethod
    def _add_people_column(conn: sqlite3.Connection) -> None:
        """A log made before schema 3 has no `people` column (`CREATE TABLE IF NOT EXISTS` kept its table)."""
        columns = {row[1] for row in conn.execute("PRAGMA table_info(decisions)")}
        if "people" not in columns:
            conn.execute("ALTER TABLE decisions ADD COLUMN people TEXT NOT NULL DEFAULT ''")

    @staticmethod
    def _add_seq_column(conn: sqlite3.Connection) -> None:
        """A log made before schema 4 numbers its rows by rowid: copy it into a table with `seq`, in rowid order."""
        columns = {row[1] for row in conn.execute("PRAGMA table_info(decisions)")}
        if "seq" in columns:
            return
        conn.execute(_TABLE.format(name="decisions_v4"))
        conn.execute(f"INSERT INTO decisions_v4 (seq, {', '.join(_COLUMNS)}, people) "
                     f"SELECT rowid, {', '.join(_COLUMNS)}, people FROM decisions ORDER BY rowid")
        conn.execute("DROP TABLE decisions")
        conn.execute("ALTER TABLE decisions_v4 RENAME TO decisions")
        conn.execute(_SCHEMA[1])

    @staticmethod
    def _migrate_people_table(conn: sqlite3.Connection) -> None:
        """Schema 2 indexed the pseudonyms in a table of their own: move them into the rows' column."""
        conn.execute("UPDATE decisions SET people = (SELECT group_concat(pseudonym, ' ') FROM people "
                     "WHERE people.decision_id = decisions.decision_id) "
                     "WHERE decision_id IN (SELECT decision_id FROM people)")
        conn.execute("DROP TRIGGER IF EXISTS decisions_forget")
        conn.execute("DROP TABLE IF EXISTS people")

    def key_hex(self) -> str:
        """The pseudonymisation key, for a writer process of this log (`pdp.io.log_process`): never logged."""
        return self._key.hex()

    def close(self) -> None:
        with self._lock:
            if self._conn is not None and self._pid == os.getpid():
                self._conn.close()
            self._conn, self._closed = None, True

    def __enter__(self) -> DecisionLog:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # writing -----------------------------------------------------------------

    def append(self, request: dict, response: dict, *, endpoint: str = "/v1/decide",
               selection: Selection | None = None) -> None:
        """Log one decision; the row is committed when this returns.

        `selection` (log_view.selection_of the policy set that decided)
        adds the attributes its rules read. Raises `ValueError` for a
        response without `decision_id` or `decision`,
        `sqlite3.IntegrityError` for a decision id already logged, and
        `sqlite3.OperationalError` when the file stays locked longer than
        the busy timeout or the disk is full.
        """
        self.append_many([(request, response, endpoint, selection)])

    def append_many(self, entries: Iterable[tuple]) -> None:
        """Log several (request, response, endpoint[, selection]) decisions in one transaction: all or none.

        One commit for many rows is what lets a busy server log every
        decision without a commit's cost on each (group commit).
        """
        self.append_decided([(request, row_fields(response), endpoint, selection[0] if selection else None)
                             for request, response, endpoint, *selection in entries])

    def append_decided(self, entries: Iterable[tuple]) -> None:
        """`append_many` of (request, `row_fields(response)`, endpoint, selection): the answer's fields already
        taken out and checked."""
        now = self._clock()
        time = format_time(now)
        rows = [self._row(request, fields, endpoint, time, selection) for request, fields, endpoint, selection in entries]
        if not rows:
            return
        chunks = [rows[at:at + ROWS_PER_STATEMENT] for at in range(0, len(rows), ROWS_PER_STATEMENT)]
        with self._lock:
            conn = self._connection()
            if len(chunks) == 1:  # one statement is one transaction: all or none
                conn.execute(_insert(len(rows)), _values(rows))
            else:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    for chunk in chunks:
                        conn.execute(_insert(len(chunk)), _values(chunk))
                    conn.execute("COMMIT")
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
            due = self._last_retention is None or now - self._last_retention >= RETENTION_CHECK_EVERY
            if due:
                self._last_retention = now
            self._since_size_check += len(rows)
            size_due = self.max_bytes is not None and self._since_size_check >= SIZE_CHECK_EVERY
            if size_due:
                self._since_size_check = 0
        if due:
            try:
                self.enforce_retention()
            except sqlite3.Error:  # the rows are committed; retention will be tried again
                log.exception("decision log retention failed")
                self._last_retention = None
        if size_due:
            try:
                self.enforce_size()
            except sqlite3.Error:
                log.exception("decision log size limit failed")

    def _selection(self, selection: Selection | None) -> Selection:
        selection = selection or Selection()
        if not self.attributes:
            return selection
        found = self._selections.get(selection)
        if found is None:
            if len(self._selections) > 16:  # one per policy set served since the start; old ones go
                self._selections.clear()
            found = self._selections[selection] = selection.with_attributes(self.attributes)
        return found

    def _row(self, request: dict, fields: tuple, endpoint: str, time: str, selection: Selection | None) -> tuple:
        decision_id, decision, rules, digest = fields
        stored, people = treat(request, key=self._key, mask=self.mask, selection=self._selection(selection),
                               max_bytes=self.max_row_bytes)
        # `view` gives the pseudonyms sorted and each once: joined as they are, they are the column `_people` makes
        people_column = " ".join(people) if FAST_ROWS else _people(people)
        return (decision_id, time, endpoint, decision, rules, digest, stored, people_column)

    def enforce_retention(self) -> int:
        """Delete the rows older than `retention_days`; the number deleted."""
        cutoff = format_time(self._clock() - dt.timedelta(days=self.retention_days))
        with self._lock:
            cursor = self._connection().execute("DELETE FROM decisions WHERE time < ?", (cutoff,))
            return cursor.rowcount

    def used_bytes(self) -> int:
        """The bytes the rows take in the database file (its pages in use; the WAL is bounded apart)."""
        with self._lock:
            return self._live_bytes(self._connection())

    def enforce_size(self) -> int:
        """Delete the oldest rows while the log is larger than `max_bytes` (down to 90% of it); the number deleted."""
        if self.max_bytes is None:
            return 0
        deleted = 0
        while self.used_bytes() > self.max_bytes:
            with self._lock:
                conn = self._connection()
                count = conn.execute("SELECT COUNT(*) FROM decisions").fetchone()[0]
                if not count:
                    break
                used = self._live_bytes(conn)
                cut = max(1, int(count * (1 - 0.9 * self.max_bytes / used)))
                deleted += conn.execute("DELETE FROM decisions WHERE rowid IN (SELECT rowid FROM decisions "
                                        "ORDER BY time, rowid LIMIT ?)", (cut,)).rowcount
        if deleted:
            log.warning("decision log %s passed its size limit (%d bytes): the %d oldest rows were deleted",
                        self.path, self.max_bytes, deleted)
        return deleted

    @staticmethod
    def _live_bytes(conn: sqlite3.Connection) -> int:
        pages = conn.execute("PRAGMA page_count").fetchone()[0] - conn.execute("PRAGMA freelist_count").fetchone()[0]
        return max(1, pages * conn.execute("PRAGMA page_size").fetchone()[0])

    def erase(self, subject_id: Any) -> int:
        """Take the person `subject_id` (as any identifier) out of every row that names it; the number of rows.

        Each row stays as the proof of what was decided (`log_erasure`), without
        the person's pseudonym. The id is pseudonymised with this log's key and
        looked for in the rows' `people` column (a scan: see the module's note).
        """
        return self.erase_pseudonym(pseudonym(self._key, subject_id))

    def erase_pseudonym(self, name: str) -> int:
        """`erase` of the person whose pseudonym is `name`. The old contents are overwritten (`secure_delete`)
        and the WAL is checkpointed and truncated, so that no copy stays in the files."""
        with self._lock:
            conn = self._connection()
            conn.execute("BEGIN IMMEDIATE")
            try:
                rows = conn.execute(f"SELECT seq, request, people FROM decisions WHERE {_NAMES_PERSON}",
                                    (name,)).fetchall()
                conn.executemany("UPDATE decisions SET request = ?, people = ? WHERE seq = ?",
                                 [(proof(request, name), without(people, name), seq) for seq, request, people in rows])
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            if rows:
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            return len(rows)

    # the outbox of the combined log (`log_shipper`) ----------------------------

    def outbox(self) -> tuple[str, int]:
        """(this log's name in the combined log, the number of the last combined erasure applied to it)."""
        with self._lock:
            return self._connection().execute("SELECT outbox, erasures_applied FROM outbox").fetchone()

    def erasures_applied(self, last: int) -> None:
        with self._lock:
            self._connection().execute("UPDATE outbox SET erasures_applied = ?", (last,))

    def rows_after(self, seq: int, limit: int) -> list[tuple]:
        """Up to `limit` rows numbered after `seq`, in order: (seq, the columns, people)."""
        with self._lock:
            return self._connection().execute(
                f"SELECT seq, {', '.join(_COLUMNS)}, people FROM decisions WHERE seq > ? ORDER BY seq LIMIT ?",
                (seq, limit)).fetchall()

    # reading -----------------------------------------------------------------

    def _select(self, *, since, until, decision, decision_id, data_subject_id, limit) -> tuple[str, list]:
        if not isinstance(limit, int) or limit < 0:
            raise ValueError(f"`limit` must be a whole number >= 0, got `{limit}`")
        where, args = [], []
        if since is not None:
            where.append("time >= ?")
            args.append(_parse_bound(since, "since"))
        if until is not None:
            where.append("time < ?")
            args.append(_parse_bound(until, "until"))
        if decision is not None:
            where.append("decision = ?")
            args.append(decision)
        if decision_id is not None:
            where.append("decision_id = ?")
            args.append(decision_id)
        if data_subject_id is not None:
            where.append(_NAMES_PERSON)
            args.append(pseudonym(self._key, data_subject_id))
        sql = f"SELECT {', '.join(_COLUMNS)} FROM decisions"
        if where:
            sql += " WHERE " + " AND ".join(where)
        return sql + " ORDER BY time DESC, rowid DESC LIMIT ?", [*args, limit]

    def query(self, *, since: str | None = None, until: str | None = None, decision: str | None = None,
              decision_id: str | None = None, data_subject_id: Any = None, limit: int = 100) -> list[dict]:
        """Logged decisions, newest first. `since` is inclusive, `until` exclusive (ISO 8601 times).

        `data_subject_id` keeps the rows that name that id (pseudonymised with this log's key).
        """
        sql, args = self._select(since=since, until=until, decision=decision, decision_id=decision_id,
                                 data_subject_id=data_subject_id, limit=limit)
        with self._lock:
            rows = self._connection().execute(sql, args).fetchall()
        out = []
        for row in rows:
            item = dict(zip(_COLUMNS, row))
            item["rules"] = json.loads(item["rules"])
            item["request"] = json.loads(item["request"])
            out.append(item)
        return out

    def stream(self, *, since: str | None = None, until: str | None = None, decision: str | None = None,
               decision_id: str | None = None, data_subject_id: Any = None, limit: int = 100) -> Iterator[bytes]:
        """`query` as JSON text, `{"decisions": [...]}`, a row at a time from a reader of its own.

        The arguments are checked before this returns (a bad one raises
        ValueError); the rows are read as the iterator is consumed, so a
        large answer never sits in memory, and writers are not held up
        (WAL: a reader sees the rows committed when it started).
        """
        sql, args = self._select(since=since, until=until, decision=decision, decision_id=decision_id,
                                 data_subject_id=data_subject_id, limit=limit)
        if self._closed:
            raise ValueError("the decision log is closed")
        return self._rows_json(sql, args)

    def _rows_json(self, sql: str, args: list) -> Iterator[bytes]:
        reader = sqlite3.connect(f"file:{self.path.resolve()}?mode=ro", uri=True, check_same_thread=False,
                                 timeout=BUSY_TIMEOUT_MS / 1000)
        try:
            yield b'{"decisions":['
            for number, row in enumerate(reader.execute(sql, args)):
                decision_id, time, endpoint, decision, rules, digest, request = row
                yield (b"," if number else b"") + b"".join((
                    b'{"decision_id":', orjson.dumps(decision_id), b',"time":', orjson.dumps(time),
                    b',"endpoint":', orjson.dumps(endpoint), b',"decision":', orjson.dumps(decision),
                    b',"rules":', rules.encode(), b',"policy_digest":', orjson.dumps(digest),
                    b',"request":', request.encode(), b"}"))
            yield b"]}"
        finally:
            reader.close()

    def count(self) -> int:
        with self._lock:
            return self._connection().execute("SELECT COUNT(*) FROM decisions").fetchone()[0]

    @staticmethod
    def read_oldest_first(path: str | Path, limit: int | None = None) -> Iterator[LoggedRequest]:
        """The logged requests of the log at `path`, in the order they were decided (`pdp diff --log`).

        Read-only, without a DecisionLog: the file is never written, not even
        migrated, so a copy of a production log can be replayed as it is.
        The rows are read as the iterator is consumed. Raises ValueError
        (while iterating) when the file is not a pdp decision log.
        """
        reader = sqlite3.connect(f"file:{Path(path).resolve()}?mode=ro", uri=True)
        try:
            sql = "SELECT decision, request, endpoint FROM decisions ORDER BY time, rowid"
            rows = reader.execute(sql + " LIMIT ?", (int(limit),)) if limit is not None else reader.execute(sql)
            for decision, request, endpoint in rows:
                yield LoggedRequest(decision, request, endpoint)
        except sqlite3.DatabaseError as error:
            raise ValueError(f"`{path}` is not a pdp decision log: {error}") from None
        finally:
            reader.close()


def log_key(log_path: str | Path) -> bytes | None:
    """The pseudonymisation key of a decision log: `<log>.key` (as `pdp serve` keeps it), else `PDP_LOG_KEY`."""
    key_file = Path(f"{log_path}.key")
    if key_file.is_file():
        return key_file.read_text().strip().encode()
    key = os.environ.get("PDP_LOG_KEY")
    return key.encode() if key else None


class LoggedRequest(NamedTuple):
    """One logged request as it was stored: its request is JSON text, which may not parse (a foreign row)."""

    decision: str
    request: str
    endpoint: str


__all__ = ["DecisionLog", "LoggedRequest", "log_key", "projected", "pseudonym", "response_fields", "row_fields", "treat",
           "format_time", "MASKED", "PSEUDONYM_PREFIX"]
