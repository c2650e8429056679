"""The OpenID AuthZEN Authorization API 1.0: evaluation, evaluations, discovery.

Errors follow the spec: 400 for a body that is not a JSON object, has the
wrong content type, is empty, or lacks a required field; unknown fields are
ignored. Within a batch, a bad item gets `decision: false` with the error in
its context instead of failing the batch.
"""

from __future__ import annotations

import time

from fastapi import APIRouter, Request

from ..errors import RequestError
from .audit import record
from .body import BodyError, FastJSONResponse, read_json_object
from .errors import ERROR_RESPONSES, error_response

router = APIRouter(tags=["AuthZEN"])

SEMANTICS = ("execute_all", "deny_on_first_deny", "permit_on_first_permit")
_PARTS = ("subject", "action", "resource", "context")
_AUTHZEN_ERRORS = {k: ERROR_RESPONSES[k] for k in (400, 413, 503)}


def _context(decision) -> dict:
    return {
        "id": decision.decision_id,
        "reasons": [r.to_dict() for r in decision.reasons],
        "obligations": [o.to_dict() for o in decision.obligations],
        "policy": dict(decision.policy),
    }


def _evaluate(app, body: dict, with_context: bool, decided: list) -> dict:
    started = time.perf_counter()
    decision = app.state.holder.current.decide_authzen(body)
    app.state.metrics.decided(decision.decision, time.perf_counter() - started)
    decided.append((body, decision.to_dict()))
    out = {"decision": decision.allowed}
    if with_context:
        out["context"] = _context(decision)
    return out


async def _read(request: Request) -> dict:
    try:
        return await read_json_object(request, request.app.state.settings.max_body_bytes)
    except BodyError as error:
        if error.status == 415:  # AuthZEN answers a wrong content type with 400
            error.status = 400
        raise


def _bad(error: RequestError):
    return error_response(400, "bad_request", error.errors)


async def _single(request: Request, body: dict, endpoint: str):
    """One evaluation, answered with its context once its decision is logged."""
    decided: list = []
    try:
        result = _evaluate(request.app, body, True, decided)
    except RequestError as error:
        return _bad(error)
    await record(request.app, decided, endpoint)
    return FastJSONResponse(result)


@router.post("/access/v1/evaluation", summary="AuthZEN: one access evaluation", responses=_AUTHZEN_ERRORS)
async def evaluation(request: Request):
    holder = request.app.state.holder
    body = await _read(request)
    if holder.current is None:
        return error_response(503, "not_ready", [{"field": "policy", "message": "no policy set is loaded"}])
    return await _single(request, body, "/access/v1/evaluation")


@router.post("/access/v1/evaluations", summary="AuthZEN: many access evaluations", responses=_AUTHZEN_ERRORS)
async def evaluations(request: Request):
    holder, settings = request.app.state.holder, request.app.state.settings
    body = await _read(request)
    if holder.current is None:
        return error_response(503, "not_ready", [{"field": "policy", "message": "no policy set is loaded"}])
    items = body.get("evaluations")
    if items is None or items == []:
        # Without items the request is a single evaluation (AuthZEN 1.0, 7.1).
        return await _single(request, body, "/access/v1/evaluations")
    if not isinstance(items, list):
        return error_response(400, "bad_request", [{"field": "evaluations", "message": "must be a list"}])
    if len(items) > settings.max_batch:
        return error_response(413, "batch_too_large", [{"field": "evaluations",
                              "message": f"{len(items)} evaluations; at most {settings.max_batch} in one call"}])
    options = body.get("options") if isinstance(body.get("options"), dict) else {}
    semantic = options.get("evaluations_semantic", "execute_all")
    if semantic not in SEMANTICS:
        return error_response(400, "bad_request", [{"field": "options.evaluations_semantic",
                              "message": f"must be one of {', '.join(SEMANTICS)}"}])
    # pdp extension: batch items carry only `decision` unless the caller asks for the reasons.
    with_context = options.get("include_context") is True
    defaults = {k: body[k] for k in _PARTS if k in body}
    results, decided = [], []
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            results.append({"decision": False, "context": {"code": "400", "reason": f"evaluations.{index} is not an object"}})
            continue
        merged = {**defaults, **{k: item[k] for k in _PARTS if k in item}}
        try:
            result = _evaluate(request.app, merged, with_context, decided)
        except RequestError as error:
            result = {"decision": False, "context": {"code": "400", "reason": str(error), "errors": error.errors}}
        results.append(result)
        if (semantic == "deny_on_first_deny" and not result["decision"]) or \
           (semantic == "permit_on_first_permit" and result["decision"]):
            break
    await record(request.app, decided, "/access/v1/evaluations")
    return FastJSONResponse({"evaluations": results})


@router.get("/.well-known/authzen-configuration", summary="AuthZEN: PDP metadata")
async def configuration(request: Request):
    base = str(request.base_url).rstrip("/")
    return {
        "policy_decision_point": base,
        "access_evaluation_endpoint": f"{base}/access/v1/evaluation",
        "access_evaluations_endpoint": f"{base}/access/v1/evaluations",
    }
