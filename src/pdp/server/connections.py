"""Connection limits uvicorn does not have: header and body timeouts, a cap on open connections.

uvicorn's keep-alive timer runs only between requests and is cancelled by
every byte received, so a connection that never sends a request, or sends
its headers or body a byte at a time (slowloris), is held open for ever,
and an ASGI middleware cannot help: the app is called only once the
headers are in. So pdp serve runs uvicorn's own HTTP protocol (httptools,
or h11 without it) with a guard around it:

- a connection that opens, or a new request that starts, must deliver its
  request line and headers within `header_timeout_s`, and at most
  `max_header_bytes` of them (431 otherwise);
- once the headers are in, the body must arrive within `body_timeout_s`;
- a connection opened while the worker already holds `max_connections` is
  closed at once.

Timed-out connections are closed; the app sees a client disconnect. The
protocol is handed to uvicorn as `functools.partial(guarded_protocol(name),
limits=...)`, which pickles for worker processes.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from .direct import DirectDecisions

log = logging.getLogger("pdp.server")

_HEADERS_TOO_LARGE = (b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-type: text/plain; charset=utf-8\r\n"
                      b"content-length: 33\r\nconnection: close\r\n\r\nthe request headers are too large")


@dataclass(frozen=True)
class ConnectionLimits:
    header_timeout_s: float
    body_timeout_s: float
    max_connections: int
    max_header_bytes: int


if TYPE_CHECKING:  # for the type checker, the guard is the asyncio protocol it is mixed into
    _Protocol = asyncio.Protocol
else:
    _Protocol = object


class _Guard(_Protocol):
    """Mixed in ahead of a uvicorn HTTP protocol class; uses only its `cycle`, `connections`, `client` and `transport`."""

    # what the guard reads of the uvicorn protocol (both protocols have them)
    transport: asyncio.Transport
    cycle: Any
    connections: set[Any]

    def __init__(self, *args: Any, limits: ConnectionLimits, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.limits = limits
        self._timer: asyncio.TimerHandle | None = None
        self._waiting_for = ""  # "headers" or "body", while the timer runs
        self._seen_cycle = None  # the last request whose headers were parsed
        self._head_bytes = 0  # of the request whose headers are arriving

    # -- the deadline ------------------------------------------------------------------

    def _arm(self, what: str, seconds: float) -> None:
        self._disarm()
        self._waiting_for = what
        self._timer = asyncio.get_running_loop().call_later(seconds, self._expire, seconds)

    def _disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer, self._waiting_for = None, ""

    def _expire(self, seconds: float) -> None:
        what, self._timer, self._waiting_for = self._waiting_for, None, ""
        if self.transport.is_closing():
            return
        if what == "headers" and self._head_bytes == 0:  # nothing sent at all: idle, not hostile
            log.debug("closed an idle connection from %s after %g s", self._peer(), seconds)
        else:
            log.warning("closed the connection from %s: the request %s did not arrive within %g s",
                        self._peer(), what, seconds)
        self.transport.close()

    def _peer(self) -> str:
        client = getattr(self, "client", None)
        return f"{client[0]}:{client[1]}" if client else "a client"

    def _awaiting_head(self) -> bool:
        """The bytes arriving now start a new request: none yet, or the last one was answered in full."""
        cycle = self.cycle
        return cycle is None or (not cycle.more_body and cycle.response_complete)

    # -- the protocol ------------------------------------------------------------------

    def connection_made(self, transport) -> None:
        super().connection_made(transport)
        if len(self.connections) > self.limits.max_connections:
            log.warning("closed a new connection from %s: %d connections are open (PDP_MAX_CONNECTIONS)",
                        self._peer(), len(self.connections) - 1)
            transport.close()
            return
        self._arm("headers", self.limits.header_timeout_s)

    def data_received(self, data: bytes) -> None:
        awaiting_head = self._awaiting_head()
        super().data_received(data)
        cycle = self.cycle
        if cycle is not None and cycle is not self._seen_cycle:  # a request's headers are in
            self._seen_cycle, self._head_bytes = cycle, 0
            self._disarm()
            if cycle.more_body:
                self._arm("body", self.limits.body_timeout_s)
        elif awaiting_head and not self.transport.is_closing():
            # The first bytes of a request on a kept-alive connection start its deadline; armed after they are
            # read, not before, so that a request whose headers come in one read costs no timer at all.
            if self._timer is None:
                self._arm("headers", self.limits.header_timeout_s)
            self._head_bytes += len(data)
            if self._head_bytes > self.limits.max_header_bytes:
                log.warning("closed the connection from %s: request headers over %d bytes (PDP_MAX_HEADER_BYTES)",
                            self._peer(), self.limits.max_header_bytes)
                self._disarm()
                self.transport.write(_HEADERS_TOO_LARGE)
                self.transport.close()
                return
        if self._waiting_for == "body" and not cycle.more_body:
            self._disarm()  # the whole body is in: the app's own time is not bounded here

    def connection_lost(self, exc) -> None:
        self._disarm()
        super().connection_lost(exc)


def _protocol(module: str, name: str):
    import importlib

    try:
        return getattr(importlib.import_module(module), name)
    except ImportError:  # httptools is optional in uvicorn
        return None


_HttpTools = _protocol("uvicorn.protocols.http.httptools_impl", "HttpToolsProtocol")


class GuardedH11(_Guard, H11Protocol):
    """uvicorn's h11 protocol with pdp's connection limits."""


GuardedHttpTools = type("GuardedHttpTools", (_Guard, _HttpTools), {"__module__": __name__}) if _HttpTools else None
# ... and answering `/v1/decide` without an ASGI task (pdp.server.direct)
GuardedDirectHttpTools = (type("GuardedDirectHttpTools", (_Guard, DirectDecisions, _HttpTools), {"__module__": __name__})
                          if _HttpTools else None)


def guarded_protocol(name: str = "auto", direct: bool = False) -> type:
    """uvicorn's HTTP protocol `name`, with the guard; "auto" picks as uvicorn does (httptools if installed, else h11).
    `direct`: with httptools, `/v1/decide` is answered from the protocol (pdp.server.direct); h11 has no direct path,
    nor has a uvicorn the direct path was not tested with (`direct_supported`)."""
    if name == "h11" or (name == "auto" and GuardedHttpTools is None):
        return GuardedH11
    if GuardedHttpTools is None:
        raise ValueError("PDP_HTTP=httptools needs httptools: pip install httptools")
    if direct and GuardedDirectHttpTools and direct_supported(uvicorn.__version__):
        return GuardedDirectHttpTools
    return GuardedHttpTools


# The uvicorn releases whose httptools protocol the direct path was tested against (tests/server/test_direct.py).
# The direct path overrides a private method of that protocol and reads its request cycle's attributes; a
# release outside these may have changed them, so with it pdp answers through the ASGI app (the plain way,
# slower, the same answers) and says so, rather than risk a connection broken half-way through an answer.
DIRECT_UVICORN = ((0, 54), (0, 54))


def direct_supported(version: str) -> bool:
    """Whether uvicorn `version` is one the direct path was tested with (a warning says when it is not)."""
    try:
        release = tuple(int(part) for part in version.split(".")[:2])
    except ValueError:
        release = ()
    low, high = DIRECT_UVICORN
    if len(release) == 2 and low <= release <= high:
        return True
    log.warning("the direct path for POST /v1/decide is off: it was tested with uvicorn %s.x to %s.x, not %s "
                "(answers go through the ASGI app, the same answers, more CPU a request)",
                ".".join(map(str, low)), ".".join(map(str, high)), version)
    return False
