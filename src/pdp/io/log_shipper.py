"""The shipper: a replica's decision log (its outbox) copied into the combined log, off the request's path.

It runs in a process of its own (`python -m pdp.io.log_shipper`, started by
the server beside its log writer; `ShipperProcess`), so it never takes the
interpreter lock from the event loop, whichever writer (thread or process)
commits the rows. It reads only committed rows, so it ships nothing that
was not answered and misses nothing that was.

Each round, in one PostgreSQL transaction (`CombinedLog.shipping`):

1. the erasures recorded since the last round, by any replica, are applied
   to the outbox (`DecisionLog.erase_pseudonym`) and their number kept in
   it, so that an erasure reaches every replica's own log too;
2. up to `batch` rows numbered after the high-water mark are read from the
   outbox and inserted, each keyed by (outbox, number): a row inserted twice
   (a shipper killed after its commit and before it knew) is left as it is.

The high-water mark is read from the combined log when the shipper starts
(and after an error): the last number of this outbox it holds, so a
restarted shipper resumes where the combined log is, without loss or
duplicates. While PostgreSQL cannot be reached, the shipper waits, doubling
its pause up to `MAX_PAUSE_S`, and the rows wait in the outbox (bounded by
its own size limit and retention). A row that retention deletes from the
outbox before it was shipped is lost to the combined log: keep the outbox's
retention longer than any outage.

One shipper ships an outbox at a time: the workers of one server
(`pdp serve --workers N`) share their log file and each starts a shipper,
so each first takes the outbox's shipping lock (`ShippingLock`, a `flock`
on a file beside it). The others wait, and one takes over when the holder
stops or is killed (the kernel frees a dead process's lock).
"""

from __future__ import annotations

import fcntl
import logging
import os
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

import orjson
from sqlalchemy.exc import SQLAlchemyError

from .combined_log import CombinedLog, CombinedLogError
from .decision_log import DecisionLog, format_time, utc_now

log = logging.getLogger("pdp.io.log_shipper")

BATCH = 500  # rows a round: a transaction of PostgreSQL's, and what waits in memory
IDLE_S = 0.2  # pause when the outbox has nothing new
FIRST_PAUSE_S, MAX_PAUSE_S = 0.5, 30.0  # while PostgreSQL is down
TAKE_OVER_S = 1.0  # how often a waiting shipper tries the lock


class ShippingLock:
    """The right to ship one outbox: an exclusive `flock` on `<outbox>.shipping`, held until `release` (or the
    holder's death). Shipping twice would be harmless (rows are keyed), but wasteful: N workers, N shippers."""

    def __init__(self, outbox_path: str | os.PathLike[str]):
        self.path = f"{outbox_path}.shipping"
        self._file: int | None = None

    def take(self, stop: threading.Event) -> bool:
        """Wait for the lock until it is held (True) or `stop` is set (False)."""
        descriptor = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        while True:
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                if stop.wait(TAKE_OVER_S):
                    os.close(descriptor)
                    return False
                continue
            self._file = descriptor
            return True

    def release(self) -> None:
        if self._file is not None:
            os.close(self._file)  # closing the descriptor frees its lock
            self._file = None


@dataclass
class Shipper:
    """Ships one outbox into one combined log."""

    outbox_log: DecisionLog
    combined: CombinedLog
    replica: str
    batch: int = BATCH

    def __post_init__(self) -> None:
        self.outbox, self._erasures = self.outbox_log.outbox()
        self._high_water: int | None = None
        self.shipped = 0

    def ship_once(self) -> int:
        """One round; the number of rows shipped. Raises SQLAlchemyError while PostgreSQL cannot be reached."""
        if self._high_water is None:
            self._high_water = self.combined.high_water(self.outbox)
        with self.combined.shipping() as shipment:
            erased = shipment.erasures_after(self._erasures)
            for _, name in erased:
                self.outbox_log.erase_pseudonym(name)
            rows = self.outbox_log.rows_after(self._high_water, self.batch)
            if rows:
                shipment.insert(self.outbox, self.replica, rows)
        # committed: only now may the marks move (a failed round is done again, and inserting twice is harmless)
        if erased:
            self._erasures = erased[-1][0]
            self.outbox_log.erasures_applied(self._erasures)
        if rows:
            self._high_water = rows[-1][0]
            self.shipped += len(rows)
        return len(rows)

    def run(self, stop: threading.Event) -> None:
        """Ship until `stop` is set; wait while there is nothing new, back off while PostgreSQL is down."""
        pause = FIRST_PAUSE_S
        while not stop.is_set():
            try:
                shipped = self.ship_once()
                pause = FIRST_PAUSE_S
            except SQLAlchemyError as error:
                log.warning("the combined decision log cannot be reached (%s); retrying in %.1f s",
                            error.__class__.__name__, pause)
                self._high_water = None  # read again: the last commit may or may not have happened
                stop.wait(pause)
                pause = min(pause * 2, MAX_PAUSE_S)
                continue
            if shipped < self.batch:
                stop.wait(IDLE_S)


