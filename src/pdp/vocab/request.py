"""Decision requests: shape checked by pydantic, vocabulary checked against
the policy set, then turned into the environment that conditions read.

The wire shape is the decision contract (`../shared/spec/decision-api.md`).
`DecisionRequest` below is its one description: the checker's schema, the
vocabulary-checked fields and the known keys of each part are derived from
it (`CONTRACT`, see `pdp.vocab.contract`); a new field is added there alone.
Unknown vocabulary is an error naming the field and the closest keys: a
typo must never quietly become a deny that nobody can explain.
"""

from __future__ import annotations

import json
from contextvars import ContextVar
from dataclasses import dataclass
from collections.abc import Callable, Iterable, Sequence
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

from . import schema as sch
from . import taxonomy as tx
from .contract import Contract, Dated, DeclaredKeys, KeysOf, Unknown, Unread, Vocab
from pdp.base.dates import day_of
from pdp.base.errors import FieldError, RequestError, suggest


# Limits on what one request may name: each is far above what a real request
# needs (a category names everything below it, and the taxonomy has fewer than
# a hundred), and each bounds the work a bad request can cost (finding every
# unknown key and its suggestions grows with them).
MAX_CATEGORIES = 256  # items of `data_categories`
MAX_ATTRIBUTES = 256  # keys of the request and of each of its parts (data_subject, consent, recipient, requester, context)
MAX_ERRORS = 20  # errors reported for one request; the rest are counted in one more line
SHOWN_CHARS = 80  # of a bad value quoted in an error: a megabyte sent is not a megabyte answered


def shown(value: Any) -> str:
    """A bad value as an error quotes it: its start, and its length when it is longer."""
    text = str(value)
    return text if len(text) <= SHOWN_CHARS else f"{text[:SHOWN_CHARS]}... ({len(text):,} characters)"


def _iso_day(value: str | None) -> str | None:
    if value is not None and day_of(value) is None:
        raise ValueError("a date, YYYY-MM-DD (e.g. 2026-03-01)")
    return value


class _Open(BaseModel):
    # Parts of a request may carry more attributes than the contract names;
    # a policy set reads them once it declares them.
    model_config = ConfigDict(extra="allow", strict=True)


class DataSubject(_Open):
    id: str | None = None
    type: Annotated[str | None, Vocab(tx.SUBJECT_TYPE)] = None
    age: float | None = Field(default=None, ge=0, le=200)
    country: Annotated[str | None, Vocab(tx.COUNTRY)] = None
    consent: Annotated[dict[str, bool | None] | None, KeysOf(tx.CONSENT_TOPIC)] = Field(
        default=None, max_length=MAX_ATTRIBUTES)
    # a later policy version the person agreed to (§11)
    accepted_policy_version: Annotated[str | None, Unread()] = None


class Recipient(_Open):
    id: str | None = None
    name: str | None = None
    type: Annotated[str | None, Vocab(tx.RECIPIENT_TYPE)] = None
    dpa: bool | None = None
    country: Annotated[str | None, Vocab(tx.COUNTRY)] = None


class Requester(_Open):
    id: str | None = None


