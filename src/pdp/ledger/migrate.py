"""Bring a ledger database to the current schema with the migrations shipped in the package (alembic).

Run by `open_ledger` on every open, so users need no `alembic.ini` and no
step of their own: a new database gets every table, an older one the
migrations it lacks, a current one nothing. On PostgreSQL the run holds an
advisory lock, so replicas starting together migrate once; on SQLite the
migration's write transaction does the same.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, text

MIGRATIONS = Path(__file__).with_name("migrations")
VERSION_TABLE = "ledger_alembic_version"
LOCK_ID = 0x70647065646C67  # "pdpledg": the advisory lock of a ledger migration on PostgreSQL


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def head() -> str:
    """The revision the shipped migrations end at."""
    revision = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert revision is not None
    return revision


def current(connection: Connection) -> str | None:
    return MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE}).get_current_revision()


def upgrade(engine: Engine) -> None:
    """Run the migrations the database lacks; nothing when it is current."""
    target = head()
    with engine.connect() as connection:
        if current(connection) == target:
            return
    with engine.connect() as connection:
        postgres = engine.dialect.name == "postgresql"
        if postgres:
            connection.execute(text("SELECT pg_advisory_lock(:id)"), {"id": LOCK_ID})
            connection.commit()
        try:
            command.upgrade(alembic_config(connection), "head")
            connection.commit()
        finally:
            if postgres:
                connection.execute(text("SELECT pg_advisory_unlock(:id)"), {"id": LOCK_ID})
                connection.commit()


__all__ = ["MIGRATIONS", "VERSION_TABLE", "current", "head", "upgrade"]
