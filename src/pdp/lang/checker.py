"""Policy files -> diagnostics: everything that is wrong, at once, with hints.

The checker knows the vocabulary and the type of every attribute, so it
catches what would otherwise be a silent non-match at decision time: a
misspelt purpose, an attribute that does not exist, an age compared with a
word, a country code that is no country, a rule that can never apply.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field, replace
from collections.abc import Iterable, Mapping
from typing import Protocol

from . import ast, named, printer
from .visitor import Visitor
from pdp.vocab import schema as sch
from pdp.vocab import taxonomy as tx
from .acceptance import acceptance_problems
from .constraints import never_matches
from .duties import check_consistent, check_duties
from .index_types import VALUE_KINDS, conflict, entries
from .stricter import permissive_reads
from pdp.base import templates
from pdp.base.dates import day_of
from pdp.base.errors import Diagnostic, Fix, did_you_mean, replacements, suggest, suggestion_hint
from pdp.base.source import NO_SPAN, Span
from pdp.vocab.vocabulary import SECTION_OF_KIND
from pdp.ledger.events import NAME_PATTERN
from pdp.ledger.fill import SOURCES

TYPES = ", ".join(f"`{name}`" for name in sch.TYPE_NAMES if name != "bool")  # for hints: the documented type names
# The keys a request names, which name every key below them (engine.requested): read on a side, never looked up
REQUESTED_KEYS = (("purpose",), ("data_categories",))
CLAUSE_KEYWORDS = frozenset({"cite", "to", "for", "of", "when", "unless", "oblige", "advise", "overrides", "accept",
                             "allow", "deny", "policy", "lookup", "ledger"})


class RequestModel(Protocol):
    """What the checker reads of a policy set's model (pdp.engine.models.Model: data use or AuthZEN)."""

    @property
    def title(self) -> str:
        """The policy set, as messages name it."""

    @property
    def lookup_roots(self) -> tuple[str, ...]:
        """The parts of a request a register may fill in."""

    @property
    def names_data_use(self) -> bool:
        """Requests name a purpose and data categories (rules may target them)."""


@dataclass(frozen=True)
class CheckContext:
    vocabulary: tx.Vocabulary
    schema: dict[str, sch.Type]  # request roots and "data"
    model: RequestModel
    # the request parts other models' sets read and this one's does not, each with what to do about reading one
    # (`subject`: add `model authzen` to the header): such a rule most likely forgot, or kept, the header's `model`
    elsewhere: dict[str, str] = field(default_factory=dict)
    # the set's named conditions, by name (check_policy_set fills it in from the files)
    conditions: Mapping[str, ast.ConditionDef] = field(default_factory=dict)


def check_policy_set(files: list[ast.PolicyFile], ctx: CheckContext) -> list[Diagnostic]:
    """Everything wrong with the set's files; their uses of named conditions resolved (lang/named.py), or not."""
    out: list[Diagnostic] = []
    out += _check_headers(files)
    ctx = replace(ctx, conditions=named.definitions(files))
    out += _check_named(files, ctx)
    seen: dict[str, ast.Rule] = {}
    for policy_file in files:
        for rule in policy_file.rules:
            if rule.id in seen:
                first = seen[rule.id]
                out.append(Diagnostic("duplicate-rule", f"the rule id `{rule.id}` is already used",
                                      rule.id_span, f"first defined at {first.id_span}; every rule needs its own id"))
            else:
                seen[rule.id] = rule
            out += check_rule(rule, ctx)
        for lookup in policy_file.lookups:
            out += _check_lookup(lookup, ctx)
    out += _check_one_lookup_per_root([lookup for policy_file in files for lookup in policy_file.lookups])
    out += _check_ledger_fills([f for policy_file in files for f in policy_file.ledger_fills], ctx)
    if ctx.model.names_data_use:  # (an AuthZEN set's fills are refused above)
        out += permissive_reads(named.inlined_files(files))
    out += check_consistent(seen.values())
    effects = _effects_below(seen.values())
    for policy_file in files:
        for rule in policy_file.rules:
            for overridden in rule.overrides:
                below = effects.get(overridden.name)
                if below is None:
                    close = suggest(overridden.name, seen)
                    out.append(Diagnostic("unknown-rule", f"`{rule.id}` overrides `{overridden.name}`, which names no rule",
                                          overridden.span, suggestion_hint(close), about=overridden.name,
                                          fixes=replacements(overridden.span, close)))
                elif below == {rule.effect}:
                    out.append(Diagnostic("bad-override", f"`{overridden.name}` names only {rule.effect} rules, like `{rule.id}`",
                                          overridden.span, "a rule can only be an exception to rules of the other effect"))
    return out


def _effects_below(rules: Iterable[ast.Rule]) -> dict[str, set[str]]:
    """Each name an `overrides` could give -> the effects of the rules it covers.

    A name covers the rule ids below it, as keys do (`overrides marketing` covers `marketing.email`),
    so every dotted prefix of an id is a name: one pass over the ids, not a scan of them per name.
    """
    effects: dict[str, set[str]] = {}
    for rule in rules:
        parts = rule.id.split(".")
        for end in range(1, len(parts) + 1):
            effects.setdefault(".".join(parts[:end]), set()).add(rule.effect)
    return effects