# The native decision request: the one description of the contract (see the module docstring). No docstring:
# pydantic would publish it in the OpenAPI document.
class DecisionRequest(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True)

    action: Annotated[str, Vocab(tx.ACTION)]
    purpose: Annotated[str, Vocab(tx.PURPOSE)]
    purpose_of_collection: Annotated[str | None, Vocab(tx.PURPOSE)] = Field(
        default=None, description="the purpose the data was collected for (a purpose key): a rule may allow a further "
        "use only for a purpose the set declares compatible with it (`compatible_purposes`, GDPR art. 6(4))")
    data_categories: Annotated[list[str], Vocab(tx.CATEGORY)] = Field(min_length=1, max_length=MAX_CATEGORIES)
    data_subject: DataSubject | None = None
    recipient: Recipient | None = None
    destination_country: Annotated[str | None, Vocab(tx.COUNTRY)] = None
    requester: Requester | None = None
    context: Annotated[dict[str, Any] | None, DeclaredKeys()] = Field(default=None, max_length=MAX_ATTRIBUTES)
    collected_at: Annotated[str | None, Dated()] = Field(
        default=None, description="when the data was collected (YYYY-MM-DD): the policy version in force then decides; "
        "conditions read it as a date")
    now: Annotated[str | None, Dated(), AfterValidator(_iso_day)] = Field(
        default=None, description="the day the decision is made for (YYYY-MM-DD): `now` in conditions. `pdp decide` "
        "gives the day of `as_of`, else today's date (UTC); `pdp serve` stamps it from its own clock and refuses a "
        "request that sets it; without it a condition that reads `now` is unknown")
    as_of: Annotated[str | None, Unread()] = Field(
        default=None, description="decide as of this past time (ISO 8601 with a zone): the consent ledger's state "
        "then, and the policy version in force then")
    ledger_seq: Annotated[int | None, Unread()] = Field(
        default=None, ge=1, le=2**63 - 1, description="read-your-writes: the sequence number the consent ledger returned when an "
        "event was recorded; the decision waits briefly for the ledger to have seen it, else fails closed")


CONTRACT = Contract(DecisionRequest)


def request_schema(consent_topics: frozenset[str] = frozenset()) -> dict[str, sch.Type]:
    """The attributes of a decision request as conditions read them, with these consent topics."""
    return CONTRACT.schema(lambda kind: consent_topics if kind == tx.CONSENT_TOPIC else ())


def _field_name(loc: tuple[Any, ...]) -> str:
    return ".".join(str(p) for p in loc) or "request"


def size_errors(raw: dict[str, Any]) -> list[FieldError]:
    """The request and its parts that carry more keys than `MAX_ATTRIBUTES` (checked before anything else)."""
    out = []
    for part in CONTRACT.parts:
        holder = raw if part == "" else raw.get(part)
        if isinstance(holder, dict) and len(holder) > MAX_ATTRIBUTES:
            out.append(FieldError(part or "request", f"at most {MAX_ATTRIBUTES} attributes, got {len(holder)}"))
    return out


MISSING = "this field is required"


def shape_errors(raw: Any) -> list[FieldError]:
    if not isinstance(raw, dict):
        return [FieldError("request", "a request is a JSON object with `action`, `purpose` and `data_categories`")]
    too_big = size_errors(raw)
    if too_big:
        return too_big
    try:
        DecisionRequest.model_validate(raw)
    except ValidationError as error:
        out = []
        for e in error.errors(include_url=False):
            message = e["msg"]
            if e["type"] == "missing":
                message = MISSING
            out.append(FieldError(_field_name(e["loc"]), message))
        return out
    return []


# Every vocabulary value of a request that the policy set does not know (cheap: set lookups only).
unknown_vocabulary: Callable[[dict[str, Any], tx.Vocabulary], list[Unknown]] = CONTRACT.unknown_vocabulary


_suggestions_left: ContextVar[int | None] = ContextVar("pdp_suggestions_left", default=None)


class suggestion_budget:  # lower case: used as a function, `with suggestion_budget(100):`
    """At most `count` unknown values get suggestions while this is open (the rest get the error alone).

    One error has at most `MAX_ERRORS` suggestions to find, but a batch of
    bad requests would multiply them: a server call sets one budget for all
    its requests, so that the work stays bounded whatever the batch holds.
    A class rather than a generator: the server opens one per call, and a
    generator's context manager costs several times as much.
    """

    def __init__(self, count: int) -> None:
        self.count = count

    def __enter__(self) -> None:
        self._token = _suggestions_left.set(self.count)

    def __exit__(self, *exc: object) -> None:
        _suggestions_left.reset(self._token)


def _may_suggest() -> bool:
    left = _suggestions_left.get()
    if left is None:
        return True
    _suggestions_left.set(left - 1)
    return left > 0


def unknown_error(unknown: Unknown) -> FieldError:
    """The error of one unknown value, with the closest known keys (the costly part: only for errors shown)."""
    field, kind, known, value = unknown
    close = tx.closest_keys(kind, value, known, always=True) if _may_suggest() else ()
    return FieldError(field, f"unknown {kind} `{shown(value)}`", tuple(close))


