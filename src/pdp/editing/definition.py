"""Definition: where the word at a position of a policy file is defined: a rule id in `overrides` -> the rule; a
named condition's use -> its definition; `data.X` -> the data file; a register's id -> its entry in the YAML; a key
or an attribute the set declares -> its line in vocabulary.yaml; a cited clause -> its entry in clauses.yaml."""

from __future__ import annotations

from pdp.base.source import Span
from pdp.base.yamlpos import YamlSyntaxError, load_located
from pdp.vocab.vocabulary import SECTION_OF_KIND
from .clauses import cited, clause_spans
from .knowledge import Knowledge
from .pointing import ATTRIBUTE, CITE, CONDITION, DATA, ENTRY, KEY, RULE, Pointed, pointed
from .workspace import VOCABULARY, Workspace


def definition(ws: Workspace, path: str, line: int, col: int) -> Span | None:
    """Where the word at (line, col) of `path` is defined (span.file: a workspace path); None when nowhere pdp
    knows (a key of fideslang, an attribute of the request, a keyword)."""
    found = pointed(ws, path, line, col)
    if found is None:
        return None
    thing, known = found
    return {KEY: _key, RULE: _rule, CONDITION: _condition, ATTRIBUTE: _attribute, DATA: _data, ENTRY: _entry,
            CITE: _cite}[thing.kind](thing, known, ws)


def _rule(thing: Pointed, known: Knowledge, ws: Workspace) -> Span | None:
    rule = known.rules.get(thing.name) or next(
        (r for r in known.rules.values() if r.id.startswith(thing.name + ".")), None)  # a prefix: its first rule
    return rule.id_span if rule is not None else None


def _condition(thing: Pointed, known: Knowledge, ws: Workspace) -> Span | None:
    condition = known.conditions.get(thing.name)
    return condition.name_span if condition is not None else None


def _data(thing: Pointed, known: Knowledge, ws: Workspace) -> Span | None:
    path = known.data_paths.get(thing.name)
    return Span(path, 1, 1, 1, 1) if path is not None else None


def _entry(thing: Pointed, known: Knowledge, ws: Workspace) -> Span | None:
    for lookup in known.lookups:
        if lookup.root != thing.of:
            continue
        for stem in lookup.named.replace("data.", "").split(" or "):
            located = known.located.get(stem)
            if located is not None and isinstance(located.value, dict) and thing.name in located.value:
                return located.span(thing.name, "<key>")
    return None


def _key(thing: Pointed, known: Knowledge, ws: Workspace) -> Span | None:
    section = SECTION_OF_KIND.get(thing.of or "")
    return _declared(ws, section, thing.name) if section is not None else None


def _attribute(thing: Pointed, known: Knowledge, ws: Workspace) -> Span | None:
    return _declared(ws, "attributes", thing.name)


def _cite(thing: Pointed, known: Knowledge, ws: Workspace) -> Span | None:
    spans = clause_spans(ws)
    return next((spans[number] for number in cited(thing.name) if number in spans), None)


def _declared(ws: Workspace, section: str | None, key: str) -> Span | None:
    """Where vocabulary.yaml declares `key` in `section`: an entry `- key: ...`, a name in a list, or an attribute."""
    paths = ws.paths_of(VOCABULARY)
    if not paths or section is None:
        return None
    try:
        doc = load_located(ws.texts[paths[0]], paths[0])
    except YamlSyntaxError:
        return None
    entries = doc.value.get(section) if isinstance(doc.value, dict) else None
    if isinstance(entries, dict):
        return doc.span(section, key, "<key>") if key in entries else None
    for i, entry in enumerate(entries if isinstance(entries, list) else ()):
        if entry == key:
            return doc.span(section, i)
        if isinstance(entry, dict) and entry.get("key") == key:
            return doc.span(section, i, "key")
    return None
