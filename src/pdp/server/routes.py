"""The native decision API (`/v1/...`) and the health endpoints."""

from __future__ import annotations

import logging
from typing import Any

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import Response

from pdp.base.errors import FieldError, RequestError
from pdp.engine.policy_set import PolicySet
from pdp.vocab.request import DecisionRequest
from .audit import record
from .ledger_state import caught_up, decider, logged, signals_gpc, with_gpc
from .body import WIDE_INTEGER, read_json_batch, read_json_body, read_json_object
from .deciding import INTERNAL_ERROR, decide_many, decide_one, encodes, json_answer, served, unanswerable
from .errors import ERROR_RESPONSES, error_response, not_ready

log = logging.getLogger("pdp.server")
router = APIRouter()

def inline_refs(schema: dict) -> dict:
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


_REQUEST_SCHEMA = inline_refs(DecisionRequest.model_json_schema())




_DECIDE_SCHEMA = {**_REQUEST_SCHEMA, "properties": {**_REQUEST_SCHEMA.get("properties", {}), "explain": {
    "type": "boolean", "default": False,
    "description": "also say why, rule by rule, under `explain` in the response (as `pdp explain`)"}}}


@router.post("/v1/decide", summary="Decide one data-use request", responses=ERROR_RESPONSES,
             openapi_extra={"requestBody": {"required": True, "content": {"application/json": {"schema": _DECIDE_SCHEMA}}}})
async def decide(request: Request):
    body = await read_json_object(request, request.app.state.settings.max_body_bytes)
    return await answer_decide(request.app, with_gpc(request.app, body) if signals_gpc(request.scope) else body)


async def decide_asgi(app, scope, receive) -> Response:
    """`decide` for the hot path: the same answer, read from the bare ASGI request (no Request object)."""
    body = await read_json_body(scope, receive, app.state.settings.max_body_bytes)
    return await answer_decide(app, with_gpc(app, body) if signals_gpc(scope) else body)


async def answer_decide(app, body: dict) -> Response:
    """The answer to a `/v1/decide` body, its decision committed to the log."""
    await caught_up(app, [body])
    decided = decide_body(app, body)
    if isinstance(decided, Response):
        return decided
    await record(app, [(logged(body, decided.answer), decided.answer)], "/v1/decide", decided.policy_set)
    return decided.response()


class Decided:
    """A `/v1/decide` body decided, before its decision is logged: what to log, and the answer to send once it is."""

    __slots__ = ("answer", "payload", "policy_set", "explain", "selection", "fields")

    def __init__(self, answer: dict, payload: bytes, policy_set: PolicySet, explain: bool, selection,
                 fields: list | None = None) -> None:
        self.answer, self.payload, self.policy_set = answer, payload, policy_set
        self.explain, self.selection = explain, selection
        self.fields = fields  # what the log's row keeps of the answer (`decision_log.projected`), when kept

    def response(self) -> Response:
        """The answer (with its explanation, when asked): sent only once the decision is committed."""
        if not self.explain:
            return json_answer(self.payload)
        answer = self.answer
        failed = answer["reasons"] and answer["reasons"][0]["rule"] == INTERNAL_ERROR
        explanation = ({"error": "the decision failed closed; there is no explanation"} if failed
                       else {"error": "a decision as of a past time by another version is not explained"}
                       if self.selection is None else _explanation(self.selection))
        return json_answer(encodes({**answer, "explain": explanation}) or orjson.dumps(
            {**answer, "explain": {"error": "the explanation cannot be encoded as JSON"}}))


def decide_body(app, body: dict) -> Response | Decided:
    """Decide a `/v1/decide` body (a JSON object): an error answer, or the decision to log and then send.
    `body` loses its `explain` (a question about the decision, not part of the request, nor of the log)."""
    holder = app.state.holder
    explain = body.pop("explain", None)
    if explain is not None and not isinstance(explain, bool):
        return error_response(422, "bad_request", [{"field": "explain", "message": "`explain` is true or false"}])
    policy_set = holder.current
    if policy_set is None:
        return not_ready(holder)
    # The request is admitted once (`PolicySet.select`: checked, and given the version that decides it,
    # §11) and decided once: the explanation is of that very decision, even if a reload swaps the set.
    # Without `explain`, `PolicySet.decide` (the same decision, without keeping the selection), as the batch.
    selected = []
    deciding = served(app, policy_set)
    if explain:
        def ask(item):
            selected.append(policy_set.select(item))
            return selected[-1].decide()

    decision = decide_one(policy_set, app.state.metrics, decider(app, policy_set, ask) if explain else deciding.decide,
                          body)
    if isinstance(decision, RequestError):
        return error_response(422, "bad_request", decision.errors)
    answer, payload, fields = deciding.answers.of(decision)
    if payload is None:
        answer = unanswerable(policy_set, [r.rule for r in decision.reasons]).to_dict()
        payload = orjson.dumps(answer)
    return Decided(answer, payload, policy_set, bool(explain), selected[-1] if selected else None, fields)


