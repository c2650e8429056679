"""Alembic's environment for the combined decision log: always run by `pdp.io.combined_log` on its connection.

The version table has its own name, so the combined log can share a database
(and a schema) with the consent ledger or an application that uses alembic.
"""

from alembic import context

VERSION_TABLE = "decision_log_alembic_version"

connection = context.config.attributes["connection"]
context.configure(connection=connection, version_table=VERSION_TABLE, transactional_ddl=True)
with context.begin_transaction():
    context.run_migrations()
