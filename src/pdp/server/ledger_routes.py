"""The consent ledger over HTTP (`/v1/ledger/...`): record events, read a subject's state, history and export,
verify the chains, erase a subject (docs/service.md, "The consent ledger").

Every endpoint is a POST with a JSON body, reads included: a subject's id is
personal data, and a URL is written to access logs, proxies' logs and
browser histories, where a body is not. Nothing here logs a body, and no
error repeats a subject's id.

Writes need a `write` token, reads a `read` token, erasure and verifying
every subject's chain the admin token (`ledger_auth`). A batch is one transaction (all its events or none), at
most `PDP_MAX_BATCH` and 1,000 events; each event is idempotent on its
`client_event_id`. Answers are the JSON `pdp consent` prints
(`pdp.ledger.answers`). The ledger's own work runs in a worker thread, so
the event loop keeps deciding meanwhile. Errors are the API's one shape: 422
naming each bad field (`events[3].topic`), 404 for a subject with no events
or a server without a ledger, 409 for a `min_seq` the ledger has not seen,
503 when the database fails (nothing of the transaction is kept).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, Request
from fastapi.exceptions import RequestValidationError
from fastapi.security import HTTPAuthorizationCredentials
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ValidationError
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool

from pdp.ledger import InvalidEvent, Ledger, NotYetVisible, parse_event, parse_events
from pdp.ledger.answers import UnknownSubject, erasure_of, export_of, history_of, state_of, verification_of
from pdp.ledger.events import MAX_BATCH, Event

from . import ledger_gpc, ledger_wire, log_shipping
from .body import read_json_object
from .errors import ERROR_RESPONSES, ApiError
from .ledger_auth import ADMIN, READ, WRITE, bearer, bearer_of, require
from .routes import inline_refs

log = logging.getLogger("pdp.server")
_ERROR = ERROR_RESPONSES[400]["model"]
T = TypeVar("T", bound=BaseModel)


router = APIRouter(prefix="/v1/ledger", tags=["consent ledger"], responses={
    400: ERROR_RESPONSES[400], 413: ERROR_RESPONSES[413], 415: ERROR_RESPONSES[415],
    401: {"model": _ERROR, "description": "no token, a token this server does not know, or no token configured"},
    403: {"model": _ERROR, "description": "a token without the scope this endpoint needs"},
    404: {"model": _ERROR, "description": "no events are recorded for the subject, or this server has no ledger"},
    422: {"model": _ERROR, "description": "a missing, mistyped or unknown field, each named"},
    503: {"model": _ERROR, "description": "the ledger's database failed: nothing was changed"}})


def _body_of(model: type[BaseModel], description: str) -> dict[str, Any]:
    return {"requestBody": {"required": True, "description": description, "content": {"application/json": {
        "schema": inline_refs(model.model_json_schema())}}}}


def _ledger(request: Request) -> Ledger:
    ledger = request.app.state.ledger
    if ledger is None:
        raise ApiError(404, "not_enabled", [{"field": "ledger", "message": "this server has no consent ledger "
                                             "(pdp serve --ledger, PDP_LEDGER_URL)"}])
    return ledger


async def _body(request: Request) -> dict[str, Any]:
    return await read_json_object(request, request.app.state.settings.max_body_bytes)


def _query(model: type[T], body: dict[str, Any]) -> T:
    try:
        return model.model_validate(body)
    except ValidationError as error:
        raise RequestValidationError(error.errors(include_url=False)) from None


def _problems(error: InvalidEvent, name: Callable[[str], str]) -> ApiError:
    return ApiError(422, "bad_request", [{"field": name(field), "message": message}
                                        for field, message in error.problems])


async def _call(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """`fn` on the ledger, in a worker thread; what it refuses as `ApiError`."""
    try:
        return await run_in_threadpool(fn, *args, **kwargs)
    except UnknownSubject as error:
        raise ApiError(404, "unknown_subject", [{"field": "subject", "message": str(error)}]) from None
    except NotYetVisible as error:
        raise ApiError(409, "not_yet_visible", [{"field": "min_seq", "message": f"{error}; ask again later, or "
                                                "ask a replica of the database that has seen it"}]) from None
    except SQLAlchemyError as error:
        # the driver's own message can quote the statement's parameters (pseudonyms, sealed fields): not logged
        log.error("the ledger's database failed (%s); nothing of the transaction was kept", type(error).__name__)
        raise ApiError(503, "ledger_unavailable", [{"field": "ledger", "message": "the ledger's database failed; "
                                                   "nothing was changed"}]) from None


_INDEXED = re.compile(r"^\[(\d+)\]\.?(.*)$")


async def _record(request: Request, events: list[Event], name: Callable[[int, str], str]) -> tuple[list, list]:
    """Record `events` in one transaction (with their GPC signals under `Sec-GPC: 1`): the receipts of the given
    events, in order, and those of the signals. `name(i, field)`: how event `i`'s field is named in an error."""
    ledger = _ledger(request)
    if ledger_gpc.signalled(request.headers.get(ledger_gpc.HEADER)):
        items = ledger_gpc.with_signals(events)
    else:
        items = [(event, index, False) for index, event in enumerate(events)]

    def named(field: str) -> str:
        found = _INDEXED.match(field)  # the store's `[k].field`, k counting the signals too
        return name(items[int(found[1])][1], found[2]) if found else field

    try:
        receipts = await _call(ledger.record_many, [event for event, _, _ in items])
    except InvalidEvent as error:
        raise _problems(error, named) from None
    given = [r.to_dict() for r, (_, _, signal) in zip(receipts, items) if not signal]
    signals = [r.to_dict() for r, (_, _, signal) in zip(receipts, items) if signal]
    return given, signals


