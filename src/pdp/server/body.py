"""Reading a JSON body with the limits and errors the contract asks for."""

from __future__ import annotations

import logging

import orjson
from fastapi import Request
from fastapi.responses import Response
from starlette.requests import ClientDisconnect

log = logging.getLogger("pdp.server")


class BodyError(Exception):
    def __init__(self, status: int, message: str, field: str = "body"):
        super().__init__(message)
        self.status, self.message, self.field = status, message, field


async def read_json_object(request: Request, max_bytes: int) -> dict:
    content_type = request.headers.get("content-type", "")
    if content_type.split(";")[0].strip().lower() != "application/json":
        raise BodyError(415 if content_type else 400, "send the body as JSON with `Content-Type: application/json`",
                        "content-type")
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > max_bytes:
        raise BodyError(413, f"the body is larger than {max_bytes} bytes")
    raw = b""
    try:
        async for chunk in request.stream():
            raw += chunk
            if len(raw) > max_bytes:
                raise BodyError(413, f"the body is larger than {max_bytes} bytes")
    except ClientDisconnect:
        # Common and harmless (a client gave up, or a body timeout closed it): one line, no traceback.
        client = request.client
        log.warning("%s %s: the client%s closed the connection after %d of %s body bytes; nothing was decided",
                    request.method, request.url.path, f" {client.host}:{client.port}" if client else "", len(raw),
                    declared or "unknown")
        raise BodyError(400, "the connection closed before the whole body arrived") from None
    if not raw.strip():
        raise BodyError(400, "the body is empty: send a JSON object")
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        raise BodyError(400, f"the body is not valid JSON: {error.msg} at line {error.lineno} column {error.colno}") from None
    if not isinstance(value, dict):
        raise BodyError(400, "the body must be a JSON object")
    return value


class FastJSONResponse(Response):
    """JSON rendered by orjson: the response encoder is a visible share of a decision's cost."""

    media_type = "application/json"

    def render(self, content) -> bytes:
        return orjson.dumps(content)
