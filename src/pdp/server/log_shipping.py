"""The combined decision log in the service: its shipper started and stopped with the app, erasure across logs.

With `PDP_LOG_URL`, the lifespan starts the shipper's process
(`pdp.io.log_shipper`) beside the log writer, and opens the combined log
for the admin API (reads and erasure). Deciding never touches PostgreSQL: a
decision is answered once its row is in the replica's own log, as without
the combined log. PostgreSQL down when the server starts is not fatal: the
shipper waits for it, and the admin API opens it on first use (503 until it
can).
"""

from __future__ import annotations

import logging
import socket
import threading

from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool

from pdp.io.combined_log import CombinedLog
from pdp.io.decision_log import DecisionLog
from pdp.io.log_shipper import ShipperProcess, erase_everywhere
from .errors import ApiError
from .settings import Settings

log = logging.getLogger("pdp.server")


class Combined:
    """The combined log of a server: its shipper's process, and a connection opened when first needed."""

    def __init__(self, decision_log: DecisionLog, settings: Settings):
        assert settings.log_url is not None
        self.url = settings.log_url.get_secret_value()
        self.decision_log = decision_log
        self.replica = settings.log_replica or socket.gethostname()
        self.shipper = ShipperProcess(decision_log, self.url, self.replica)
        self._log: CombinedLog | None = None
        self._lock = threading.Lock()

    def log(self) -> CombinedLog:
        """The combined log (opened now if need be); ApiError 503 while PostgreSQL cannot be reached."""
        with self._lock:
            if self._log is None:
                try:
                    self._log = CombinedLog(self.url, pseudonym_key=bytes.fromhex(self.decision_log.key_hex()))
                except SQLAlchemyError as error:
                    log.error("the combined decision log cannot be reached (%s)", type(error).__name__)
                    raise unreachable() from None
            return self._log

    def close(self) -> None:
        self.shipper.close()
        with self._lock:
            if self._log is not None:
                self._log.close()


def unreachable(done: str = "") -> ApiError:
    return ApiError(503, "log_unavailable", [{"field": "combined_log", "message": "the combined decision log "
                                             f"(PDP_LOG_URL) cannot be reached{done}; try again"}])


def start(decision_log: DecisionLog | None, settings: Settings) -> Combined | None:
    if decision_log is None or settings.log_url is None:
        return None
    return Combined(decision_log, settings)


async def erase(app, subject_id: str) -> dict[str, int] | None:
    """Take the person out of this replica's decision log and, when configured, the combined log and (through
    their shippers) every replica's: the rows of each; None without a decision log. ApiError 503 when the combined
    log cannot be reached (this replica's own log is erased all the same)."""
    writer = app.state.decision_log
    if writer is None:
        return None
    combined: Combined | None = getattr(app.state, "combined_log", None)
    if combined is None:
        return await run_in_threadpool(erase_everywhere, writer.decision_log, None, subject_id)
    try:
        return await run_in_threadpool(lambda: erase_everywhere(writer.decision_log, combined.log(), subject_id))
    except SQLAlchemyError as error:
        log.error("the combined decision log failed during an erasure (%s)", type(error).__name__)
    except ApiError:
        pass
    deleted = await run_in_threadpool(writer.decision_log.erase, subject_id)
    raise unreachable(f" (this replica's own log is erased: {deleted} rows)")