def _event_name(_: int, field: str) -> str:
    return field


def _batch_name(index: int, field: str) -> str:
    return f"events[{index}]" + (f".{field}" if field else "")


def _in_batch(field: str) -> str:
    """A field of `parse_events` (`[3].topic`) as the batch's body names it (`events[3].topic`)."""
    found = _INDEXED.match(field)
    return _batch_name(int(found[1]), found[2]) if found else field


@router.post("/events", summary="Record one event (idempotent on its client_event_id)",
             dependencies=[Depends(require(WRITE))], responses={200: {"model": ledger_wire.Recording}},
             openapi_extra=_body_of(Event, "one event; with `Sec-GPC: 1`, a GPC signal is recorded for its subject "
                                           "too"))
async def record(request: Request):
    body = await _body(request)
    try:
        event = parse_event(body)
    except InvalidEvent as error:
        raise _problems(error, lambda field: field) from None
    [receipt], signals = await _record(request, [event], _event_name)
    await _erase_from_the_decision_log(request, [event])
    return JSONResponse({**receipt, "gpc": signals[0]} if signals else receipt)


@router.post("/events/batch", summary="Record events in one transaction: all or none",
             dependencies=[Depends(require(WRITE))], responses={200: {"model": ledger_wire.BatchRecording}},
             openapi_extra=_body_of(ledger_wire.EventBatch, "`{\"events\": [...]}`, recorded in order"))
async def record_batch(request: Request):
    body = await _body(request)
    unknown = sorted(set(body) - {"events"})
    if unknown:
        raise ApiError(422, "bad_request", [{"field": name, "message": "not a field of a batch (it has `events`)"}
                                           for name in unknown])
    items = body.get("events")
    if not isinstance(items, list):
        raise ApiError(422, "bad_request", [{"field": "events", "message": "a list of events is required"}])
    limit = min(request.app.state.settings.max_batch, MAX_BATCH)
    if len(items) > limit:
        raise ApiError(413, "batch_too_large", [{"field": "events",
                                                "message": f"{len(items)} events; at most {limit} in one batch"}])
    try:
        events = parse_events(items)
    except InvalidEvent as error:
        raise _problems(error, _in_batch) from None
    receipts, signals = await _record(request, events, _batch_name)
    await _erase_from_the_decision_log(request, events)
    answer: dict[str, Any] = {"receipts": receipts, "seq": max(r["seq"] for r in receipts + signals)}
    if signals:
        answer["gpc"] = signals
    return JSONResponse(answer)


