"""The native decision API (`/v1/...`) and the health endpoints."""

from __future__ import annotations

import logging
import time

from fastapi import APIRouter, Request

from ..decision_id import new_decision_id
from ..errors import RequestError
from ..request import DecisionRequest
from .audit import record
from .body import FastJSONResponse, read_json_object
from .errors import ERROR_RESPONSES, error_response

log = logging.getLogger("pdp.server")
router = APIRouter()

def _inline_refs(schema: dict) -> dict:
    """The request schema with its `$defs` written in place, so it stands alone inside the OpenAPI document."""
    defs = schema.pop("$defs", {})

    def resolve(node):
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                return resolve(dict(defs[ref.rsplit("/", 1)[1]]))
            return {k: resolve(v) for k, v in node.items()}
        if isinstance(node, list):
            return [resolve(v) for v in node]
        return node

    return resolve(schema)


_REQUEST_SCHEMA = _inline_refs(DecisionRequest.model_json_schema())


def _decision_body(policy_set, request: dict, metrics, explain: bool = False) -> tuple[dict, dict | None]:
    """One decision as JSON, failing closed on anything unforeseen; with `explain`, also why.

    The request is admitted once (`PolicySet.select`: checked, and given the version that decides
    it, §11) by the one policy set the caller took from the holder, and decided once: the
    explanation is of that very decision, even if a reload swaps the set meanwhile.
    """
    started = time.perf_counter()
    try:
        selection = policy_set.select(request)
        body = selection.decide().to_dict()
        metrics.decided(body["decision"], time.perf_counter() - started)
    except RequestError:
        metrics.bad_requests.inc()
        raise
    except Exception as error:  # an engine fault must never allow, nor answer 500
        log.exception("internal error while deciding")
        metrics.decided("deny", time.perf_counter() - started)
        return {
            "decision": "deny",
            "reasons": [{"rule": "internal.error", "effect": "error", "cite": None,
                         "message": f"internal error while deciding ({error.__class__.__name__}); failing closed"}],
            "obligations": [],
            "policy": policy_set.info,
            "decision_id": new_decision_id(),
        }, ({"error": "the decision failed closed; there is no explanation"} if explain else None)
    return body, (_explanation(selection) if explain else None)


def _no_policy():
    return error_response(503, "not_ready", [{"field": "policy", "message": "no policy set is loaded"}])


_DECIDE_SCHEMA = {**_REQUEST_SCHEMA, "properties": {**_REQUEST_SCHEMA.get("properties", {}), "explain": {
    "type": "boolean", "default": False,
    "description": "also say why, rule by rule, under `explain` in the response (as `pdp explain`)"}}}


@router.post("/v1/decide", summary="Decide one data-use request", responses=ERROR_RESPONSES,
             openapi_extra={"requestBody": {"required": True, "content": {"application/json": {"schema": _DECIDE_SCHEMA}}}})
async def decide(request: Request):
    holder = request.app.state.holder
    body = await read_json_object(request, request.app.state.settings.max_body_bytes)
    explain = body.pop("explain", None)  # a question about the decision, not part of the request
    if explain is not None and not isinstance(explain, bool):
        return error_response(422, "bad_request", [{"field": "explain", "message": "`explain` is true or false"}])
    policy_set = holder.current  # one snapshot for the whole call: a reload may swap the holder's set meanwhile
    if policy_set is None:
        return _no_policy()
    try:
        decision, explanation = _decision_body(policy_set, body, request.app.state.metrics, explain=bool(explain))
    except RequestError as error:
        return error_response(422, "bad_request", error.errors)
    await record(request.app, [(body, decision)], "/v1/decide")
    if explanation is not None:
        decision = {**decision, "explain": explanation}
    return FastJSONResponse(decision)


def _explanation(selection) -> dict:
    """`"explain": true`: why, rule by rule (pdp.explain); never at the cost of the decision."""
    from ..explain import explain_selection

    try:
        return explain_selection(selection).to_dict()
    except Exception as error:  # the decision stands; say that the explanation failed
        log.exception("internal error while explaining")
        return {"error": f"internal error while explaining ({error.__class__.__name__})"}


@router.post("/v1/decide/batch", summary="Decide many requests, answers in the same order", responses=ERROR_RESPONSES,
             openapi_extra={"requestBody": {"required": True, "content": {"application/json": {"schema": {
                 "type": "object", "required": ["requests"],
                 "properties": {"requests": {"type": "array", "items": _REQUEST_SCHEMA}}}}}}})
async def decide_batch(request: Request):
    holder, settings = request.app.state.holder, request.app.state.settings
    body = await read_json_object(request, settings.max_body_bytes)
    items = body.get("requests")
    if not isinstance(items, list):
        return error_response(422, "bad_request", [{"field": "requests", "message": "a list of decision requests is required"}])
    if len(items) > settings.max_batch:
        return error_response(413, "batch_too_large", [{"field": "requests",
                              "message": f"{len(items)} requests; at most {settings.max_batch} in one batch"}])
    policy_set = holder.current  # one snapshot: every request of the batch is decided by the same set
    if policy_set is None:
        return _no_policy()
    decisions, decided = [], []
    for item in items:
        try:
            decision, _ = _decision_body(policy_set, item, request.app.state.metrics)
        except RequestError as error:
            decisions.append({"error": "bad_request", "detail": error.errors})
            continue
        decisions.append(decision)
        decided.append((item, decision))
    await record(request.app, decided, "/v1/decide/batch")
    return FastJSONResponse({"decisions": decisions})


@router.get("/v1/policies", summary="The policy set in service")
async def policies(request: Request):
    holder = request.app.state.holder
    current = holder.current
    body = {
        "policies": [] if current is None else [{
            "name": current.name, "version": current.version, "effective": current.effective,
            "digest": current.digest, "rules": len(current.rules), "loaded_at": holder.loaded_at,
            "directory": str(holder.directory),
            "versions": [{"version": v.version, "effective": v.effective, "digest": v.digest} for v in current.history],
        }],
        "last_reload_failure": None if holder.last_failure is None else {
            "at": holder.last_failure.at, "errors": holder.last_failure.errors},
    }
    return body


@router.get("/health", summary="Liveness: the process answers")
async def health():
    return {"status": "ok"}


@router.get("/ready", summary="Readiness: a policy set is loaded", responses={503: ERROR_RESPONSES[503]})
async def ready(request: Request):
    if request.app.state.holder.current is None:
        return _no_policy()
    return {"status": "ready"}
