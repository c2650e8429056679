"""The combined decision log: every replica's rows in one PostgreSQL table, read by the admin API and `pdp diff`.

Each replica keeps its own SQLite log (`decision_log`) as the outbox: a
decision is answered once its row is committed there, as without the
combined log, so `kill -9` loses nothing that was answered. The shipper
(`log_shipper`) copies the committed rows here, off the request's path; a
row is keyed by (its outbox, its number there), so shipping it twice
changes nothing. `replica` names the replica it came from.

The schema comes from the migrations shipped in `log_migrations` (alembic,
as the ledger's): run on every open, under an advisory lock so that replicas
starting together migrate once.

One pseudonym key for all. A row names people by their pseudonym under the
log's key; the combined log finds one person's rows, and erases them, by the
pseudonym of their id. Replicas with different keys would each see only
their own rows of a person, and an erasure would miss the others': so the
first replica to open the combined log records a check of its key
(`decision_log_key`, an HMAC: it does not reveal the key) and a replica with
another key is refused (`CombinedLogError`): its rows stay in its outbox.

Erasure (`erase`): the person's pseudonym is recorded in
`decision_log_erasures` and taken out of every combined row that names it,
in one transaction under an exclusive advisory lock; every shipper reads the
erasures under the same lock, shared, before it ships, and applies them to
its outbox and to what it ships, so no row naming the person reaches the
table afterwards, from any replica (`log_shipper`).
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
from collections.abc import Iterator
from pathlib import Path

import orjson
import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError

from pdp.base.pseudonym import pseudonym
from .decision_log import format_time, utc_now
from .log_erasure import proof, without

MIGRATIONS = Path(__file__).with_name("log_migrations")
VERSION_TABLE = "decision_log_alembic_version"
MIGRATION_LOCK = 0x7064706C6F676D  # "pdplogm": migrating, once for replicas starting together
ERASURE_LOCK = 0x7064706C6F6765  # "pdploge": an erasure (exclusive) against shipping (shared)
COLUMNS = ("decision_id", "time", "endpoint", "decision", "rules", "policy_digest", "request")
# A shipment's rows are copied (PostgreSQL's COPY, psycopg's C writer) into a temporary table and inserted from it,
# rather than inserted row by row with SQLAlchemy's parameters (about a fifth of the shipper's CPU a row;
# bench/log_shipper.py). False: the plain insert; a property test proves both store the same rows.
COPIED = True
CONNECT_TIMEOUT_S = 10
SWITCHES = ("COPIED",)
_SHIPPED = ("outbox", "seq", "replica", *COLUMNS, "people")

_metadata = sa.MetaData()
decisions = sa.Table(
    "decision_log", _metadata,
    sa.Column("outbox", sa.String(36), primary_key=True), sa.Column("seq", sa.BigInteger, primary_key=True),
    sa.Column("replica", sa.String(200)), sa.Column("decision_id", sa.Text), sa.Column("time", sa.String(27)),
    sa.Column("endpoint", sa.Text), sa.Column("decision", sa.String(16)), sa.Column("rules", sa.Text),
    sa.Column("policy_digest", sa.Text), sa.Column("request", sa.Text), sa.Column("people", sa.Text))
key_table = sa.Table("decision_log_key", _metadata, sa.Column("id", sa.Integer, primary_key=True),
                     sa.Column("key_check", sa.String(71)))
erasures = sa.Table("decision_log_erasures", _metadata, sa.Column("id", sa.BigInteger, primary_key=True),
                    sa.Column("pseudonym", sa.String(69)), sa.Column("erased_at", sa.String(27)))


class CombinedLogError(ValueError):
    """The combined log cannot be used as asked: a URL that is not PostgreSQL's, or a key that is not the log's."""


def url_of(text: str) -> sa.URL:
    """The URL of the combined log: PostgreSQL, through psycopg 3."""
    try:
        url = make_url(text)
    except ArgumentError:
        raise CombinedLogError("the combined decision log's URL must be postgresql://...") from None
    if url.drivername not in ("postgresql", "postgres", "postgresql+psycopg"):
        raise CombinedLogError(f"the combined decision log runs on PostgreSQL, not `{url.drivername}`")
    return url.set(drivername="postgresql+psycopg")


def is_url(text: str) -> bool:
    return text.startswith(("postgresql://", "postgres://", "postgresql+psycopg://"))


def key_check(key: bytes) -> str:
    return "sha256:" + hmac.new(key, b"pdp decision log key check", hashlib.sha256).hexdigest()


def _alembic(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def migrate(engine: Engine) -> None:
    """Run the migrations the database lacks; nothing when it is current."""
    head = ScriptDirectory.from_config(_alembic()).get_current_head()
    with engine.connect() as connection:
        if MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE}).get_current_revision() == head:
            return
        connection.execute(sa.text("SELECT pg_advisory_lock(:id)"), {"id": MIGRATION_LOCK})
        connection.commit()
        try:
            command.upgrade(_alembic(connection), "head")
            connection.commit()
        finally:
            connection.execute(sa.text("SELECT pg_advisory_unlock(:id)"), {"id": MIGRATION_LOCK})
            connection.commit()


class CombinedLog:
    """Every replica's decision log in PostgreSQL: shipped to, read, and erased from."""

    def __init__(self, url: str, *, pseudonym_key: bytes, pool_size: int = 2, read_only: bool = False):
        """`read_only`: neither migrated nor its key recorded (`pdp diff --replay` on a production database)."""
        self.url = url_of(url)
        self._key = bytes(pseudonym_key)
        # a host that does not answer fails in seconds, not at TCP's timeout: an admin request or a shipper waits
        self.engine = sa.create_engine(self.url, pool_pre_ping=True, pool_size=pool_size, max_overflow=2,
                                       connect_args={"connect_timeout": CONNECT_TIMEOUT_S})
        try:
            if not read_only:
                migrate(self.engine)
            self._check_key(record=not read_only)
        except BaseException:
            self.engine.dispose()
            raise

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> CombinedLog:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def display(self) -> str:
        return self.url.render_as_string(hide_password=True)

    def _check_key(self, record: bool) -> None:
        mine = key_check(self._key)
        with self.engine.begin() as connection:
            if record:
                connection.execute(pg_insert(key_table).values(id=1, key_check=mine).on_conflict_do_nothing())
            recorded = connection.execute(sa.select(key_table.c.key_check)).scalar()
        if recorded is not None and not hmac.compare_digest(recorded, mine):
            raise CombinedLogError("this replica's decision log key is not the combined log's: every replica must "
                                   "pseudonymise with the same key (PDP_LOG_KEY), or one person's rows could not be "
                                   "found nor erased together")

    # shipping ----------------------------------------------------------------

    def high_water(self, outbox: str) -> int:
        """The number of the last row of `outbox` the combined log holds (0: none)."""
        with self.engine.connect() as connection:
            return connection.execute(sa.select(sa.func.coalesce(sa.func.max(decisions.c.seq), 0))
                                      .where(decisions.c.outbox == outbox)).scalar_one()

    @contextlib.contextmanager
    def shipping(self) -> Iterator[Shipment]:
        """A transaction to ship in: erasures cannot commit between reading them and inserting rows."""
        with self.engine.begin() as connection:
            connection.execute(sa.text("SELECT pg_advisory_xact_lock_shared(:id)"), {"id": ERASURE_LOCK})
            yield Shipment(connection)

    # erasure -----------------------------------------------------------------

    def erase(self, subject_id: str, now: str, *, then=None) -> int:
        """Take the person `subject_id` out of every combined row that names them, and have every replica take
        them out of its outbox; the number of combined rows. `then()`, when given, runs under the erasure's lock
        (the replica's own outbox, erased before any shipper reads it again)."""
        name = pseudonym(self._key, subject_id)
        with self.engine.begin() as connection:
            connection.execute(sa.text("SELECT pg_advisory_xact_lock(:id)"), {"id": ERASURE_LOCK})
            connection.execute(pg_insert(erasures).values(pseudonym=name, erased_at=now).on_conflict_do_nothing())
            rows = connection.execute(sa.select(decisions.c.outbox, decisions.c.seq, decisions.c.request,
                                                decisions.c.people)
                                      .where(sa.func.strpos(decisions.c.people, name) > 0)).all()
            if rows:
                connection.execute(decisions.update().where(decisions.c.outbox == sa.bindparam("o"),
                                                            decisions.c.seq == sa.bindparam("s"))
                                   .values(request=sa.bindparam("r"), people=sa.bindparam("p")),
                                   [{"o": outbox, "s": seq, "r": proof(request, name), "p": without(people, name)}
                                    for outbox, seq, request, people in rows])
            if then is not None:
                then()
        return len(rows)

    # reading -----------------------------------------------------------------

    def _select(self, *, since, until, decision, decision_id, data_subject_id, limit) -> sa.Select:
        query = sa.select(decisions.c.replica, *(decisions.c[name] for name in COLUMNS))
        if since is not None:
            query = query.where(decisions.c.time >= since)
        if until is not None:
            query = query.where(decisions.c.time < until)
        if decision is not None:
            query = query.where(decisions.c.decision == decision)
        if decision_id is not None:
            query = query.where(decisions.c.decision_id == decision_id)
        if data_subject_id is not None:
            query = query.where(sa.func.strpos(decisions.c.people, pseudonym(self._key, data_subject_id)) > 0)
        return query.order_by(decisions.c.time.desc(), decisions.c.outbox, decisions.c.seq.desc()).limit(limit)

    def stream(self, *, since: str | None = None, until: str | None = None, decision: str | None = None,
               decision_id: str | None = None, data_subject_id: str | None = None,
               limit: int = 100) -> Iterator[bytes]:
        """`DecisionLog.stream` of the combined log: `{"decisions": [...]}`, newest first, each row naming its
        replica. `since` and `until` are times as `decision_log.format_time` writes them."""
        query = self._select(since=since, until=until, decision=decision, decision_id=decision_id,
                             data_subject_id=data_subject_id, limit=limit)
        return self._rows_json(query)

    def _rows_json(self, query: sa.Select) -> Iterator[bytes]:
        with self.engine.connect() as connection:
            rows = connection.execution_options(yield_per=500).execute(query)
            yield b'{"decisions":['  # once the query runs: a database that cannot answer fails the first step
            for number, row in enumerate(rows):
                replica, decision_id, time, endpoint, decision, rules, digest, request = row
                yield (b"," if number else b"") + b"".join((
                    b'{"decision_id":', orjson.dumps(decision_id), b',"time":', orjson.dumps(time),
                    b',"endpoint":', orjson.dumps(endpoint), b',"decision":', orjson.dumps(decision),
                    b',"rules":', rules.encode(), b',"policy_digest":', orjson.dumps(digest),
                    b',"request":', request.encode(), b',"replica":', orjson.dumps(replica), b"}"))
            yield b"]}"

    def query(self, **filters) -> list[dict]:
        """`stream`, parsed."""
        return orjson.loads(b"".join(self.stream(**filters)))["decisions"]

    def read_oldest_first(self, limit: int | None = None) -> Iterator[tuple[str, str, str]]:
        """(decision, request, endpoint) of every combined row, in the order decided (`pdp diff --replay URL`)."""
        query = sa.select(decisions.c.decision, decisions.c.request, decisions.c.endpoint).order_by(
            decisions.c.time, decisions.c.outbox, decisions.c.seq)
        if limit is not None:
            query = query.limit(limit)
        with self.engine.connect() as connection:
            for row in connection.execution_options(yield_per=500).execute(query):
                yield row.decision, row.request, row.endpoint


