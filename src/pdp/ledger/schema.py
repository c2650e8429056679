"""The ledger's tables (SQLAlchemy Core): one schema for SQLite and PostgreSQL.

Times are whole microseconds since the epoch, UTC (`*_us`): exact and
sortable in every backend. Subjects appear only as pseudonyms. The shipped
migrations (`migrations/versions/`) create exactly these tables; a test
compares the migrated database with this metadata.
"""

from __future__ import annotations

from sqlalchemy import (BigInteger, Column, Integer, LargeBinary, MetaData, String, Table, UniqueConstraint)

metadata = MetaData()
PSEUDONYM = String(69)  # "hmac:" + 64 hex
DIGEST = String(71)  # "sha256:" + 64 hex
NAME = String(64)

# One row: the last sequence number given. Taking it `FOR UPDATE` orders every write, so that sequence numbers
# are given in commit order and "the ledger has seen N" means it has seen every event up to N.
sequence = Table(
    "ledger_sequence", metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("last_seq", BigInteger, nullable=False),
    Column("key_check", DIGEST),  # proves the ledger key is the one the ledger was made with (store.py)
)

# Each subject's chain head (count and last link) and its key generation; erased_us once erased.
subjects = Table(
    "ledger_subjects", metadata,
    Column("subject", PSEUDONYM, primary_key=True),
    Column("events", Integer, nullable=False),
    Column("head", DIGEST, nullable=False),
    Column("last_seq", BigInteger, nullable=False),
    Column("key_generation", Integer, nullable=False),
    Column("erased_us", BigInteger, nullable=True),
)

# A subject's data keys, wrapped by the ledger key; erasure sets `wrapped` to NULL (crypto-shredding).
subject_keys = Table(
    "ledger_subject_keys", metadata,
    Column("subject", PSEUDONYM, primary_key=True),
    Column("generation", Integer, primary_key=True, autoincrement=False),
    Column("wrapped", LargeBinary, nullable=True),
    Column("created_us", BigInteger, nullable=False),
    Column("destroyed_us", BigInteger, nullable=True),
)

# Append-only: rows are inserted, never updated or deleted.
events = Table(
    "ledger_events", metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("event_id", String(36), nullable=False, unique=True),
    Column("subject", PSEUDONYM, nullable=False),
    Column("position", Integer, nullable=False),
    Column("kind", String(32), nullable=False),
    Column("topic", NAME),
    Column("purpose", NAME),
    Column("channel", NAME),
    Column("scope", NAME),
    Column("outcome", String(16)),
    Column("notice_version", String(256)),
    Column("notice_digest", DIGEST),
    Column("method", NAME, nullable=False),
    Column("actor_type", String(16), nullable=False),
    Column("occurred_us", BigInteger, nullable=False),
    Column("recorded_us", BigInteger, nullable=False),
    Column("expires_us", BigInteger),
    Column("client_event_key", PSEUDONYM, unique=True),
    Column("key_generation", Integer, nullable=False),
    Column("sealed", LargeBinary, nullable=False),
    Column("link", DIGEST, nullable=False),
    UniqueConstraint("subject", "position", name="uq_ledger_events_subject_position"),
)

# The current state: each subject's fact per key, kept in the transaction that records its event.
state = Table(
    "ledger_state", metadata,
    Column("subject", PSEUDONYM, primary_key=True),
    Column("key", String(200), primary_key=True),
    Column("status", String(16), nullable=False),
    Column("event_id", String(36), nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("occurred_us", BigInteger, nullable=False),
    Column("expires_us", BigInteger),
    Column("notice_version", String(256)),
)

__all__ = ["events", "metadata", "sequence", "state", "subject_keys", "subjects"]
