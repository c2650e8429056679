"""A request contract, described once: read off its pydantic model, everything else derived.

The one source of truth for what a request may say is its pydantic model
(`vocab/request.py` for the native decision request, `vocab/authzen.py` for
an AuthZEN Access Evaluation). pydantic validates a request's shape with it
and FastAPI publishes it in the OpenAPI document; `Contract` reads the same
model once and derives the rest:

- `schema`: the type of every attribute a condition reads (what the checker
  checks rules against; a map keyed by a vocabulary, or whose attributes a
  set declares, says so in its type, and the checker's hints follow it);
- `unknown_vocabulary`: the values of a request that must be keys the
  policy set knows (an action, a purpose, a country, a consent topic ...);
- `keys` and `parts`: the names each part of a request has (for the typo
  check) and the parts whose size is bounded;
- `entities`: the parts named by an `id` (those a register may fill in);
- `names_data_use`: whether a request names a purpose and data categories.

What a Python type cannot say is written beside it, in `Annotated[...]`:
`Vocab(kind)` (a value drawn from the vocabulary), `KeysOf(kind)` (a map
keyed by the vocabulary: consent topics), `Dated()` (text holding a date), `DeclaredKeys()` (a map whose
attributes a policy set declares: `context`) and `Unread()` (the engine
reads it, conditions do not: `collected_at`). pydantic keeps these markers
in a field's metadata and ignores them, so the published JSON schema is the
model's own. Adding a field to a model adds it to all of the above.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass
from itertools import groupby
from typing import Any, Union

from pydantic import BaseModel

from . import schema as sch
from . import taxonomy as tx


@dataclass(frozen=True)
class Vocab:
    """The value (or each item of the list) is a key of this kind of vocabulary (taxonomy.ACTION, ...)."""

    kind: str


@dataclass(frozen=True)
class KeysOf:
    """A map whose keys are keys of this kind of vocabulary (consent topics), each holding the value's type."""

    kind: str


@dataclass(frozen=True)
class DeclaredKeys:
    """A map whose attributes a policy set declares (in vocabulary.yaml); conditions read only those."""


@dataclass(frozen=True)
class Dated:
    """Text that holds a calendar date, `YYYY-MM-DD`: conditions read it as a date (`collected_at + 2 years`)."""


@dataclass(frozen=True)
class Unread:
    """The engine reads this field (which version decides, §11); conditions do not."""


VALUE, ITEMS, KEYS = "value", "items", "keys"  # what of a field is drawn from the vocabulary
Unknown = tuple[str, str, frozenset[str], Any]  # (field, kind, the known keys, the value)
KnownKeys = Callable[[str], Collection[str]]  # vocabulary kind -> its keys


@dataclass(frozen=True)
class VocabularyField:
    """A field whose value, items or keys must be known to the policy set's vocabulary."""

    path: tuple[str, ...]  # from the top of the request
    kind: str
    what: str  # VALUE, ITEMS or KEYS

    @property
    def dotted(self) -> str:
        return ".".join(self.path)