@router.post("/state", summary="A subject's current state (or as of a past time), each fact with its event",
             dependencies=[Depends(require(READ))], responses={200: {"model": ledger_wire.SubjectState},
                                                               409: {"model": _ERROR, "description":
                                                                     "the ledger has not yet seen `min_seq`"}},
             openapi_extra=_body_of(ledger_wire.StateQuery, "the subject, and what to ask of its state"))
async def state(request: Request):
    query = _query(ledger_wire.StateQuery, await _body(request))
    return JSONResponse(await _call(state_of, _ledger(request), query.subject, min_seq=query.min_seq,
                                    as_of=query.as_of, known_at=query.known_at))


def _about_subjects(path: str, summary: str, scope: str, query: type[ledger_wire.SubjectQuery],
                    answer: Callable[[Ledger, Any], Any], answered: type[BaseModel], body: str = "the subject",
                    wrap: Callable[[Any], Any] = lambda result: result) -> None:
    """A POST endpoint that asks the ledger one question about the subject its body names."""

    async def endpoint(request: Request):
        asked = _query(query, await _body(request))
        return JSONResponse(wrap(await _call(answer, _ledger(request), asked.subject)))

    router.post(path, summary=summary, dependencies=[Depends(require(scope))], name=path.strip("/"),
                responses={200: {"model": answered}}, openapi_extra=_body_of(query, body))(endpoint)


_about_subjects("/history", "Every event of a subject, in the order recorded", READ, ledger_wire.SubjectQuery,
                history_of, ledger_wire.History, wrap=lambda events: {"events": events})
_about_subjects("/export", "Everything held on a subject, machine-readable (portability, §4)", READ,
                ledger_wire.SubjectQuery, export_of, ledger_wire.Export)


async def _erase_from_the_decision_log(request: Request, events: list[Event]) -> None:
    """An `erasure.requested` event, once recorded, takes its subject out of the decision log too (docs/consent.md,
    Erasure). Recording it again (idempotent on its client_event_id) erases again: a 503 here can be retried."""
    for subject in dict.fromkeys(event.subject for event in events if event.kind == "erasure.requested"):
        await log_shipping.erase(request.app, subject)


@router.post("/erase", summary="Crypto-shred a subject, and take it out of the decision log (admin token; cannot "
                               "be undone)", dependencies=[Depends(require(ADMIN))], name="erase",
             responses={200: {"model": ledger_wire.Erasure}}, openapi_extra=_body_of(ledger_wire.SubjectQuery,
                                                                                     "the subject"))
async def erase(request: Request):
    asked = _query(ledger_wire.SubjectQuery, await _body(request))
    ledger = _ledger(request)
    logged = await log_shipping.erase(request.app, asked.subject)  # first: even a subject the ledger never saw
    answer = await _call(erasure_of, ledger, asked.subject)
    return JSONResponse(answer if logged is None else {**answer, "decision_log": logged})


VERIFY_ALL = "verify every subject's chain"


@router.post("/verify", summary="Check the hash chains and the state: one subject's (a `read` token), or every "
             "subject's (the admin token)", dependencies=[Depends(require(READ, ADMIN))], name="verify",
             responses={200: {"model": ledger_wire.Verification}},
             openapi_extra=_body_of(ledger_wire.VerifyQuery, "`{\"subject\": ...}` for one subject's chain (a `read` "
                                    "token), or `{}` for every subject's (the admin token)"))
async def verify(request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]):
    # Every subject's chain is an audit of the whole ledger: it reads every event (work no request bounds, which
    # every service holding a read token could start at will), and its answer describes everyone (how many
    # people, each broken chain's pseudonym). The safe side: the admin token's, as erasure and the decision log's
    # reading are. One subject's chain says no more than that subject's history, which a read token reads.
    asked = _query(ledger_wire.VerifyQuery, await _body(request))
    token, tokens = bearer_of(credentials), request.app.state.ledger_tokens
    if asked.subject is None:
        tokens.check(ADMIN, token, VERIFY_ALL)
    else:
        tokens.check(READ, token, "verify a subject's chain")
    return JSONResponse(await _call(verification_of, _ledger(request), asked.subject))


__all__ = ["router"]
