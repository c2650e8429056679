"""What a workspace's set knows, read as far as its texts allow: the pieces completion, hover and definition ask.

The text under edit seldom checks, so nothing here needs the set to build: the header, the statements that
parse, the vocabulary and the registers are each read on their own (as `pdp vocab --policy` reads them), and
whatever does not read is left out. Kept by the sources' digest, like a check (`checking.CACHE`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Iterator

from pdp.base.yamlpos import Located
from pdp.engine.build import data_of, parse, schema_of, vocabulary_of, with_registers
from pdp.engine.models import Model, model_of
from pdp.engine.registers import CompiledLookup, compile_lookups
from pdp.engine.sources import Sources
from pdp.lang import ast
from pdp.vocab import listing
from pdp.vocab.contract import model_of as contract_model_of
from pdp.vocab import schema as sch
from pdp.vocab import taxonomy as tx
from . import checking
from .checking import Kept
from .workspace import Workspace


@dataclass(frozen=True)
class Knowledge:
    """The set's model, vocabulary, attributes (the request's, the declared ones, the registers'), policy data with
    positions, and the statements that parse."""

    model: Model
    vocabulary: tx.Vocabulary
    schema: dict[str, sch.Type]  # what a condition may read, registers' attributes included
    data: dict[str, Any]  # data.<stem>
    located: dict[str, Located]  # data.<stem> with positions
    data_paths: dict[str, str]  # stem -> the workspace path of its file
    lookups: tuple[CompiledLookup, ...]
    files: tuple[ast.PolicyFile, ...]
    declared: tuple[listing.Entry, ...]  # what vocabulary.yaml declares, and the registers' attributes
    registered: tuple[listing.Entry, ...]  # the registers' attributes alone

    @cached_property
    def rules(self) -> dict[str, ast.Rule]:
        found: dict[str, ast.Rule] = {}
        for f in self.files:
            for rule in f.rules:
                found.setdefault(rule.id, rule)
        return found

    @cached_property
    def conditions(self) -> dict[str, ast.ConditionDef]:
        found: dict[str, ast.ConditionDef] = {}
        for f in self.files:
            for condition in f.conditions:
                found.setdefault(condition.name, condition)
        return found

    @cached_property
    def entries(self) -> dict[tuple[str, str], listing.Entry]:
        """Every key a policy can name, by (kind, key), with its name, description and source."""
        kinds = listing.kinds_of(self.model.contract)
        return {(e.kind, e.key): e for e in listing.listing("", kinds, self.declared, self.model.contract)}

    def keys(self, kind: str) -> list[listing.Entry]:
        """The entries of one kind, by key."""
        known = self.vocabulary.known(kind) if kind != listing.ATTRIBUTE else None
        found = [e for (k, _), e in self.entries.items() if k == kind]
        if known is not None:  # a key the vocabulary knows but no listing names (a broad key of the set's own)
            listed = {e.key for e in found}
            found += [listing.Entry(kind, key) for key in known if key not in listed]
        return sorted(found, key=lambda e: e.key)

    def entry(self, kind: str, key: str) -> listing.Entry | None:
        return self.entries.get((kind, key))

    def described(self, dotted: str) -> str:
        """What the request's model says of an attribute (its field's description), "" when it says nothing."""
        model: Any = self.model.contract.model
        info = None
        for part in dotted.split("."):
            fields = getattr(model, "model_fields", None)
            info = fields.get(part) if fields else None
            if info is None:
                return ""
            model = contract_model_of(info.annotation)
        return (info.description or "") if info is not None else ""


NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")  # an attribute's name, as a path names it

_known: Kept[tuple[str, str], Knowledge] = Kept(checking.CHECKS_KEPT)


def knowledge(ws: Workspace, cached: bool | None = None) -> Knowledge:
    """What the workspace's set knows (kept by the sources' digest unless `cached=False`)."""
    sources = ws.sources
    key = (ws.root, sources.digest())
    use_cache = checking.CACHE if cached is None else cached
    if use_cache and (found := _known.get(key)) is not None:
        return found
    made = read_knowledge(sources, use_cache)
    return _known.put(key, made) if use_cache else made


def read_knowledge(sources: Sources, cached: bool | None = None) -> Knowledge:
    """What the sources' set knows (the vocabulary and the policy data kept by their texts unless `cached=False`:
    a keystroke in a policy file changes neither)."""
    files, _ = parse(sources)  # (what does not parse is the check's to report)
    model = model_of([h for f in files for h in f.headers])[0]
    grounds = _grounds_of(sources, checking.CACHE if cached is None else cached)
    schema = schema_of(model, grounds.vocabulary, grounds.declared_types, grounds.data)
    lookups, _ = compile_lookups([lk for f in files for lk in f.lookups], grounds.data, grounds.located, schema,
                                 grounds.vocabulary)
    registered = register_attributes(schema, lookups)
    full = with_registers(dict(schema), lookups)
    paths = {_stem(path): path for path in sources.data}
    return Knowledge(model, grounds.vocabulary, full, grounds.data, grounds.located, paths, tuple(lookups),
                     tuple(files), grounds.declared + tuple(registered), tuple(registered))


@dataclass(frozen=True)
class _Grounds:
    """What vocabulary.yaml and the data files give, read once for their texts."""

    vocabulary: tx.Vocabulary
    declared_types: dict[str, sch.Type]
    data: dict[str, Any]
    located: dict[str, Located]
    declared: tuple[listing.Entry, ...]


_grounds: Kept[tuple[Any, ...], _Grounds] = Kept(checking.CHECKS_KEPT)


def _grounds_of(sources: Sources, cached: bool) -> _Grounds:
    key = (sources.vocabulary, tuple(sorted(sources.data.items())))
    if cached and (found := _grounds.get(key)) is not None:
        return found
    vocabulary, declared_types, _ = vocabulary_of(sources)
    data, located, _ = data_of(sources)
    own = tuple(listing.declared_entries(sources.vocabulary[1], sources.vocabulary[0])[0]) if sources.vocabulary else ()
    made = _Grounds(vocabulary, declared_types, data, located, own)
    return _grounds.put(key, made) if cached else made


def register_attributes(schema: dict[str, sch.Type], lookups: list[CompiledLookup]) -> list[listing.Entry]:
    """The attributes the set's registers give the parts they look up (`subject.roles` from `lookup subject in
    data.users`), as a condition reads them, beside the request's own (`schema`, without the registers')."""
    known = {path for path, _ in listing.attributes(schema)}
    named = {lookup.root: lookup.named for lookup in lookups}
    return [listing.Entry(listing.ATTRIBUTE, path, listing.type_name(typ), f"from {named[path.split('.')[0]]}",
                          listing.DECLARED)
            for path, typ in listing.attributes(with_registers(dict(schema), lookups)) if path not in known]


def type_of(schema: dict[str, sch.Type], dotted: str) -> sch.Type | None:
    """The type of an attribute by its dotted name; None when the schema has no such attribute."""
    parts = dotted.split(".")
    current = schema.get(parts[0])
    for part in parts[1:]:
        if current is None or current.kind != "map":
            return None if current is None or current.kind != "any" else current
        if current.values is not None:
            current = current.values
        elif current.keys is not None:
            return sch.BOOL
        else:
            current = current.field_map().get(part)
    return current


def attribute_paths(schema: dict[str, sch.Type], prefix: str = "", depth: int = 0) -> Iterator[tuple[str, sch.Type]]:
    """Every attribute and group of attributes a condition may name, with its type (policy data two levels deep)."""
    for name, typ in schema.items():
        if not NAME.fullmatch(name):
            continue
        dotted = f"{prefix}{name}"
        yield dotted, typ
        deeper = depth < (2 if dotted.split(".")[0] == "data" else 8)
        if typ.kind == "map" and typ.fields and typ.keys is None and deeper:  # (a keyed map's keys: its vocabulary's)
            yield from attribute_paths(dict(typ.fields), dotted + ".", depth + 1)


def where_from(dotted: str, declared: dict[str, listing.Entry]) -> str:
    """Where an attribute comes from, in words."""
    entry = declared.get(dotted)
    if entry is not None:
        return f"{entry.description} (a register)" if entry.description else "declared in vocabulary.yaml"
    return f"part of the request (`{dotted.split('.')[0]}`)"


def _stem(path: str) -> str:
    return path.rsplit("/", 1)[-1].rsplit(".", 1)[0]


def forget() -> None:
    _known.clear()
    _grounds.clear()
