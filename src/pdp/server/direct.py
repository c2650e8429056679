"""`POST /v1/decide` answered from uvicorn's httptools protocol itself, without an ASGI task (`PDP_DIRECT`).

Why: under load the decision took about a third of the event loop's time
per request; the rest was HTTP machinery around it: an asyncio task per
request, the ASGI scope, receive and send messages, the proxy-headers
middleware, a Response object, and two socket writes (headers, then body).
The direct path keeps uvicorn's parser, connection handling, keep-alive,
pipelining and pdp's connection guard, and replaces only what happens once
a request is in: when a whole `/v1/decide` request arrives in one read, it is
decided there, its decision handed to the decision log, and its answer
written in one piece once the log has committed it (a callback, called
with the others of its commit's group: `audit.submit_then`; not a task).

It answers exactly as the hot path does (`pdp.server.hot_path`; a property
test holds the two to the same bytes), because it runs the same code
(`routes.decide_body`, `audit.submit`, the same error answers), and it takes
only the requests it is sure of: anything else (a body in several reads, a
body that is not a JSON object, another content type, HTTP/1.0 or
`Connection: close`, `Expect: 100-continue`, a request
beyond the concurrency limit, an integer beyond 64 bits) goes, untouched, to the ASGI app, before
anything is decided.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any

import orjson
from starlette.requests import Request
from uvicorn.protocols.utils import get_client_addr, get_path_with_query_string
from starlette.responses import Response

from .audit import LogUnavailable, handed, submit_then, unrecorded
from .body import content_headers, wide_integers
from .hot_path import handler_for
from .request_id import request_id_of
from .ledger_state import logged, signals_gpc, waits, with_gpc
from .routes import decide_body

log = logging.getLogger("pdp.server")

DIRECT_PATH = "/v1/decide"

Reply = Callable[[Response], None]


def service_of(app: Any):
    """The pdp app behind uvicorn's wrappers (the proxy-headers middleware), if it serves `/v1/decide` on its hot path."""
    for _ in range(8):  # uvicorn wraps the app in at most a few middlewares
        if DIRECT_PATH in getattr(app, "hot", ()):
            return app
        app = getattr(app, "app", None)
        if app is None:
            return None
    return None


def answer_now(app, scope: dict, raw: bytes, reply: Reply, max_body_bytes: int) -> bool:
    """Answer a `/v1/decide` request whose whole body is `raw`: `reply(response)`, now or once its decision is
    committed. False, with nothing done, when the request is not one the direct path is sure of (a body over
    `max_body_bytes`, the app's limit, is left to the app's own answer, 413)."""
    if scope["path"] != DIRECT_PATH or scope.get("root_path") or app.root_path:
        return False
    content_type, _ = content_headers(scope)
    if content_type != "application/json" and content_type.split(";")[0].strip().lower() != "application/json":
        return False  # (the first test: the common case, without the work of the second)
    if len(raw) > max_body_bytes:
        return False
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return False
    if not isinstance(body, dict) or wide_integers(raw):  # (a number orjson read inexactly: the app refuses it)
        return False
    if waits(app, [body]) is not None:
        return False  # (a read-your-writes token the ledger has not seen: waited for on the ASGI path, off this loop)
    scope["app"] = app  # what `request.app` reads, as on the hot path
    if signals_gpc(scope):
        body = with_gpc(app, body)
    try:
        decided = decide_body(app, body)
        if isinstance(decided, Response):
            reply(decided)
            return True
        waiting = submit_then(app, [(logged(body, decided.answer), decided.answer)], DIRECT_PATH, decided.policy_set,
                              partial(_once_committed, app, scope, decided, reply),
                              [handed(decided.payload, decided.fields)])
    except LogUnavailable:
        reply(unrecorded())
        return True
    except Exception as error:  # noqa: BLE001 - answered by the app's handler, as on the hot path
        _handled(app, scope, error, reply)
        return True
    if not waiting:  # the decision log is off
        reply(decided.response())
    return True


def _once_committed(app, scope: dict, decided, reply: Reply, refused: str | None) -> None:
    if refused is not None:  # the row was not committed (LogUnavailable): not answered
        reply(unrecorded())
        return
    try:
        response = decided.response()
    except Exception as failure:  # noqa: BLE001 - answered by the app's handler, as on the hot path
        _handled(app, scope, failure, reply)
        return
    reply(response)


