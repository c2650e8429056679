"""The ledger's schema migrations (alembic), shipped inside the package and run when a store opens."""
