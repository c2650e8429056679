"""The types of the attributes a condition can read.

The request's own attributes are fixed by the decision contract (derived
from its pydantic model: `pdp.vocab.contract`); a policy set adds
`context.*` (and other) attributes in `vocabulary.yaml`, and its data files
add `data.*`, typed from their YAML values.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from . import taxonomy as tx
from pdp.base.errors import suggest


@dataclass(frozen=True)
class Type:
    kind: str  # "string" | "number" | "bool" | "date" | "list" | "map" | "any"
    vocab: str | None = None  # for strings drawn from a vocabulary (taxonomy.ACTION, ...)
    item: "Type | None" = None  # element type of a list
    fields: tuple[tuple[str, "Type"], ...] | None = None  # known fields of a map; None: open
    values: "Type | None" = None  # type of every value of an open map (a register keyed by id)
    keys: str | None = None  # a map whose attributes are keys of this vocabulary (consent topics)
    declared: bool = False  # a map whose attributes the policy set declares (`attributes` in vocabulary.yaml)

    def field_map(self) -> dict[str, "Type"]:
        return dict(self.fields or ())

    def describe(self) -> str:
        if self.kind == "list" and self.item is not None:
            return f"a list of {self.item.describe_plural()}"
        if self.vocab:
            return f"{'an' if self.vocab[0] in 'aeiou' else 'a'} {self.vocab}"  # an action, a purpose
        return {
            "string": "text",
            "number": "a number",
            "bool": "true or false",
            "date": "a date",
            "map": "a group of attributes",
            "list": "a list",
            "any": "any value",
        }[self.kind]

    def describe_plural(self) -> str:
        if self.vocab:
            return f"{self.vocab}s" if not self.vocab.endswith("y") else f"{self.vocab[:-1]}ies"
        return {"string": "texts", "number": "numbers", "bool": "true/false values", "date": "dates"}.get(self.kind, "values")


STRING, NUMBER, BOOL, ANY = Type("string"), Type("number"), Type("bool"), Type("any")
DATE = Type("date")  # a calendar date, carried as its ISO text `YYYY-MM-DD` (pdp.base.dates)


def vocab(kind: str) -> Type:
    return Type("string", vocab=kind)


def map_of(**fields: Type) -> Type:
    return Type("map", fields=tuple(fields.items()))


# The names a policy set uses for the types of declared attributes, as docs/language.md (5. Vocabulary) lists them.
TYPE_NAMES = {
    "string": STRING,
    "number": NUMBER,
    "bool": BOOL,
    "date": DATE,
    "country": vocab(tx.COUNTRY),
    "purpose": vocab(tx.PURPOSE),
    "data_category": vocab(tx.CATEGORY),
    "list": Type("list", item=ANY),
    "any": ANY,
}
# Other spellings accepted for them, never offered in a hint: the documented name is.
TYPE_ALIASES = {"text": "string", "boolean": "bool"}
DECLARABLE = TYPE_NAMES | {alias: TYPE_NAMES[name] for alias, name in TYPE_ALIASES.items()}


def type_names_hint(written: str) -> str:
    """For an unknown type name: the documented name closest to it (`txt` -> `string`, by way of `text`), or them all."""
    close = [TYPE_ALIASES.get(name, name) for name in suggest(written, DECLARABLE, limit=1)]
    if close:
        return f"did you mean `{close[0]}`?"
    return "types: " + ", ".join(f"`{name}`" for name in TYPE_NAMES)


def with_attribute(schema: dict[str, Type], dotted: str, typ: Type) -> dict[str, Type]:
    """The schema with one more declared attribute (`context.legal_request`)."""
    parts = dotted.split(".")

    def put(current: Type | None, rest: list[str]) -> Type:
        if not rest:
            return typ
        if current is None or current.kind != "map":
            return Type("map", fields=((rest[0], put(None, rest[1:])),))
        fields = dict(current.fields or ())
        fields[rest[0]] = put(fields.get(rest[0]), rest[1:])
        # what its attributes are stays (keyed by a vocabulary, declared by the set); an open map is closed
        return Type("map", fields=tuple(fields.items()), keys=current.keys, declared=current.declared)

    out = dict(schema)
    out[parts[0]] = put(schema.get(parts[0]), parts[1:])
    return out


def type_of_value(value: object) -> Type:
    """The type of a YAML value in a data file."""
    if isinstance(value, bool):
        return BOOL
    if isinstance(value, (int, float)):
        return NUMBER
    if isinstance(value, str):
        return STRING
    if isinstance(value, list):
        kinds = {type_of_value(v) for v in value}
        return Type("list", item=kinds.pop() if len(kinds) == 1 else ANY)
    if isinstance(value, dict):
        return Type("map", fields=tuple((str(k), type_of_value(v)) for k, v in value.items()))
    return ANY


def register_record_type(register: dict[Any, Any]) -> Type:
    """The attributes of one entry of a register (a map of id -> record)."""
    fields: dict[str, Type] = {}
    for record in register.values():
        if isinstance(record, dict):
            for name, value in record.items():
                t = type_of_value(value)
                if name in fields and fields[name] != t:
                    t = ANY
                fields[str(name)] = t
    return Type("map", fields=tuple(fields.items()))
