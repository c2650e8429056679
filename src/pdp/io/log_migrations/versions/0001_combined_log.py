"""The combined decision log: every replica's rows, its key check, and the erasures every replica applies.

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


def upgrade() -> None:
    op.create_table(
        "decision_log",
        sa.Column("outbox", sa.String(36), primary_key=True),  # the replica's local log (a UUID kept in it)
        sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),  # the row's number in it
        sa.Column("replica", sa.String(200), nullable=False),
        sa.Column("decision_id", sa.Text, nullable=False),
        sa.Column("time", sa.String(27), nullable=False),
        sa.Column("endpoint", sa.Text, nullable=False),
        sa.Column("decision", sa.String(16), nullable=False),
        sa.Column("rules", sa.Text, nullable=False),
        sa.Column("policy_digest", sa.Text),
        sa.Column("request", sa.Text, nullable=False),
        sa.Column("people", sa.Text, nullable=False),
    )
    op.create_index("decision_log_time", "decision_log", ["time"])
    op.create_index("decision_log_decision_id", "decision_log", ["decision_id"])
    op.create_table(
        "decision_log_key",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("key_check", sa.String(71), nullable=False),
    )
    op.create_table(
        "decision_log_erasures",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("pseudonym", PSEUDONYM, nullable=False, unique=True),
        sa.Column("erased_at", sa.String(27), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("decision_log_erasures")
    op.drop_table("decision_log_key")
    op.drop_table("decision_log")
