"""The OpenID AuthZEN Authorization API 1.0: evaluation, evaluations, discovery (the Search API: authzen_search).

Errors follow the spec: 400 for a body that is not a JSON object, has the
wrong content type, is empty, or lacks a required field; unknown fields are
ignored. Within a batch, a bad item gets `decision: false` with the error in
its context instead of failing the batch.

With a consent ledger, an evaluation is decided as `/v1/decide` decides: the
attributes the set declares filled from the person's state, a read-your-writes
token (`context.ledger_seq`) waited for off the event loop and then failing
closed, a past time (`context.as_of`), `Sec-GPC: 1` as a GPC signal; the
answer's context carries the decision's `ledger` (docs/consent.md).
"""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import APIRouter, Request

from pdp.engine.policy_set import PolicySet
from pdp.vocab.authzen import EvaluationRequest
from pdp.base.errors import FieldError, RequestError
from .audit import record
from .body import WIDE_INTEGER, BodyError, read_json_batch, read_json_object
from .deciding import decide_each, decide_many, encodes, json_answer, unanswerable
from .errors import ERROR_RESPONSES, error_response, not_ready
from pdp.ledger.fill import with_value
from pdp.vocab.authzen import authzen_path
from .ledger_state import caught_up, evaluator, logged, signals_gpc
from .routes import inline_refs

router = APIRouter(tags=["AuthZEN"])

SEMANTICS = ("execute_all", "deny_on_first_deny", "permit_on_first_permit")
_PARTS = ("subject", "action", "resource", "context")
ERROR_SCHEMAS: dict[int | str, dict[str, Any]] = {k: ERROR_RESPONSES[k] for k in (400, 413, 503)}
_EVALUATION = inline_refs(EvaluationRequest.model_json_schema())
_PART_SCHEMAS = {part: _EVALUATION["properties"][part] for part in _PARTS}
_EVALUATIONS = {
    "type": "object",
    "description": "`subject`, `action`, `resource` and `context` are defaults that each item overrides; "
                   "without `evaluations`, the body is one evaluation",
    "anyOf": [{"required": ["subject", "action", "resource"]},
              {"required": ["evaluations"], "properties": {"evaluations": {"type": "array", "minItems": 1}}}],
    "properties": {**_PART_SCHEMAS,
                   "evaluations": {"type": "array", "items": {"type": "object", "properties": _PART_SCHEMAS}},
                   "options": {"type": "object", "properties": {
                       "evaluations_semantic": {"type": "string", "enum": list(SEMANTICS)},
                       "include_context": {"type": "boolean"}}}},
}


def _body(schema: dict) -> dict:
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


def _context(decision) -> dict:
    out = {
        "id": decision.decision_id,
        "reasons": [r.to_dict() for r in decision.reasons],
        "obligations": [o.to_dict() for o in decision.obligations],
        "policy": dict(decision.policy),
    }
    if decision.advice:  # (as in /v1/decide's answer: there when a rule gives advice)
        out["advice"] = [a.to_dict() for a in decision.advice]
    ledger = getattr(decision, "ledger", None)  # a decision that read the consent ledger (pdp.engine.filled)
    if ledger is not None:
        out["ledger"] = ledger
    return out


def with_gpc(policy_set: PolicySet, evaluation: Any) -> Any:
    """`evaluation` saying `true` (the stricter value) for every attribute the set fills from `gpc`, where an AuthZEN
    request sends it: a `Sec-GPC: 1` request counts as a GPC signal, as on /v1/decide (and is logged so)."""
    if not isinstance(evaluation, dict):
        return evaluation
    for item in policy_set.ledger_fills:
        if item.source == "gpc":
            evaluation = with_value(evaluation, authzen_path(item.attribute), True)
    return evaluation


def ledger_token(policy_set: PolicySet, evaluation: Any) -> dict:
    """The read-your-writes token an evaluation carries (`context.ledger_seq`), as `ledger_state.caught_up` reads
    a request's: only a set the ledger fills reads it (an AuthZEN set's context is its own)."""
    context = evaluation.get("context") if isinstance(evaluation, dict) and policy_set.ledger_fills else None
    return {"ledger_seq": context.get("ledger_seq")} if isinstance(context, dict) else {}


def _answer(decision, with_context: bool) -> dict:
    out = {"decision": decision.allowed}
    if with_context:
        out["context"] = _context(decision)
    return out


def _refused(error: RequestError) -> dict:
    return {"decision": False, "context": {"code": "400", "reason": str(error), "errors": error.errors}}


async def read_body(request: Request, batch: str | None = None) -> tuple[dict, dict[int, list[str]]]:
    """The body (and, for a `batch` field, its items holding an integer orjson reads inexactly)."""
    try:
        if batch is not None:
            return await read_json_batch(request, request.app.state.settings.max_body_bytes, batch)
        return await read_json_object(request, request.app.state.settings.max_body_bytes), {}
    except BodyError as error:
        if error.status in (415, 422):  # AuthZEN answers a wrong content type, or a number it cannot read, with 400
            error.status = 400
        raise


def _bad(error: RequestError):
    return error_response(400, "bad_request", error.errors)