def reported(errors: list[FieldError], unknown: Sequence[Unknown] = (), limit: int = MAX_ERRORS) -> list[FieldError]:
    """At most `limit` errors, then one line counting the rest.

    A bad request costs work per error (suggestions above all): building
    only the errors shown bounds that work, however many there are.
    """
    total = len(errors) + len(unknown)
    shown = list(errors[:limit])
    shown += [unknown_error(u) for u in unknown[:limit - len(shown)]]
    if total > limit:
        shown.append(FieldError("request", f"{total - limit} more errors not listed (at most {limit} are reported)"))
    return shown


Declared = tuple[tuple[tuple[str, ...], sch.Type], ...]  # (path parts, type) of attributes vocabulary.yaml declares


def attribute_value_error(field: str, value: Any, typ: sch.Type, vocabulary: tx.Vocabulary) -> FieldError | None:
    """The error of a value that an attribute's type does not allow (a wrong type, or a key the vocabulary does
    not know: an unknown country), or None. Shared by requests and registers (pdp.engine.registers), so a register entry
    is held to what a request may carry.

    A rule reading `context.identity_verified == false` must not meet the
    text "false": a wrong type is refused, never quietly decided.
    """
    if typ.vocab is not None and isinstance(value, str):
        known = vocabulary.known(typ.vocab)
        if value not in known:
            close = tx.closest_keys(typ.vocab, value, known, always=True) if _may_suggest() else ()
            return FieldError(field, f"unknown {typ.vocab} `{shown(value)}`", tuple(close))
        return None
    if not _is_a(value, typ):
        return FieldError(field, f"expected {typ.describe()}, got {shown(json.dumps(value))}")
    return None


def _is_a(value: Any, typ: sch.Type) -> bool:
    kind = typ.kind
    if kind == "any":
        return True
    if kind == "bool":
        return isinstance(value, bool)
    if kind == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind == "string":
        return isinstance(value, str)
    if kind == "date":
        return day_of(value) is not None
    if kind == "list":
        return isinstance(value, list)
    return isinstance(value, dict)


# The names each part of a request has by the contract; a policy set adds its declared attributes.
CONTRACT_KEYS: dict[str, frozenset[str]] = CONTRACT.keys
TYPO_CUTOFF = 0.75  # how alike an unknown key must be to a known one to be taken for its misspelling


@dataclass(frozen=True)
class RequestShape:
    """What a policy set knows of a request's keys, compiled once: checked in one pass over the request."""

    keys: dict[str, frozenset[str]]  # part ("" for the top level) -> its known keys
    types: dict[str, dict[str, sch.Type]]  # part -> declared attribute -> its type
    deep: Declared = ()  # declared attributes further down (part.a.b), walked one by one


def request_shape(declared: Declared = (), extra: dict[str, Iterable[str]] | None = None) -> RequestShape:
    """The shape of requests: the contract's keys, the declared attributes, and `extra` (e.g. register fields)."""
    keys = {part: set(names) for part, names in CONTRACT_KEYS.items()}
    types: dict[str, dict[str, sch.Type]] = {}
    deep = []
    for parts, typ in declared:
        if parts[0] in keys:
            keys[parts[0]].add(parts[1])
        if len(parts) == 2:
            types.setdefault(parts[0], {})[parts[1]] = typ
        else:
            deep.append((parts, typ))
    for part, names in (extra or {}).items():
        keys.setdefault(part, set()).update(names)
    return RequestShape({part: frozenset(names) for part, names in keys.items()}, types, tuple(deep))


