"""The throwaway PostgreSQL server of the ledger's tests: found where Debian puts it, and never a silent skip."""

from pathlib import Path

import tests.support.postgres as postgres

pytest_plugins = ["pytester"]


def test_the_binaries_are_found_where_debian_installs_them_when_not_on_path(monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    installed = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: float(p.parent.parent.name))
    assert postgres.binaries() == (installed[-1].parent if installed else None)


def test_without_postgresql_a_ledger_test_fails_saying_what_to_install(pytester, monkeypatch):
    monkeypatch.setattr(postgres, "binaries", lambda: None)
    monkeypatch.setenv("CI", "true")
    pytester.makeconftest('pytest_plugins = ["tests.support.postgres"]\n')
    pytester.makepyfile(test_needs_postgres="def test_it(postgres_url):\n    assert postgres_url\n")
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider", "-rA")
    result.assert_outcomes(errors=1)  # and no skip, no pass
    assert result.ret != 0
    result.stdout.fnmatch_lines(["*apt-get install postgresql*CI=true: a missing PostgreSQL fails the run*"])


def test_the_server_serves_and_each_test_gets_an_empty_schema(postgres_cluster, postgres_url):
    import psycopg

    with psycopg.connect(postgres_url) as connection:
        schema = connection.execute("SELECT current_schema()").fetchone()[0]
        tables = connection.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = %s",
                                    (schema,)).fetchone()[0]
    assert schema.startswith("t_") and tables == 0