def _check_headers(files: list[ast.PolicyFile]) -> list[Diagnostic]:
    headers = [h for f in files for h in f.headers]
    out = []
    if not headers:
        where = Span(files[0].path, 1, 1) if files else NO_SPAN
        out.append(Diagnostic("no-header", "the policy set has no `policy` header", where,
                              'add to one file: policy "name" version "1" effective 2026-01-01'))
    for extra in headers[1:]:
        out.append(Diagnostic("duplicate-header", "a policy set has exactly one `policy` header", extra.span,
                              f"the first is at {headers[0].span}"))
    for header in headers:  # the model a header names is checked with the models (pdp.engine.models.model_of)
        if header.effective:
            try:
                dt.date.fromisoformat(header.effective)
            except ValueError:
                out.append(Diagnostic("bad-date", f"`{header.effective}` is not a calendar date", header.span,
                                      "write the effective date as YYYY-MM-DD"))
        if not header.version:
            out.append(Diagnostic("no-version", f"the policy set `{header.name}` has no version", header.span,
                                  'add `version "..."` to the header; decisions report it'))
    return out


def _check_one_lookup_per_root(lookups: list[ast.Lookup]) -> list[Diagnostic]:
    """A part is looked up by one statement. Each lookup is authoritative over its part, so a second one for the
    same part would throw away the first's attributes for every id only the first lists (an unlisted id has no
    attributes): both registers must be read as one, where an id listed twice is an error, not a precedence."""
    out = []
    first: dict[str, ast.Lookup] = {}
    for lookup in lookups:
        if lookup.root not in first:
            first[lookup.root] = lookup
            continue
        earlier = first[lookup.root]
        together = ", ".join(source.dotted for source in earlier.sources + lookup.sources)
        out.append(Diagnostic("bad-lookup", f"`{lookup.root}` is already looked up (at {earlier.span})", lookup.span,
                              f"read the registers as one, in one statement: `lookup {lookup.root} in {together}`"))
    return out


def _check_lookup(lookup: ast.Lookup, ctx: CheckContext) -> list[Diagnostic]:
    out = []
    roots = ctx.model.lookup_roots
    if lookup.root not in roots:
        out.append(Diagnostic("bad-lookup", f"`{lookup.root}` cannot be looked up", lookup.span,
                              did_you_mean(lookup.root, roots) or f"lookups fill in {', '.join(roots)}"))
        return out
    for source in lookup.sources:
        if source.parts[0] != "data":
            out.append(Diagnostic("bad-lookup", "a lookup reads from the policy data (`data.<file>`)", source.span,
                                  "write e.g. `lookup recipient in data.processors`"))
            continue
        typ, errors = _resolve_path(source, ctx)
        out += errors
        if typ is not None and typ.kind != "map":
            out.append(Diagnostic("bad-lookup", f"`{source.dotted}` is not a register of entries by id",
                                  source.span, "the data file should map each id to its attributes"))
    root_fields = ctx.schema[lookup.root].field_map()
    for clause, names in (("request wins for", lookup.request_wins), ("if unlisted, request states", lookup.described),
                          ("except", tuple(name for name, _ in lookup.excluded))):
        for name in names:
            if name == "id":
                out.append(Diagnostic("bad-lookup", f"`{clause} id`: the id is always the request's own",
                                      lookup.span, "the register is read by the id the request names; leave `id` out"))
            elif name not in root_fields:
                out.append(Diagnostic("unknown-attribute", f"`{lookup.root}` has no attribute `{name}`", lookup.span,
                                      did_you_mean(name, root_fields), about=f"{lookup.root}.{name}"))
    for name, values in lookup.excluded:
        if name not in lookup.described:
            out.append(Diagnostic("bad-lookup", f"`except {name}` names an attribute the request may not state anyway",
                                  lookup.span, f"add `{name}` to `if unlisted, request states`, or drop the `except`"))
        typ = root_fields.get(name)
        if typ is None:
            continue
        for value in values:
            literal = ast.Literal(value, lookup.span)
            literal_type, _ = _operand_type(literal, ctx)
            assert literal_type is not None  # a literal always has one
            if not _compatible(typ, literal_type):
                out.append(Diagnostic("type-mismatch", f"`{lookup.root}.{name}` is {typ.describe()}, never "
                                      f"{_describe(literal)}", lookup.span, None))
            else:
                out += _check_literal_in_vocab(literal, typ, ctx)
    return out