ASGI_ENDPOINTS = {"/v1/decide": decide_asgi}  # the hot path's bare forms (pdp.server.hot_path)


def _explanation(selection) -> dict:
    """`"explain": true`: why, rule by rule (pdp.explain); never at the cost of the decision."""
    from pdp.explain import explain_selection

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
    body, wide = await read_json_batch(request, settings.max_body_bytes, "requests")
    items = body.get("requests")
    if not isinstance(items, list):
        return error_response(422, "bad_request", [{"field": "requests", "message": "a list of decision requests is required"}])
    if len(items) > settings.max_batch:
        return error_response(413, "batch_too_large", [{"field": "requests",
                              "message": f"{len(items)} requests; at most {settings.max_batch} in one batch"}])
    if signals_gpc(request.scope):
        items = [with_gpc(request.app, item) for item in items]
    await caught_up(request.app, items)
    policy_set = holder.current
    if policy_set is None:
        return not_ready(holder)
    decide_item = decider(request.app, policy_set)
    asked = [RequestError([FieldError(path, WIDE_INTEGER) for path in wide[index]]) if index in wide else item
             for index, item in enumerate(items)]

    def ask(item):
        if isinstance(item, RequestError):  # an item holding an integer orjson read inexactly: answered in its place
            raise item
        return decide_item(item)

    answers: list[dict[str, Any]] = [{"error": "bad_request", "detail": d.errors} if isinstance(d, RequestError) else d.to_dict()
               for d in await decide_many(policy_set, request.app.state.metrics, ask, asked)]
    payload = encodes({"decisions": answers})
    if payload is None:  # rare: find the answers that cannot be sent, and deny them instead
        answers = [a if "error" in a or encodes(a) is not None
                   else unanswerable(policy_set, [r["rule"] for r in a["reasons"]]).to_dict() for a in answers]
        payload = orjson.dumps({"decisions": answers})
    decided = [(logged(item, answer), answer) for item, answer in zip(items, answers) if "error" not in answer]
    await record(request.app, decided, "/v1/decide/batch", policy_set)
    return json_answer(payload)


@router.get("/v1/policies", summary="The policy set in service")
async def policies(request: Request):
    holder = request.app.state.holder
    current = holder.current
    body = {
        "policies": [] if current is None else [{
            "name": current.name, "version": current.version, "effective": current.effective,
            "digest": current.digest, "rules": len(current.rules), "loaded_at": holder.loaded_at,
            "directory": None if holder.directory is None else str(holder.directory),
            "versions": [{"version": v.version, "effective": v.effective, "digest": v.digest} for v in current.history],
        }],
        "last_reload_failure": None if holder.last_failure is None else {
            "at": holder.last_failure.at, "errors": holder.last_failure.errors},
    }
    if holder.bundle_url is not None:
        body["bundle"] = _bundle_status(holder)
    return body


def _bundle_status(holder) -> dict:
    """The bundle in service (revision, content digest, source, when) and the last one refused, if any since."""
    active, failure = holder.bundle, holder.bundle_failure
    return {
        "url": holder.bundle_url,
        "revision": active.revision if active else None,
        "digest": active.digest if active else None,
        "signed_by": active.signed_by if active else None,
        "activated_at": holder.loaded_at if active else None,
        "last_error": None if failure is None else {"at": failure.at, "reason": failure.reason,
                                                    "message": failure.message},
    }


@router.get("/health", summary="Liveness: the process answers")
async def health():
    return {"status": "ok"}


@router.get("/ready", summary="Readiness: a policy set is loaded", responses={503: ERROR_RESPONSES[503]})
async def ready(request: Request):
    if request.app.state.holder.current is None:
        return not_ready(request.app.state.holder)
    return {"status": "ready"}
