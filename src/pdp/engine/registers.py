"""Registers: the policy data a `lookup` reads, checked and compiled once.

A register (`data/processors.yaml`) maps ids to attributes. It is
authoritative: a request naming a listed id gets the register's attributes
and nothing else (but what `request wins for` lets it set); a request naming
an id no register lists (or no id) keeps only the attributes `if unlisted,
request states` names, and never a value an `except` names. `apply_lookups`
in request.py does this per request; here the registers are checked (every
entry typed as a request would be, ids as text, no entry redefining the id)
and compiled into `CompiledLookup`s.

Pure: takes the located data files, returns lookups and diagnostics.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from pdp.lang import ast
from pdp.base.paths import value_at
from pdp.vocab import schema as sch
from pdp.vocab import taxonomy as tx
from pdp.base.errors import Diagnostic, did_you_mean, replacements, suggest, suggestion_hint
from pdp.vocab.request import TYPO_CUTOFF, attribute_value_error
from pdp.base.source import Span
from pdp.base.yamlpos import Located

IDENTITY = "id"  # always the request's own: the key the register is read by


class CompiledLookup(NamedTuple):
    root: str  # the request part looked up: recipient, subject, ...
    register: dict[Any, Any]  # id -> attributes, every register of the lookup read as one
    request_wins: frozenset[str]  # attributes a request may set for a listed id
    described: frozenset[str]  # attributes a request may state for an id no register lists
    excluded: dict[str, tuple[Any, ...]]  # attribute -> values a request may never state for an unlisted id
    named: str  # `data.processors or data.affiliates`, for messages


def compile_lookups(lookups: list[ast.Lookup], data: dict[str, Any], located: dict[str, Located],
                    schema: dict[str, sch.Type], vocabulary: tx.Vocabulary) -> tuple[list[CompiledLookup], list[Diagnostic]]:
    """The lookups whose registers exist, and every problem of their entries.

    `located` maps a data file's stem to its document with positions; a
    missing register is the checker's business (`bad-lookup`).
    """
    out: list[CompiledLookup] = []
    diagnostics: list[Diagnostic] = []
    for lookup in lookups:
        registers = [(source, value_at(data, source.parts[1:])) for source in lookup.sources]
        if lookup.root not in schema or not all(isinstance(r, dict) for _, r in registers):
            continue  # the checker says why (`bad-lookup`)
        merged: dict[Any, Any] = {}
        where: dict[Any, str] = {}
        for source, register in registers:
            doc = located.get(source.parts[1]) if len(source.parts) > 1 else None
            inner = source.parts[2:]
            diagnostics += _entry_problems(lookup.root, register, source.dotted, doc, inner, schema[lookup.root],
                                           vocabulary)
            for ident, record in register.items():
                if ident in merged:
                    diagnostics.append(Diagnostic(
                        "register", f"the id `{ident}` is listed in both {where[ident]} and {source.dotted}",
                        _span(doc, inner + (ident, "<key>")), "an id names one entry: keep it in one register"))
                    continue
                merged[ident] = record
                where[ident] = source.dotted
        excluded: dict[str, tuple[Any, ...]] = {}
        for name, values in lookup.excluded:
            excluded[name] = excluded.get(name, ()) + tuple(values)
        out.append(CompiledLookup(lookup.root, merged, frozenset(lookup.request_wins), frozenset(lookup.described),
                                  excluded, lookup.named))
    return out, diagnostics


def _span(doc: Located | None, path: tuple[Any, ...]) -> Span:
    return doc.span(*path) if doc is not None else Span("<data>", 1, 1)


def _entry_problems(root: str, register: dict[Any, Any], name: str, doc: Located | None, inner: tuple[Any, ...],
                    root_type: sch.Type, vocabulary: tx.Vocabulary) -> list[Diagnostic]:
    """Every entry of a register checked as the same attributes in a request would be."""
    out = []
    known = root_type.field_map()
    for ident, record in register.items():
        at = inner + (ident,)
        if not isinstance(ident, str):
            continue  # data_key_problems reports it, for every data file
        if not isinstance(record, dict):
            out.append(Diagnostic("register", f"the entry `{ident}` in {name} is not a group of attributes",
                                  _span(doc, at), "write `id: {attribute: value, ...}`"))
            continue
        for attribute, value in record.items():
            field = (attribute, "<key>")
            if attribute == IDENTITY:
                out.append(Diagnostic("register", f"the entry `{ident}` in {name} has an `id` of its own",
                                      _span(doc, at + field),
                                      "the key of the entry is its id; an `id` attribute would replace the id the "
                                      "request names: remove it"))
                continue
            if not isinstance(attribute, str):
                out.append(Diagnostic("register", f"the attribute `{attribute}` of `{ident}` in {name} is not a name",
                                      _span(doc, at + field), "attribute names are words: `country`, `dpa`"))
                continue
            typ = known.get(attribute)
            if typ is None:
                close = suggest(attribute, known, limit=1, cutoff=TYPO_CUTOFF)
                if close:
                    out.append(Diagnostic("register", f"unknown attribute `{attribute}` of `{ident}` in {name}",
                                          _span(doc, at + field), did_you_mean(attribute, close),
                                          fixes=replacements(_span(doc, at + field), close)))
                continue
            if value is None:
                continue
            error = attribute_value_error(f"{root}.{attribute}", value, typ, vocabulary)
            if error is not None:
                close = list(error.suggestions[:3])
                hint = suggestion_hint(close) or (
                    "write `true` or `false`, without quotes" if typ.kind == "bool"
                    else f"`{attribute}` is {typ.describe()}")
                # a value that is one word (`country: IX`) is replaced by a close one; a list's item is not told apart
                fixes = replacements(_span(doc, at + (attribute,)), close) if isinstance(value, str) else ()
                out.append(Diagnostic("register", f"`{ident}` in {name}: {attribute}: {error.message}",
                                      _span(doc, at + (attribute,)), hint, fixes=fixes))
    return out


def data_key_problems(doc: Located) -> list[Diagnostic]:
    """Keys of policy data that are not text: `123:` or `no:` is read by YAML as a number or false."""
    out = []
    for path in doc.spans:
        if not path or path[-1] != "<key>":
            continue
        key = path[-2]
        if isinstance(key, str):
            continue
        shown = "true" if key is True else "false" if key is False else "null" if key is None else str(key)
        out.append(Diagnostic("data", f"the key `{shown}` is read as {_kind(key)}, not as text",
                              doc.spans[path], "put it in quotes; keys of policy data are names or ids"))
    return out


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "true or false"
    if value is None:
        return "nothing (null)"
    if isinstance(value, (int, float)):
        return "a number"
    return "a date" if hasattr(value, "isoformat") else "a value"