def check_rule(rule: ast.Rule, ctx: CheckContext) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    if rule.id.split(".")[0] in CLAUSE_KEYWORDS:
        out.append(Diagnostic("missing-rule-id", f"the rule has no id: `{rule.id.split('.')[0]}` is a keyword",
                              rule.id_span, "write the id right after allow/deny, e.g. `deny children.under_18`"))
    if not rule.cite:
        out.append(Diagnostic("no-citation", f"the rule `{rule.id}` cites no clause", rule.id_span,
                              'add `cite "§..."` so every decision can be traced to the policy text', "warning"))
    if not ctx.model.names_data_use:
        for keys, word in ((rule.purposes, "purposes (`for`)"), (rule.categories, "data categories (`of`)")):
            if keys:
                out.append(Diagnostic("not-in-model", f"{ctx.model.title} has no {word}", keys[0].span,
                                      "target actions with `to`, and test the subject and resource in `when`"))
    for keys, kind in ((rule.actions, tx.ACTION), (rule.purposes, tx.PURPOSE), (rule.categories, tx.CATEGORY)):
        for key in keys:
            out += _check_key(key.name, kind, key.span, ctx)
    out += check_duties(rule, lambda condition: _check_condition(condition, ctx))
    for condition in rule.when + rule.unless:
        out += _check_condition(condition, ctx)
    # (a use left as read, of a name in a cycle or too large, has its error at the definition: nothing to say here)
    if not any(d.severity == "error" for d in out) and not _left_as_read(rule, ctx):
        reason = never_matches(named.inlined_rule(rule) if ctx.conditions else rule, ctx.vocabulary)
        if reason:
            out.append(Diagnostic("never-matches", f"the rule `{rule.id}` can never apply: {reason}", rule.id_span,
                                  "a rule that never applies changes no decision; fix its target or conditions"))
    return out + acceptance_problems(rule)


def _left_as_read(rule: ast.Rule, ctx: CheckContext) -> bool:
    """Does the rule use a named condition left as read (in a cycle, or too large: its error is at the definition)?"""
    return bool(ctx.conditions) and any(named.uses(e, ctx.conditions) for e in named.conditions_of(rule))


def _check_named(files: list[ast.PolicyFile], ctx: CheckContext) -> list[Diagnostic]:
    """Named conditions: each definition's condition checked once, where it is written (not again at each use); a
    name that is a part of requests; a definition no rule uses. (Names defined twice, cycles: lang/named.py.)"""
    if not ctx.conditions:
        return []
    out: list[Diagnostic] = []
    roots = {**dict.fromkeys(ctx.schema, ""), **ctx.elsewhere}
    for definition in ctx.conditions.values():
        if definition.name in roots:
            out.append(Diagnostic("bad-condition-name", f"`{definition.name}` is a part of requests, not a name for a "
                                  "condition", definition.name_span, roots[definition.name] or
                                  f"a rule reads `{definition.name}` as the request's: name the condition otherwise, "
                                  f"e.g. `{definition.name}_holds`"))
        out += _check_condition(definition.body, ctx)
    used = _used_conditions(files, ctx.conditions)
    for definition in ctx.conditions.values():
        if definition.name not in used:
            out.append(Diagnostic("unused-condition", f"the condition `{definition.name}` is used by no rule",
                                  definition.name_span, "use it in a rule's `when` or `unless` by its name, or delete "
                                  "it", "warning"))
    return out


def _used_conditions(files: list[ast.PolicyFile], conditions: Mapping[str, ast.ConditionDef]) -> set[str]:
    """The named conditions some rule uses, directly or through others it uses."""
    todo = [n for f in files for rule in f.rules for e in named.conditions_of(rule) for n in _names_used(e, conditions)]
    used: set[str] = set()
    while todo:
        name = todo.pop()
        if name not in used:
            used.add(name)
            todo += _names_used(conditions[name].body, conditions)
    return used


def _names_used(expr: ast.Expr, conditions: Mapping[str, ast.ConditionDef]) -> list[str]:
    """The names an expression uses: resolved (`Named`, not looked into), or left as read (in a cycle)."""
    if type(expr) is ast.Named:
        return [expr.name]
    name = named.use_of(expr, conditions)
    if name is not None:
        return [name]
    return [n for child in ast.children(expr) for n in _names_used(child, conditions)]


def _check_key(name: str, kind: str, span: Span, ctx: CheckContext, quoted: bool = False) -> list[Diagnostic]:
    """An unknown key of the vocabulary, with the close ones as fixes (`quoted`: the span is a quoted text's)."""
    known = ctx.vocabulary.known(kind)
    if name in known:
        return []
    close = tx.closest_keys(kind, name, known)
    hint = suggestion_hint(close)
    if hint is None:
        hint = _unknown_key_hint(kind, known)
    fixes = replacements(span, [printer.value(key) if quoted else key for key in close])
    return [Diagnostic(f"unknown-{kind.replace(' ', '-')}", f"unknown {kind} `{name}`", span, hint, fixes=fixes)]