class Contract:
    """What a request of one pydantic model may say, derived from the model (see the module docstring)."""

    def __init__(self, model: type[BaseModel]):
        self.model = model
        fields = model.model_fields
        self.keys: dict[str, frozenset[str]] = {"": frozenset(fields)}  # part ("" for the top) -> its names
        for name, info in fields.items():
            inner = model_of(info.annotation)
            if inner is not None:
                self.keys[name] = frozenset(inner.model_fields)
            elif _is_map(info.annotation):
                self.keys[name] = frozenset()
        self.parts = tuple(self.keys)  # the request and its parts that are maps
        self.entities = tuple(name for name, info in fields.items()
                                  if "id" in getattr(model_of(info.annotation), "model_fields", ()))
        self.names_data_use = {"purpose", "data_categories"} <= set(fields)
        self.vocabulary_fields = tuple(_vocabulary_fields(model, ()))
        # Runs of fields held by the same part, in order: (the part's first name or None for the top, the
        # names below it, the fields), so that the top and a part one below cost one look-up each.
        self._vocabulary_parts = tuple(
            (part[0] if part else None, part[1:], tuple((f.path[-1], f.dotted, f.kind, f.what) for f in fields))
            for part, fields in groupby(self.vocabulary_fields, key=lambda f: f.path[:-1]))

    def schema(self, known: KnownKeys = lambda kind: ()) -> dict[str, sch.Type]:
        """The attributes of a request, as conditions read them; `known(kind)` gives a map's keys (`KeysOf`)."""
        return {name: _type(info.annotation, info.metadata, known)
                for name, info in self.model.model_fields.items() if not marked(info.metadata, Unread)}

    def unknown_vocabulary(self, raw: dict[str, Any], vocabulary: tx.Vocabulary) -> list[Unknown]:
        """Every vocabulary value of a request (of this shape) that the policy set does not know.

        On every request, so cheap: set lookups only, the fields grouped by the part that holds them
        (in the model's order, which is the order of the errors).
        """
        out: list[Unknown] = []
        by_kind = vocabulary.by_kind
        for first, below, fields in self._vocabulary_parts:
            holder: Any = raw if first is None else raw.get(first)
            for name in below:
                holder = holder.get(name) if holder else None
            if not holder:
                continue
            for name, dotted, kind, what in fields:
                value = holder.get(name)
                if value is None:
                    continue
                known = by_kind[kind]
                if what is VALUE:
                    if value not in known:
                        out.append((dotted, kind, known, value))
                elif what is ITEMS:
                    out += [(f"{dotted}.{i}", kind, known, item) for i, item in enumerate(value) if item not in known]
                else:
                    out += [(f"{dotted}.{key}", kind, known, key) for key in value if key not in known]
        return out


# -- reading a model's fields ---------------------------------------------------------------


def optional_inner(annotation: Any) -> Any:
    """`X | None` -> X (other annotations as they are)."""
    if typing.get_origin(annotation) in (Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return annotation


def model_of(annotation: Any) -> type[BaseModel] | None:
    inner = optional_inner(annotation)
    return inner if isinstance(inner, type) and issubclass(inner, BaseModel) else None


def _is_map(annotation: Any) -> bool:
    inner = optional_inner(annotation)
    return inner is dict or typing.get_origin(inner) is dict


def marked(metadata: list[Any], marker: type) -> Any:
    return next((m for m in metadata if isinstance(m, marker)), None)


def _vocabulary_fields(model: type[BaseModel], prefix: tuple[str, ...]) -> Iterator[VocabularyField]:
    for name, info in model.model_fields.items():
        path = prefix + (name,)
        inner = model_of(info.annotation)
        if inner is not None:
            yield from _vocabulary_fields(inner, path)
            continue
        vocab, keys_of = marked(info.metadata, Vocab), marked(info.metadata, KeysOf)
        if vocab is not None:
            what = ITEMS if typing.get_origin(optional_inner(info.annotation)) is list else VALUE
            yield VocabularyField(path, vocab.kind, what)
        elif keys_of is not None:
            yield VocabularyField(path, keys_of.kind, KEYS)


def _type(annotation: Any, metadata: list[Any], known: KnownKeys) -> sch.Type:
    """The schema type of a field, from its annotation and its markers."""
    vocab = marked(metadata, Vocab)
    inner = optional_inner(annotation)
    origin = typing.get_origin(inner)
    if isinstance(inner, type) and issubclass(inner, BaseModel):
        return sch.map_of(**{name: _type(info.annotation, info.metadata, known)
                             for name, info in inner.model_fields.items() if not marked(info.metadata, Unread)})
    if origin is list:
        (item,) = typing.get_args(inner) or (Any,)
        return sch.Type("list", item=sch.vocab(vocab.kind) if vocab else _type(item, [], known))
    if inner is dict or origin is dict:
        keys_of = marked(metadata, KeysOf)
        _, value = typing.get_args(inner) or (str, Any)
        if keys_of is not None:
            value_type = _type(value, [], known)
            return sch.Type("map", fields=tuple((k, value_type) for k in sorted(known(keys_of.kind))), keys=keys_of.kind)
        if marked(metadata, DeclaredKeys):
            return sch.Type("map", fields=(), declared=True)
        return sch.Type("map", values=_type(value, [], known))
    if vocab is not None:
        return sch.vocab(vocab.kind)
    if marked(metadata, Dated):
        return sch.DATE
    return _SCALARS.get(inner, sch.ANY)


_SCALARS = {str: sch.STRING, float: sch.NUMBER, int: sch.NUMBER, bool: sch.BOOL}
