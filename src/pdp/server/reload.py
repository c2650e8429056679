"""Hot reload: watch the policy directory, load changes off to the side, swap.

The watcher (watchfiles, the library uvicorn's own reloader uses) waits for
a burst of edits to settle, then loads the set in a worker thread so the
event loop keeps answering with the set already in service.
"""

from __future__ import annotations

import asyncio
import logging

from starlette.concurrency import run_in_threadpool

log = logging.getLogger("pdp.reload")

WATCHED_SUFFIXES = (".pdp", ".yaml", ".yml")


def _relevant(change) -> bool:
    _, path = change
    return str(path).endswith(WATCHED_SUFFIXES)


async def reload_now(app) -> bool:
    holder, metrics = app.state.holder, app.state.metrics
    swapped = await run_in_threadpool(holder.reload)
    if swapped:
        metrics.reloads.inc()
        metrics.rules.set(len(holder.current.rules))
        log.info("policy set reloaded: %s %s (%s)", holder.current.name, holder.current.version, holder.current.digest)
    else:
        metrics.reload_failures.inc()
        failure = holder.last_failure
        for error in failure.errors if failure else ():
            log.error("policy reload refused: %s:%s:%s: %s: %s", error["file"], error["line"], error["col"],
                      error["code"], error["message"])
        log.error("the last good policy set keeps serving")
    return swapped


async def watch(app, stop: asyncio.Event, debounce_ms: int) -> None:
    from watchfiles import awatch

    directory = app.state.holder.directory
    if not directory.is_dir():
        log.warning("not watching %s: not a directory", directory)
        return
    async for changes in awatch(directory, stop_event=stop, debounce=debounce_ms, step=50, watch_filter=None):
        if any(_relevant(c) for c in changes):
            await reload_now(app)
