"""The decision log: every decision the server makes, kept for audit.

One row per decision: its id, the time (UTC), the endpoint, the decision, the
ids of the rules that decided, the digest of the policy set that decided it,
and the request after privacy treatment. The legal team queries it later
("what did we decide about this person, under which policy, and why").

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

Privacy. The request is stored after two treatments, on a copy (the
caller's dicts are never touched):

- pseudonymisation: the data subject's id (`data_subject.id`; in AuthZEN
  requests `resource.properties.data_subject.id`, and `resource.id` when the
  resource is personal data) becomes `"hmac:" + HMAC-SHA256(key, id)` in
  hex. The same person maps to the same pseudonym, so an audit can follow
  one person; without the key nobody can reverse it or test a guessed id.
  Rotating the key breaks the link between old and new rows. This is
  pseudonymisation, not anonymisation: the key holder can re-identify.
- masking: the dotted attribute paths given in `mask` (for example
  `data_subject.age`, `context.note`) are replaced by `"***"` where present.

`PRAGMA secure_delete` is on, so rows removed by retention are overwritten
in the database file rather than left in free pages.

No web framework here: the server wires `DecisionLog` in and calls
`append` after deciding and before answering.
"""

from __future__ import annotations

import datetime as dt
import hmac
import json
import logging
import os
import sqlite3
import threading
import time

import orjson
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

log = logging.getLogger("pdp.server.decision_log")

MASKED = "***"
PSEUDONYM_PREFIX = "hmac:"
SYNCHRONOUS = ("NORMAL", "FULL", "EXTRA")
BUSY_TIMEOUT_MS = 5000
RETENTION_CHECK_EVERY = dt.timedelta(hours=1)
SCHEMA_VERSION = 1

_SCHEMA = ("""
CREATE TABLE IF NOT EXISTS decisions (
    decision_id   TEXT PRIMARY KEY,
    time          TEXT NOT NULL,   -- UTC, fixed width: YYYY-MM-DDTHH:MM:SS.ffffffZ
    endpoint      TEXT NOT NULL,
    decision      TEXT NOT NULL,
    rules         TEXT NOT NULL,   -- JSON list of rule ids
    policy_digest TEXT,
    request       TEXT NOT NULL    -- JSON, after pseudonymisation and masking
)""", "CREATE INDEX IF NOT EXISTS decisions_time ON decisions (time)")
_COLUMNS = ("decision_id", "time", "endpoint", "decision", "rules", "policy_digest", "request")


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
    except (TypeError, ValueError):
        raise ValueError(f"`{name}` must be an ISO 8601 time, got `{value}`") from None


# -- privacy treatment (pure) -------------------------------------------------

def pseudonym(key: bytes, subject_id: Any) -> str:
    """The keyed pseudonym of a subject id: `hmac:` + HMAC-SHA256 hex."""
    text = subject_id if isinstance(subject_id, str) else json.dumps(subject_id, sort_keys=True)
    return PSEUDONYM_PREFIX + hmac.digest(key, text.encode("utf-8"), "sha256").hex()


def _with_pseudonym(holder: Any, key: bytes) -> Any:
    if isinstance(holder, dict) and holder.get("id") is not None:
        return {**holder, "id": pseudonym(key, holder["id"])}
    return holder


def _pseudonymised(request: dict, key: bytes) -> dict:
    """The request with subject ids replaced by their pseudonyms.

    Only the objects on the way to an id are new; the rest is shared with
    the caller's request (nothing here writes to it), which spares a deep
    copy of every logged request.
    """
    out = dict(request)
    if "data_subject" in out:
        out["data_subject"] = _with_pseudonym(out["data_subject"], key)
    resource = out.get("resource")
    if isinstance(resource, dict):
        props = resource.get("properties")
        subject = props.get("data_subject") if isinstance(props, dict) else None
        # The engine reads `resource.id` as the subject's id whenever
        # `resource.properties.data_subject` is an object, whatever the type.
        if resource.get("type") == "personal_data" or isinstance(subject, dict):
            resource = _with_pseudonym(resource, key)
        if isinstance(subject, dict):
            resource = {**resource, "properties": {**props, "data_subject": _with_pseudonym(subject, key)}}
        out["resource"] = resource
    # An AuthZEN batch: each item may carry its own resource.
    items = out.get("evaluations")
    if isinstance(items, list):
        out["evaluations"] = [_pseudonymised(item, key) if isinstance(item, dict) else item for item in items]
    return out


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


def treat(request: dict, *, key: bytes, mask: Iterable[str] = ()) -> dict:
    """`request` with subject ids pseudonymised and `mask` paths masked; the caller's dicts are never changed."""
    out = _pseudonymised(request, key)
    if mask:
        # Masking may write anywhere: work on a deep copy (a JSON round trip is the cheapest one).
        out = orjson.loads(orjson.dumps(out, default=str, option=orjson.OPT_NON_STR_KEYS))
        for path in mask:
            _mask_path(out, path.split("."))
    return out


def _rule_ids(response: dict) -> list[str]:
    reasons = response.get("reasons") or []
    return [r.get("rule") for r in reasons if isinstance(r, dict) and r.get("rule") is not None]


# -- the store ----------------------------------------------------------------

