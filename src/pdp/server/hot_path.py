"""The decision endpoints, dispatched ahead of FastAPI's middleware and router.

Why: a request through FastAPI's full stack (error, telemetry and body-limit
middleware, exception middleware, the router's scan, dependency solving, an
exit stack) costs more than deciding it; measured in-process here, about
half of a bare FastAPI endpoint's time is that stack. The decision
endpoints stay ordinary FastAPI routes: documented in the OpenAPI schema,
and served by the full stack whenever the hot path does not apply. The hot
path only calls the same endpoint functions directly, with the same
exception handlers, and echoes `X-Request-ID` as the middleware does.

An endpoint may also have a bare ASGI form (`asgi`: `/v1/decide` has one,
`routes.decide_asgi`), which reads the request from the ASGI scope and
messages without building a Request object and gives the same answer: the
same function decides and answers behind both.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping

from fastapi import FastAPI
from fastapi.routing import APIRoute
from starlette.requests import Request

from .request_id import echo_request_id

Endpoint = Callable[[Request], Awaitable]


Asgi = Callable[..., Awaitable]  # (app, scope, receive) -> Response


def hot_endpoints(routers, paths: set[str], asgi: Mapping[str, Asgi] | None = None) -> dict[str, Asgi]:
    """How to answer each of `paths` on the hot path: its bare ASGI form when `asgi` has one, else the POST
    endpoint function the routers (included without a prefix) declare, called with a Request."""
    found: dict[str, Asgi] = {}
    for router in routers:
        for route in router.routes:
            if isinstance(route, APIRoute) and route.path in paths and "POST" in (route.methods or ()):
                found[route.path] = _with_request(route.endpoint)
    missing = paths - found.keys()
    if missing:
        raise RuntimeError(f"no POST route for {', '.join(sorted(missing))}")
    found.update({path: answer for path, answer in (asgi or {}).items() if path in paths})
    return found


def _with_request(endpoint: Endpoint) -> Asgi:
    async def answer(app, scope, receive):
        return await endpoint(Request(scope, receive))

    return answer


def handler_for(app: FastAPI, error: Exception):
    """The app's handler for `error`, as Starlette picks it (the most specific class); `Exception` catches all."""
    for kind in type(error).__mro__:
        if kind in app.exception_handlers:
            return app.exception_handlers[kind]
    raise error  # no handler at all: let the server answer it


async def serve_hot(app: FastAPI, answer: Asgi, scope, receive, send) -> None:
    """Answer one request with `answer`, as the full stack would answer it."""
    scope["app"] = app  # what `request.app` reads
    send = echo_request_id(scope, send)
    try:
        response = await answer(app, scope, receive)
    except Exception as error:  # noqa: BLE001 - answered as the full stack answers it
        response = await handler_for(app, error)(Request(scope, receive, send), error)
    await response(scope, receive, send)