def _unknown_key_hint(kind: str, known: frozenset[str]) -> str:
    """What can be done about a key of `kind` that is not known and is close to none: every hint names something
    the user can do (issue 12), here what the keys are and where a set adds its own, where it can."""
    if kind == tx.COUNTRY:
        return "countries are ISO 3166-1 alpha-2 codes, e.g. `IN`, `US`, `DE`"
    section = SECTION_OF_KIND.get(kind)
    if kind in tx.HIERARCHICAL:
        listed = "known keys start with " + ", ".join(f"`{k}`" for k in sorted(k for k in known if "." not in k)[:8])
        return f"{listed} (`pdp vocab PREFIX` lists them); or declare it under `{section}` in vocabulary.yaml"
    if section is not None:
        return (f"the {kind}s are " + ", ".join(f"`{k}`" for k in sorted(known)[:10])
                + f"; or declare it under `{section}` in vocabulary.yaml")
    # recipient types are fixed by the request contract: no section of vocabulary.yaml adds one
    return (f"the {kind}s are " + ", ".join(f"`{k}`" for k in sorted(known))
            + "; a policy set cannot add one, but can declare an attribute to tell its own kinds apart "
              "(`recipient.role: string` under `attributes` in vocabulary.yaml)")


def _check_ledger_fills(fills: list[ast.LedgerFill], ctx: CheckContext) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    filled: dict[str, ast.LedgerFill] = {}
    for fill in fills:
        if not ctx.model.names_data_use:
            out.append(Diagnostic("bad-ledger-fill", "the consent ledger fills attributes of a person, in a data-use "
                                  "policy set", fill.span, "leave `ledger fills` out of an AuthZEN set"))
            continue
        out += _check_ledger_fill(fill, ctx)
        first = filled.setdefault(fill.attribute.dotted, fill)
        if first is not fill:
            out.append(Diagnostic("bad-ledger-fill", f"`{fill.attribute.dotted}` is already filled from the ledger",
                                  fill.attribute.span, f"first at {first.span}; an attribute has one fact"))
    return out


def _check_ledger_fill(fill: ast.LedgerFill, ctx: CheckContext) -> list[Diagnostic]:
    source = SOURCES.get(fill.source)
    if source is None:
        close = suggest(fill.source, SOURCES)
        return [Diagnostic("unknown-ledger-fact", f"the ledger has no fact `{fill.source}`", fill.source_span,
                           suggestion_hint(close) or "the facts are " + ", ".join(f"`{s}`" for s in SOURCES),
                           fixes=replacements(fill.source_span, close))]
    out = []
    typ, errors = _resolve_path(fill.attribute, ctx)
    out += errors
    if typ is not None and typ.kind not in (source.kind, "any"):
        gives = "a date" if source.kind == "date" else "true or false"
        out.append(Diagnostic("type-mismatch", f"`{fill.attribute.dotted}` is {typ.describe()}; `{source.name}` "
                              f"gives {gives}", fill.attribute.span, f"fill an attribute declared `{source.kind}`"))
    takes = source.needs or source.may
    example = f'`ledger fills ... from {source.name} "{takes}"`' if takes else f"`ledger fills ... from {source.name}`"
    if source.needs and fill.name is None:
        out.append(Diagnostic("bad-ledger-fill", f"`{source.name}` needs the {source.needs} it is about",
                              fill.span, f"write e.g. {example}"))
    elif not takes and fill.name is not None:
        out.append(Diagnostic("bad-ledger-fill",
                              f"`{source.name}` is one fact a person: it names no topic, channel, purpose or scope",
                              fill.span, f"write {example}"))
    if fill.purpose is not None and not source.purpose:
        out.append(Diagnostic("bad-ledger-fill", f"`{source.name}` is not given for a purpose", fill.span,
                              f"write {example}"))
    for text in (fill.name, fill.purpose):
        if text is not None and not re.fullmatch(NAME_PATTERN, text):
            out.append(Diagnostic("bad-ledger-fill", f"`{text}` is not a name the ledger records", fill.span,
                                  "letters, digits, `_`, `.` and `-`, at most 64"))
    return out


# ---------------------------------------------------------------- conditions


