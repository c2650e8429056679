"""Deciding for the endpoints: an engine fault or an answer that cannot be sent is a deny, never a 500.

Every decision endpoint (native and AuthZEN) decides through `decide`, and
renders its answer with `render` before the decision is logged: what is
logged is what is answered, and an allow is never logged for a request that
then failed.

`/v1/decide` runs here on every request, on the event loop: its wrappers
(`ledger_state.decider`) are made once per set served (`served`, held on the
app's holder), one request is decided without a batch's machinery
(`decide_one`), and the JSON of an answer is made once per outcome
(`Answers`: the request memo hands back the same outcome objects, so only
the decision id is written per request). Each is switched off by its own
constant, and tests hold the answers alike either way.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import orjson
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from pdp.engine.policy_set import PolicySet
from pdp.engine.decision import Reason
from pdp.engine.decision_id import new_decision_id
from pdp.base.errors import RequestError
from pdp.engine.decision import Decision
from pdp.vocab.request import MAX_ERRORS, suggestion_budget
from pdp.io.decision_log import Fields, projected
from .ledger_state import decider

log = logging.getLogger("pdp.server")

INTERNAL_ERROR = "internal.error"
SUGGESTIONS_PER_CALL = 100  # unknown values that get "did you mean" suggestions in one HTTP call
THREAD_BATCH = 32  # batches longer than this are decided in a worker thread, off the event loop


def failed_closed(policy_set: PolicySet, what: str, error: BaseException) -> Decision:
    """The deny given when deciding (or answering) failed: the error is its reason."""
    reason = Reason(INTERNAL_ERROR, "error", None,
                    f"internal error while {what} ({error.__class__.__name__}); failing closed")
    return Decision("deny", (reason,), (), policy_set.info, new_decision_id())


# The per-request wrappers of `/v1/decide` made once per set served (False: made for every request, as before).
SERVED_DECIDERS = True
# One request decided without `decide_each`'s list, partial and stop test (False: through `decide_each`).
ONE_AT_A_TIME = True
# The JSON of an answer made once per outcome (`Answers`; False: `to_dict` and `encodes` for every decision).
KEPT_ANSWERS = True
SWITCHES = ("SERVED_DECIDERS", "ONE_AT_A_TIME", "KEPT_ANSWERS")

_NOTHING = object()


def decide(policy_set: PolicySet, metrics, ask: Callable[..., Decision], item: Any = _NOTHING) -> Decision:
    """`ask(item)` (`ask()` without an item), timed and counted; an unforeseen fault is a deny (a bad request is
    raised)."""
    started = time.perf_counter()
    try:
        decision = ask() if item is _NOTHING else ask(item)
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
                outcome = decide(policy_set, metrics, ask, item)
            except RequestError as error:
                outcome = error
            out.append(outcome)
            if stop is not None and stop(outcome):
                break
    return out


def decide_one(policy_set: PolicySet, metrics, ask: Callable[[Any], Decision], item: Any) -> Outcome:
    """`decide_each(policy_set, metrics, ask, [item])`'s one outcome (`ONE_AT_A_TIME`: without its list, and
    without a suggestion budget: one request's errors are cut at `MAX_ERRORS`, fewer than the budget, so its
    "did you mean" work is bounded already)."""
    if not ONE_AT_A_TIME:
        [outcome] = decide_each(policy_set, metrics, ask, [item])
        return outcome
    try:
        return decide(policy_set, metrics, ask, item)
    except RequestError as error:
        return error


assert MAX_ERRORS <= SUGGESTIONS_PER_CALL  # decide_one relies on it


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


class Answers:
    """The JSON of decisions by their outcome: an answer's every part but its decision id, made once.

    The request memo gives back the same outcome objects (its reasons, its obligations, its advice) for requests that
    differ only where no rule looks, and the set's `info` is one object: a decision made of the same objects
    has the same answer but for its id, which comes last (`Decision.to_dict`'s order). So the answer is the kept
    part and the id, and its JSON is the kept text and the id's: the same bytes as `encodes(to_dict())` (a
    property test holds them alike); and what its row in the decision log keeps of it (`decision_log.projected`:
    the decision, the rules' ids as JSON text, the digest) is kept beside, for the writer process to be handed
    instead of the whole answer. Identities are checked, never assumed: the entry holds its objects, so no
    other object can take their ids while it is kept. Bounded (`LIMIT` outcomes; when full, it starts again).
    Only a plain `Decision` (a ledger's decision says more, made per request). The kept dicts are shared by
    the answers made of them: nothing changes an answer once made (the log and the explanation copy it).
    """

    LIMIT = 4096

    def __init__(self) -> None:
        self._kept: dict[int, tuple] = {}

    def of(self, decision: Decision) -> tuple[dict[str, Any], bytes | None, Fields | None]:
        """(`decision.to_dict()`, its JSON or None when it cannot be encoded (`encodes`), its row's fields
        (`decision_log.projected`) or None when not kept)."""
        if not KEPT_ANSWERS or type(decision) is not Decision:
            answer = decision.to_dict()
            return answer, encodes(answer), None
        reasons, obligations, policy, result = decision.reasons, decision.obligations, decision.policy, decision.decision
        found = self._kept.get(id(reasons))
        if found is None or found[0] is not reasons or found[1] is not obligations or found[2] is not policy \
                or found[3] != result or found[9] is not decision.advice:
            answer = decision.to_dict()
            payload = encodes(answer)
            if payload is None:
                return answer, None, None
            _, decided, rules, digest = projected(answer)
            del answer["decision_id"]
            if len(self._kept) >= self.LIMIT:
                self._kept.clear()
            found = self._kept[id(reasons)] = (reasons, obligations, policy, result, answer, orjson.dumps(answer)[:-1],
                                               decided, rules, digest, decision.advice)
        decision_id = decision.decision_id
        answer = dict(found[4])
        answer["decision_id"] = decision_id
        return (answer, b"".join((found[5], b',"decision_id":', orjson.dumps(decision_id), b"}")),
                [decision_id, found[6], found[7], found[8]])


class Served:
    """How `/v1/decide` decides with one set on one app: its decider (`ledger_state.decider`) and its `Answers`."""

    __slots__ = ("policy_set", "states", "decide", "answers")

    def __init__(self, app, policy_set: PolicySet) -> None:
        self.policy_set, self.states = policy_set, app.state.ledger_states
        self.decide = decider(app, policy_set)
        self.answers = Answers()


def served(app, policy_set: PolicySet) -> Served:
    """The `Served` of `policy_set` on `app`, made once (`SERVED_DECIDERS`): held on the app's holder, beside the
    set in service, and made again when the set or the ledger's reader changes. On the holder, not in a cache
    keyed by the set (whose value, holding the set, would keep it alive forever): the holder keeps one, so a set
    swapped out is let go at the next request."""
    holder = app.state.holder
    made = holder.served
    if made is None or made.policy_set is not policy_set or made.states is not app.state.ledger_states \
            or not SERVED_DECIDERS:
        made = Served(app, policy_set)
        if SERVED_DECIDERS:
            holder.served = made
    return made
