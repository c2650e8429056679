"""Completion: what may be written at a position of a policy file.

The text under edit seldom parses: the statement before the cursor is read as words (`context.at`), and what
the grammar allows after them is offered, with what the set knows (`knowledge`): after `to` its actions, after
`for` its purposes, after `of` its data categories, in a condition its attributes (segment by segment or
whole) and named conditions, after `==` or `in [` the values of a key attribute (countries, register ids,
consent topics), after `overrides` its rule ids, after `cite` the clauses of its privacy policy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterator

from pdp.base.source import Span
from pdp.lang import printer
from pdp.lang.acceptance import RULE_WARNINGS
from pdp.ledger.fill import SOURCES
from pdp.vocab import listing
from pdp.vocab import schema as sch
from pdp.vocab import taxonomy as tx
from .clauses import clauses
from .context import HEADER_CLAUSES, RULE_CLAUSES, At, Token, at, clause_of, value_operator
from .knowledge import Knowledge, attribute_paths, knowledge, type_of, where_from
from .outline import text_of
from .workspace import POLICY, Workspace


@dataclass(frozen=True)
class Completion:
    """A word that may be written at the cursor. `kind`: "category", "purpose", "action", "attribute", "topic",
    "register", "rule", "condition", "keyword", "country" or "value"; `replace`: the typed part of the word it
    replaces (an empty span at the cursor when nothing is typed); `insert_text`: what is written, when it is not
    the label."""

    label: str
    kind: str
    detail: str = ""
    documentation: str = ""
    insert_text: str | None = None
    replace: Span | None = None


KIND_OF_VOCAB = {tx.ACTION: "action", tx.PURPOSE: "purpose", tx.CATEGORY: "category", tx.CONSENT_TOPIC: "topic",
                 tx.COUNTRY: "country"}  # other kinds (data subject types, recipient types) are "value"
STATEMENT_WORDS = (("allow", "a rule that allows what it names"), ("deny", "a rule that denies what it names"),
                   ("lookup", "read a part of the request from a register: `lookup recipient in data.processors`"),
                   ("condition", "a named condition: `condition name \"what it says\" when ...`"),
                   ("ledger fills", "an attribute filled from the consent ledger"),
                   ("policy", "the set's header: `policy \"name\" version \"1\" effective 2026-01-01`"))
CLAUSE_HELP = {"cite": "the clause of the privacy policy the rule encodes", "to": "the actions",
               "for": "the purposes", "of": "the data categories", "when": "a condition that must hold",
               "unless": "a condition that must not hold", "oblige": "a duty that comes with an allow",
               "advise": "advice returned with the decision",
               "overrides": "the rules this one is a deliberate exception to",
               "accept": "a warning about this rule that is intended, and why"}
AFTER_OPERAND = ("==", "!=", "in", "not in", "under", "matches", "has any of", "has all of", "is present",
                 "is absent", "is older than", "<", "<=", ">", ">=")
LOGIC = ("and", "or")


def complete(ws: Workspace, path: str, line: int, col: int) -> list[Completion]:
    """The words that may be written at (line, col) of the policy file `path`, those that start with what is
    typed there first."""
    text = text_of(ws, path)
    if ws.kind(path) != POLICY:
        return []
    here = at(text, path, line, col)
    found = list(_offered(here, knowledge(ws), ws))
    return _matching(found, here)


def _offered(here: At, known: Knowledge, ws: Workspace) -> Iterator[Completion]:
    if not here.in_string and (here.line_start or not here.before):
        yield from (_keyword(word, help) for word, help in STATEMENT_WORDS)
        return
    head = here.before[0].text
    if head in ("allow", "deny"):
        yield from _in_rule(here, known, ws)
    elif head == "lookup":
        yield from _in_lookup(here, known)
    elif head == "ledger":
        yield from _in_ledger(here, known)
    elif head == "condition":
        tail = clause_of(here.before, ("when",))
        if tail is not None:
            yield from _in_condition(tail[1], here, known)
        elif len(here.before) >= 2:
            yield _keyword("when")
    elif head == "policy":
        yield from _in_header(here)


def _in_rule(here: At, known: Knowledge, ws: Workspace) -> Iterator[Completion]:
    if len(here.before) < 2 and not here.in_string:
        return  # the rule's id is being written
    found = clause_of(here.before, (*RULE_CLAUSES, "if", "with", "because"))
    if found is None:
        yield from _clauses()
        return
    clause, tail = found
    if clause in ("to", "for", "of", "overrides"):
        if not tail or tail[-1].text == ",":
            yield from (_rule_names(known) if clause == "overrides" else
                        _keys(known, {"to": tx.ACTION, "for": tx.PURPOSE, "of": tx.CATEGORY}[clause]))
        else:
            yield from _clauses()
    elif clause == "cite":
        if here.in_string or not tail:
            yield from _citations(ws, quoted=not here.in_string)
        else:
            yield from _clauses()
    elif clause == "accept":
        if not tail:
            yield from (_keyword(code, "a warning `pdp check` gives about a rule") for code in RULE_WARNINGS)
        elif len(tail) == 1:
            yield _keyword("because")
    elif clause in ("when", "unless", "if"):
        yield from _in_condition(tail, here, known)
    elif clause in ("oblige", "advise", "because"):
        if tail and tail[-1].kind == "string" and clause != "because":
            yield from (_keyword("with"), _keyword("if"))
        if tail and tail[-1].kind == "string":
            yield from _clauses()


def _in_condition(tail: list[Token], here: At, known: Knowledge) -> Iterator[Completion]:
    last = tail[-1].text if tail else None
    if last is None or last in ("and", "or", "not", "("):
        yield from _operands(known)
        if last != "not":
            yield _keyword("not")
        return
    operator = value_operator(tail)
    if operator is not None:
        op, left = operator
        yield from _values(left, op, known, here)
        if op in ("in", "has") and not here.in_string:
            yield from (c for c in _attributes(known) if c.label.startswith("data."))
        return
    if tail[-1].kind == "word" and last not in ("true", "false", "present", "absent"):
        yield from (_keyword(word) for word in AFTER_OPERAND)
    yield from (_keyword(word) for word in LOGIC)
    yield from _clauses()


def _values(left: str | None, op: str, known: Knowledge, here: At) -> Iterator[Completion]:
    """The values an attribute may be compared with: its vocabulary's keys, its register's ids, true or false."""
    if left is None:
        return
    typ = type_of(known.schema, left)
    if typ is None:
        return
    if typ.kind == "list" and typ.item is not None:
        typ = typ.item
    quote = not here.in_string
    if typ.vocab is not None:
        kind = KIND_OF_VOCAB.get(typ.vocab, "value")
        for entry in known.keys(typ.vocab):
            yield _value(entry.key, kind, entry.name, entry.description, quote)
    elif typ.kind == "bool" and not here.in_string and op in ("==", "!="):
        yield from (_keyword("true"), _keyword("false"))
    parts = left.split(".")
    for lookup in known.lookups:
        if len(parts) != 2 or lookup.root != parts[0]:
            continue
        if parts[1] == "id":
            for ident, record in lookup.register.items():
                yield _value(str(ident), "register", _name_of(record), _summary(record, lookup.named), quote)
        elif typ.vocab is None:  # the values the registers give the attribute (`subject.roles`: admin, editor)
            for value in _register_values(lookup.register, parts[1]):
                yield _value(value, "value", f"a `{left}` in {lookup.named}", "", quote)


def _register_values(register: dict[Any, Any], attribute: str, most: int = 200) -> list[str]:
    """The texts the register's entries give an attribute (the items of lists too), each once, in order."""
    found: dict[str, None] = {}
    for record in register.values():
        value = record.get(attribute) if isinstance(record, dict) else None
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, str) and len(found) < most:
                found.setdefault(item, None)
    return list(found)


