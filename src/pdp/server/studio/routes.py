"""The studio's API (`/studio/api/*`): each call reads the set on disk, lays its `edits` over it, and asks.

Every call needs the token (`auth.require_token`). Bodies are JSON objects
read within `MAX_BODY_BYTES` (a whole set may be sent as edits); every
refusal names its field (`errors.StudioError`). Everything that reads files
or builds runs off the event loop and is waited for at most
`WHOLE_SET_TIMEOUT_S` (503 beyond: the analysis's own budgets bound the
thread it leaves behind); the whole-set questions (warnings, tests, diff,
query) at most `WHOLE_SET_AT_ONCE` at a time. docs/studio.md describes each call.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, TypeVar

import anyio
import anyio.to_thread
from fastapi import APIRouter, Depends, Request

from pdp.base.limits import MAX_SET_BYTES
from pdp.editing import Workspace
from ..body import BodyError, read_json_object
from ..reload import reload_now
from . import editor, impact, policy_tests, saving, trying
from .auth import require_token
from .building import built, committed
from .edits import checked_edits, require_object
from .errors import StudioError, bad_field
from .workspace import Place, edited, listing, read_set, sizes

MAX_BODY_BYTES = MAX_SET_BYTES + 1_000_000  # every file of a set, and the JSON around them
WHOLE_SET_AT_ONCE = 2
WHOLE_SET_TIMEOUT_S = 60.0

T = TypeVar("T")

router = APIRouter(prefix="/studio/api", dependencies=[Depends(require_token)], include_in_schema=False)


class StudioState:
    """What the studio keeps on the app: the limiter of whole-set work and the lock that orders saves."""

    def __init__(self) -> None:
        self._limiter: anyio.CapacityLimiter | None = None
        self.saving = asyncio.Lock()

    @property
    def limiter(self) -> anyio.CapacityLimiter:
        if self._limiter is None:  # made in the event loop that uses it
            self._limiter = anyio.CapacityLimiter(WHOLE_SET_AT_ONCE)
        return self._limiter


async def off_loop(request: Request, work: Callable[..., T], *args: Any, whole_set: bool = False) -> T:
    """`work(*args)` in a worker thread, waited for at most `WHOLE_SET_TIMEOUT_S`; `whole_set` work (the warnings,
    the tests, a diff, a query) also at most `WHOLE_SET_AT_ONCE` at a time, so that it never holds up the quick
    answers an editor waits for as you type (errors, completion, hover)."""
    state: StudioState = request.app.state.studio
    timeout = WHOLE_SET_TIMEOUT_S
    limiter = state.limiter if whole_set else None
    try:
        with anyio.fail_after(timeout):
            return await anyio.to_thread.run_sync(work, *args, limiter=limiter, abandon_on_cancel=True)
    except TimeoutError:
        raise StudioError(503, "timeout", [{"field": "edits", "message": f"the answer took longer than {timeout:g} s "
                          "and was abandoned; try a narrower question"}]) from None


async def body_of(request: Request) -> dict[str, Any]:
    try:
        return require_object(await read_json_object(request, MAX_BODY_BYTES))
    except BodyError as error:
        raise StudioError(error.status, "bad_request", error.detail()) from None


class Asked:
    """One call's set: the workspace on disk with the call's edits over it, and where it is."""

    def __init__(self, workspace: Workspace, place: Place, edits: dict[str, str]):
        self.workspace, self.place, self.edits = workspace, place, edits


def _asked(directory, body: dict[str, Any]) -> Asked:
    workspace, place = read_set(directory)
    edits = checked_edits(body, sizes(workspace, place), place.directory)
    return Asked(edited(workspace, place, edits), place, edits)


async def asked(request: Request, body: dict[str, Any]) -> Asked:
    return await off_loop(request, _asked, request.app.state.holder.directory, body)


@router.get("/files")
async def files(request: Request):
    workspace, place = await off_loop(request, read_set, request.app.state.holder.directory)
    current = request.app.state.holder.current
    return {"root": place.directory.name, "name": current.name if current else None,
            "version": current.version if current else None, "files": listing(workspace, place)}


@router.post("/check")
async def check_set(request: Request):
    body = await body_of(request)
    warnings = body.get("warnings", True)
    if not isinstance(warnings, bool):
        raise bad_field("warnings", "`warnings` is true or false")
    call = await asked(request, body)
    return await off_loop(request, editor.checked, call.workspace, call.place, warnings, whole_set=warnings)


async def _at_position(request: Request, feature: Callable[..., dict[str, Any]], with_place: bool = False):
    body = await body_of(request)
    call = await asked(request, body)
    path, line, col = editor.position(body, call.workspace, call.place)
    args = (call.workspace, call.place, path, line, col) if with_place else (call.workspace, path, line, col)
    return await off_loop(request, feature, *args)


@router.post("/complete")
async def complete(request: Request):
    return await _at_position(request, editor.completed)


@router.post("/hover")
async def hover(request: Request):
    return await _at_position(request, editor.hovered)


@router.post("/definition")
async def definition(request: Request):
    return await _at_position(request, editor.defined, with_place=True)


@router.post("/format")
async def format_file(request: Request):
    body = await body_of(request)
    call = await asked(request, body)
    path = editor.file_of(body, call.workspace, call.place)
    return await off_loop(request, editor.formatted, call.workspace, call.place, path)


@router.get("/examples")
async def examples(request: Request):
    workspace, place = await off_loop(request, read_set, request.app.state.holder.directory)
    return await off_loop(request, policy_tests.examples, workspace, place)


@router.post("/decide")
async def decide(request: Request):
    body = await body_of(request)
    if "request" not in body:
        raise bad_field("request", "`request` is required: the decision request to try")
    call = await asked(request, body)
    policy_set = await off_loop(request, built, call.workspace, call.place, "deciding")
    return await off_loop(request, trying.try_request, policy_set, call.place, body["request"], body.get("events"),
                          call.workspace)


@router.post("/test")
async def test(request: Request):
    body = await body_of(request)
    call = await asked(request, body)
    policy_set = await off_loop(request, built, call.workspace, call.place, "testing")
    return await off_loop(request, policy_tests.run_tests, policy_set, call.workspace, call.place, whole_set=True)


@router.post("/diff")
async def diff(request: Request):
    body = await body_of(request)
    against = body.get("against", "served")
    if against not in impact.AGAINST:
        raise bad_field("against", "`against` is `served` or `committed`")
    call = await asked(request, body)
    after = await off_loop(request, built, call.workspace, call.place, "comparing")
    if against == "served":
        before = request.app.state.holder.current
        if before is None:
            raise StudioError(503, "not_ready", [{"field": "against", "message": "no policy set is served yet"}])
    else:
        before = await off_loop(request, committed, call.place, whole_set=True)
    return await off_loop(request, impact.changes, before, after, against, whole_set=True)


@router.post("/query")
async def query(request: Request):
    body = await body_of(request)
    question = impact.question_of(body)
    call = await asked(request, body)
    policy_set = await off_loop(request, built, call.workspace, call.place, "asking")
    return await off_loop(request, impact.answer, policy_set, call.workspace.sources, question, whole_set=True)


@router.post("/save")
async def save(request: Request):
    body = await body_of(request)
    state: StudioState = request.app.state.studio
    async with state.saving:  # one save at a time: its base check and its writes are not interleaved with another's
        call = await asked(request, body)
        base = saving.checked_base(body, call.edits)
        await off_loop(request, built, call.workspace, call.place, "saving; nothing was written", 409)
        # not bounded in time: a write is never abandoned half-way (it is quick, and it must end as it began)
        written = await anyio.to_thread.run_sync(saving.save, call.place.directory, call.edits, base)
        reloaded = await reload_now(request.app) if written else False
    holder = request.app.state.holder
    current = holder.current
    answer: dict[str, Any] = {"saved": written, "reloaded": reloaded,
                              "version": current.version if current else None,
                              "digest": current.digest if current else None}
    if written and not reloaded and holder.last_failure is not None:
        answer["reload_errors"] = holder.last_failure.errors  # the last good set keeps serving
    return answer