class Shipment:
    """One shipping transaction (`CombinedLog.shipping`): the erasures to apply first, then the rows."""

    def __init__(self, connection: Connection):
        self._connection = connection

    def erasures_after(self, last: int) -> list[tuple[int, str]]:
        return [tuple(row) for row in self._connection.execute(
            sa.select(erasures.c.id, erasures.c.pseudonym).where(erasures.c.id > last).order_by(erasures.c.id))]

    def insert(self, outbox: str, replica: str, rows: list[tuple]) -> None:
        """Rows as `DecisionLog.rows_after` reads them; one already there is left as it is."""
        if COPIED:
            self._copy(outbox, replica, rows)
            return
        names = ("seq", *COLUMNS, "people")
        self._connection.execute(pg_insert(decisions).on_conflict_do_nothing(),
                                 [{"outbox": outbox, "replica": replica, **dict(zip(names, row))} for row in rows])

    def _copy(self, outbox: str, replica: str, rows: list[tuple]) -> None:
        columns = ", ".join(_SHIPPED)
        driver = self._connection.connection.driver_connection  # psycopg's, in this same transaction
        assert driver is not None
        with driver.cursor() as cursor:
            # this connection's own table, emptied at each commit (and at a rollback, with the transaction)
            cursor.execute("CREATE TEMPORARY TABLE IF NOT EXISTS decision_log_incoming "
                           "(LIKE decision_log) ON COMMIT DELETE ROWS")
            with cursor.copy(f"COPY decision_log_incoming ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row((outbox, row[0], replica, *row[1:]))
            cursor.execute(f"INSERT INTO decision_log ({columns}) SELECT {columns} FROM decision_log_incoming "
                           "ON CONFLICT DO NOTHING")


__all__ = ["CombinedLog", "CombinedLogError", "Shipment", "format_time", "is_url", "key_check", "url_of", "utc_now"]