def _value(key: str, kind: str, detail: str, documentation: str, quote: bool) -> Completion:
    return Completion(key, kind, detail, documentation, printer.value(key) if quote else None)


def _name_of(record: object) -> str:
    """What names a register's entry: its `name`, else its first text."""
    if not isinstance(record, dict):
        return ""
    name = record.get("name")
    if isinstance(name, str):
        return name
    return next((v for v in record.values() if isinstance(v, str)), "")


def _summary(record: object, named: str) -> str:
    if not isinstance(record, dict):
        return f"in {named}"
    return f"in {named}: " + ", ".join(f"{k}: {v}" for k, v in record.items())


def _operands(known: Knowledge) -> Iterator[Completion]:
    yield from _attributes(known)
    for name, condition in known.conditions.items():
        yield Completion(name, "condition", condition.text, f"`{printer.expression(condition.body)}`")


def _attributes(known: Knowledge) -> Iterator[Completion]:
    """Every attribute a condition may read, maps too (so that a dotted name completes segment by segment): the
    request's, the declared ones, the registers', `data.` names, and the keys of a map keyed by a vocabulary."""
    declared = {e.key: e for e in known.declared if e.kind == listing.ATTRIBUTE}
    for dotted, typ in attribute_paths(known.schema):
        parts = dotted.split(".")
        if parts[0] == "data":
            if len(parts) == 2:
                where = known.data_paths.get(parts[1], "the country groups pdp ships")
                yield Completion(dotted, "register", "policy data", f"from {where}")
            elif typ.kind != "map":
                yield Completion(dotted, "attribute", listing.type_name(typ), "policy data")
            continue
        said = known.described(dotted)
        yield Completion(dotted, "attribute", listing.type_name(typ),
                         where_from(dotted, declared) + (f": {said}" if said else ""))
        if typ.keys is not None:
            kind = KIND_OF_VOCAB.get(typ.keys, "value")
            for entry in known.keys(typ.keys):
                yield Completion(f"{dotted}.{entry.key}", kind, entry.name or typ.keys,
                                 entry.description or f"a {typ.keys} the set declares")


