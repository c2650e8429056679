"""The consent ledger of a running pdp, over HTTP: `LedgerClient` (sync).

```python
from pdp.client import LedgerClient

with LedgerClient("http://127.0.0.1:8181", token=WRITE_AND_READ_TOKEN) as ledger:
    receipt = ledger.record({"kind": "marketing.opted_out", "subject": "u-81723", "channel": "email",
                             "method": "web_form", "actor": {"type": "person"},
                             "occurred_at": "2026-03-01T10:00:00Z", "client_event_id": "form-17"})
    receipt.seq                                     # the read-your-writes token
    ledger.state("u-81723", min_seq=receipt.seq).fact("marketing:email").status   # "opted_out"
    ledger.history("u-81723"); ledger.export("u-81723")
```

Unlike the decision clients, it never fails closed by answering for the
server: a recording that did not happen must not pass for one that did. So
every method raises `PdpUnavailable` when pdp could not answer (a timeout, no
connection, a 5xx), and `PdpRequestError` when it refused the request (each
bad field named in `detail`); among those, `UnknownSubject` (404: no event is
recorded for the subject) and `NotYetVisible` (409: the ledger has not seen
`min_seq`). No retries: a recording retried after a timeout is safe only with
a `client_event_id` (the ledger records it once), so the caller decides.
The same methods as the embedded ledger (`pdp.ledger.open_ledger`), with
results of this module's types (this client does not import the engine).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import httpx

from .errors import PdpRequestError, PdpUnavailable, Unanswered, answer_json, transport_problem

LEDGER = "/v1/ledger"
GPC_HEADER = "Sec-GPC"


class UnknownSubject(PdpRequestError):
    """404: the ledger holds no event of the subject (or the server has no ledger: see `error`)."""


class NotYetVisible(PdpRequestError):
    """409: the ledger has not yet seen the `min_seq` asked for; ask again later."""


_BY_CODE = {"unknown_subject": UnknownSubject, "not_yet_visible": NotYetVisible}


def _time(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text is not None else None


@dataclass(frozen=True)
class LedgerReceipt:
    """What recording an event gave: its sequence number (the read-your-writes token) and id."""

    seq: int
    event_id: str
    recorded_at: datetime
    duplicate: bool  # its client event id was recorded before: nothing new was recorded
    gpc: LedgerReceipt | None = None  # with `gpc=True`: the GPC signal recorded with it
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> LedgerReceipt:
        signal = body.get("gpc")
        return cls(int(body["seq"]), str(body["event_id"]), datetime.fromisoformat(body["recorded_at"]),
                   bool(body["duplicate"]), cls.from_json(signal) if signal else None, dict(body))

    @property
    def token(self) -> int:
        """The read-your-writes token of all that was recorded (a repeated event keeps its first seq, and a GPC
        signal recorded with it may come later)."""
        return max(self.seq, self.gpc.seq if self.gpc else 0)


@dataclass(frozen=True)
class LedgerBatch:
    receipts: list[LedgerReceipt]  # one a given event, in order
    seq: int  # the read-your-writes token of all of it
    gpc: list[LedgerReceipt] = field(default_factory=list)
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> LedgerBatch:
        return cls([LedgerReceipt.from_json(r) for r in body["receipts"]], int(body["seq"]),
                   [LedgerReceipt.from_json(r) for r in body.get("gpc") or []], dict(body))


@dataclass(frozen=True)
class LedgerFact:
    """What a subject's latest event for one key says, and which event said it."""

    key: str
    status: str
    event_id: str
    seq: int
    occurred_at: datetime
    expires_at: datetime | None = None
    expired: bool | None = None  # judged by the server at the time asked
    notice_version: str | None = None


@dataclass(frozen=True)
class LedgerState:
    seq: int
    facts: dict[str, LedgerFact]
    as_of: datetime | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def fact(self, key: str) -> LedgerFact | None:
        return self.facts.get(key)

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> LedgerState:
        facts = {key: LedgerFact(key, f["status"], f["event_id"], int(f["seq"]), datetime.fromisoformat(f["occurred_at"]),
                                 _time(f.get("expires_at")), f.get("expired"), f.get("notice_version"))
                 for key, f in body["facts"].items()}
        return cls(int(body["seq"]), facts, _time(body.get("as_of")), dict(body))


@dataclass(frozen=True)
class LedgerEvent:
    """An event as the ledger keeps it; `raw` holds every field (`subject`, `topic`, `notice`...), and none that
    identifies the person once they are erased (`erased`)."""

    seq: int
    event_id: str
    kind: str
    occurred_at: datetime
    recorded_at: datetime
    erased: bool
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> LedgerEvent:
        return cls(int(body["seq"]), str(body["event_id"]), str(body["kind"]),
                   datetime.fromisoformat(body["occurred_at"]), datetime.fromisoformat(body["recorded_at"]),
                   bool(body.get("erased", False)), dict(body))


