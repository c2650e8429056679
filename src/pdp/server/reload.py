"""Hot reload: watch the policy directory, load a settled snapshot off to the side, swap.

- Settle: after a change, wait until the directory has been quiet (the same
  fingerprint, see snapshot) for `PDP_RELOAD_SETTLE_MS`, so that a file
  being written in pieces is not read half-way.
- Snapshot: read and compile in a worker thread, and keep the result only if
  no file changed while it was read; otherwise settle and read again.
- Bound: the worker gets `PDP_RELOAD_TIMEOUT_S`; a read that hangs (a file
  that blocks) is abandoned, recorded as a failure, and holds no lock.
- Survive: every failure (policy errors, unreadable files, a bug, the
  watcher itself failing) is logged in one line per error, counted in
  `pdp_policy_reload_failures_total`, shown in `/v1/policies`, and the last
  good set keeps serving. The watcher never stops before the server does.
- Follow a symlinked directory: the link is resolved on every tick; when a
  deployment swaps it, the new target is watched and loaded.

The watcher is watchfiles, the library uvicorn's own reloader uses.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from pathlib import Path

from pdp.engine.policy_set import PolicySet

from .snapshot import WATCHED_SUFFIXES, Fingerprint, Moved, ReloadFault, Snapshot, current_fingerprint

log = logging.getLogger("pdp.reload")

# How often the watcher looks whether a symlinked policy directory now points elsewhere.
RETARGET_CHECK_MS = 500
# A failed watcher (the directory vanished, too many open files) is started again after this pause.
RESTART_PAUSE_S = 1.0
# Reads that hang are abandoned, not killed (a thread cannot be); at most this many are left behind.
MAX_ABANDONED_READS = 4
# A directory that keeps changing while it is read is settled and read again up to this many times per reload.
MAX_ATTEMPTS = 5
# A reload waits at most this many settling intervals for the directory to be quiet, then gives up (and says so).
MAX_SETTLE_ROUNDS = 60


def _relevant(change) -> bool:
    _, path = change
    return str(path).endswith(WATCHED_SUFFIXES)


class Reloader:
    """Reloads of one app's policy holder: settled, bounded, recorded."""

    def __init__(self, holder, metrics, settle_ms: int, timeout_s: float):
        self.holder, self.metrics = holder, metrics
        self.settle_s, self.timeout_s = settle_ms / 1000, timeout_s
        self._reads_running = 0
        self._count_lock = threading.Lock()
        self._serial = asyncio.Lock()  # one reload at a time per app; a hung read does not hold it

    async def reload(self, *, settle: bool) -> bool:
        """Load the directory and swap it in if it is good; True when swapped. Never raises but on cancel."""
        async with self._serial:
            try:
                return await self._reload(settle)
            except asyncio.CancelledError:
                raise
            except Exception as error:  # noqa: BLE001 - a reload never takes the server down
                self._failed(error)
                return False

    async def catch_up(self, loaded_from: Fingerprint) -> bool:
        """Reload if the directory is no longer the state an adopted set was read from; True when swapped."""
        try:
            now = await self._in_worker(lambda: current_fingerprint(self.holder.directory))
        except Exception as error:  # noqa: BLE001 - a reload never takes the server down
            self._failed(error)
            return False
        return now != loaded_from and await self.reload(settle=True)

    async def _reload(self, settle: bool) -> bool:
        for attempt in range(MAX_ATTEMPTS):
            if settle or attempt:
                await self._quiet()
            ticket = self.holder.ticket()
            try:
                fresh = await self._in_worker(self.holder.attempt)
            except Moved:
                continue  # settle and read again
            swapped = self.holder.activate(ticket, fresh)
            if swapped:
                self._served(fresh)
            return swapped
        self._failed(ReloadFault(f"`{self.holder.directory}` kept changing while it was read ({MAX_ATTEMPTS} tries)",
                                 "deploy policy changes atomically (see docs/service.md); "
                                 "the next change triggers another reload"))
        return False

    async def _quiet(self) -> None:
        """Wait until the directory's fingerprint stayed the same for the settling interval."""
        previous = await self._in_worker(lambda: current_fingerprint(self.holder.directory))
        for _ in range(MAX_SETTLE_ROUNDS):
            await asyncio.sleep(self.settle_s)
            now = await self._in_worker(lambda: current_fingerprint(self.holder.directory))
            if now == previous:
                return
            previous = now
        raise ReloadFault(f"`{self.holder.directory}` did not stop changing for {MAX_SETTLE_ROUNDS} settling intervals",
                          "is a file in it written continuously? the next change triggers another reload")

    async def _in_worker(self, work):
        """`work()` in a daemon thread, awaited for at most `timeout_s`; a read that hangs is left behind."""
        with self._count_lock:
            if self._reads_running >= MAX_ABANDONED_READS:
                raise ReloadFault(f"{self._reads_running} earlier reads of the policy directory never finished",
                                  "a file in it blocks reading (a FIFO, a stalled network share); fix it and "
                                  "restart the service")
            self._reads_running += 1
        loop = asyncio.get_running_loop()
        outcome = loop.create_future()

        def deliver(result, error) -> None:
            if not outcome.done():
                outcome.set_exception(error) if error is not None else outcome.set_result(result)

        def run() -> None:
            result, error = None, None
            try:
                result = work()
            except Exception as caught:  # noqa: BLE001 - handed to the awaiting coroutine
                error = caught
            except BaseException as caught:  # noqa: BLE001 - SystemExit in a reader must not end the watcher
                error = RuntimeError(f"the reader stopped: {caught!r}")
            finally:
                with self._count_lock:
                    self._reads_running -= 1
            with contextlib.suppress(RuntimeError):  # the loop is gone: nobody waits any more
                loop.call_soon_threadsafe(deliver, result, error)

        threading.Thread(target=run, name="pdp-reload", daemon=True).start()
        try:
            return await asyncio.wait_for(outcome, self.timeout_s)
        except TimeoutError:
            raise ReloadFault(f"reading `{self.holder.directory}` did not finish within {self.timeout_s:g} s",
                              "a file in it blocks reading (a FIFO, a stalled network share); "
                              "the last good set keeps serving") from None

    def adopt(self, snapshot: Snapshot) -> Fingerprint:
        """Serve a set loaded before the server started (see `PolicyHolder.adopt`); the state it was read from."""
        loaded_from = self.holder.adopt(snapshot)
        self._served(snapshot.policy_set)
        return loaded_from

    def _served(self, policy_set: PolicySet) -> None:
        self.metrics.swapped_in(policy_set)
        log.info("policy set loaded: %s %s (%s)", policy_set.name, policy_set.version, policy_set.digest)

    def _failed(self, error: BaseException) -> None:
        failure = self.holder.fail(error)
        self.metrics.reload_failures.inc()
        for entry in failure.errors:
            log.error("policy reload refused: %s:%s:%s: %s: %s; the last good set keeps serving",
                      entry["file"], entry["line"], entry["col"], entry["code"], entry["message"])


