"""The combined decision log's schema migrations (alembic), shipped inside the package and run when it opens."""