def _resolve_path(path: ast.Path, ctx: CheckContext) -> tuple[sch.Type | None, list[Diagnostic]]:
    root = path.parts[0]
    if root in ctx.conditions and root not in ctx.schema:
        definition = ctx.conditions[root]
        return None, [Diagnostic("type-mismatch", f"`{path.dotted}` reads the named condition `{root}` as a value",
                                 path.span, f"a named condition ({definition.name_span}) is true or false: use it "
                                 f"alone, `when {root}` or `when not {root}`")]
    if root not in ctx.schema:
        roots = suggest(root, [*ctx.schema, *ctx.conditions])
        roots_hint = "; or ".join(filter(None, [ctx.elsewhere.get(root), suggestion_hint(roots)])) or (
            "attributes start with " + ", ".join(f"`{r}`" for r in ctx.schema))
        return None, [Diagnostic("unknown-attribute", f"unknown attribute `{path.dotted}`", path.span, roots_hint,
                                 about=path.dotted, fixes=_path_fixes(path, 1, roots))]
    current = ctx.schema[root]
    for depth, part in enumerate(path.parts[1:], start=1):
        if current.kind == "any":
            return sch.ANY, []
        if current.kind != "map":
            prefix = ".".join(path.parts[:depth])
            return None, [Diagnostic("unknown-attribute",
                                     f"`{prefix}` is {current.describe()} and has no attribute `{part}`", path.span, None,
                                     about=path.dotted)]
        if current.values is not None:
            current = current.values
            continue
        fields = current.field_map()
        if part not in fields:
            prefix = ".".join(path.parts[:depth])
            close = [f"{prefix}.{f}" for f in suggest(part, fields)]
            hint = ("did you mean " + " or ".join(f"`{c}`" for c in close) + "?") if close else None
            if hint is None:
                hint = ("known: " + ", ".join(f"`{prefix}.{f}`" for f in sorted(fields))) if fields else None
            fixes = _path_fixes(path, depth + 1, close)
            if current.keys is not None:  # a map keyed by a vocabulary (`data_subject.consent`)
                where = f"a new {current.keys} is declared under `{SECTION_OF_KIND[current.keys]}` in vocabulary.yaml"
                hint = "; ".join(filter(None, [hint, where]))
                return None, [Diagnostic(f"unknown-{current.keys.replace(' ', '-')}", f"unknown {current.keys} `{part}`",
                                         path.span, hint, about=path.dotted, fixes=fixes)]
            if root != "data" and not close:  # any part of the request takes declared attributes (`recipient.scc: bool`)
                declare = f"declare it under `attributes` in vocabulary.yaml: `{path.dotted}: bool` (or {TYPES})"
                hint = f"{hint}; or {declare}" if hint else declare
            return None, [Diagnostic("unknown-attribute", f"unknown attribute `{path.dotted}`", path.span, hint,
                                     about=path.dotted, fixes=fixes)]
        current = fields[part]
    return current, []


def _path_fixes(path: ast.Path, wrong: int, close: list[str]) -> tuple[Fix, ...]:
    """Fixes for a path whose first `wrong` parts are unknown: each close prefix, the rest of the path kept. None
    when the path is not written as its dotted name on one line (a fix would replace what it did not read)."""
    span = path.span
    if span.end_line != span.line or span.end_col - span.col != len(path.dotted):
        return ()
    rest = path.parts[wrong:]
    return replacements(span, [".".join((prefix, *rest)) for prefix in close])


class _OperandTypes(Visitor[tuple[sch.Type | None, list[Diagnostic]]]):
    """An operand's type, and what is wrong with it (a condition where a value belongs, a mixed list)."""

    def visit_Path(self, expr: ast.Path, ctx: CheckContext):
        return _resolve_path(expr, ctx)

    def visit_Literal(self, expr: ast.Literal, ctx: CheckContext):
        v = expr.value
        return (sch.BOOL if isinstance(v, bool) else sch.NUMBER if isinstance(v, (int, float)) else sch.STRING), []

    def visit_Date(self, expr: ast.Date, ctx: CheckContext):
        return sch.DATE, []

    def visit_Shift(self, expr: ast.Shift, ctx: CheckContext):
        typ, out = _resolve_path(expr.operand, ctx)
        if typ is not None and typ.kind not in ("date", "any"):
            out.append(Diagnostic("type-mismatch", f"`{expr.operand.dotted}` is {typ.describe()}, not a date: a "
                                  f"duration is added to a date only", expr.span,
                                  "move a date attribute, e.g. `collected_at + 2 years < now`"))
            return None, out
        return sch.DATE, out

    def visit_Index(self, expr: ast.Index, ctx: CheckContext):
        return _index_type(expr, ctx, self.visit)

    def visit_ListLiteral(self, expr: ast.ListLiteral, ctx: CheckContext):
        out = []
        kinds = set()
        for item in expr.items:
            t, errors = self.visit(item, ctx)
            out += errors
            if t is not None:
                kinds.add(t.kind)
        if len(kinds) > 1:
            out.append(Diagnostic("type-mismatch", "a list mixes different kinds of values", expr.span,
                                  "keep every item of a list the same kind (all text, or all numbers)"))
        item_type = ({"string": sch.STRING, "number": sch.NUMBER, "bool": sch.BOOL, "date": sch.DATE}.get(kinds.pop())
                     if len(kinds) == 1 else sch.ANY)
        return sch.Type("list", item=item_type), out

    def generic_visit(self, expr: ast.Expr, *args):
        return None, [Diagnostic("syntax", "a condition cannot be used as a value here", expr.span, None)]


_operand_type = _OperandTypes().visit