def configuration(decision_log: DecisionLog, url: str, replica: str, batch: int = BATCH) -> dict:
    """What `ShipperProcess` hands its process (on a pipe: the URL and key are never in argv or the environment)."""
    return {"path": str(decision_log.path), "key": decision_log.key_hex(), "url": url, "replica": replica,
            "batch": batch}


def serve(config: dict, stop: threading.Event) -> None:
    """Once this outbox's shipping lock is held, open the outbox and the combined log (retrying while PostgreSQL is
    down), then ship until `stop`."""
    turn = ShippingLock(config["path"])
    if not turn.take(stop):
        return
    try:
        _ship(config, stop)
    finally:
        turn.release()


def _ship(config: dict, stop: threading.Event) -> None:
    key = bytes.fromhex(config["key"])
    outbox = DecisionLog(config["path"], pseudonym_key=key)
    try:
        pause = FIRST_PAUSE_S
        while not stop.is_set():
            try:
                combined = CombinedLog(config["url"], pseudonym_key=key, pool_size=1)
                break
            except SQLAlchemyError as error:
                log.warning("the combined decision log cannot be opened (%s); retrying in %.1f s",
                            error.__class__.__name__, pause)
                stop.wait(pause)
                pause = min(pause * 2, MAX_PAUSE_S)
        else:
            return
        try:
            Shipper(outbox, combined, config["replica"], config.get("batch", BATCH)).run(stop)
        finally:
            combined.close()
    finally:
        outbox.close()


def main() -> None:
    """The process: its configuration is the first line of its standard input; it stops when that closes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # stopped by its pipe, as the log writer is
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s:     %(name)s: %(message)s", stream=sys.stderr)
    stdin = sys.stdin.buffer
    config = orjson.loads(stdin.readline())
    stop = threading.Event()
    worker = threading.Thread(target=_serve_reporting, args=(config, stop), name="pdp-log-shipper", daemon=True)
    worker.start()
    stdin.read()  # until the server closes the pipe or dies
    stop.set()
    worker.join(timeout=60)


def _serve_reporting(config: dict, stop: threading.Event) -> None:
    try:
        serve(config, stop)
    except CombinedLogError as error:  # a configuration the operator must fix: said once, nothing shipped
        log.error("the decision log is not shipped to the combined log: %s", error)
    except Exception:
        log.exception("the decision log's shipper stopped")


class ShipperProcess:
    """The shipper's process, started by the server; it stops when `close` closes its pipe (or the server dies)."""

    def __init__(self, decision_log: DecisionLog, url: str, replica: str, batch: int = BATCH):
        root = str(Path(__file__).resolve().parents[2])  # the child imports this very pdp
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))}
        self._proc = subprocess.Popen([sys.executable, "-m", "pdp.io.log_shipper"], stdin=subprocess.PIPE, env=env)
        assert self._proc.stdin is not None
        self._proc.stdin.write(orjson.dumps(configuration(decision_log, url, replica, batch)) + b"\n")
        self._proc.stdin.flush()

    @property
    def pid(self) -> int:
        return self._proc.pid

    def close(self, timeout: float = 30) -> None:
        if self._proc.stdin is not None and not self._proc.stdin.closed:
            self._proc.stdin.close()
        try:
            self._proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()


def erase_everywhere(decision_log: DecisionLog, combined: CombinedLog | None, subject_id: str) -> dict[str, int]:
    """Erase a person from this replica's log and, when there is one, from the combined log and (through its
    shippers) every replica's: `{"deleted": rows of this log, "combined": rows of the combined log}`."""
    if combined is None:
        return {"deleted": decision_log.erase(subject_id)}
    local: list[int] = []
    rows = combined.erase(subject_id, format_time(utc_now()), then=lambda: local.append(decision_log.erase(subject_id)))
    return {"deleted": local[0], "combined": rows}


if __name__ == "__main__":
    main()
