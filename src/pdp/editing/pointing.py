"""What the word at a position of a policy file names: a vocabulary key, a rule, a named condition, an attribute,
policy data, a register's entry, or the clauses a `cite` names. Hover and definition both ask it."""

from __future__ import annotations

from dataclasses import dataclass

from pdp.base.source import Span
from pdp.vocab import taxonomy as tx
from .context import RULE_CLAUSES, Token, at, clause_of, value_operator, word_at
from .edits import position_of, span_at
from .knowledge import Knowledge, knowledge, type_of
from .outline import text_of
from .workspace import POLICY, Workspace

TARGETS = {"to": tx.ACTION, "for": tx.PURPOSE, "of": tx.CATEGORY}
KEY, RULE, CONDITION, ATTRIBUTE, DATA, ENTRY, CITE = "key", "rule", "condition", "attribute", "data", "entry", "cite"


@dataclass(frozen=True)
class Pointed:
    """What a word names. `kind`: KEY (of the vocabulary kind `of`), RULE (an id, or a prefix of ids), CONDITION,
    ATTRIBUTE, DATA (`data.<stem>`), ENTRY (a register's id: `of` is the part looked up) or CITE (the text of a
    `cite`); `span`: the word's."""

    kind: str
    name: str
    span: Span
    of: str | None = None


def pointed(ws: Workspace, path: str, line: int, col: int) -> tuple[Pointed, Knowledge] | None:
    """What the word at (line, col) of the policy file `path` names, and what the set knows; None for anything
    else (a keyword, a number, a word pdp does not know, another kind of file)."""
    text = text_of(ws, path)
    if ws.kind(path) != POLICY:
        return None
    token = word_at(text, line, col)
    if token is None or token.kind == "number":
        return None
    before = at(text, path, *position_of(text, token.start)).before
    known = knowledge(ws)
    found = _named(token, before, span_at(text, path, token.start, token.end), known)
    return (found, known) if found is not None else None


def _named(token: Token, before: list[Token], span: Span, known: Knowledge) -> Pointed | None:
    head = before[0].text if before else token.text
    if token.kind == "string":
        return _string(token, before, span, known) if token.closed else None
    name = token.text.rstrip(".")
    if head in ("allow", "deny"):
        if len(before) == 1:
            return Pointed(RULE, name, span)
        clause = clause_of(before, (*RULE_CLAUSES, "if", "with", "because"))
        if clause is None:
            return None
        if clause[0] in TARGETS:
            return Pointed(KEY, name, span, TARGETS[clause[0]])
        if clause[0] == "overrides":
            return Pointed(RULE, name, span)
        if clause[0] in ("when", "unless", "if"):
            return _operand(name, span, known)
        return None
    if head == "condition":
        if len(before) == 1:
            return Pointed(CONDITION, name, span)
        return _operand(name, span, known) if clause_of(before, ("when",)) else None
    if head == "lookup" and len(before) >= 1:
        if len(before) == 1:
            return Pointed(ATTRIBUTE, name, span)
        return _operand(name, span, known) if name.startswith("data.") else None
    if head == "ledger" and len(before) == 2:
        return _operand(name, span, known)
    return None


def _operand(name: str, span: Span, known: Knowledge) -> Pointed | None:
    """A word in a condition: a named condition, policy data, a key of a map keyed by a vocabulary, an attribute."""
    if name in known.conditions:
        return Pointed(CONDITION, name, span)
    parts = name.split(".")
    if parts[0] == "data" and len(parts) == 2:
        return Pointed(DATA, parts[1], span)
    if len(parts) > 1:
        parent = type_of(known.schema, ".".join(parts[:-1]))
        if parent is not None and parent.keys is not None:
            return Pointed(KEY, parts[-1], span, parent.keys)
    return Pointed(ATTRIBUTE, name, span) if type_of(known.schema, name) is not None else None


def _string(token: Token, before: list[Token], span: Span, known: Knowledge) -> Pointed | None:
    value = token.text[1:-1]
    head = before[0].text if before else ""
    if head in ("allow", "deny"):
        clause = clause_of(before, (*RULE_CLAUSES, "if", "with", "because"))
        if clause is not None and clause[0] == "cite" and not clause[1]:
            return Pointed(CITE, value, span)
        if clause is not None and clause[0] in ("when", "unless", "if") and clause[1]:
            return _value(value, clause[1], span, known)
    if head == "condition" and (clause := clause_of(before, ("when",))) is not None and clause[1]:
        return _value(value, clause[1], span, known)
    if head == "ledger" and len(before) == 5 and before[4].text == "consent":
        return Pointed(KEY, value, span, tx.CONSENT_TOPIC)
    return None


def _value(value: str, tail: list[Token], span: Span, known: Knowledge) -> Pointed | None:
    """A quoted value compared with an attribute: a key of its vocabulary, or an id of its register."""
    operator = value_operator(tail)
    if operator is None or operator[1] is None:
        return None
    left = operator[1]
    parts = left.split(".")
    if len(parts) == 2 and parts[1] == "id" and any(lk.root == parts[0] for lk in known.lookups):
        return Pointed(ENTRY, value, span, parts[0])
    typ = type_of(known.schema, left)
    if typ is not None and typ.kind == "list" and typ.item is not None:
        typ = typ.item
    if typ is not None and typ.vocab is not None:
        return Pointed(KEY, value, span, typ.vocab)
    return None
