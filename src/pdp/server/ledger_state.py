"""The server's consent ledger: opened from the settings when the service starts, closed when it stops; and how
the decision endpoints decide with it.

`PDP_LEDGER_URL` (`pdp serve --ledger`) names it: a SQLite file or a
PostgreSQL URL; its key comes from `PDP_LEDGER_KEY_FILE` / `PDP_LEDGER_KEY`
(else, for SQLite, `<file>.key` beside it: `pdp.ledger.connect`). The server
never makes a new SQLite ledger: a mistyped path would be served as an
empty ledger, and a decision that found no opt-out there could allow what
a recorded one denies. Make it first with `pdp consent init`.

With a ledger, the decision endpoints (native and AuthZEN) fill the attributes
the served set declares (`ledger fills ...`) from the data subject's state
before deciding (pdp.io.ledger_reader).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from functools import partial
from typing import Any

from starlette.concurrency import run_in_threadpool

from pdp.engine.decision import Decision
from pdp.base.errors import FieldError, RequestError
from pdp.engine.filled import without_ledger
from pdp.engine.timing import stamped
from pdp.engine.policy_set import PolicySet
from pdp.io.ledger_reader import SubjectStates, token_of
from pdp.io.ledger_reader import decide as ledger_decide
from pdp.ledger.fill import with_value

from pdp.ledger import Ledger, LedgerConfigError
from pdp.ledger import open_ledger as open_store
from pdp.ledger.connect import display, url_of

from . import ledger_gpc
from .settings import Settings


def open_ledger(settings: Settings) -> Ledger | None:
    """The ledger `settings.ledger_url` names, opened (its schema migrated, its key checked), or None without
    one; LedgerConfigError (a clear message) when it cannot be opened."""
    if not settings.ledger_url:
        return None
    return open_store(settings.ledger_url, create=False)


def describe(settings: Settings) -> str:
    """The ledger, as `pdp serve` announces it: where it is (a URL without its password)."""
    if not settings.ledger_url:
        return "off"
    try:
        return display(url_of(settings.ledger_url))
    except LedgerConfigError:
        return "(not a valid URL)"


def states_of(settings: Settings, ledger: Ledger | None) -> SubjectStates | None:
    """What the decision endpoints read subjects' states through (None: decide as the request says)."""
    if ledger is None:
        return None
    return SubjectStates(ledger, recheck_s=settings.ledger_recheck_ms / 1000, wait_s=settings.ledger_wait_ms / 1000,
                         listen=settings.ledger_listen, memo=settings.ledger_memo)




def decider(app, policy_set: PolicySet,
            decide: Callable[[dict[str, Any]], Decision] | None = None) -> Callable[[dict[str, Any]], Decision]:
    """How the endpoints decide a request with `policy_set`: from the ledger when the app has one (a set that
    declares nothing it fills is decided as the request says, but a request `as_of` a past time is refused, naming
    it, never answered as of now), else `decide` (default `policy_set.decide`) itself: no cost without a ledger. A
    token is waited for before (`caught_up`, off the event loop), so the decision itself never waits."""
    states = app.state.ledger_states
    if states is None:
        return on_the_clock(policy_set, without_ledger(decide or policy_set.decide))
    return on_the_clock(policy_set, partial(ledger_decide, policy_set, states=states, wait=False, decide=decide))


def evaluator(app, policy_set: PolicySet) -> Callable[[dict[str, Any]], Decision]:
    """How the AuthZEN endpoints decide an evaluation: put in the set's terms, then as `decider` decides."""
    return partial(policy_set.decide_authzen, decide=decider(app, policy_set))


CLIENT_NOW = ("`now` is this server's clock (the day it decides, UTC), not a field a client sets; to ask about a "
              "past time, send `as_of` (with a consent ledger)")


def on_the_clock(policy_set: PolicySet, decide: Callable[[dict[str, Any]], Decision]) -> Callable[[dict[str, Any]], Decision]:
    """`decide` at the HTTP edge: a request saying `now` itself is refused, naming it (the clock is pdp's, as a
    register is: a caller that could choose the day could step around a rule of time), and, for a set whose rules
    read `now`, the request is stamped with today (UTC; the day of its `as_of` when it asks about the past)."""
    stamping = policy_set.reads_now

    def deciding(request: dict[str, Any]) -> Decision:
        if type(request) is dict and request.get("now") is not None:
            raise RequestError([FieldError("now", CLIENT_NOW)])
        return decide(stamped(request, datetime.now(timezone.utc)) if stamping else request)

    return deciding


def waits(app, requests: list[Any]) -> int | None:
    """The highest read-your-writes token among `requests` that the app's ledger has not yet seen (None: none)."""
    states = app.state.ledger_states
    if states is None:
        return None
    tokens = [t for t in (token_of(r) for r in requests) if t is not None and t > states.seen]
    return max(tokens, default=None)


async def caught_up(app, requests: list[Any]) -> None:
    """Wait (bounded by PDP_LEDGER_WAIT_MS, in a worker thread) for the ledger to reach the requests' tokens."""
    token = waits(app, requests)
    if token is not None:
        await run_in_threadpool(app.state.ledger_states.caught_up, token)


_GPC_HEADER = ledger_gpc.HEADER.encode()


def signals_gpc(scope: Mapping[str, Any]) -> bool:
    """Whether an HTTP request carries `Sec-GPC: 1`, a Global Privacy Control signal (as ledger_gpc reads it)."""
    for key, value in scope.get("headers", ()):  # (a loop, not any() over a generator: this runs every request)
        if key == _GPC_HEADER and ledger_gpc.signalled(value.decode("latin-1")):
            return True
    return False


def with_gpc(app, body: Any) -> Any:
    """`body` as if it said `true` (the stricter value) for every attribute the served set fills from `gpc`: a
    `Sec-GPC: 1` request counts as a GPC signal. It can only make a decision stricter, ledger or not."""
    policy_set = app.state.holder.current
    if policy_set is None or not isinstance(body, dict):
        return body
    for item in policy_set.ledger_fills:
        if item.source == "gpc":
            body = with_value(body, item.attribute, True)
    return body


def logged(request: Any, answer: dict[str, Any], native: bool = True) -> Any:
    """What the decision log is given of a request decided with the ledger: the values its rules read as filled
    (native requests: a replay decides alike) and `ledger`, the subject's sequence number and the ids of the
    events relied on (or why the ledger could not answer). Any other request as it is."""
    ledger = answer.get("ledger")
    if not isinstance(ledger, dict) or not isinstance(request, dict):
        return request
    if "error" in ledger:
        return {**request, "ledger": {"error": ledger["error"]}}
    out = request
    if native:
        for item in ledger["filled"]:
            out = with_value(out, tuple(item["attribute"].split(".")), item["value"])
    return {**out, "ledger": {"seq": ledger["seq"], "events": [e["event_id"] for e in ledger["events"]]}}


__all__ = ["caught_up", "decider", "evaluator", "logged", "signals_gpc", "with_gpc", "open_ledger", "states_of", "waits"]