def _index_type(expr: ast.Index, ctx: CheckContext, operand_type) -> tuple[sch.Type | None, list[Diagnostic]]:
    """`data.x[k].rest`: the one type of the table's entries (at `rest`), and what is wrong with the lookup."""
    table, out = _resolve_path(expr.table, ctx)
    key, errors = operand_type(expr.key, ctx)
    out += errors
    name, shown = expr.table.dotted, printer.expression(expr)
    if isinstance(expr.key, ast.Path) and expr.key.parts in REQUESTED_KEYS:
        out.append(Diagnostic("bad-index", f"`{expr.key.dotted}` cannot look up policy data: a request for a broad "
                              "key names every key below it", expr.key.span,
                              f"test it with `in` or `under` (e.g. `{expr.key.dotted} in data.allowed`), which read a "
                              "broad key on the safe side"))
        return None, out
    if key is not None and key.kind not in ("string", "any"):
        out.append(Diagnostic("type-mismatch", f"the keys of `{name}` are texts; `{printer.expression(expr.key)}` is "
                              f"{key.describe()}", expr.key.span, "look up by an attribute that holds text (an id, a "
                              "role, a key of the vocabulary)"))
        return None, out  # (no type: the test around it is not checked again)
    if table is None:
        return None, out
    if table.kind == "any":
        return sch.ANY, out
    if table.kind != "map":
        out.append(Diagnostic("bad-index", f"`{name}` is {table.describe()}, not a table to look up by a value",
                              expr.table.span, "the data file should map each key to its value, e.g. `admin: [read]`"))
        return None, out
    keys = table.field_map()
    if isinstance(expr.key, ast.Literal) and table.values is None and expr.key.value not in keys:
        close = suggest(str(expr.key.value), keys)
        out.append(Diagnostic("unknown-attribute", f"`{name}` has no entry {printer.expression(expr.key)}",
                              expr.key.span, suggestion_hint(close), about=shown,
                              fixes=replacements(expr.key.span, [printer.value(k) for k in close])))
        return None, out
    if key is not None and key.vocab is not None and table.values is None:
        known = ctx.vocabulary.known(key.vocab)
        for entry in (k for k in keys if k not in known):
            out.append(Diagnostic(f"unknown-{key.vocab.replace(' ', '-')}", f"`{name}` is looked up by "
                                  f"`{printer.expression(expr.key)}`, {key.describe()}, but its entry `{entry}` is no "
                                  f"{key.vocab}", expr.table.span, did_you_mean(entry, known)
                                  or f"every key of `{name}` should be a {key.vocab}", about=f"{name}.{entry}"))
    found = entries(table, expr.rest)
    if not found and expr.rest:
        return None, out + [Diagnostic("unknown-attribute", f"no entry of `{name}` has `{'.'.join(expr.rest)}`",
                                       expr.span, None, about=shown)]
    typ, apart = conflict(found)
    if apart is not None:
        first, second = apart
        out.append(Diagnostic("type-mismatch", f"the entries of `{name}` are not all one kind: `{first}` is "
                              f"{found[first].describe()}, `{second}` is {found[second].describe()}", expr.span,
                              "make every entry the same kind, so that a test of the value found means one thing"))
        return None, out
    if typ.kind not in VALUE_KINDS or (typ.kind == "list" and typ.item is not None and typ.item.kind in ("list", "map")):
        out.append(Diagnostic("type-mismatch", f"`{shown}` is {typ.describe()}: a value looked up is text, a number, "
                              "true or false, a date, or a list of them", expr.span, None))
        return None, out
    return typ, out


def _compatible(a: sch.Type, b: sch.Type) -> bool:
    return a.kind == "any" or b.kind == "any" or a.kind == b.kind


def _check_literal_in_vocab(literal: ast.Expr, typ: sch.Type, ctx: CheckContext) -> list[Diagnostic]:
    """A string written in a condition must be a real value of the attribute it is compared with."""
    if typ.vocab is None or not isinstance(literal, ast.Literal) or not isinstance(literal.value, str):
        return []
    return _check_key(literal.value, typ.vocab, literal.span, ctx, quoted=True)


class _Conditions(Visitor[list[Diagnostic]]):
    """What is wrong with a condition: unknown attributes, types that cannot meet, values not in the vocabulary."""

    def visit_And(self, expr: ast.And, ctx: CheckContext) -> list[Diagnostic]:
        return [d for item in expr.items for d in self.visit(item, ctx)]

    visit_Or = visit_And

    def visit_Not(self, expr: ast.Not, ctx: CheckContext) -> list[Diagnostic]:
        return self.visit(expr.operand, ctx)

    def visit_Presence(self, expr: ast.Presence, ctx: CheckContext) -> list[Diagnostic]:
        return _resolve_path(expr.path, ctx)[1]

    def visit_Named(self, expr: ast.Named, ctx: CheckContext) -> list[Diagnostic]:
        return []  # checked once, at its definition (check_policy_set)

    def visit_Truth(self, expr: ast.Truth, ctx: CheckContext) -> list[Diagnostic]:
        if named.use_of(expr, ctx.conditions):
            return []  # a use left as read (its definition is in a cycle): the cycle is the error
        typ, out = _operand_type(expr.operand, ctx)
        if typ is not None and typ.kind not in ("bool", "any"):
            what = expr.operand.dotted if isinstance(expr.operand, ast.Path) else "this value"
            out.append(Diagnostic("type-mismatch", f"`{what}` is {typ.describe()}, not true or false", expr.span,
                                  "compare it with a value, e.g. `== \"...\"`"))
        return out

    def visit_Compare(self, expr: ast.Compare, ctx: CheckContext) -> list[Diagnostic]:
        return _check_compare(expr, ctx)

    def visit_Member(self, expr: ast.Member, ctx: CheckContext) -> list[Diagnostic]:
        return _check_member(expr, ctx)

    def visit_Under(self, expr: ast.Under, ctx: CheckContext) -> list[Diagnostic]:
        return _check_under(expr, ctx)

    def visit_Matches(self, expr: ast.Matches, ctx: CheckContext) -> list[Diagnostic]:
        return _check_matches(expr, ctx)

    def visit_Has(self, expr: ast.Has, ctx: CheckContext) -> list[Diagnostic]:
        return _check_has(expr, ctx)

    def generic_visit(self, expr: ast.Expr, *args) -> list[Diagnostic]:
        return [Diagnostic("syntax", "a value alone is not a condition", getattr(expr, "span", NO_SPAN),
                           "compare it with something, e.g. `data_subject.age >= 18`")]


