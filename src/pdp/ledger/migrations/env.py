"""Alembic's environment for the ledger: always run by `pdp.ledger.migrate` on a connection it opened.

The version table has its own name, so the ledger can share a database (and a
schema) with an application that uses alembic for itself.
"""

from alembic import context

VERSION_TABLE = "ledger_alembic_version"

connection = context.config.attributes["connection"]
context.configure(connection=connection, version_table=VERSION_TABLE, transactional_ddl=True)
with context.begin_transaction():
    context.run_migrations()
