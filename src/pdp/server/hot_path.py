"""The decision endpoints, dispatched ahead of FastAPI's middleware and router.

Why: a request through FastAPI's full stack (error, telemetry and body-limit
middleware, exception middleware, the router's scan, dependency solving, an
exit stack) costs more than deciding it; measured in-process here, about
half of a bare FastAPI endpoint's time is that stack. The decision
endpoints stay ordinary FastAPI routes: documented in the OpenAPI schema,
and served by the full stack whenever the hot path does not apply. The hot
path only calls the same endpoint functions directly, with the same
exception handlers, and echoes `X-Request-ID` as the middleware does.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import FastAPI
from fastapi.routing import APIRoute
from starlette.requests import Request

from .request_id import echo_request_id

Endpoint = Callable[[Request], Awaitable]


def hot_endpoints(routers, paths: set[str]) -> dict[str, Endpoint]:
    """The POST endpoint functions of `paths`, as the routers (included without a prefix) declare them."""
    found = {}
    for router in routers:
        for route in router.routes:
            if isinstance(route, APIRoute) and route.path in paths and "POST" in (route.methods or ()):
                found[route.path] = route.endpoint
    missing = paths - found.keys()
    if missing:
        raise RuntimeError(f"no POST route for {', '.join(sorted(missing))}")
    return found


def _handler_for(app: FastAPI, error: Exception):
    """The app's handler for `error`, as Starlette picks it (the most specific class); `Exception` catches all."""
    for kind in type(error).__mro__:
        if kind in app.exception_handlers:
            return app.exception_handlers[kind]
    raise error  # no handler at all: let the server answer it


async def serve_hot(app: FastAPI, endpoint: Endpoint, scope, receive, send) -> None:
    """Answer one request with `endpoint`, as the full stack would answer it."""
    scope["app"] = app  # what `request.app` reads
    send = echo_request_id(scope, send)
    request = Request(scope, receive, send)
    try:
        response = await endpoint(request)
    except Exception as error:  # noqa: BLE001 - answered as the full stack answers it
        response = await _handler_for(app, error)(request, error)
    await response(scope, receive, send)
