"""Deciding for the endpoints: an engine fault or an answer that cannot be sent is a deny, never a 500.

Every decision endpoint (native and AuthZEN) decides through `decide`, and
renders its answer with `render` before the decision is logged: what is
logged is what is answered, and an allow is never logged for a request that
then failed.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any
from functools import partial

import orjson
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from pdp.engine.policy_set import PolicySet
from pdp.engine.decision import Reason
from pdp.engine.decision_id import new_decision_id
from pdp.base.errors import RequestError
from pdp.engine.decision import Decision
from pdp.vocab.request import suggestion_budget

log = logging.getLogger("pdp.server")

INTERNAL_ERROR = "internal.error"
SUGGESTIONS_PER_CALL = 100  # unknown values that get "did you mean" suggestions in one HTTP call
THREAD_BATCH = 32  # batches longer than this are decided in a worker thread, off the event loop


def failed_closed(policy_set: PolicySet, what: str, error: BaseException) -> Decision:
    """The deny given when deciding (or answering) failed: the error is its reason."""
    reason = Reason(INTERNAL_ERROR, "error", None,
                    f"internal error while {what} ({error.__class__.__name__}); failing closed")
    return Decision("deny", (reason,), (), policy_set.info, new_decision_id())


def decide(policy_set: PolicySet, metrics, ask: Callable[[], Decision]) -> Decision:
    """`ask()`, timed and counted; an unforeseen fault is a deny (a bad request is raised)."""
    started = time.perf_counter()
    try:
        decision = ask()
    except RequestError:
        metrics.bad_requests.inc()
        raise
    except Exception as error:  # an engine fault must never allow, nor answer 500
        log.exception("internal error while deciding")
        decision = failed_closed(policy_set, "deciding", error)
    metrics.decided(decision.decision, time.perf_counter() - started)
    return decision


Outcome = Decision | RequestError


def decide_each(policy_set: PolicySet, metrics, ask: Callable[[Any], Decision], items: list,
                stop: Callable[[Outcome], bool] | None = None) -> list[Outcome]:
    """`ask(item)` for each item (a Decision, or the RequestError of a bad item), until `stop` says so.

    The items share one suggestion budget: a batch of bad requests costs no
    more "did you mean" work than `SUGGESTIONS_PER_CALL` lookups.
    """
    out: list[Outcome] = []
    with suggestion_budget(SUGGESTIONS_PER_CALL):
        for item in items:
            outcome: Outcome
            try:
                outcome = decide(policy_set, metrics, partial(ask, item))
            except RequestError as error:
                outcome = error
            out.append(outcome)
            if stop is not None and stop(outcome):
                break
    return out


async def decide_many(policy_set: PolicySet, metrics, ask, items: list, stop=None) -> list[Outcome]:
    """`decide_each`; a long batch in a worker thread, so that the event loop answers others meanwhile."""
    if len(items) > THREAD_BATCH:
        return await run_in_threadpool(decide_each, policy_set, metrics, ask, items, stop)
    return decide_each(policy_set, metrics, ask, items, stop)


def encodes(content) -> bytes | None:
    """`content` as JSON bytes, or None when it cannot be (a lone surrogate in a message, an integer too big)."""
    try:
        return orjson.dumps(content)
    except TypeError:  # orjson.JSONEncodeError
        return None


def unanswerable(policy_set: PolicySet, rules: list[str]) -> Decision:
    """The deny that replaces a decision (by `rules`) whose answer cannot be encoded: never an allow logged and a 500 sent."""
    log.error("the answer to a request cannot be encoded as JSON (rules %s); failing closed", ", ".join(rules))
    return failed_closed(policy_set, "encoding the answer", ValueError("the answer is not valid JSON text"))



class JSONBytes(Response):
    """An answer already encoded (by `encodes`), sent as it is: the headers Starlette's `Response` gives it, without
    the work of its constructor (it runs on every decision)."""

    media_type = "application/json"

    def __init__(self, payload: bytes, status_code: int = 200) -> None:
        self.status_code, self.body, self.background = status_code, payload, None
        self.raw_headers = [(b"content-length", str(len(payload)).encode()), (b"content-type", b"application/json")]


def json_answer(payload: bytes) -> Response:
    """An answer already encoded (by `encodes`): sent as it is."""
    return JSONBytes(payload)
