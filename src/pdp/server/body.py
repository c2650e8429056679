"""Reading a JSON body with the limits and errors the contract asks for."""

from __future__ import annotations

import json
import logging

import orjson
from fastapi import Request

log = logging.getLogger("pdp.server")


class BodyError(Exception):
    def __init__(self, status: int, message: str, field: str = "body", fields: list[str] | None = None):
        super().__init__(message)
        self.status, self.message, self.field = status, message, field
        self.fields = fields or [field]

    def detail(self) -> list[dict]:
        """The error answer's `detail`: one entry per field named."""
        return [{"field": field, "message": self.message} for field in self.fields]


# orjson reads an integer beyond 64 bits as the nearest float, silently: the number decided (and logged) would
# not be the one sent (`10**20 + 1` compared with a rule's `10**20`). Such a body is refused, naming the field.
SMALLEST_INTEGER, LARGEST_INTEGER = -2**63, 2**64 - 1  # what orjson reads exactly
# Any integer outside those bounds has at least 19 digits: with every digit made a 9, a run of 19 nines is looked
# for (a tenth of a microsecond a body; a regular expression `\d{19}` took 5 µs, as long as deciding a rule).
_DIGITS_AS_NINES = bytes.maketrans(b"012345678", b"999999999")
_LONG_RUN = b"9" * 19
_WIDE = object()
WIDE_INTEGER = (f"an integer beyond 64 bits ({SMALLEST_INTEGER} to {LARGEST_INTEGER}) would not be decided as sent;"
                " send it as a string, or as a number with a fraction or an exponent if it is approximate")
MAX_NAMED = 20  # fields named in one answer


def _exact(digits: str):
    if len(digits) > 21:  # beyond 64 bits whatever the digits (and never converted: Python caps int(str) length)
        return _WIDE
    value = int(digits)
    return value if SMALLEST_INTEGER <= value <= LARGEST_INTEGER else _WIDE


def wide_integers(raw: bytes) -> list[str]:
    """The fields (dotted paths, list items by index) of the JSON text `raw` whose value is an integer beyond 64
    bits; at most `MAX_NAMED`. Most bodies have no run of 19 digits and cost one scan."""
    if _LONG_RUN not in raw.translate(_DIGITS_AS_NINES):
        return []
    try:
        value = json.loads(raw, parse_int=_exact)  # the stdlib keeps each integer's digits
    except RecursionError:  # nested deeper than Python's json reads, with a long number somewhere: not decided
        return ["body"]
    except ValueError:  # not JSON: said otherwise
        return []
    found: list[str] = []
    stack: list[tuple[str, object]] = [("", value)]
    while stack and len(found) < MAX_NAMED:
        path, item = stack.pop()
        if item is _WIDE:
            found.append(path or "body")
        elif isinstance(item, dict):
            stack.extend((f"{path}.{name}" if path else str(name), inner) for name, inner in reversed(item.items()))
        elif isinstance(item, list):
            stack.extend((f"{path}.{index}" if path else str(index), inner)
                         for index, inner in reversed(list(enumerate(item))))
    return found


async def read_json_object(request: Request, max_bytes: int) -> dict:
    """The request's body, a JSON object (a BodyError names what is wrong with it). An integer beyond 64 bits is
    refused (422 naming each field)."""
    return await read_json_body(request.scope, request.receive, max_bytes)


async def read_json_batch(request: Request, max_bytes: int, field: str) -> tuple[dict, dict[int, list[str]]]:
    """A batch's body, and the items of its list `field` holding an integer beyond 64 bits (by index: the fields
    each names). A batch answers such an item in its place, as any bad item, and never fails the whole call for
    one; such an integer anywhere else in the body is refused (422) as in a single request."""
    raw = await _read_raw(request.scope, request.receive, max_bytes)
    value = _parse(raw, exact=False)
    bad: dict[int, list[str]] = {}
    outside = []
    for path in wide_integers(raw):
        head, _, rest = path.partition(".")
        index, _, _ = rest.partition(".")
        if head == field and index.isdigit():
            bad.setdefault(int(index), []).append(path)
        else:
            outside.append(path)
    if outside:
        raise BodyError(422, WIDE_INTEGER, fields=outside)
    return value, bad


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
    return _parse(await _read_raw(scope, receive, max_bytes), exact=True)


async def _read_raw(scope, receive, max_bytes: int) -> bytes:
    """The body's bytes, within `max_bytes`, once its content type says JSON."""
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
    return raw


def _parse(raw: bytes, exact: bool) -> dict:
    """The JSON object `raw`; `exact`: an integer beyond 64 bits is refused (422 naming each field)."""
    if not raw.strip():
        raise BodyError(400, "the body is empty: send a JSON object")
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        wide = wide_integers(raw) if exact else []  # an integer too large even for a float ("number is infinity")
        if wide:
            raise BodyError(422, WIDE_INTEGER, fields=wide) from None
        raise BodyError(400, f"the body is not valid JSON: {error.msg} at line {error.lineno} column {error.colno}") from None
    if not isinstance(value, dict):
        raise BodyError(400, "the body must be a JSON object")
    wide = wide_integers(raw) if exact else []
    if wide:
        raise BodyError(422, WIDE_INTEGER, fields=wide)
    return value