_check_condition = _Conditions().visit


def _describe(expr: ast.Expr) -> str:
    if isinstance(expr, (ast.Path, ast.Literal, ast.Date, ast.Shift, ast.Index)):
        return f"`{printer.expression(expr)}`"
    return "the list"


def _sides(expr, ctx: CheckContext) -> tuple[sch.Type | None, sch.Type | None, list[Diagnostic]]:
    left, out_left = _operand_type(expr.left, ctx)
    right, out_right = _operand_type(expr.right, ctx)
    return left, right, out_left + out_right


def _check_compare(expr: ast.Compare, ctx: CheckContext) -> list[Diagnostic]:
    left, right, out = _sides(expr, ctx)
    if left is None or right is None:
        return out
    if expr.op in ("<", "<=", ">", ">="):
        ordered = {left.kind, right.kind} - {"any"}
        for side, typ in ((expr.left, left), (expr.right, right)):
            if typ.kind not in ("number", "date", "any"):
                out.append(Diagnostic("type-mismatch", f"{_describe(side)} is {typ.describe()}: only numbers and dates "
                                      f"can be compared with `{expr.op}`", expr.span, _order_hint(side, typ)))
        if not out and len(ordered) > 1:  # a number against a date
            out.append(Diagnostic("type-mismatch", f"{_describe(expr.left)} is {left.describe()} but "
                                  f"{_describe(expr.right)} is {right.describe()}: they cannot be ordered", expr.span,
                                  "compare a date with a date (`collected_at + 2 years < now`), a number with a number"))
        return out
    if not _compatible(left, right):
        hint = None
        if left.kind == "date" and right.kind == "string":
            hint = "write a date without quotes, year-month-day: `2026-03-01`"
        elif left.kind == "number" and right.kind == "string":
            literal = expr.right.value if isinstance(expr.right, ast.Literal) else None
            if isinstance(literal, str) and literal.replace(".", "", 1).isdigit():
                hint = f"write the number without quotes: `{literal}`"
            else:
                hint = "compare a number with a number, e.g. `data_subject.age >= 18`"
        out.append(Diagnostic("type-mismatch", f"{_describe(expr.left)} is {left.describe()} but {_describe(expr.right)} "
                              f"is {right.describe()}: they can never be equal", expr.span, hint))
        return out
    out += _check_literal_in_vocab(expr.right, left, ctx) + _check_literal_in_vocab(expr.left, right, ctx)
    return out


def _order_hint(side: ast.Expr, typ: sch.Type) -> str:
    if typ.kind == "string" and isinstance(side, ast.Literal) and day_of(side.value) is not None:
        return f"write the date without quotes: `{side.value}`"
    return "use `==` or `!=` for text and true/false"


def _check_member(expr: ast.Member, ctx: CheckContext) -> list[Diagnostic]:
    left, right, out = _sides(expr, ctx)
    if left is None or right is None:
        return out
    if right.kind not in ("list", "map", "any"):
        out.append(Diagnostic("type-mismatch", f"{_describe(expr.right)} is {right.describe()}, not a list",
                              expr.right.span, "write a list: `in [\"a\", \"b\"]`"))
        return out
    item = right.item if right.kind == "list" and right.item is not None else sch.ANY
    if right.kind == "list" and left.kind == "list":  # the old mistake: "any of these roles" written with `in`
        written = f"{printer.expression(expr.left)} has any of {printer.expression(expr.right)}"
        out.append(Diagnostic("type-mismatch", f"{_describe(expr.left)} is {left.describe()}: `in` asks whether one "
                              "value is an item of a list", expr.span,
                              f"to ask whether the two lists share an item, write "
                              f"`{'not (' + written + ')' if expr.negated else written}`; whether it holds every item "
                              "of the other, `has all of`"))
        return out
    if right.kind == "list" and not _compatible(left, item):
        out.append(Diagnostic("type-mismatch", f"{_describe(expr.left)} is {left.describe()} but the list holds "
                              f"{item.describe_plural()}", expr.span, None))
        return out
    if isinstance(expr.right, ast.ListLiteral):
        for literal in expr.right.items:
            out += _check_literal_in_vocab(literal, left, ctx)
    if isinstance(expr.left, ast.Literal) and right.item is not None:
        out += _check_literal_in_vocab(expr.left, right.item, ctx)
    return out


