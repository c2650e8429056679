"""The ledger's tests: each backend as a fixture (SQLite in a file, PostgreSQL on the throwaway server), and events."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from pdp.ledger import open_ledger
from pdp.ledger.store import Ledger

BACKENDS = ["sqlite", "postgresql"]
KEY = "a test ledger key of 32 bytes ok"
NOTICE = {"version": "2026-11-24", "digest": "sha256:" + "ab" * 32}


def event(kind: str, subject: str = "alice@example.com", occurred_at: str = "2026-03-01T10:00:00Z",
          **fields: Any) -> dict[str, Any]:
    """A valid event of `kind` (the fields its kind requires filled in), with `fields` on top."""
    base: dict[str, Any] = {"kind": kind, "subject": subject, "occurred_at": occurred_at, "method": "web_form",
                            "actor": {"type": "person"}}
    family = kind.split(".")[0]
    if family == "consent":
        base["topic"] = "marketing"
    if family == "marketing":
        base["channel"] = "email"
    if kind in ("consent.given", "policy.accepted"):
        base["notice"] = NOTICE
    if kind == "objection.resolved":
        base["outcome"] = "upheld"
    return {**base, **fields}


def new_subject() -> str:
    return f"person-{uuid.uuid4().hex[:12]}@example.com"


def _target(backend: str, request: pytest.FixtureRequest, directory) -> Iterator[str]:
    if backend == "sqlite":
        yield str(directory / f"ledger-{uuid.uuid4().hex[:8]}.db")
    else:
        with request.getfixturevalue("postgres_cluster").schema() as url:
            yield url


@pytest.fixture(params=BACKENDS)
def ledger_target(request: pytest.FixtureRequest, tmp_path) -> Iterator[str]:
    """Where a new, empty ledger is opened: a SQLite file, or a schema of its own on the PostgreSQL server."""
    yield from _target(request.param, request, tmp_path)


@pytest.fixture(params=BACKENDS)
def ledger(request: pytest.FixtureRequest, tmp_path) -> Iterator[Ledger]:
    """A new, empty ledger on each backend."""
    for target in _target(request.param, request, tmp_path):
        with open_ledger(target, key=KEY) as opened:
            yield opened


@pytest.fixture(scope="module", params=BACKENDS)
def shared_ledger(request: pytest.FixtureRequest, tmp_path_factory) -> Iterator[Ledger]:
    """One ledger per backend for a module's property tests: each example works on subjects of its own."""
    for target in _target(request.param, request, tmp_path_factory.mktemp("ledger")):
        with open_ledger(target, key=KEY) as opened:
            yield opened


@contextmanager
def ledger_service(target: str, policy_dir: Path, log_path: Path) -> Iterator[tuple[Any, Ledger]]:
    """A service (a TestClient, its lifespan run) deciding with the ledger at `target` and logging to `log_path`, and
    the ledger itself, to record events directly (PDP_LEDGER_KEY must be KEY)."""
    from fastapi.testclient import TestClient

    from pdp.server import Settings, create_app

    settings = Settings(policy_dir=policy_dir, ledger_url=target, ledger_wait_ms=50, log_path=log_path,
                        log_writer="thread")
    with open_ledger(target, key=KEY) as ledger, TestClient(create_app(settings)) as client:
        yield client, ledger


def marketing_evaluation(subject: str, consent: bool = True) -> dict[str, Any]:
    """An AuthZEN evaluation: may the mailer use the subject's email for marketing (the caller saying `consent`)."""
    return {"subject": {"type": "service", "id": "mailer"},
            "action": {"name": "use", "properties": {"purpose": "marketing"}},
            "resource": {"type": "personal_data", "id": subject,
                         "properties": {"data_categories": ["user.contact.email"],
                                        "data_subject": {"consent": {"marketing": consent}}}}}
