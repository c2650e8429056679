"""Where a ledger lives and the key it is read with: a path or URL to a SQLAlchemy engine, the key's sources.

A plain path (`consent.db`) or a `sqlite:///` URL is the embedded SQLite
store, in WAL mode as the decision log is (readers never wait for the writer;
several processes may share the file). A `postgresql://` URL (or `postgres://`,
or with `+psycopg`) is PostgreSQL through psycopg 3 (`pip install
'pdp[postgresql]'`).

The ledger key (the secret behind the pseudonyms and the subjects' data keys):
given to `open_ledger`, else the file `PDP_LEDGER_KEY_FILE` names, else
`PDP_LEDGER_KEY` itself; for a SQLite file without either, `<file>.key` beside
it, made (32 random bytes, owner-only) when the ledger is new (never for an
existing ledger: a new key would find none of its subjects). A PostgreSQL
ledger never makes one: every replica must read the same key, so a missing
key is an error, never a fresh key that would hide every recorded choice.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

OWNER_ONLY = 0o600
WRITE = "ledger_write"  # the execution option of a connection that writes (SQLite: BEGIN IMMEDIATE)
BUSY_TIMEOUT_S = 30


class LedgerConfigError(ValueError):
    """A ledger that cannot be opened as asked: a bad URL, a missing or wrong key, an unreachable database."""


def url_of(target: str | os.PathLike[str]) -> URL:
    """The SQLAlchemy URL of a path or URL; PostgreSQL through psycopg 3."""
    text = os.fspath(target)
    if "://" not in text:
        return URL.create("sqlite", database=str(Path(text)))
    try:
        url = make_url(text)
    except ArgumentError:
        raise LedgerConfigError(f"`{_hidden(text)}` is not a database URL (sqlite:///FILE or postgresql://...)") from None
    if url.drivername in ("postgresql", "postgres", "postgresql+psycopg"):
        return url.set(drivername="postgresql+psycopg")
    if url.drivername in ("sqlite", "sqlite+pysqlite"):
        return url.set(drivername="sqlite")
    raise LedgerConfigError(f"the ledger runs on SQLite or PostgreSQL, not `{url.drivername}`")


def _hidden(text: str) -> str:
    try:
        return make_url(text).render_as_string(hide_password=True)
    except ArgumentError:
        return text.split("@")[-1]


def engine_for(url: URL) -> Engine:
    if url.get_backend_name() == "sqlite":
        if not url.database or url.database == ":memory:":
            raise LedgerConfigError("the SQLite ledger needs a file (an in-memory database is gone when closed)")
        _owner_only(Path(url.database))
        engine = create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_S})
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    return create_engine(url, pool_pre_ping=True)


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # SQLAlchemy begins transactions itself (below): pysqlite's own BEGIN would not take the write lock up front
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _sqlite_begin(connection: Any) -> None:
    # a writer takes the write lock when it begins, so two writers never deadlock upgrading a read lock
    connection.exec_driver_sql("BEGIN IMMEDIATE" if connection.get_execution_options().get(WRITE) else "BEGIN")


def _owner_only(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, OWNER_ONLY))
    except FileExistsError:
        pass


def ledger_secret(url: URL, key: bytes | str | None = None, key_file: str | os.PathLike[str] | None = None) -> bytes:
    """The ledger key from the first source that has one (module docstring)."""
    if key is not None:
        return key.encode() if isinstance(key, str) else bytes(key)
    key_file = key_file or os.environ.get("PDP_LEDGER_KEY_FILE")
    if key_file:
        try:
            return Path(key_file).read_text().strip().encode()
        except OSError as error:
            raise LedgerConfigError(f"cannot read the ledger key file `{key_file}`: {error.strerror}") from None
    if os.environ.get("PDP_LEDGER_KEY"):
        return os.environ["PDP_LEDGER_KEY"].encode()
    if url.get_backend_name() == "sqlite" and url.database:
        beside = Path(f"{url.database}.key")
        database = Path(url.database)
        if not beside.exists() and database.is_file() and database.stat().st_size > 0:
            raise LedgerConfigError(f"the ledger `{database}` exists but its key `{beside}` does not: give its key "
                                    "(--key-file, PDP_LEDGER_KEY_FILE); a new key would find none of its subjects")
        if not beside.exists():
            fd = os.open(beside, os.O_WRONLY | os.O_CREAT | os.O_EXCL, OWNER_ONLY)
            with os.fdopen(fd, "w") as out:
                out.write(secrets.token_hex(32) + "\n")
        return beside.read_text().strip().encode()
    raise LedgerConfigError("no ledger key: set PDP_LEDGER_KEY_FILE (or PDP_LEDGER_KEY) to the key every replica "
                            "shares; a PostgreSQL ledger never makes one of its own")


def display(url: URL) -> str:
    """The URL as it may be shown: without its password."""
    return url.render_as_string(hide_password=True)


__all__ = ["LedgerConfigError", "WRITE", "display", "engine_for", "ledger_secret", "url_of"]