async def _single(request: Request, policy_set: PolicySet, body: dict, endpoint: str):
    """One evaluation, answered with its context once its decision is logged."""
    if signals_gpc(request.scope):
        body = with_gpc(policy_set, body)
    await caught_up(request.app, [ledger_token(policy_set, body)])
    [decision] = decide_each(policy_set, request.app.state.metrics, evaluator(request.app, policy_set), [body])
    if isinstance(decision, RequestError):
        return _bad(decision)
    payload = encodes(_answer(decision, True))
    if payload is None:
        decision = unanswerable(policy_set, [r.rule for r in decision.reasons])
        payload = orjson.dumps(_answer(decision, True))
    answer = decision.to_dict()
    await record(request.app, [(logged(body, answer, native=False), answer)], endpoint, policy_set)
    return json_answer(payload)


@router.post("/access/v1/evaluation", summary="AuthZEN: one access evaluation", responses=ERROR_SCHEMAS,
             openapi_extra=_body(_EVALUATION))
async def evaluation(request: Request):
    policy_set = request.app.state.holder.current
    body, _ = await read_body(request)
    if policy_set is None:
        return not_ready(request.app.state.holder)
    return await _single(request, policy_set, body, "/access/v1/evaluation")


@router.post("/access/v1/evaluations", summary="AuthZEN: many access evaluations", responses=ERROR_SCHEMAS,
             openapi_extra=_body(_EVALUATIONS))
async def evaluations(request: Request):
    policy_set, settings = request.app.state.holder.current, request.app.state.settings
    body, wide = await read_body(request, batch="evaluations")  # a bad item is answered in its place
    if policy_set is None:
        return not_ready(request.app.state.holder)
    items = body.get("evaluations")
    if items is None or items == []:
        # Without items the request is a single evaluation (AuthZEN 1.0, 7.1).
        return await _single(request, policy_set, body, "/access/v1/evaluations")
    if not isinstance(items, list):
        return error_response(400, "bad_request", [{"field": "evaluations", "message": "must be a list"}])
    if len(items) > settings.max_batch:
        return error_response(413, "batch_too_large", [{"field": "evaluations",
                              "message": f"{len(items)} evaluations; at most {settings.max_batch} in one call"}])
    options = given if isinstance(given := body.get("options"), dict) else {}
    semantic = options.get("evaluations_semantic", "execute_all")
    if semantic not in SEMANTICS:
        return error_response(400, "bad_request", [{"field": "options.evaluations_semantic",
                              "message": f"must be one of {', '.join(SEMANTICS)}"}])
    # pdp extension: batch items carry only `decision` unless the caller asks for the reasons.
    with_context = options.get("include_context") is True
    defaults = {k: body[k] for k in _PARTS if k in body}
    merged = [RequestError([FieldError(path, WIDE_INTEGER) for path in wide[index]]) if index in wide
              else {**defaults, **{k: item[k] for k in _PARTS if k in item}} if isinstance(item, dict)
              else RequestError([FieldError(f"evaluations.{index}", "is not an object")])
              for index, item in enumerate(items)]
    if signals_gpc(request.scope):
        merged = [with_gpc(policy_set, item) for item in merged]
    await caught_up(request.app, [ledger_token(policy_set, item) for item in merged])

    evaluate = evaluator(request.app, policy_set)

    def ask(item):
        if isinstance(item, RequestError):
            raise item
        return evaluate(item)

    def stop(outcome) -> bool:
        allowed = not isinstance(outcome, RequestError) and outcome.allowed
        return (semantic == "deny_on_first_deny" and not allowed) or (semantic == "permit_on_first_permit" and allowed)

    outcomes = await decide_many(policy_set, request.app.state.metrics, ask, merged, stop)
    decisions = list(outcomes)
    results = [_refused(o) if isinstance(o, RequestError) else _answer(o, with_context) for o in decisions]
    payload = encodes({"evaluations": results})
    if payload is None:  # rare: deny the answers that cannot be sent
        for i, outcome in enumerate(decisions):
            if not isinstance(outcome, RequestError) and encodes(results[i]) is None:
                decisions[i] = unanswerable(policy_set, [r.rule for r in outcome.reasons])
                results[i] = _answer(decisions[i], with_context)
        payload = orjson.dumps({"evaluations": results})
    decided = [(logged(body, o.to_dict(), native=False), o.to_dict()) for body, o in zip(merged, decisions)
               if isinstance(body, dict) and not isinstance(o, RequestError)]  # a RequestError item is never decided
    await record(request.app, decided, "/access/v1/evaluations", policy_set)
    return json_answer(payload)


def public_base_url(request: Request) -> str:
    """Where clients reach this service: `PDP_PUBLIC_URL`, else the address the server is bound to.

    Never the caller's `Host` header: metadata built from it would send the
    next client wherever the last caller said (cache poisoning, phishing).
    Bound to every interface, the local address the connection arrived at
    stands in for the host.
    """
    settings = request.app.state.settings
    if settings.public_url is not None:
        return str(settings.public_url).rstrip("/")
    host, port = settings.host, settings.port
    if host in ("0.0.0.0", "::", "") and request.scope.get("server"):
        host = request.scope["server"][0]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


@router.get("/.well-known/authzen-configuration", summary="AuthZEN: PDP metadata")
async def configuration(request: Request):
    base = public_base_url(request)
    return {
        "policy_decision_point": base,
        "access_evaluation_endpoint": f"{base}/access/v1/evaluation",
        "access_evaluations_endpoint": f"{base}/access/v1/evaluations",
        "search_subject_endpoint": f"{base}/access/v1/search/subject",
        "search_resource_endpoint": f"{base}/access/v1/search/resource",
        "search_action_endpoint": f"{base}/access/v1/search/action",
    }