class DecisionLog:
    """An append-only SQLite log of decisions; safe across threads and processes."""

    def __init__(self, path: str | Path, *, pseudonym_key: bytes, mask: Iterable[str] = (),
                 retention_days: int = 365, synchronous: str = "NORMAL",
                 clock: Callable[[], dt.datetime] = utc_now):
        if not isinstance(pseudonym_key, (bytes, bytearray)) or len(pseudonym_key) < 16:
            raise ValueError("`pseudonym_key` must be at least 16 random bytes (32 recommended)")
        synchronous = str(synchronous).upper()
        if synchronous not in SYNCHRONOUS:
            raise ValueError(f"`synchronous` must be one of {', '.join(SYNCHRONOUS)}, got `{synchronous}`")
        if not isinstance(retention_days, int) or retention_days < 1:
            raise ValueError(f"`retention_days` must be a whole number of days >= 1, got `{retention_days}`")
        if isinstance(mask, str):
            raise ValueError("`mask` is a list of dotted paths, not one string")
        self.path = Path(path)
        self.mask = tuple(mask)
        for entry in self.mask:
            if not entry or any(not part for part in entry.split(".")):
                raise ValueError(f"mask path `{entry}` is not a dotted attribute path")
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
        conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None,
                               check_same_thread=False)
        try:
            conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            mode = _enter_wal_mode(conn)
            if mode.lower() != "wal":
                raise sqlite3.OperationalError(f"cannot put the decision log in WAL mode (got `{mode}`)")
            conn.execute(f"PRAGMA synchronous={self.synchronous}")
            conn.execute("PRAGMA secure_delete=ON")
            conn.execute("BEGIN IMMEDIATE")  # schema in one transaction: processes may open a new file together
            try:
                for statement in _SCHEMA:
                    conn.execute(statement)
                if conn.execute("PRAGMA user_version").fetchone()[0] == 0:
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

    def append(self, request: dict, response: dict, *, endpoint: str = "/v1/decide") -> None:
        """Log one decision; the row is committed when this returns.

        Raises `ValueError` for a response without `decision_id` or
        `decision`, `sqlite3.IntegrityError` for a decision id already
        logged, and `sqlite3.OperationalError` when the file stays locked
        longer than the busy timeout or the disk is full.
        """
        self.append_many([(request, response, endpoint)])

    def append_many(self, entries: Iterable[tuple[dict, dict, str]]) -> None:
        """Log several (request, response, endpoint) decisions in one transaction: all or none.

        One commit for many rows is what lets a busy server log every
        decision without a commit's cost on each (group commit).
        """
        now = self._clock()
        time = format_time(now)
        rows = [self._row(request, response, endpoint, time) for request, response, endpoint in entries]
        if not rows:
            return
        insert = f"INSERT INTO decisions ({', '.join(_COLUMNS)}) VALUES (?, ?, ?, ?, ?, ?, ?)"
        with self._lock:
            conn = self._connection()
            if len(rows) == 1:
                conn.execute(insert, rows[0])
            else:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    conn.executemany(insert, rows)
                    conn.execute("COMMIT")
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
            due = self._last_retention is None or now - self._last_retention >= RETENTION_CHECK_EVERY
            if due:
                self._last_retention = now
        if due:
            try:
                self.enforce_retention()
            except sqlite3.Error:  # the rows are committed; retention will be tried again
                log.exception("decision log retention failed")
                self._last_retention = None

    def _row(self, request: dict, response: dict, endpoint: str, time: str) -> tuple:
        decision_id, decision = response.get("decision_id"), response.get("decision")
        if not decision_id or not isinstance(decision_id, str):
            raise ValueError("the response has no `decision_id` to log")
        if not isinstance(decision, str):
            raise ValueError("the response has no `decision` to log")
        policy = response.get("policy")
        digest = policy.get("digest") if isinstance(policy, dict) else None
        return (
            decision_id, time, endpoint, decision,
            orjson.dumps(_rule_ids(response)).decode(), digest,
            orjson.dumps(treat(request, key=self._key, mask=self.mask), default=str,
                         option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS).decode(),
        )

    def enforce_retention(self) -> int:
        """Delete the rows older than `retention_days`; the number deleted."""
        cutoff = format_time(self._clock() - dt.timedelta(days=self.retention_days))
        with self._lock:
            cursor = self._connection().execute("DELETE FROM decisions WHERE time < ?", (cutoff,))
            return cursor.rowcount

    # reading -----------------------------------------------------------------

    def query(self, *, since: str | None = None, until: str | None = None, decision: str | None = None,
              decision_id: str | None = None, limit: int = 100) -> list[dict]:
        """Logged decisions, newest first. `since` is inclusive, `until` exclusive (ISO 8601 times)."""
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
        sql = f"SELECT {', '.join(_COLUMNS)} FROM decisions"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY time DESC, rowid DESC LIMIT ?"
        with self._lock:
            rows = self._connection().execute(sql, (*args, limit)).fetchall()
        out = []
        for row in rows:
            item = dict(zip(_COLUMNS, row))
            item["rules"] = json.loads(item["rules"])
            item["request"] = json.loads(item["request"])
            out.append(item)
        return out

    def count(self) -> int:
        with self._lock:
            return self._connection().execute("SELECT COUNT(*) FROM decisions").fetchone()[0]


__all__ = ["DecisionLog", "pseudonym", "treat", "format_time", "MASKED"]
