"""Enforcing pdp decisions in a FastAPI app, as route dependencies.

```python
from typing import Annotated
from fastapi import Depends, FastAPI, Request
from pdp.client import AsyncPdpClient, ClientDecision
from .enforce import decision_dependency, require_allow

pdp = AsyncPdpClient("http://127.0.0.1:8181")          # or a PdpClient

def read_email(request: Request) -> dict:                # may also be `async def`
    return {"action": "use", "purpose": "essential.service",
            "data_categories": ["user.contact.email"],
            "data_subject": {"id": request.path_params["cid"]},
            "requester": {"id": request.headers.get("x-service", "unknown")}}

@app.get("/customers/{cid}/email", dependencies=[Depends(require_allow(pdp, read_email))])
def email(cid: str, request: Request):
    obligations = request.state.pdp_decision.obligations # the allow, to honour
    ...

# Or decide yourself: the handler gets the decision, allow or deny, and no 403 is raised.
EmailDecision = Annotated[ClientDecision, Depends(decision_dependency(pdp, read_email))]

@app.get("/customers/{cid}/email-or-masked")
def email_or_masked(cid: str, decision: EmailDecision): ...
```

- `build_request(request)` builds the decision request from the incoming HTTP
  request; it may be sync or async, and may raise `HTTPException` itself
  (say, a 401 when a header is missing).
- An `AsyncPdpClient` is awaited; a `PdpClient` runs in the threadpool so it
  does not block the event loop.
- `require_allow`: on a deny, `HTTPException(403)` whose `detail` is
  `{"error": "forbidden", "decision": "deny", "decision_id", "reasons":
  [{"rule", "cite", "message"}]}`; on an allow, the decision is kept on
  `request.state.pdp_decision` and the handler runs.
- When the PDP is down, a client made with `fail_closed=True` (the default)
  answers deny, so the route answers 403. A client made with
  `fail_closed=False` raises `PdpUnavailable`, and a bad decision request
  raises `PdpRequestError`: both are left to the app's exception handlers
  (a 500 unless the app maps them), never turned into an allow.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Any, Union

from fastapi import HTTPException, Request
from starlette.concurrency import run_in_threadpool

from pdp.client import AsyncPdpClient, ClientDecision, PdpClient

RequestBuilder = Callable[[Request], Union[dict[str, Any], Awaitable[dict[str, Any]]]]


async def decide_for(client: PdpClient | AsyncPdpClient, build_request: RequestBuilder,
                     request: Request) -> ClientDecision:
    """The decision for one incoming request; kept on `request.state.pdp_decision`, allow or deny."""
    question = build_request(request)
    if inspect.isawaitable(question):
        question = await question
    if isinstance(client, AsyncPdpClient):
        decision = await client.decide(question)
    else:
        decision = await run_in_threadpool(client.decide, question)
    request.state.pdp_decision = decision
    return decision


def deny_detail(decision: ClientDecision) -> dict[str, Any]:
    """The body of the 403 for a deny: which rules, which clauses, which decision."""
    reasons = [{"rule": r.get("rule"), "cite": r.get("cite"), "message": r.get("message")} for r in decision.reasons]
    return {"error": "forbidden", "decision": decision.decision, "decision_id": decision.decision_id,
            "reasons": reasons}


def require_allow(client: PdpClient | AsyncPdpClient,
                  build_request: RequestBuilder) -> Callable[[Request], Awaitable[ClientDecision]]:
    """A dependency that lets the route run only on an allow; a deny answers 403 with the reasons."""

    async def enforce(request: Request) -> ClientDecision:
        decision = await decide_for(client, build_request, request)
        if not decision.allowed:
            raise HTTPException(status_code=403, detail=deny_detail(decision))
        return decision

    return enforce


def decision_dependency(client: PdpClient | AsyncPdpClient,
                        build_request: RequestBuilder) -> Callable[[Request], Awaitable[ClientDecision]]:
    """A dependency that hands the decision, allow or deny, to the handler: `Annotated[ClientDecision, Depends(...)]`."""

    async def decide(request: Request) -> ClientDecision:
        return await decide_for(client, build_request, request)

    return decide


__all__ = ["require_allow", "decision_dependency", "decide_for", "deny_detail", "RequestBuilder"]
