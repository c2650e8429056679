"""The OpenID AuthZEN Search API 1.0: which subjects, resources or actions a single evaluation would allow.

Each candidate (search_pages.candidates) is decided as the Access Evaluation
naming it, by the same decider `/access/v1/evaluation` uses (ledger, GPC
signal and read-your-writes token included), and logged as one: a search
lists exactly the candidates an evaluation would allow.

Bounded and failing closed: one request decides at most
`PDP_SEARCH_MAX_CANDIDATES` candidates (a longer list is answered a page at
a time, the token continuing where the last page stopped), and a page holds
at most `PDP_MAX_BATCH` results. A request still deciding after
`PDP_SEARCH_TIMEOUT_S`, or whose candidate could not be decided (an engine
fault), is answered 503: never a list that is shorter than it claims.
Errors are the evaluation endpoints': 400 naming the field, 413, 503.
"""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Request

from pdp.base.errors import RequestError
from pdp.engine.decision import Decision
from pdp.engine.policy_set import PolicySet
from pdp.vocab.authzen import SEARCHES, check_search
from .audit import record
from .authzen_routes import ERROR_SCHEMAS, read_body, ledger_token, with_gpc
from .deciding import INTERNAL_ERROR, decide_many, encodes, json_answer
from .errors import error_response, not_ready
from .ledger_state import caught_up, evaluator, logged, signals_gpc
from .routes import inline_refs
from .search_pages import KINDS, candidates, cut, evaluation, fingerprint, found, start_of, token

router = APIRouter(tags=["AuthZEN"])


def _bad(error: RequestError):
    return error_response(400, "bad_request", error.errors)


def _unfinished(field: str, message: str):
    return error_response(503, "search_unfinished", [{"field": field, "message": message}])


async def _search(request: Request, kind: str):
    app = request.app
    policy_set: PolicySet | None = app.state.holder.current
    settings = app.state.settings
    body, _ = await read_body(request)
    if policy_set is None:
        return not_ready(app.state.holder)
    try:
        check_search(kind, body)
        listed = candidates(policy_set, kind, body.get(kind) or {})
        bound_to = fingerprint(kind, body, policy_set.digest)  # the search as asked (before a GPC signal is added)
        start = start_of((body.get("page") or {}).get("token"), bound_to, len(listed))
    except RequestError as error:
        return _bad(error)
    if signals_gpc(request.scope):
        body = with_gpc(policy_set, body)
    await caught_up(app, [ledger_token(policy_set, body)])

    asked = (body.get("page") or {}).get("limit")
    limit = settings.max_batch if asked is None else min(asked, settings.max_batch)
    run = listed[start:start + settings.search_max_candidates]
    items = [evaluation(kind, body, candidate) for candidate in run]
    deadline = time.monotonic() + settings.search_timeout_s
    state = {"allowed": 0, "late": False}

    def stop(outcome: Any) -> bool:
        # decide until one past the page is found (the next page starts there), or time is up
        if not isinstance(outcome, RequestError) and outcome.allowed:
            state["allowed"] += 1
        if time.monotonic() > deadline:
            state["late"] = True
            return True
        return state["allowed"] > limit

    outcomes = await decide_many(policy_set, app.state.metrics, evaluator(app, policy_set), items, stop)
    decisions: list[Decision] = []
    for outcome in outcomes:
        if isinstance(outcome, RequestError):
            return _bad(outcome)  # the search's own parts are wrong: every candidate would say so
        decisions.append(outcome)
        if any(reason.rule == INTERNAL_ERROR for reason in outcome.reasons):
            return _unfinished(kind, "a candidate could not be decided (see the server's log); no list is given "
                                     "rather than one that leaves it out")
    if state["late"]:
        return _unfinished("page.limit", f"the search was still deciding after {settings.search_timeout_s:g} s; "
                                         "ask for fewer results a page (`page.limit`); the operator can lower "
                                         "PDP_SEARCH_MAX_CANDIDATES, the candidates one request decides")
    page = cut([decision.allowed for decision in decisions], start, limit, len(listed) - start)
    results = [found(kind, body, run[i]) for i in page.chosen]
    next_token = "" if page.next_start is None else token(page.next_start, bound_to)
    payload = encodes({"page": {"next_token": next_token, "count": len(results)}, "results": results})
    if payload is None:
        return error_response(400, "bad_request", [{"field": f"{kind}.type", "message": "cannot be sent back as JSON"}])
    decided = [(logged(item, o.to_dict(), native=False), o.to_dict()) for item, o in zip(items, decisions)]
    await record(app, decided, f"/access/v1/search/{kind}", policy_set)
    return json_answer(payload)


def _answer_schema(kind: str) -> dict:
    found = ({"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}}} if kind == "action"
             else {"type": "object", "required": ["type", "id"],
                   "properties": {"type": {"type": "string"}, "id": {"type": "string"}}})
    page = {"type": "object", "required": ["next_token", "count"], "description": "`next_token` is \"\" on the last page",
            "properties": {"next_token": {"type": "string"}, "count": {"type": "integer", "minimum": 0}}}
    schema = {"type": "object", "required": ["page", "results"],
              "properties": {"page": page, "results": {"type": "array", "items": found}}}
    return {200: {"description": f"the {kind}s an evaluation would allow, one page",
                  "content": {"application/json": {"schema": schema}}}}


def _route(kind: str):
    async def search(request: Request):
        return await _search(request, kind)

    search.__name__ = f"search_{kind}"
    schema = inline_refs(SEARCHES[kind].model_json_schema())
    router.post(f"/access/v1/search/{kind}", summary=f"AuthZEN: search {kind}s an evaluation would allow",
                responses={**_answer_schema(kind), **ERROR_SCHEMAS},
                openapi_extra={"requestBody": {"required": True,
                                               "content": {"application/json": {"schema": schema}}}})(search)


for _kind in KINDS:
    _route(_kind)
