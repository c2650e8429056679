"""Wiring the decision log into the service: open it, key it, and commit in groups.

Requests queue their decisions and wait; at the end of the event loop's
turn one callback writes everything queued in one transaction, then wakes
the waiting requests. Under load many decisions share a commit; alone, a
decision waits for just its own. Either way a response leaves only after
its decision is committed.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
from pathlib import Path

from pdp.engine.policy_set import PolicySet
from pdp.io.decision_log import DecisionLog
from pdp.io.log_view import selection_of
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


class GroupWriter:
    """Commits the decisions of one event-loop turn together.

    Every request decided in the same turn of the event loop is queued; one
    callback scheduled for the end of the turn writes them all in a single
    transaction and then wakes the requests. No thread hand-off, and under
    load one commit serves many decisions.
    """

    def __init__(self, decision_log: DecisionLog):
        self.decision_log = decision_log
        self._pending: list[tuple[list, asyncio.Future]] = []

    async def record(self, entries: list[tuple]) -> None:
        loop = asyncio.get_running_loop()
        done = loop.create_future()
        if not self._pending:
            loop.call_soon(self._flush)
        self._pending.append((entries, done))
        await done

    def close(self) -> None:
        self._flush()
        self.decision_log.close()

    def _flush(self) -> None:
        group, self._pending = self._pending, []
        if not group:
            return
        try:
            self.decision_log.append_many([entry for entries, _ in group for entry in entries])
            error = None
        except Exception as exc:  # each waiting request answers 503
            log.exception("the decision log refused a write")
            error = exc
        for _, done in group:
            _settle(done, error)


def _settle(done: asyncio.Future, error: Exception | None) -> None:
    if done.cancelled():
        return
    if error is None:
        done.set_result(None)
    else:
        done.set_exception(LogUnavailable(str(error)))


def open_log(settings: Settings) -> GroupWriter | None:
    if settings.log_path is None:
        return None
    decision_log = DecisionLog(settings.log_path, pseudonym_key=_key(settings), mask=settings.log_mask,
                               retention_days=settings.log_retention_days, synchronous=settings.log_synchronous,
                               attributes=settings.log_attributes, max_row_bytes=settings.log_max_row_bytes,
                               max_bytes=settings.log_max_bytes)
    return GroupWriter(decision_log)


async def record(app, entries: list[tuple[dict, dict]], endpoint: str, policy_set: PolicySet | None = None) -> None:
    """Append (request, decision) pairs decided by `policy_set`; returns only once they are committed."""
    writer = app.state.decision_log
    if writer is None or not entries:
        return
    selection = selection_of(policy_set)  # what of the requests its rules read
    await writer.record([(request, response, endpoint, selection) for request, response in entries])
