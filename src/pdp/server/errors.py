"""Every error the API returns has one shape: `{"error": code, "detail": [{field, message, ...}]}`.

No stack traces, no 500 pages: request problems name the field; anything
unforeseen is caught and answered as a fail-closed error.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException


log = logging.getLogger("pdp.server")


class FieldProblem(BaseModel):
    field: str
    message: str
    suggestions: list[str] | None = None


class ErrorBody(BaseModel):
    error: str
    detail: list[FieldProblem]


def error_response(status: int, code: str, detail: list[dict], headers: dict | None = None) -> JSONResponse:
    return JSONResponse(status_code=status, content={"error": code, "detail": detail}, headers=headers)


class ApiError(Exception):
    """A refusal raised from anywhere below a route, answered in the one error shape (each problem's field named)."""

    def __init__(self, status: int, code: str, detail: list[dict[str, Any]], headers: dict[str, str] | None = None):
        super().__init__(code)
        self.status, self.code, self.detail, self.headers = status, code, detail, headers


def not_ready(holder) -> JSONResponse:
    """503: no policy set is in service, so nothing is decided (with why, when a bundle never loaded)."""
    detail = [{"field": "policy", "message": "no policy set is loaded"}]
    waiting = holder.waiting_for()
    if waiting is not None:
        detail.append({"field": "bundle", "message": waiting})
    return error_response(503, "not_ready", detail)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def validation(_: Request, exc: RequestValidationError):
        detail = [{"field": ".".join(str(p) for p in e["loc"] if p != "body") or "body", "message": e["msg"]}
                  for e in exc.errors()]
        return error_response(422, "bad_request", detail)

    @app.exception_handler(ApiError)
    async def refused(_: Request, exc: ApiError):
        return error_response(exc.status, exc.code, exc.detail, headers=exc.headers)

    @app.exception_handler(Exception)
    async def internal_error(request: Request, exc: Exception):
        # A bug outside deciding (deciding itself fails closed): the JSON error shape, no internals.
        log.error("internal error in %s", request.url.path, exc_info=exc)
        return error_response(500, "internal_error", [{"field": "request", "message":
                              f"internal error ({exc.__class__.__name__}); nothing was decided"}])

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        # The exception's headers are part of the answer (`WWW-Authenticate` on a 401, `Allow` on a 405).
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            allowed = _allowed_methods(request, headers.get("Allow"))
            if allowed:
                headers["Allow"] = allowed
        return error_response(exc.status_code, "http_error", [{"field": "request", "message": str(exc.detail)}],
                              headers=headers)


def _allowed_methods(request: Request, given: str | None) -> str | None:
    """Every method the API documents at this path (Starlette's own `Allow` names only the first route's)."""
    documented = request.app.openapi().get("paths", {}).get(request.scope.get("path"))
    return ", ".join(sorted(m.upper() for m in documented)) if documented else given


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {  # as FastAPI's `responses=` takes them
    400: {"model": ErrorBody, "description": "malformed JSON or a body that is not a JSON object"},
    413: {"model": ErrorBody, "description": "the body is larger than the server accepts"},
    415: {"model": ErrorBody, "description": "the body is not `application/json`"},
    422: {"model": ErrorBody, "description": "a missing or mistyped field, or a key unknown to the policy set"},
    503: {"model": ErrorBody, "description": "no policy set is loaded (none yet, or no good bundle yet)"},
}
