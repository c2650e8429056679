"""AuthZEN Access Evaluation requests (OpenID AuthZEN Authorization API 1.0).

Two kinds of policy set answer them:
- a data-use set (`model data_use`, the default): the AuthZEN request is
  mapped onto a decision request as the contract says (purpose in
  `action.properties`, categories and data subject in `resource.properties`,
  recipient and destination in `context`; the consent ledger's read-your-writes
  token and a past time to decide as of in `context` too, `context.ledger_seq`
  and `context.as_of`, as AuthZEN puts facts about the request itself there);
- an AuthZEN set (`model authzen`): rules read `subject`, `action`,
  `resource` and `context` directly, and target actions by `action.name`.

`EvaluationRequest` is the one description of an AuthZEN request: the
checker's schema of an AuthZEN set is derived from it (`CONTRACT`, see
`pdp.vocab.contract`).
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from . import taxonomy as tx
from .contract import Contract, Vocab
from pdp.base.errors import FieldError, RequestError


class _Entity(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True)
    type: str
    id: str
    properties: dict[str, Any] | None = None


class _Action(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True)
    name: Annotated[str, Vocab(tx.ACTION)]
    properties: dict[str, Any] | None = None


class EvaluationRequest(BaseModel):
    """One Access Evaluation: unknown fields are ignored, as the spec asks."""

    model_config = ConfigDict(extra="ignore", strict=True)
    subject: _Entity
    action: _Action
    resource: _Entity
    context: dict[str, Any] | None = None


CONTRACT = Contract(EvaluationRequest)


def check_evaluation(raw: Any, vocabulary: object = None, shape: object = None) -> None:
    """Raise RequestError naming what is missing or mistyped (an AuthZEN set checks no vocabulary: `vocabulary`
    and `shape` are what a data-use set checks, and are not read)."""
    if not isinstance(raw, dict):
        raise RequestError([FieldError("request", "an evaluation is a JSON object with subject, action and resource")])
    _validated(EvaluationRequest, raw)


# Where each field of a decision request comes from in an AuthZEN request,
# so that errors name the field the caller actually sent.
_NATIVE_TO_AUTHZEN = {
    "action": "action.name",
    "purpose": "action.properties.purpose",
    "data_categories": "resource.properties.data_categories",
    "data_subject": "resource.properties.data_subject",
    "recipient": "context.recipient",
    "destination_country": "context.destination_country",
    "requester": "subject",
    "context": "context",
    "ledger_seq": "context.ledger_seq",
    "as_of": "context.as_of",
}
_FROM_CONTEXT = ("recipient", "destination_country", "ledger_seq", "as_of")  # fields of the request itself


def to_data_use_request(raw: dict[str, Any]) -> dict[str, Any]:
    """An AuthZEN request about personal data, as a native decision request."""
    action_props = raw["action"].get("properties") or {}
    resource_props = raw["resource"].get("properties") or {}
    context = dict(raw.get("context") or {})
    native: dict[str, Any] = {
        "action": raw["action"]["name"],
        "purpose": action_props.get("purpose"),
        "data_categories": resource_props.get("data_categories"),
        "requester": {"id": raw["subject"]["id"]},
    }
    subject = resource_props.get("data_subject")
    if isinstance(subject, dict):
        native["data_subject"] = {"id": raw["resource"]["id"], **subject}
    elif subject is not None:
        native["data_subject"] = subject
    for key in _FROM_CONTEXT:
        if key in context:
            native[key] = context.pop(key)
    if context:
        native["context"] = context
    return {k: v for k, v in native.items() if v is not None}


def authzen_path(path: tuple[str, ...]) -> tuple[str, ...]:
    """Where a field of a decision request is sent in an AuthZEN request (`data_subject.consent.marketing` ->
    `resource.properties.data_subject.consent.marketing`)."""
    where = _NATIVE_TO_AUTHZEN.get(path[0], path[0])
    return tuple(where.split(".")) + tuple(path[1:])


def rename_fields(error: RequestError) -> RequestError:
    """An error about the decision request an AuthZEN request became, naming the fields the caller sent."""
    return RequestError([FieldError(".".join(authzen_path(tuple(e.field.split(".")))), e.message, e.suggestions)
                         for e in error.field_errors])


# The Search API (AuthZEN 1.0, section 8): the same parts as an evaluation, less the id of the part searched for
# (which, sent, is ignored) or, for an action search, less the action; and an optional `page`.

class _Searched(BaseModel):
    """The part searched for: its `type` is required; an `id`, if sent, is ignored (the spec says so)."""

    model_config = ConfigDict(extra="allow", strict=True)
    type: str
    properties: dict[str, Any] | None = None


class _PageRequest(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True)
    token: str | None = None
    limit: Annotated[int, Field(ge=0)] | None = None
    properties: dict[str, Any] | None = None


class _Search(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True)
    context: dict[str, Any] | None = None
    page: _PageRequest | None = None


class SubjectSearchRequest(_Search):
    """Which subjects of `subject.type` may do `action` on `resource`."""

    subject: _Searched
    action: _Action
    resource: _Entity


class ResourceSearchRequest(_Search):
    """Which resources of `resource.type` `subject` may do `action` on."""

    subject: _Entity
    action: _Action
    resource: _Searched


class ActionSearchRequest(_Search):
    """Which actions `subject` may do on `resource`."""

    subject: _Entity
    resource: _Entity


SEARCHES: dict[str, type[_Search]] = {
    "subject": SubjectSearchRequest, "resource": ResourceSearchRequest, "action": ActionSearchRequest}


def check_search(kind: str, raw: Any) -> None:
    """Raise RequestError naming what is missing or mistyped in a Search API request for `kind` (subject, resource,
    action)."""
    if not isinstance(raw, dict):
        raise RequestError([FieldError("request", "a search is a JSON object")])
    _validated(SEARCHES[kind], raw)


def _validated(model: type[BaseModel], raw: dict[str, Any]) -> None:
    try:
        model.model_validate(raw)
    except ValidationError as error:
        raise RequestError([
            FieldError(".".join(str(p) for p in e["loc"]), "this field is required" if e["type"] == "missing" else e["msg"])
            for e in error.errors(include_url=False)
        ]) from None
