"""Admin endpoints, behind a bearer token (`PDP_ADMIN_TOKEN`).

Without a configured token they are closed to everyone: a deployment that
forgot the setting must not leave reloads and the decision log open.
"""

from __future__ import annotations

import datetime as dt
import secrets
from itertools import chain
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.exc import SQLAlchemyError

from pdp.io.decision_log import format_time
from . import log_shipping
from .errors import ERROR_RESPONSES, error_response
from .reload import reload_now

_bearer = HTTPBearer(auto_error=False)


def require_admin(request: Request,
                  credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]) -> None:
    expected = request.app.state.settings.admin_token
    given = credentials.credentials if credentials else None
    if expected is None or given is None or not secrets.compare_digest(given.encode(), expected.get_secret_value().encode()):
        raise HTTPException(401, "a valid admin bearer token is required", headers={"WWW-Authenticate": "Bearer"})


def known_parameters(request: Request) -> None:
    """Refuse a query parameter the route does not take: a misspelt filter must not quietly read (or erase) more."""
    route = request.scope.get("route")
    known = {param.alias for param in route.dependant.query_params} if route is not None else set()
    unknown = sorted(name for name in request.query_params if name not in known)
    if unknown:
        raise RequestValidationError([{"loc": ("query", name), "msg": f"unknown parameter `{name}`; "
                                       f"known: {', '.join(sorted(known)) or 'none'}", "type": "unknown"}
                                      for name in unknown])


_ERROR = ERROR_RESPONSES[400]["model"]
router = APIRouter(prefix="/v1/admin", tags=["admin"], dependencies=[Depends(require_admin), Depends(known_parameters)],
                   responses={401: {"model": _ERROR, "description": "missing or wrong admin token"},
                              404: {"model": _ERROR, "description": "the decision log is not enabled"},
                              422: {"model": _ERROR, "description": "a query parameter out of range or malformed"}})


@router.post("/reload", summary="Reload the policy set now")
async def reload(request: Request):
    swapped = await reload_now(request.app)
    holder = request.app.state.holder
    return {
        "reloaded": swapped,
        "digest": holder.current.digest if holder.current else None,
        "errors": holder.last_failure.errors if (holder.last_failure and not swapped) else [],
    }


def _time_bound(value: str, name: str) -> str:
    """An ISO 8601 time as UTC text; ValueError names the parameter (a far offset can leave the calendar)."""
    try:
        moment = dt.datetime.fromisoformat(value)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=dt.timezone.utc)
        return moment.astimezone(dt.timezone.utc).isoformat()
    except (ValueError, OverflowError):
        raise ValueError(f"`{name}` must be an ISO 8601 time between years 1 and 9999, e.g. 2026-03-01T12:00:00Z; "
                         f"got `{value}`") from None


MAX_ROWS = 1000  # rows in one answer: page with `until` (the time of the last row seen)


def _log(request: Request):
    writer = request.app.state.decision_log
    if writer is None:
        raise HTTPException(404, "the decision log is not enabled (set PDP_LOG_PATH)")
    return writer.decision_log


@router.get("/decisions", summary="Read the decision log (newest first)",
            response_description="`{\"decisions\": [...]}`, streamed a row at a time")
async def decisions(request: Request, since: Annotated[str | None, Query(json_schema_extra={"format": "date-time"})] = None,
                    until: Annotated[str | None, Query(json_schema_extra={"format": "date-time"})] = None,
                    decision: Literal["allow", "deny"] | None = None, decision_id: str | None = None,
                    data_subject_id: Annotated[str | None, Query(
                        description="only the rows naming this id (a data subject, requester or AuthZEN "
                                    "subject or resource id); pseudonymised with the log's key to look it up")] = None,
                    limit: Annotated[int, Query(ge=1, le=MAX_ROWS)] = 100,
                    source: Annotated[Literal["combined", "local"] | None, Query(
                        description="`combined`: every replica's rows (PDP_LOG_URL), each naming its `replica`; "
                                    "`local`: this replica's own log. Default: combined when configured")] = None):
    decision_log = _log(request)
    combined = request.app.state.combined_log
    if source == "combined" and combined is None:
        return error_response(404, "not_enabled", [{"field": "source", "message": "this server has no combined "
                                                    "decision log (PDP_LOG_URL)"}])
    bounds = {"since": since, "until": until}
    for name, value in bounds.items():
        if value is not None:
            try:
                bounds[name] = _time_bound(value, name)
            except ValueError as error:
                # 422, as every other malformed or out-of-range admin query parameter
                return error_response(422, "bad_request", [{"field": name, "message": str(error)}])
    since, until = bounds["since"], bounds["until"]
    if combined is not None and source != "local":
        everyone = await run_in_threadpool(combined.log)  # opened now if need be: 503 while it cannot be reached
        moments = {name: None if value is None else format_time(dt.datetime.fromisoformat(value))
                   for name, value in bounds.items()}
        rows = everyone.stream(since=moments["since"], until=moments["until"], decision=decision,
                               decision_id=decision_id, data_subject_id=data_subject_id, limit=limit)
        try:
            first = await run_in_threadpool(next, rows)
        except SQLAlchemyError:
            raise log_shipping.unreachable() from None
        return StreamingResponse(chain([first], rows), media_type="application/json")
    try:
        rows = decision_log.stream(since=since, until=until, decision=decision, decision_id=decision_id,
                                   data_subject_id=data_subject_id, limit=limit)
    except ValueError as error:
        raise HTTPException(422, str(error)) from None
    return StreamingResponse(rows, media_type="application/json")


@router.delete("/decisions", summary="Erase one person from the decision log (§4), keeping what was decided",
               response_description="`deleted`: the rows of this replica's log the person was taken out of; "
                                    "`combined`: those of the combined log (PDP_LOG_URL), when configured")
async def erase(request: Request, data_subject_id: Annotated[str, Query(
        min_length=1, description="the person's id, as requests name them; every row naming it keeps only the proof "
                                  "of what was decided (docs/consent.md, Erasure)")]):
    _log(request)
    return await log_shipping.erase(request.app, data_subject_id)
