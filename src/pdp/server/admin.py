"""Admin endpoints, behind a bearer token (`PDP_ADMIN_TOKEN`).

Without a configured token they are closed to everyone: a deployment that
forgot the setting must not leave reloads and the decision log open.
"""

from __future__ import annotations

import secrets
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from starlette.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from .errors import ERROR_RESPONSES
from .reload import reload_now

_bearer = HTTPBearer(auto_error=False)


def require_admin(request: Request,
                  credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]) -> None:
    expected = request.app.state.settings.admin_token
    given = credentials.credentials if credentials else None
    if expected is None or given is None or not secrets.compare_digest(given.encode(), expected.get_secret_value().encode()):
        raise HTTPException(401, "a valid admin bearer token is required", headers={"WWW-Authenticate": "Bearer"})


router = APIRouter(prefix="/v1/admin", tags=["admin"], dependencies=[Depends(require_admin)],
                   responses={401: {"model": ERROR_RESPONSES[400]["model"], "description": "missing or wrong admin token"}})


@router.post("/reload", summary="Reload the policy set now")
async def reload(request: Request):
    swapped = await reload_now(request.app)
    holder = request.app.state.holder
    return {
        "reloaded": swapped,
        "digest": holder.current.digest if holder.current else None,
        "errors": holder.last_failure.errors if (holder.last_failure and not swapped) else [],
    }


@router.get("/decisions", summary="Read the decision log (newest first)")
async def decisions(request: Request, since: str | None = None, until: str | None = None,
                    decision: Literal["allow", "deny"] | None = None, decision_id: str | None = None,
                    limit: Annotated[int, Query(ge=1, le=1000)] = 100):
    decision_log = request.app.state.decision_log
    if decision_log is None:
        raise HTTPException(404, "the decision log is not enabled (set PDP_LOG_PATH)")
    try:
        rows = await run_in_threadpool(decision_log.decision_log.query, since=since, until=until, decision=decision,
                                       decision_id=decision_id, limit=limit)
    except ValueError as error:
        raise HTTPException(422, str(error)) from None
    return {"decisions": rows}
