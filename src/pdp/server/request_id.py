"""Echo `X-Request-ID` on every response (AuthZEN 1.0 asks for it; operators correlate logs by it)."""

from __future__ import annotations


def request_id_of(scope) -> bytes | None:
    """The request's first `X-Request-ID`, as sent."""
    for name, value in scope["headers"]:
        if name == b"x-request-id":
            return value
    return None


def echo_request_id(scope, send):
    """`send`, wrapped to copy the request's `X-Request-ID` onto the response (as is, when there is none)."""
    request_id = request_id_of(scope)
    if request_id is None:
        return send

    async def send_with_id(message):
        if message["type"] == "http.response.start":
            message["headers"] = list(message.get("headers", ())) + [(b"x-request-id", request_id)]
        await send(message)

    return send_with_id


class RequestIdMiddleware:
    """Pure ASGI, so it adds nothing but a header lookup to the hot path."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        return await self.app(scope, receive, echo_request_id(scope, send))
