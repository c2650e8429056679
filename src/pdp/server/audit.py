"""Wiring the decision log into the service: open it, key it, append off the event loop."""

from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path

from starlette.concurrency import run_in_threadpool

from .decision_log import DecisionLog
from .settings import Settings

log = logging.getLogger("pdp.audit")


class LogUnavailable(Exception):
    """A decision could not be recorded: it is not answered (503), so the audit trail has no gaps."""


def _key(settings: Settings) -> bytes:
    if settings.log_key is not None:
        return settings.log_key.get_secret_value().encode()
    # Every worker and every restart must use the same key, or one person
    # would get several pseudonyms: keep a random one beside the log.
    key_file = Path(f"{settings.log_path}.key")
    if not key_file.exists():
        key_file.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another worker wrote it first
        else:
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_hex(32))
    return key_file.read_text().strip().encode()


def open_log(settings: Settings) -> DecisionLog | None:
    if settings.log_path is None:
        return None
    return DecisionLog(settings.log_path, pseudonym_key=_key(settings), mask=settings.log_mask,
                       retention_days=settings.log_retention_days, synchronous=settings.log_synchronous)


def _append_all(decision_log: DecisionLog, entries: list[tuple[dict, dict]], endpoint: str) -> None:
    for request, response in entries:
        decision_log.append(request, response, endpoint=endpoint)


async def record(app, entries: list[tuple[dict, dict]], endpoint: str) -> None:
    """Append (request, decision) pairs; returns only once they are committed."""
    decision_log = app.state.decision_log
    if decision_log is None or not entries:
        return
    try:
        await run_in_threadpool(_append_all, decision_log, entries, endpoint)
    except Exception as error:
        log.exception("the decision log refused a write")
        raise LogUnavailable(str(error)) from error
