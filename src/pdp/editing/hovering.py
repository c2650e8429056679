"""Hover: what the word at a position of a policy file is, in Markdown: a taxonomy key (its name, description,
parent, where it comes from), an attribute (its type, where it comes from), a rule (effect, message, cite), a
named condition (its text), a register's entry, policy data, or the clauses a `cite` names (their text)."""

from __future__ import annotations

from dataclasses import dataclass

from pdp.base.source import Span
from pdp.lang import printer
from pdp.vocab import listing
from pdp.vocab import taxonomy as tx
from .clauses import cited, clause_text
from .knowledge import Knowledge, type_of, where_from
from .pointing import ATTRIBUTE, CITE, CONDITION, DATA, ENTRY, KEY, RULE, Pointed, pointed
from .workspace import Workspace

SOURCE_WORDS = {listing.FIDESLANG: "from fideslang's default taxonomy", listing.DECLARED: "declared in vocabulary.yaml",
                listing.BUILT_IN: "built into pdp"}


@dataclass(frozen=True)
class Hover:
    """What to show over a word: Markdown, and the span of the word it is about."""

    markdown: str
    span: Span


def hover(ws: Workspace, path: str, line: int, col: int) -> Hover | None:
    """What the word at (line, col) of `path` is; None over nothing pdp knows."""
    found = pointed(ws, path, line, col)
    if found is None:
        return None
    thing, known = found
    markdown = {KEY: _key, RULE: _rule, CONDITION: _condition, ATTRIBUTE: _attribute, DATA: _data, ENTRY: _entry,
                CITE: _cite}[thing.kind](thing, known, ws)
    return Hover(markdown, thing.span) if markdown else None


def _key(thing: Pointed, known: Knowledge, ws: Workspace) -> str | None:
    kind = thing.of or ""
    entry = known.entry(kind, thing.name)
    if entry is None:
        if thing.name not in known.vocabulary.known(kind):
            return f"`{thing.name}`: no {kind} of this name"
        entry = listing.Entry(kind, thing.name, source=listing.DECLARED)
    lines = [f"**{entry.name or entry.key}** ({kind} `{entry.key}`)"]
    if entry.description:
        lines.append(entry.description)
    parent = entry.key.rsplit(".", 1)[0] if kind in tx.HIERARCHICAL and "." in entry.key else None
    if parent is not None:
        above = known.entry(kind, parent)
        lines.append(f"Below `{parent}`" + (f" ({above.name})" if above is not None and above.name else "") + ".")
    lines.append(SOURCE_WORDS.get(entry.source, entry.source).capitalize() + ".")
    return "\n\n".join(lines)


def _rule(thing: Pointed, known: Knowledge, ws: Workspace) -> str | None:
    rule = known.rules.get(thing.name)
    if rule is None:
        below = [r for r in known.rules.values() if r.id.startswith(thing.name + ".")]
        if not below:
            return None
        listed = ", ".join(f"`{r.id}` ({r.effect})" for r in below[:12]) + (" …" if len(below) > 12 else "")
        return f"**{thing.name}**: {len(below)} rule{'s' if len(below) != 1 else ''}: {listed}"
    lines = [f"**{rule.effect} `{rule.id}`**" + (f" · {rule.cite}" if rule.cite else "")]
    if rule.message:
        lines.append(rule.message)
    if rule.overrides:
        lines.append("Overrides " + ", ".join(f"`{k.name}`" for k in rule.overrides) + ".")
    lines.append(f"{ws.relative(rule.span.file)}:{rule.span.line}")
    return "\n\n".join(lines)


def _condition(thing: Pointed, known: Knowledge, ws: Workspace) -> str | None:
    condition = known.conditions.get(thing.name)
    if condition is None:
        return None
    lines = [f"**condition `{condition.name}`**"]
    if condition.text:
        lines.append(condition.text)
    lines.append(f"`when {printer.expression(condition.body)}`")
    return "\n\n".join(lines)


def _attribute(thing: Pointed, known: Knowledge, ws: Workspace) -> str | None:
    typ = type_of(known.schema, thing.name)
    if typ is None:
        return None
    declared = {e.key: e for e in known.declared if e.kind == listing.ATTRIBUTE}
    where = "policy data" if thing.name.startswith("data.") else where_from(thing.name, declared)
    lines = [f"**`{thing.name}`**: {listing.type_name(typ)}", f"{where[0].upper()}{where[1:]}."]
    if (said := known.described(thing.name)):
        lines.append(said[0].upper() + said[1:] + ("" if said.endswith(".") else "."))
    root, _, rest = thing.name.partition(".")
    lookup = next((lk for lk in known.lookups if lk.root == root), None)
    if lookup is not None and rest == "id":
        lines.append(f"Looked up in {lookup.named}: a listed id takes the register's attributes.")
    return "\n\n".join(lines)


def _data(thing: Pointed, known: Knowledge, ws: Workspace) -> str | None:
    value = known.data.get(thing.name)
    if value is None:
        return None
    where = known.data_paths.get(thing.name)
    source = f"from {ws.relative(where)}" if where else "the country groups pdp ships, and the set's own"
    size = f"{len(value)} entr{'ies' if len(value) != 1 else 'y'}" if isinstance(value, (dict, list)) else "a value"
    looked_up = [lk.root for lk in known.lookups if thing.name in lk.named.replace("data.", " ").split()]
    lines = [f"**`data.{thing.name}`**: policy data, {size}, {source}"]
    if looked_up:
        lines.append("Looked up by " + ", ".join(f"`{root}.id`" for root in looked_up) + ".")
    return "\n\n".join(lines)


def _entry(thing: Pointed, known: Knowledge, ws: Workspace) -> str | None:
    for lookup in known.lookups:
        if lookup.root == thing.of and thing.name in lookup.register:
            record = lookup.register[thing.name]
            fields = [f"- {k}: {v}" for k, v in record.items()] if isinstance(record, dict) else []
            return "\n".join([f"**`{thing.name}`** in {lookup.named}", "", *fields])
    return f"`{thing.name}`: no entry of this id in the registers `{thing.of}` is looked up in"


def _cite(thing: Pointed, known: Knowledge, ws: Workspace) -> str | None:
    numbers = cited(thing.name)
    if not numbers:
        return None
    parts = []
    for number in numbers:
        text = clause_text(ws, number)
        if text is None:
            parts.append(f"**{number}**: no clause of this number in clauses.yaml")
        else:
            parts.append(f"**{number}**\n\n" + "\n\n".join(f"> {p}" for p in text.split("\n\n")))
    return "\n\n".join(parts)
