"""The pre-validated fast path of a request's check: a request the plain check would accept, recognised in one pass.

Checking a request the plain way (`request.check_request`: its size, its
shape by the pydantic model, its keys and declared types, its vocabulary)
costs more than deciding it. `admission(model, vocabulary, shape)` compiles,
once per policy set, one function that answers True only for a request the
plain check certainly accepts: every key one the contract or the set's
declarations name, every value of exactly the type they allow (plain `str`,
`bool`, `int`/`float`, `list`, `dict`, as JSON gives them), every vocabulary
value known, every size within the limits. Anything else (an unknown key,
a near miss, a value of another type, a subclass) answers False, and the
request goes the plain way, which accepts it or raises the same errors as
ever. So the fast path can only skip work, never change an answer; a
property test holds "admitted implies accepted" on generated good and bad
requests (tests/test_admit.py), and `index=False` turns it off with the other
optimisations of deciding.

What it reads off the pydantic model, field by field: `X | None`, `str`,
`bool`, `float` (ge/le), `list[str]` (min/max length), `dict[str, bool |
None]` and `dict[str, Any]` (max length), a nested model, and the markers
`Vocab`, `KeysOf`, `DeclaredKeys`, `Dated` (a date, `YYYY-MM-DD`); a field of any other type is never
admitted fast. The checks are written out as one Python function (the
source is `admission_source`), so that a request costs a few dict look-ups
and type tests, not a call per value.
"""

from __future__ import annotations

import math
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import annotated_types
from pydantic import BaseModel

from . import schema as sch
from . import taxonomy as tx
from pdp.base.dates import day_of

from .contract import Dated, DeclaredKeys, KeysOf, Vocab, marked, model_of, optional_inner
from .request import MAX_ATTRIBUTES, RequestShape

Admission = Callable[[Any], bool]  # a request -> certainly accepted by the plain check (False: not known to be)


@dataclass(frozen=True)
class Value:
    """What one value must be: `kind` is text, flag, number, texts (a list), topics (a map of flags), exact (of a
    Python type), map (a part: `part`), anything, or never (a type this module does not read)."""

    kind: str
    optional: bool = True  # None is accepted
    known: frozenset[str] | None = None  # the vocabulary the text (or each item, or each key) is drawn from
    low: float = -math.inf  # a number's bounds, a list's or a map's length
    high: float = math.inf
    exact: type | None = None
    part: MapSpec | None = None


@dataclass
class MapSpec:
    """A map (the request, or one of its parts): its keys, what each value must be (all of them), its size."""

    fields: dict[str, list[Value]] = field(default_factory=dict)
    required: frozenset[str] = frozenset()
    longest: int = MAX_ATTRIBUTES


def _bounds(metadata: list[Any]) -> tuple[float, float, float, float]:
    low, high, shortest, longest = -math.inf, math.inf, 0.0, float(MAX_ATTRIBUTES)
    for m in metadata:
        if isinstance(m, annotated_types.Ge):
            low = float(m.ge)  # type: ignore[arg-type]
        elif isinstance(m, annotated_types.Le):
            high = float(m.le)  # type: ignore[arg-type]
        elif isinstance(m, annotated_types.MinLen):
            shortest = m.min_length
        elif isinstance(m, annotated_types.MaxLen):
            longest = m.max_length
    return low, high, shortest, longest


def _field(annotation: Any, metadata: list[Any], part: str, vocabulary: tx.Vocabulary, shape: RequestShape) -> Value:
    """One field of the model, as pydantic (strict) and the vocabulary check accept it."""
    inner = optional_inner(annotation)
    optional = inner is not annotation
    low, high, shortest, longest = _bounds(metadata)
    vocab, keys_of = marked(metadata, Vocab), marked(metadata, KeysOf)
    known = vocabulary.known(vocab.kind) if vocab is not None else None
    origin = typing.get_origin(inner)
    nested = model_of(annotation)
    if nested is not None:
        return Value("map", optional, part=_model_spec(nested, part, vocabulary, shape))
    if inner is str and marked(metadata, Dated) is not None:
        return Value("day", optional)
    if inner is str:
        return Value("text", optional, known)
    if inner is bool:
        return Value("flag", optional)
    if inner is float:
        return Value("number", optional, low=low, high=high)
    if origin is list and typing.get_args(inner) == (str,):
        return Value("texts", optional, known, shortest, longest)
    if origin is dict and keys_of is not None and typing.get_args(inner) == (str, bool | None):
        return Value("topics", optional, vocabulary.known(keys_of.kind), high=longest)
    if origin is dict and marked(metadata, DeclaredKeys) is not None and typing.get_args(inner) == (str, Any):
        return Value("map", optional, part=_declared_map(part, vocabulary, shape, MapSpec(longest=int(longest))))
    return Value("never")


def _declared(typ: sch.Type, vocabulary: tx.Vocabulary) -> Value:
    """A declared attribute's value as `request.attribute_value_error` accepts it (None is not checked there)."""
    if typ.vocab is not None:
        return Value("text", known=vocabulary.known(typ.vocab))
    exact = {"bool": bool, "string": str, "list": list, "map": dict}.get(typ.kind)
    if typ.kind == "any":
        return Value("anything")
    if typ.kind == "number":
        return Value("number")
    if typ.kind == "date":
        return Value("day")
    return Value("never") if exact is None else Value("exact", exact=exact)


