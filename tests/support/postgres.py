"""A throwaway PostgreSQL server for the tests: initdb and pg_ctl on a temporary directory and a free port.

Started once per test process (session fixture `postgres_cluster`), stopped
and removed at its end. Each test that asks for `postgres_url` gets a schema
of its own on it (`search_path` in the URL), dropped afterwards. The binaries
are found on PATH or in /usr/lib/postgresql/*/bin (Debian's package); as root
(CI) the server runs as the `postgres` user that package creates, since
PostgreSQL refuses to run as root. Without the binaries the tests that need
them fail, naming what to install: a ledger test never skips to look green.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

INSTALL = ("PostgreSQL's server binaries (initdb, pg_ctl) are not on PATH nor in /usr/lib/postgresql/*/bin: "
           "install Debian's package (`apt-get install postgresql`; .ci/run does so in CI) or your system's "
           "PostgreSQL server package, then run the tests again")


def binaries() -> Path | None:
    """The directory of initdb and pg_ctl: on PATH, else the newest /usr/lib/postgresql/N/bin."""
    found = shutil.which("initdb")
    if found and shutil.which("pg_ctl"):
        return Path(found).resolve().parent
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: _number(p.parent.name), reverse=True)
    return next((v for v in versions if (v / "initdb").is_file() and (v / "pg_ctl").is_file()), None)


def _number(name: str) -> float:
    try:
        return float(name)
    except ValueError:
        return 0.0


def _users(*names: str) -> Iterator[pwd.struct_passwd]:
    for name in names:
        with contextlib.suppress(KeyError):
            yield pwd.getpwnam(name)


def free_port() -> int:
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Cluster:
    """One PostgreSQL server on a temporary data directory, trusting local connections (a test server only)."""

    def __init__(self, bin_dir: Path, *, fsync: bool = False):
        self.bin_dir = bin_dir
        self.fsync = fsync
        self.directory = Path(tempfile.mkdtemp(prefix="pdp-postgres-"))
        self.data = self.directory / "data"
        self.port = free_port()
        self.as_user: list[str] = []
        if os.geteuid() == 0:  # PostgreSQL refuses root: run it as Debian's `postgres` user (else `nobody`)
            owner = next((user for user in _users("postgres", "nobody")), None)
            if owner is None:
                raise RuntimeError("as root, PostgreSQL must run as another user: create a `postgres` user")
            os.chown(self.directory, owner.pw_uid, owner.pw_gid)
            self.as_user = ["runuser", "-u", owner.pw_name, "--"]

    def _run(self, *args: str) -> None:
        result = subprocess.run([*self.as_user, *args], capture_output=True, text=True, timeout=120, check=False)
        if result.returncode != 0:
            raise RuntimeError(f"`{' '.join(args)}` failed ({result.returncode}):\n{result.stdout}{result.stderr}")

    def start(self) -> Cluster:
        self._run(str(self.bin_dir / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust",
                  "-E", "UTF8", "--no-sync", "--no-instructions")
        options = (f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 "
                   f"-c fsync={'on' if self.fsync else 'off'} -c max_connections=100")
        self._run(str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-o", options, "-l",
                  str(self.directory / "server.log"), "-w", "-t", "60", "start")
        return self

    def stop(self) -> None:
        with contextlib.suppress(RuntimeError, subprocess.TimeoutExpired):
            self._run(str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.directory, ignore_errors=True)

    def url(self, schema: str | None = None) -> str:
        base = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        return base + (f"?options=-csearch_path%3D{schema}" if schema else "")

    def execute(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(self.url(), autocommit=True) as connection:
            connection.execute(sql)

    @contextlib.contextmanager
    def schema(self) -> Iterator[str]:
        """A URL whose connections work in a new, empty schema, dropped afterwards."""
        name = "t_" + uuid.uuid4().hex[:12]
        self.execute(f"CREATE SCHEMA {name}")
        try:
            yield self.url(name)
        finally:
            self.execute(f"DROP SCHEMA {name} CASCADE")


def start_cluster(*, fsync: bool = False, tries: int = 3) -> Cluster:
    """A started server; a port taken by another process between probing and binding is tried again elsewhere."""
    bin_dir = binaries()
    if bin_dir is None:
        raise RuntimeError(INSTALL)
    for attempt in range(tries):
        cluster = Cluster(bin_dir, fsync=fsync)
        try:
            return cluster.start()
        except RuntimeError:
            cluster.stop()
            if attempt == tries - 1:
                raise
    raise AssertionError("unreachable")


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[Cluster]:
    """A PostgreSQL server for this test process; fails (never skips) when PostgreSQL is not installed."""
    if binaries() is None:
        pytest.fail(INSTALL + (" (CI=true: a missing PostgreSQL fails the run)" if os.environ.get("CI") else ""),
                    pytrace=False)
    cluster = start_cluster()
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def postgres_url(postgres_cluster: Cluster) -> Iterator[str]:
    with postgres_cluster.schema() as url:
        yield url
