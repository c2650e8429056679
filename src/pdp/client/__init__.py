"""Asking a running pdp over HTTP: `PdpClient` (sync) and `AsyncPdpClient` (async).

```python
from pdp.client import PdpClient

with PdpClient("http://127.0.0.1:8181") as pdp:
    d = pdp.decide({"action": "use", "purpose": "analytics.reporting",
                    "data_categories": ["user.behavior"]})
    if d.allowed:
        ...                      # honour d.obligations
    else:
        log(d.reasons)           # the rules and clauses that said no
```

`LedgerClient` (`pdp.client.ledger`) records and reads the consent ledger
(`/v1/ledger/...`); it raises rather than failing closed (see its module).

Failure rules, the same for both decision clients:

- The PDP did not answer (timeout, connection error, a `5xx` such as `503`
  before a policy set is loaded, a `3xx`, or a body that is not a decision):
  with `fail_closed=True` (the default) the client decides `deny` itself, with
  one reason `{"rule": "client.unavailable", "effect": "deny", "cite": None,
  "message": ...}` and `failed_closed=True`; with `fail_closed=False` it raises
  `PdpUnavailable` instead. Nothing the client makes up is ever an allow.
- The PDP rejected the request (`4xx`: malformed, a missing field, a key
  unknown to the policy set, a batch too large...): `PdpRequestError` is
  raised, carrying the server's `detail` list, whatever `fail_closed` says.
  A bad request is a bug in the caller and must not pass for a deny.
- Retries: none by default. With `retries=n` the client tries again up to `n`
  times when it could not connect at all (`httpx.ConnectError`: refused, DNS,
  reset before the request was sent), straight away and with no backoff. It
  never retries a timeout, nor anything the PDP answered. Each attempt has the
  whole `timeout`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, overload

import httpx

from .errors import PdpClientError, PdpRequestError, PdpUnavailable, answer_json, transport_problem
from .errors import Unanswered as _Unanswered
from .ledger import (LedgerBatch, LedgerClient, LedgerErasure, LedgerEvent, LedgerFact, LedgerReceipt, LedgerState,
                     LedgerVerification, NotYetVisible, UnknownSubject)

log = logging.getLogger("pdp.client")

DECIDE_PATH = "/v1/decide"
BATCH_PATH = "/v1/decide/batch"
UNAVAILABLE_RULE = "client.unavailable"


@dataclass(frozen=True)
class ClientDecision:
    """One decision as the client got it (or made it, when `failed_closed`)."""

    decision: str
    reasons: list[dict[str, Any]] = field(default_factory=list)
    obligations: list[Any] = field(default_factory=list)
    decision_id: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False)
    failed_closed: bool = False

    @property
    def allowed(self) -> bool:
        return self.decision == "allow"

    @property
    def advice(self) -> list[Any]:
        """The advice the rules that decided give (a deny's: how to get the use allowed); none when not sent."""
        advice = self.raw.get("advice", [])
        return advice if isinstance(advice, list) else []

    @classmethod
    def from_json(cls, body: Any) -> ClientDecision:
        """A decision from the response JSON; `ValueError` if it is not one."""
        if not isinstance(body, dict):
            raise ValueError("the answer is not a JSON object")
        decision = body.get("decision")
        if decision not in ("allow", "deny"):
            raise ValueError(f"`decision` is {decision!r}, not \"allow\" or \"deny\"")
        reasons, obligations = body.get("reasons", []), body.get("obligations", [])
        if not isinstance(reasons, list) or not all(isinstance(r, dict) for r in reasons):
            raise ValueError("`reasons` is not a list of objects")
        if not isinstance(obligations, list):
            raise ValueError("`obligations` is not a list")
        return cls(decision, reasons, obligations, body.get("decision_id"), body)

    @classmethod
    def unavailable(cls, message: str) -> ClientDecision:
        """The deny the client makes when the PDP could not answer."""
        reason = {"rule": UNAVAILABLE_RULE, "effect": "deny", "cite": None, "message": message}
        raw = {"decision": "deny", "reasons": [reason], "obligations": [], "decision_id": None}
        return cls("deny", [reason], [], None, raw, failed_closed=True)


def _item_problems(index: int, item: dict[str, Any]) -> list[dict[str, Any]]:
    """The problems of one rejected batch item, each field prefixed with `requests[i].`."""
    detail = item.get("detail")
    if not isinstance(detail, list) or not detail:
        detail = [{"message": str(item["error"])}]
    problems = []
    for d in detail:
        d = d if isinstance(d, dict) else {"message": str(d)}
        name = d.get("field")
        problems.append({**d, "field": f"requests[{index}]" + (f".{name}" if name else ""), "index": index})
    return problems


class _Base:
    def __init__(self, base_url: str, *, timeout: float, fail_closed: bool, token: str | None, retries: int):
        if retries < 0:
            raise ValueError("retries must be 0 or more")
        self.base_url, self.timeout, self.fail_closed, self.retries = base_url, timeout, fail_closed, retries
        self._headers = {"Accept": "application/json"}
        if token:
            self._headers["Authorization"] = f"Bearer {token}"

    # -- turning what happened into a decision or an error (no I/O) --

    def _transport_problem(self, error: httpx.RequestError) -> _Unanswered:
        return transport_problem(error, self.timeout)

    _json = staticmethod(answer_json)

    def _one(self, response: httpx.Response) -> ClientDecision:
        try:
            return ClientDecision.from_json(self._json(response))
        except ValueError as error:
            raise _Unanswered(f"the pdp answer is not a decision: {error}") from None

    def _many(self, response: httpx.Response, count: int) -> list[ClientDecision]:
        body = self._json(response)
        items = body.get("decisions") if isinstance(body, dict) else None
        if not isinstance(items, list) or len(items) != count:
            raise _Unanswered(f"the pdp batch answer does not hold {count} decisions")
        detail = [problem for i, item in enumerate(items) if isinstance(item, dict) and "error" in item
                  for problem in _item_problems(i, item)]
        if detail:
            raise PdpRequestError(response.status_code, "bad_request", detail)
        try:
            return [ClientDecision.from_json(item) for item in items]
        except ValueError as error:
            raise _Unanswered(f"the pdp batch answer is not a list of decisions: {error}") from None

    @overload
    def _give_up(self, problem: _Unanswered, count: None) -> ClientDecision: ...
    @overload
    def _give_up(self, problem: _Unanswered, count: int) -> list[ClientDecision]: ...

    def _give_up(self, problem: _Unanswered, count: int | None) -> ClientDecision | list[ClientDecision]:
        message = str(problem)
        if not self.fail_closed:
            raise PdpUnavailable(message) from problem.__cause__
        log.warning("pdp at %s unavailable, failing closed: %s", self.base_url, message)
        if count is None:
            return ClientDecision.unavailable(message)
        return [ClientDecision.unavailable(message) for _ in range(count)]

    @staticmethod
    def _check(request: Any) -> dict[str, Any]:
        if not isinstance(request, Mapping):
            raise TypeError(f"a decision request is a dict, not {type(request).__name__}")
        return dict(request)


class PdpClient(_Base):
    """A synchronous client (one `httpx.Client`, reused). Thread-safe like httpx.Client is."""

    def __init__(self, base_url: str, *, timeout: float = 0.5, fail_closed: bool = True, token: str | None = None,
                 transport: httpx.BaseTransport | None = None, retries: int = 0):
        super().__init__(base_url, timeout=timeout, fail_closed=fail_closed, token=token, retries=retries)
        self._http = httpx.Client(base_url=base_url, timeout=timeout, headers=self._headers, transport=transport)

    def _post(self, path: str, body: dict[str, Any]) -> httpx.Response:
        for attempt in range(self.retries + 1):
            try:
                return self._http.post(path, json=body)
            except httpx.ConnectError as error:
                if attempt == self.retries:
                    raise self._transport_problem(error) from error
            except httpx.RequestError as error:
                raise self._transport_problem(error) from error
        raise AssertionError("unreachable")

    def decide(self, request: Mapping[str, Any]) -> ClientDecision:
        """One decision (`POST /v1/decide`)."""
        body = self._check(request)
        try:
            return self._one(self._post(DECIDE_PATH, body))
        except _Unanswered as problem:
            return self._give_up(problem, None)

    def decide_many(self, requests: Iterable[Mapping[str, Any]]) -> list[ClientDecision]:
        """Decisions for many requests in one call (`POST /v1/decide/batch`), in the same order."""
        bodies = [self._check(r) for r in requests]
        if not bodies:
            return []
        try:
            return self._many(self._post(BATCH_PATH, {"requests": bodies}), len(bodies))
        except _Unanswered as problem:
            return self._give_up(problem, len(bodies))

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> PdpClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AsyncPdpClient(_Base):
    """The same client for asyncio code (one `httpx.AsyncClient`); `await client.close()` or `async with`."""

    def __init__(self, base_url: str, *, timeout: float = 0.5, fail_closed: bool = True, token: str | None = None,
                 transport: httpx.AsyncBaseTransport | None = None, retries: int = 0):
        super().__init__(base_url, timeout=timeout, fail_closed=fail_closed, token=token, retries=retries)
        self._http = httpx.AsyncClient(base_url=base_url, timeout=timeout, headers=self._headers, transport=transport)

    async def _post(self, path: str, body: dict[str, Any]) -> httpx.Response:
        for attempt in range(self.retries + 1):
            try:
                return await self._http.post(path, json=body)
            except httpx.ConnectError as error:
                if attempt == self.retries:
                    raise self._transport_problem(error) from error
            except httpx.RequestError as error:
                raise self._transport_problem(error) from error
        raise AssertionError("unreachable")

    async def decide(self, request: Mapping[str, Any]) -> ClientDecision:
        """One decision (`POST /v1/decide`)."""
        body = self._check(request)
        try:
            return self._one(await self._post(DECIDE_PATH, body))
        except _Unanswered as problem:
            return self._give_up(problem, None)

    async def decide_many(self, requests: Iterable[Mapping[str, Any]]) -> list[ClientDecision]:
        """Decisions for many requests in one call (`POST /v1/decide/batch`), in the same order."""
        bodies = [self._check(r) for r in requests]
        if not bodies:
            return []
        try:
            return self._many(await self._post(BATCH_PATH, {"requests": bodies}), len(bodies))
        except _Unanswered as problem:
            return self._give_up(problem, len(bodies))

    async def close(self) -> None:
        await self._http.aclose()

    aclose = close

    async def __aenter__(self) -> AsyncPdpClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


__all__ = ["PdpClient", "AsyncPdpClient", "ClientDecision", "PdpClientError", "PdpUnavailable", "PdpRequestError",
           "UNAVAILABLE_RULE", "LedgerBatch", "LedgerClient", "LedgerErasure", "LedgerEvent", "LedgerFact",
           "LedgerReceipt", "LedgerState", "LedgerVerification", "NotYetVisible", "UnknownSubject"]
