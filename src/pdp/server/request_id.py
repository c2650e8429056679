"""Echo `X-Request-ID` on every response (AuthZEN 1.0 asks for it; operators correlate logs by it)."""

from __future__ import annotations


class RequestIdMiddleware:
    """Pure ASGI, so it adds nothing but a header lookup to the hot path."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        request_id = None
        for name, value in scope["headers"]:
            if name == b"x-request-id":
                request_id = value
                break
        if request_id is None:
            return await self.app(scope, receive, send)

        async def send_with_id(message):
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = list(message["headers"]) + [(b"x-request-id", request_id)]
            await send(message)

        return await self.app(scope, receive, send_with_id)
