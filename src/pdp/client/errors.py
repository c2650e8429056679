"""What the clients raise, and how an HTTP exchange with pdp becomes an answer or one of those errors (no I/O)."""

from __future__ import annotations

from typing import Any

import httpx


class PdpClientError(Exception):
    """Base of the errors the client raises."""


class PdpUnavailable(PdpClientError):
    """The PDP could not answer. The decision clients raise it only when `fail_closed=False` (else they deny); the
    ledger client always does: a consent that was not recorded must not pass for one that was."""


class PdpRequestError(PdpClientError):
    """The PDP rejected the request (`4xx`); `detail` names the fields: `[{field, message, ...}]`."""

    def __init__(self, status_code: int, error: str, detail: list[dict[str, Any]]):
        self.status_code, self.error, self.detail = status_code, error, detail
        problems = "; ".join(f"{d.get('field', '?')}: {d.get('message', '')}" for d in detail) or "no detail given"
        super().__init__(f"the pdp rejected the request ({status_code} {error}): {problems}")

    @property
    def fields(self) -> list[str]:
        return [d.get("field", "") for d in self.detail]


class Unanswered(Exception):
    """The PDP did not give a usable answer; the decision clients make it a deny or `PdpUnavailable`."""


def transport_problem(error: httpx.RequestError, timeout: float) -> Unanswered:
    if isinstance(error, httpx.TimeoutException):
        return Unanswered(f"the pdp did not answer within {timeout}s ({type(error).__name__})")
    if isinstance(error, httpx.ConnectError):
        return Unanswered(f"cannot connect to the pdp ({str(error) or type(error).__name__})")
    return Unanswered(f"the exchange with the pdp failed ({type(error).__name__}: {error})")


def answer_json(response: httpx.Response) -> Any:
    """The body of a usable answer; raises `PdpRequestError` on a 4xx, `Unanswered` otherwise."""
    status = response.status_code
    if 400 <= status < 500:
        try:
            body = response.json()
        except ValueError:
            body = None
        if isinstance(body, dict) and isinstance(body.get("detail"), list):
            raise PdpRequestError(status, str(body.get("error", "bad_request")), body["detail"])
        text = response.text[:200].strip() or response.reason_phrase
        raise PdpRequestError(status, "bad_request", [{"field": "request", "message": text}])
    if not 200 <= status < 300:
        error = ""
        try:
            body = response.json()
            error = "; ".join(d.get("message", "") for d in body.get("detail", []))
        except (ValueError, AttributeError, TypeError):
            pass
        raise Unanswered(f"the pdp answered {status} {response.reason_phrase}" + (f" ({error})" if error else ""))
    try:
        return response.json()
    except ValueError:
        raise Unanswered("the pdp answer is not JSON") from None


__all__ = ["PdpClientError", "PdpRequestError", "PdpUnavailable", "Unanswered", "answer_json", "transport_problem"]