_handling: set[asyncio.Task] = set()  # the (rare) error answers under way: a task must be referenced to finish


def _handled(app, scope: dict, error: Exception, reply: Reply) -> None:
    """Answer an unforeseen error with the app's exception handler (async), as the hot path does."""

    async def handle() -> None:
        reply(await handler_for(app, error)(Request(scope), error))

    task = asyncio.get_running_loop().create_task(handle())
    _handling.add(task)
    task.add_done_callback(_handling.discard)


if TYPE_CHECKING:  # for the type checker, the mixin is the uvicorn protocol it is mixed into
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol as _Protocol
else:
    _Protocol = object


class DirectDecisions(_Protocol):
    """Mixed in ahead of uvicorn's `HttpToolsProtocol`: answers `/v1/decide` without an ASGI task (see the module)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._service = service_of(self.app)
        self._max_body_bytes = self._service.state.settings.max_body_bytes if self._service is not None else 0
        self._parsing = False  # inside `data_received`: a request's ASGI task may be held back
        self._held: tuple[Any, Any] | None = None  # (cycle, app) of the request held back until its body is in

    def data_received(self, data: bytes) -> None:
        self._parsing = True
        try:
            super().data_received(data)
        finally:
            self._parsing = False
        held, self._held = self._held, None
        if held is not None:
            cycle, app = held
            if cycle.more_body or self.transport.is_closing() or not self._answer(cycle):
                super()._start_asgi_task(cycle, app)  # the plain way: the app reads what has arrived

    def _start_asgi_task(self, cycle, app) -> None:
        # Called by uvicorn once a request's headers are in (or a pipelined request's turn comes).
        if (self._parsing and self._held is None and self._service is not None and app is self.app
                and cycle.scope["method"] == "POST" and cycle.scope["path"] == DIRECT_PATH and cycle.keep_alive
                and not cycle.waiting_for_100_continue):
            self._held = (cycle, app)  # decided at the end of this read if its whole body is in it
            return
        super()._start_asgi_task(cycle, app)

    def _answer(self, cycle) -> bool:
        request_id = request_id_of(cycle.scope)
        if request_id is not None and _HEADER_VALUE.search(request_id):
            return False  # uvicorn refuses to echo it: leave that to the plain way
        return answer_now(self._service, cycle.scope, bytes(cycle.body),
                          lambda response: self._reply(cycle, response, request_id), self._max_body_bytes)

    def _reply(self, cycle, response: Response, request_id: bytes | None) -> None:
        """Write `response` as uvicorn's `send` writes it (its headers, then the app's), in one piece."""
        if cycle.disconnected:
            return  # as `send`: nobody to answer
        if cycle.access_log and cycle.access_logger.isEnabledFor(logging.INFO):  # its line, as `send` logs it
            scope = cycle.scope
            cycle.access_logger.info('%s - "%s %s HTTP/%s" %d', get_client_addr(scope), scope["method"],
                                     get_path_with_query_string(scope), scope["http_version"], response.status_code)
        content = [_STATUS_LINE[response.status_code]]
        for name, value in cycle.default_headers:
            content += [name, b": ", value, b"\r\n"]
        for name, value in response.raw_headers:
            content += [name, b": ", value, b"\r\n"]
        if request_id is not None:
            content += [b"x-request-id: ", request_id, b"\r\n"]
        if not cycle.keep_alive:  # a graceful shutdown began meanwhile
            content.append(b"connection: close\r\n")
        content += [b"\r\n", response.body]
        cycle.response_started = True
        self.transport.write(b"".join(content))
        cycle.response_complete = True
        cycle.message_event.set()
        if not cycle.keep_alive:
            self.transport.close()
        cycle.on_response()


def _uvicorn(name: str):
    from uvicorn.protocols.http import httptools_impl

    return getattr(httptools_impl, name)


try:
    _STATUS_LINE, _HEADER_VALUE = _uvicorn("STATUS_LINE"), _uvicorn("HEADER_VALUE_RE")
except ImportError:  # httptools is optional in uvicorn; the direct path needs it
    _STATUS_LINE = _HEADER_VALUE = None