@dataclass(frozen=True)
class LedgerVerification:
    ok: bool
    subjects: int
    events: int
    breaks: list[dict[str, Any]]  # each broken subject's first break: subject (pseudonym), position, seq, reason
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)


@dataclass(frozen=True)
class LedgerErasure:
    subject: str  # the pseudonym
    events: int
    keys_destroyed: int
    erased_at: datetime
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)


def _default(value: Any) -> str:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON")


class LedgerClient:
    """The ledger endpoints of one pdp (one `httpx.Client`, reused). `token`: a ledger service token with the
    scopes the calls need (`write` to record, `read` to read; erasing takes the admin token)."""

    def __init__(self, base_url: str, *, token: str | None = None, timeout: float = 10.0,
                 transport: httpx.BaseTransport | None = None):
        self.base_url, self.timeout = base_url, timeout
        headers = {"Accept": "application/json", "Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self._http = httpx.Client(base_url=base_url, timeout=timeout, headers=headers, transport=transport)

    def _post(self, path: str, body: Mapping[str, Any], headers: dict[str, str] | None = None) -> Any:
        try:
            content = json.dumps(body, default=_default).encode()
        except (TypeError, ValueError) as error:
            raise TypeError(f"the body cannot be sent as JSON: {error}") from None
        try:
            try:
                response = self._http.post(LEDGER + path, content=content, headers=headers)
            except httpx.RequestError as error:
                raise transport_problem(error, self.timeout) from error
            return answer_json(response)
        except Unanswered as problem:
            raise PdpUnavailable(str(problem)) from problem.__cause__
        except PdpRequestError as error:
            specific = _BY_CODE.get(error.error)
            if specific is None:
                raise
            raise specific(error.status_code, error.error, error.detail) from None

    @staticmethod
    def _gpc(gpc: bool) -> dict[str, str] | None:
        return {GPC_HEADER: "1"} if gpc else None

    def record(self, event: Mapping[str, Any], *, gpc: bool = False) -> LedgerReceipt:
        """Record one event. `gpc=True` forwards the person's `Sec-GPC: 1` (only from their own browser's request):
        a GPC signal is recorded for the subject too."""
        return LedgerReceipt.from_json(self._post("/events", dict(event), self._gpc(gpc)))

    def record_many(self, events: Iterable[Mapping[str, Any]], *, gpc: bool = False) -> LedgerBatch:
        """Record events in one transaction, in order: all or none (at most the server's batch limit)."""
        return LedgerBatch.from_json(self._post("/events/batch", {"events": [dict(e) for e in events]},
                                                self._gpc(gpc)))

    def state(self, subject: str, *, min_seq: int | None = None, as_of: datetime | None = None,
              known_at: datetime | None = None) -> LedgerState:
        """The subject's current state (or as of a past time), each fact with its event."""
        asked: dict[str, Any] = {"subject": subject}
        for name, value in (("min_seq", min_seq), ("as_of", as_of), ("known_at", known_at)):
            if value is not None:
                asked[name] = value
        return LedgerState.from_json(self._post("/state", asked))

    def history(self, subject: str) -> list[LedgerEvent]:
        return [LedgerEvent.from_json(e) for e in self._post("/history", {"subject": subject})["events"]]

    def export(self, subject: str) -> dict[str, Any]:
        """Everything held on the subject, as the JSON document `pdp consent export` writes (`pdp-ledger-export/1`)."""
        exported: dict[str, Any] = self._post("/export", {"subject": subject})
        return exported

    def verify(self, subject: str | None = None) -> LedgerVerification:
        """Check one subject's hash chain and state (a `read` token), or every subject's (the admin token)."""
        body = self._post("/verify", {} if subject is None else {"subject": subject})
        return LedgerVerification(bool(body["ok"]), int(body["subjects"]), int(body["events"]), list(body["breaks"]),
                                  body)

    def erase(self, subject: str) -> LedgerErasure:
        """Crypto-shred the subject (the admin token; cannot be undone)."""
        body = self._post("/erase", {"subject": subject})
        return LedgerErasure(str(body["subject"]), int(body["events"]), int(body["keys_destroyed"]),
                             datetime.fromisoformat(body["erased_at"]), body)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> LedgerClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


__all__ = ["LedgerBatch", "LedgerClient", "LedgerErasure", "LedgerEvent", "LedgerFact", "LedgerReceipt",
           "LedgerState", "LedgerVerification", "NotYetVisible", "UnknownSubject"]