def _declared_map(part: str, vocabulary: tx.Vocabulary, shape: RequestShape, spec: MapSpec) -> MapSpec:
    """The spec with the part's known keys: each declared attribute's type, and any value for a key nothing types
    (a register's field: pydantic takes any value for it)."""
    types = shape.types.get(part, {})
    for key in shape.keys.get(part, ()):
        checks = spec.fields.setdefault(key, [])
        if key in types:
            checks.append(_declared(types[key], vocabulary))
    return spec


def _model_spec(model: type[BaseModel], part: str, vocabulary: tx.Vocabulary, shape: RequestShape) -> MapSpec:
    fields = {name: [_field(info.annotation, info.metadata, name if part == "" else part, vocabulary, shape)]
              for name, info in model.model_fields.items()}
    required = frozenset(name for name, info in model.model_fields.items() if info.is_required())
    return _declared_map(part, vocabulary, shape, MapSpec(fields, required))


def _texts(value: list[Any], known: frozenset[str] | None, shortest: float, longest: float) -> bool:
    if not shortest <= len(value) <= longest:
        return False
    for item in value:
        if type(item) is not str or (known is not None and item not in known):
            return False
    return True


def _topics(value: dict[Any, Any], known: frozenset[str], longest: float) -> bool:
    if len(value) > longest:
        return False
    for key, flag in value.items():
        if type(key) is not str or key not in known or not (flag is None or type(flag) is bool):
            return False
    return True


class _Writer:
    """Writes the checks of a MapSpec as the body of one function; constants go to `names`."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.names: dict[str, Any] = {"_texts": _texts, "_topics": _topics, "_day": day_of}

    def constant(self, value: Any) -> str:
        name = f"c{len(self.names)}"
        self.names[name] = value
        return name

    def write(self, line: str, depth: int) -> None:
        self.lines.append("    " * depth + line)

    def map(self, var: str, spec: MapSpec, depth: int) -> None:
        keys = self.constant(frozenset(spec.fields))
        self.write(f"if type({var}) is not dict or len({var}) > {spec.longest} or not ({var}.keys() <= {keys}):",
                   depth)
        self.write("return False", depth + 1)
        for i, (key, checks) in enumerate(spec.fields.items()):
            value = f"{var}_{i}"
            self.write(f"{value} = {var}.get({key!r})", depth)
            tests = [c for c in checks if c.kind != "anything"]
            if key in spec.required:  # absent or null: refused by the plain check
                self.write(f"if {value} is None:", depth)
                self.write("return False", depth + 1)
                for check in tests:
                    self.value(value, check, depth)
                continue
            if not all(c.optional for c in checks):
                self.write(f"if {value} is None and {key!r} in {var}:", depth)
                self.write("return False", depth + 1)
            if tests:
                self.write(f"if {value} is not None:", depth)
                for check in tests:
                    self.value(value, check, depth + 1)

    def value(self, var: str, check: Value, depth: int) -> None:
        kind = check.kind
        if kind == "map":
            assert check.part is not None
            self.map(var, check.part, depth)
            return
        if kind == "text":
            test = f"type({var}) is str" + (f" and {var} in {self.constant(check.known)}" if check.known else "")
        elif kind == "flag":
            test = f"type({var}) is bool"
        elif kind == "day":  # a date, `YYYY-MM-DD` (pdp.base.dates)
            test = f"_day({var}) is not None"
        elif kind == "number":
            test = (f"(type({var}) is int or type({var}) is float) and "
                    f"{self.constant(check.low)} <= {var} <= {self.constant(check.high)}")
        elif kind == "texts":
            test = (f"type({var}) is list and _texts({var}, {self.constant(check.known)}, {self.constant(check.low)}, "
                    f"{self.constant(check.high)})")
        elif kind == "topics":
            test = f"type({var}) is dict and _topics({var}, {self.constant(check.known)}, {self.constant(check.high)})"
        elif kind == "exact":
            test = f"type({var}) is {self.constant(check.exact)}"
        else:  # never
            test = "False"
        self.write(f"if not ({test}):", depth)
        self.write("return False", depth + 1)


def admission_source(model: type[BaseModel], vocabulary: tx.Vocabulary,
                     shape: RequestShape) -> tuple[str, dict[str, Any]]:
    """The source of the fast check and the constants it names."""
    writer = _Writer()
    writer.write("def admit(r):", 0)
    writer.map("r", _model_spec(model, "", vocabulary, shape), 1)
    writer.write("return True", 1)
    return "\n".join(writer.lines) + "\n", writer.names


def admission(model: type[BaseModel], vocabulary: tx.Vocabulary, shape: RequestShape) -> Admission | None:
    """The fast check of requests of `model` for a set with this vocabulary and shape (see the module docstring),
    or None when the set declares attributes below a part (`shape.deep`), which only the plain check walks."""
    if shape.deep:
        return None
    source, names = admission_source(model, vocabulary, shape)
    exec(compile(source, "<pdp admission>", "exec"), names)  # noqa: S102 - our own source, from the model
    return names["admit"]  # type: ignore[no-any-return]