def _check_has(expr: ast.Has, ctx: CheckContext) -> list[Diagnostic]:
    left, right, out = _sides(expr, ctx)
    if left is None or right is None:
        return out
    for side in (expr.left, expr.right):
        if isinstance(side, ast.Path) and side.parts in REQUESTED_KEYS:
            out.append(Diagnostic("type-mismatch", f"`{side.dotted}` cannot be tested with `{expr.words}`: a request's "
                                  f"{'categories are' if side.parts == ('data_categories',) else 'purpose is'} "
                                  "matched by the rule's target, which covers the keys below each key it names",
                                  side.span, "name them in the rule: `of user.health_and_medical, user.biometric` (a deny "
                                  "applies when the request names any of them, an allow when it names only those), or "
                                  "test one key: `\"user.biometric\" in data_categories`"))
    if out:
        return out
    for side, typ, other in ((expr.left, left, expr.right), (expr.right, right, expr.left)):
        if typ.kind not in ("list", "any"):
            if typ.kind == "map":
                hint = "name a list: an attribute or policy data that holds one, or `[\"admin\", \"editor\"]`"
            else:  # one value: `in` tests it (the list on its right)
                one, many = (side, other) if side is expr.left else (side, expr.left)
                hint = f"to test one value, write `{printer.expression(one)} in {printer.expression(many)}`"
            out.append(Diagnostic("type-mismatch", f"{_describe(side)} is {typ.describe()}, not a list: `{expr.words}` "
                                  "compares two lists", side.span, hint))
    if out:
        return out
    left_item = left.item if left.kind == "list" and left.item is not None else sch.ANY
    right_item = right.item if right.kind == "list" and right.item is not None else sch.ANY
    if not _compatible(left_item, right_item):
        out.append(Diagnostic("type-mismatch", f"{_describe(expr.left)} holds {left_item.describe_plural()} but "
                              f"{_describe(expr.right)} holds {right_item.describe_plural()}: no item of one can equal "
                              "an item of the other", expr.span, "compare lists of the same kind of value"))
    return out


def _check_under(expr: ast.Under, ctx: CheckContext) -> list[Diagnostic]:
    left, right, out = _sides(expr, ctx)
    if left is None or right is None:
        return out
    if left.kind not in ("string", "any"):
        out.append(Diagnostic("type-mismatch", f"`under` compares taxonomy keys; {_describe(expr.left)} is {left.describe()}",
                              expr.span, "use it as `purpose under \"marketing\"`"))
        return out
    literals = expr.right.items if isinstance(expr.right, ast.ListLiteral) else (expr.right,)
    for literal in literals:
        out += _check_literal_in_vocab(literal, left, ctx)
        if left.vocab is None and isinstance(literal, ast.Literal) and "/" in str(literal.value):
            # `under` splits on dots: on a path it would allow `/todos.x` and refuse `/todos/x` (wrong both ways)
            out.append(Diagnostic("under-path", f"`under` reads taxonomy keys, split on dots; {_describe(literal)} is "
                                  "a path, split on `/`", literal.span,
                                  f"write `{printer.expression(expr.left)} matches "
                                  f"{printer.value(str(literal.value).rstrip('/') + '/**')}` (the path and below it)"))
    return out


def _check_matches(expr: ast.Matches, ctx: CheckContext) -> list[Diagnostic]:
    """`x matches "/todos/{id}"`: a text attribute, and a template written in the policy that pdp reads."""
    out = []
    if not (isinstance(expr.right, ast.Literal) and isinstance(expr.right.value, str)):
        out.append(Diagnostic("bad-template", "the template after `matches` is written in the policy, as quoted text",
                              expr.right.span, 'write e.g. `resource.route matches "/todos/{id}"`'))
    else:
        try:
            templates.parse(expr.right.value)
        except templates.TemplateError as error:
            out.append(Diagnostic("bad-template", f"{printer.value(expr.right.value)}: {error.message}",
                                  _within(expr.right, error.offset, error.length), error.hint))
    if not isinstance(expr.left, ast.Path):
        return out + [Diagnostic("bad-template", "`matches` tests an attribute of the request", expr.left.span,
                                 'write e.g. `resource.route matches "/todos/{id}"`')]
    left, found = _operand_type(expr.left, ctx)
    out += found
    if left is not None and (left.kind not in ("string", "any") or left.vocab is not None):
        out.append(Diagnostic("type-mismatch", f"`matches` reads a path (text split on `/`); {_describe(expr.left)} is "
                              f"{left.describe()}", expr.span, "compare taxonomy keys with `under`, other values with "
                              "`==` or `in`"))
    return out


def _within(literal: ast.Literal, offset: int, length: int) -> Span:
    """The part of a quoted text a message is about, when the text is written as it reads (no escapes); else all of
    it."""
    span = literal.span
    written = len(printer.value(literal.value))
    if span.line != span.end_line or span.end_col - span.col != written or written != len(str(literal.value)) + 2:
        return span
    return Span(span.file, span.line, span.col + 1 + offset, span.line, span.col + 1 + offset + max(length, 1))
