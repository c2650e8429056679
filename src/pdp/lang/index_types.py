"""The type of policy data looked up by a value (`data.roles[subject.role].permissions`): one for every entry.

A test of `data.x[k]` means one thing only if every entry of `data.x` (with the path read below it) is one
kind of value; the checker refuses a table whose entries differ (`admin: [read]`, `guest: read`), naming two
that do. The data's types are those of its YAML values (vocab.schema.type_of_value).
"""

from __future__ import annotations

from pdp.vocab import schema as sch

# What a looked-up value may be: what a test can compare, search or take as true (a map is searched by its keys).
VALUE_KINDS = frozenset({"string", "number", "bool", "date", "list", "map", "any"})


def unify(a: sch.Type, b: sch.Type) -> sch.Type | None:
    """The type both values have, or None when they are of different kinds. `any` (a YAML null, a list that
    mixes kinds) says nothing of the kind: the engine meets such a value as it is and fails closed on it."""
    if a == b or b.kind == "any":
        return a
    if a.kind == "any":
        return b
    if a.kind != b.kind or a.vocab != b.vocab:
        return None
    if a.kind == "list":
        item = unify(a.item or sch.ANY, b.item or sch.ANY)
        return None if item is None else sch.Type("list", item=item)
    if a.kind == "map":
        fields = a.field_map()
        for name, typ in b.field_map().items():
            joined = typ if name not in fields else unify(fields[name], typ)
            if joined is None:
                return None
            fields[name] = joined
        return sch.Type("map", fields=tuple(fields.items()))
    return a


def below(typ: sch.Type, rest: tuple[str, ...]) -> sch.Type | None:
    """The type at `rest` below a value of `typ`; None when it has no such attribute."""
    for part in rest:
        if typ.kind == "any":
            return sch.ANY
        if typ.kind != "map":
            return None
        if typ.values is not None:
            typ = typ.values
            continue
        found = typ.field_map().get(part)
        if found is None:
            return None
        typ = found
    return typ


def entries(table: sch.Type, rest: tuple[str, ...]) -> dict[str, sch.Type]:
    """Each entry of a table (a map of the policy data) -> the type at `rest` below it (the entries without it
    left out). An open map (`values`) is one entry, `*`."""
    if table.values is not None:
        found = below(table.values, rest)
        return {} if found is None else {"*": found}
    out = {}
    for key, typ in table.field_map().items():
        found = below(typ, rest)
        if found is not None:
            out[key] = found
    return out


def conflict(found: dict[str, sch.Type]) -> tuple[sch.Type, tuple[str, str] | None]:
    """The one type of the entries (ANY when there are none), and two entries of different kinds, if any."""
    joined = sch.ANY
    for n, (key, typ) in enumerate(found.items()):
        unified = unify(joined, typ)
        if unified is None:
            earlier = [k for k in list(found)[:n] if unify(found[k], typ) is None]
            return joined, (earlier[0] if earlier else next(iter(found)), key)
        joined = unified
    return joined, None