async def _pause(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)


async def watch(holder, reloader: Reloader, stop: asyncio.Event, debounce_ms: int) -> None:
    """Reload on every relevant change until `stop` is set; survives every failure."""
    from watchfiles import awatch

    directory = Path(holder.directory)
    pending = False  # a change may have been missed: reload before waiting for the next one
    while not stop.is_set():
        if pending:
            pending = False
            await reloader.reload(settle=True)
        target = directory.resolve()
        if not target.is_dir():
            await _pause(stop, RESTART_PAUSE_S)
            pending = True
            continue
        try:
            async for changes in awatch(target, stop_event=stop, debounce=debounce_ms, step=50,
                                        rust_timeout=RETARGET_CHECK_MS, yield_on_timeout=True, watch_filter=None):
                if directory.resolve() != target:  # a symlinked directory was swapped
                    pending = True
                    break
                if any(_relevant(c) for c in changes):
                    await reloader.reload(settle=True)
        except asyncio.CancelledError:
            raise
        except Exception as error:  # noqa: BLE001 - the watcher outlives every failure
            log.error("watching %s failed (%s: %s); watching again in %g s", directory, error.__class__.__name__,
                      error, RESTART_PAUSE_S)
            reloader.metrics.reload_failures.inc()
            await _pause(stop, RESTART_PAUSE_S)
            pending = True


async def reload_now(app) -> bool:
    """An explicit reload (the admin endpoint): no settling wait, but still a consistent snapshot."""
    return await app.state.reloader.reload(settle=False)