def key_errors(raw: dict[str, Any], shape: RequestShape, vocabulary: tx.Vocabulary) -> list[FieldError]:
    """Declared attributes of the wrong type, and keys that look like a misspelt known key (`data_subjct`, `agee`).

    Other unknown keys pass (a part may carry attributes no rule reads), but
    a near miss of a known key would quietly drop what the caller meant to
    say, and with it perhaps a deny: it is refused with the right spelling.
    """
    out = []
    for part, known in shape.keys.items():
        holder = raw if part == "" else raw.get(part)
        if not isinstance(holder, dict):
            continue
        types = shape.types.get(part)
        for key, value in holder.items():
            if key in known:
                typ = types.get(key) if types else None
                if typ is not None and value is not None:
                    error = attribute_value_error(f"{part}.{key}", value, typ, vocabulary)
                    if error is not None:
                        out.append(error)
            elif isinstance(key, str):
                out += _misspelt(part, key, known)
    for parts, typ in shape.deep:
        value = raw
        for part in parts:
            value = value.get(part) if isinstance(value, dict) else None
        if value is not None:
            error = attribute_value_error(".".join(parts), value, typ, vocabulary)
            if error is not None:
                out.append(error)
    return out


def _misspelt(part: str, key: str, known: frozenset[str]) -> list[FieldError]:
    """An unknown key taken for the misspelling of a known one (`data_categries`), or nothing."""
    close = suggest(key, known, limit=1, cutoff=TYPO_CUTOFF)
    if not close:
        return []
    field = key if part == "" else f"{part}.{key}"
    return [FieldError(field, f"unknown attribute `{field}`", tuple(close))]


def misspelt_top_keys(raw: dict[str, Any], shape: RequestShape) -> list[FieldError]:
    """The request's own keys that look like a misspelt known key: reported before "`data_categories` is
    required", which is only their consequence (issue 12)."""
    known = shape.keys.get("", frozenset())
    return [e for key in raw if isinstance(key, str) and key not in known for e in _misspelt("", key, known)]


DEFAULT_SHAPE = request_shape()


def check_request(raw: Any, vocabulary: tx.Vocabulary, shape: RequestShape = DEFAULT_SHAPE) -> None:
    """Raise RequestError naming the bad fields of the request (at most `MAX_ERRORS`, then a count)."""
    errors = shape_errors(raw)
    if errors:
        if any(e.message == MISSING for e in errors):  # (never for a request too large to look at)
            errors = misspelt_top_keys(raw, shape) + errors
        raise RequestError(reported(errors))
    errors, unknown = key_errors(raw, shape, vocabulary), unknown_vocabulary(raw, vocabulary)
    if errors or unknown:
        raise RequestError(reported(errors, unknown))


def apply_lookups(raw: dict[str, Any], lookups: tuple[Any, ...]) -> dict[str, Any]:
    """The request with the parts a policy set looks up replaced by what its registers say.

    A register is authoritative. For an id it lists, the part is the
    register's entry (and the id), plus what `request wins for` lets the
    request set. For an id it does not list, or no id, the part keeps only
    the attributes `if unlisted, request states` names: an unknown id has no
    roles, no DPA, nothing the caller invents. A stated value an `except`
    names is refused (RequestError), not dropped: dropped, `recipient.type
    is absent` would pass a self-declared affiliate off as no recipient.
    `lookups` are registers.CompiledLookup.
    """
    env = raw
    for lookup in lookups:
        part = raw.get(lookup.root)
        if not isinstance(part, dict):
            continue
        ident = part.get("id")
        record = lookup.register.get(ident) if isinstance(ident, str) else None
        if isinstance(record, dict):
            filled = dict(record)
            for name in lookup.request_wins:
                if part.get(name) is not None:
                    filled[name] = part[name]
        else:
            filled = {name: part[name] for name in lookup.described if part.get(name) is not None}
            _refuse_excluded(lookup, filled, ident)
        if ident is not None:
            filled["id"] = ident
        if env is raw:
            env = dict(raw)  # never change the caller's request
        env[lookup.root] = filled
    return env


def _refuse_excluded(lookup: Any, stated: dict[str, Any], ident: Any) -> None:
    for name, values in lookup.excluded.items():
        value = stated.get(name)
        if any(type(value) is type(v) and value == v for v in values):
            who = f"`{ident}`" if isinstance(ident, str) else f"a {lookup.root} named by no id"
            raise RequestError([FieldError(
                f"{lookup.root}.{name}",
                f"{lookup.named} does not list {who}: only a register can make a {lookup.root}'s {name} "
                f"{json.dumps(value)}")])