def _keys(known: Knowledge, kind: str) -> Iterator[Completion]:
    for entry in known.keys(kind):
        yield Completion(entry.key, KIND_OF_VOCAB.get(kind, "value"), entry.name, _described(entry))


def _described(entry: listing.Entry) -> str:
    source = {listing.FIDESLANG: "from fideslang", listing.DECLARED: "declared in vocabulary.yaml"}.get(entry.source, "")
    return " ".join(x for x in (entry.description, f"({source})" if source else "") if x)


def _rule_names(known: Knowledge) -> Iterator[Completion]:
    """The names `overrides` takes: rule ids, and the prefixes that cover several (`marketing` covers
    `marketing.email`)."""
    prefixes: dict[str, int] = {}
    for rule_id in known.rules:
        parts = rule_id.split(".")
        for end in range(1, len(parts)):
            prefixes[".".join(parts[:end])] = prefixes.get(".".join(parts[:end]), 0) + 1
    for rule_id, rule in known.rules.items():
        yield Completion(rule_id, "rule", f"{rule.effect}" + (f" ({rule.cite})" if rule.cite else ""), rule.message)
    for prefix, count in prefixes.items():
        if prefix not in known.rules:
            yield Completion(prefix, "rule", f"{count} rule{'s' if count != 1 else ''}",
                             f"every rule whose id starts with `{prefix}.`")


def _citations(ws: Workspace, quoted: bool) -> Iterator[Completion]:
    for number, text in clauses(ws).items():
        yield Completion(number, "value", _short(text), text, printer.value(number) if quoted else None)


def _short(text: str, words: int = 8) -> str:
    cut = text.split()
    return " ".join(cut[:words]) + (" …" if len(cut) > words else "")


def _in_lookup(here: At, known: Knowledge) -> Iterator[Completion]:
    toks = here.before
    if len(toks) == 1:
        for root in known.model.lookup_roots:
            yield Completion(root, "attribute", "looked up by its id", f"the request's `{root}.id` is read in registers")
        return
    if len(toks) == 2:
        yield _keyword("in")
        return
    root = toks[1].text
    clause = clause_of(toks, ("in", "for", "states", "except"))
    last = toks[-1].text
    if clause is not None and clause[0] == "in" and last in ("in", ","):
        yield from (c for c in _attributes(known) if c.kind == "register")
    elif clause is not None and clause[0] in ("for", "states", "except") and last in ("for", "states", "except", ","):
        fields = (known.schema.get(root) or sch.Type("map")).field_map()
        for name, typ in fields.items():
            if name != "id":
                yield Completion(name, "attribute", listing.type_name(typ), f"`{root}.{name}`")
    else:
        yield from (_keyword(w) for w in ("request wins for", "if unlisted, request states", "except"))


def _in_ledger(here: At, known: Knowledge) -> Iterator[Completion]:
    toks = here.before
    words = [t.text for t in toks]
    if len(toks) == 1:
        yield _keyword("fills")
    elif len(toks) == 2:
        yield from (c for c in _attributes(known) if c.detail in ("bool", "date") or c.kind == "topic")
    elif len(toks) == 3:
        yield _keyword("from")
    elif words[-1] == "from":
        for name, source in SOURCES.items():
            yield Completion(name, "value", f"a fact of the consent ledger ({source.kind})", f"true when {source.meaning}")
    elif len(toks) >= 5 and toks[4].text in SOURCES and (here.in_string or len(toks) == 5):
        if SOURCES[toks[4].text].needs == "topic" and len(toks) == 5:
            yield from (_value(e.key, "topic", e.name, e.description, not here.in_string)
                        for e in known.keys(tx.CONSENT_TOPIC))
        elif SOURCES[toks[4].text].purpose and len(toks) == 6 and not here.in_string:
            yield _keyword("for")


def _in_header(here: At) -> Iterator[Completion]:
    last = here.before[-1]
    if last.text == "model":
        yield Completion("data_use", "keyword", "requests about personal data (the default)")
        yield Completion("authzen", "keyword", "AuthZEN requests: subject, action, resource")
    elif last.kind in ("string", "number") or last.text in ("data_use", "authzen"):
        yield from (_keyword(word) for word in HEADER_CLAUSES)


def _clauses() -> Iterator[Completion]:
    return (_keyword(word, CLAUSE_HELP[word]) for word in RULE_CLAUSES)


def _keyword(word: str, detail: str = "") -> Completion:
    return Completion(word, "keyword", detail)


def _matching(found: list[Completion], here: At) -> list[Completion]:
    """The completions that start with what is typed (case ignored), each once, with the span they replace; when
    none does, those that hold it."""
    typed = here.prefix.casefold()
    span = here.replace
    seen: set[tuple[str, str]] = set()
    unique = []
    for c in found:
        if (c.label, c.kind) not in seen:
            seen.add((c.label, c.kind))
            unique.append(c)
    starting = [c for c in unique if c.label.casefold().startswith(typed)]
    chosen = starting or [c for c in unique if typed in c.label.casefold()]
    return [Completion(c.label, c.kind, c.detail, c.documentation, c.insert_text, span) for c in chosen]
