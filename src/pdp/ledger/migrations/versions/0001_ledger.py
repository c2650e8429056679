"""The consent ledger's first schema: sequence, subjects, subject keys, events (append-only), state.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

PSEUDONYM = sa.String(69)
DIGEST = sa.String(71)
NAME = sa.String(64)


def upgrade() -> None:
    op.create_table(
        "ledger_sequence",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("last_seq", sa.BigInteger, nullable=False),
        sa.Column("key_check", DIGEST),
    )
    op.bulk_insert(sa.table("ledger_sequence", sa.column("id", sa.Integer), sa.column("last_seq", sa.BigInteger)),
                   [{"id": 1, "last_seq": 0}])
    op.create_table(
        "ledger_subjects",
        sa.Column("subject", PSEUDONYM, primary_key=True),
        sa.Column("events", sa.Integer, nullable=False),
        sa.Column("head", DIGEST, nullable=False),
        sa.Column("last_seq", sa.BigInteger, nullable=False),
        sa.Column("key_generation", sa.Integer, nullable=False),
        sa.Column("erased_us", sa.BigInteger, nullable=True),
    )
    op.create_table(
        "ledger_subject_keys",
        sa.Column("subject", PSEUDONYM, primary_key=True),
        sa.Column("generation", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("wrapped", sa.LargeBinary, nullable=True),
        sa.Column("created_us", sa.BigInteger, nullable=False),
        sa.Column("destroyed_us", sa.BigInteger, nullable=True),
    )
    op.create_table(
        "ledger_events",
        sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("event_id", sa.String(36), nullable=False, unique=True),
        sa.Column("subject", PSEUDONYM, nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("topic", NAME),
        sa.Column("purpose", NAME),
        sa.Column("channel", NAME),
        sa.Column("scope", NAME),
        sa.Column("outcome", sa.String(16)),
        sa.Column("notice_version", sa.String(256)),
        sa.Column("notice_digest", DIGEST),
        sa.Column("method", NAME, nullable=False),
        sa.Column("actor_type", sa.String(16), nullable=False),
        sa.Column("occurred_us", sa.BigInteger, nullable=False),
        sa.Column("recorded_us", sa.BigInteger, nullable=False),
        sa.Column("expires_us", sa.BigInteger),
        sa.Column("client_event_key", PSEUDONYM, unique=True),
        sa.Column("key_generation", sa.Integer, nullable=False),
        sa.Column("sealed", sa.LargeBinary, nullable=False),
        sa.Column("link", DIGEST, nullable=False),
        sa.UniqueConstraint("subject", "position", name="uq_ledger_events_subject_position"),
    )
    op.create_table(
        "ledger_state",
        sa.Column("subject", PSEUDONYM, primary_key=True),
        sa.Column("key", sa.String(200), primary_key=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("event_id", sa.String(36), nullable=False),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("occurred_us", sa.BigInteger, nullable=False),
        sa.Column("expires_us", sa.BigInteger),
        sa.Column("notice_version", sa.String(256)),
    )


def downgrade() -> None:
    for table in ("ledger_state", "ledger_events", "ledger_subject_keys", "ledger_subjects", "ledger_sequence"):
        op.drop_table(table)
