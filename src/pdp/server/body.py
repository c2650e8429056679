"""Reading a JSON body with the limits and errors the contract asks for."""

from __future__ import annotations

import logging

import orjson
from fastapi import Request

log = logging.getLogger("pdp.server")


class BodyError(Exception):
    def __init__(self, status: int, message: str, field: str = "body"):
        super().__init__(message)
        self.status, self.message, self.field = status, message, field


async def read_json_object(request: Request, max_bytes: int) -> dict:
    """The request's body, a JSON object (a BodyError names what is wrong with it)."""
    return await read_json_body(request.scope, request.receive, max_bytes)


def content_headers(scope) -> tuple[str, str | None]:
    """(content type, declared length) of an ASGI request: the first of each, as Starlette's `Headers.get` reads them."""
    content_type = declared = None
    for name, value in scope["headers"]:
        if name == b"content-type" and content_type is None:
            content_type = value.decode("latin-1")
        elif name == b"content-length" and declared is None:
            declared = value.decode("latin-1")
    return content_type or "", declared


async def read_json_body(scope, receive, max_bytes: int) -> dict:
    """`read_json_object` for a bare ASGI request (the hot path has no Request object)."""
    content_type, declared = content_headers(scope)
    if content_type.split(";")[0].strip().lower() != "application/json":
        raise BodyError(415 if content_type else 400, "send the body as JSON with `Content-Type: application/json`",
                        "content-type")
    if declared and declared.isdigit() and int(declared) > max_bytes:
        raise BodyError(413, f"the body is larger than {max_bytes} bytes")
    raw = b""
    while True:
        message = await receive()
        if message["type"] == "http.request":
            raw += message.get("body", b"")
            if len(raw) > max_bytes:
                raise BodyError(413, f"the body is larger than {max_bytes} bytes")
            if not message.get("more_body", False):
                break
        elif message["type"] == "http.disconnect":
            # Common and harmless (a client gave up, or a body timeout closed it): one line, no traceback.
            client = scope.get("client")
            log.warning("%s %s: the client%s closed the connection after %d of %s body bytes; nothing was decided",
                        scope["method"], scope["path"], f" {client[0]}:{client[1]}" if client else "", len(raw),
                        declared or "unknown")
            raise BodyError(400, "the connection closed before the whole body arrived")
    if not raw.strip():
        raise BodyError(400, "the body is empty: send a JSON object")
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        raise BodyError(400, f"the body is not valid JSON: {error.msg} at line {error.lineno} column {error.colno}") from None
    if not isinstance(value, dict):
        raise BodyError(400, "the body must be a JSON object")
    return value
