"""lark's parse tree -> the syntax tree (ast.py): one method per grammar rule, shared by every way of parsing.

Each method takes the rule's extent (`meta`: line, column, end line, end column) and its children as
lark gives them, the anonymous tokens (keywords, punctuation) left out: tokens, and what the methods
of the rules below returned. The plain path calls them through lark's Transformer, or a direct walk,
over a tree with positions (`parser`); the streaming path from lark's callbacks as each rule is
reduced (`streaming`). A token is lark's (a str) or lark_cython's (not a str): both are read through
`.value`, `str()` and their positions only.
"""

from __future__ import annotations

import json
import re
from typing import Any

from lark import Token, Transformer, Tree, v_args

from pdp.base import dates
from pdp.base.errors import Diagnostic
from pdp.base.limits import MAX_NUMBER_CHARS, MAX_TEXT_CHARS
from pdp.base.source import Span

from . import ast

_LONE_SURROGATE = re.compile(r"[\ud800-\udfff]")


class BuildError(Exception):
    """A node that parsed but cannot be built (a bad escape, a number too long): its diagnostic."""

    def __init__(self, diagnostic: Diagnostic):
        super().__init__(diagnostic.message)
        self.diagnostic = diagnostic


def position(token: Token) -> tuple[int, int, int, int]:
    """Line, column, end line, end column: lark types them optional, a token of a parse always has them."""
    return token.line, token.column, token.end_line, token.end_column  # type: ignore[return-value]


@v_args(meta=True)
class Builder(Transformer):
    def __init__(self, filename: str, line_offset: int = 0):
        super().__init__()
        self.filename = filename
        self.line_offset = line_offset  # lines above the text parsed (a statement parsed alone)

    def build(self, tree: Tree):
        """What `transform` returns, by a plain walk. lark's Transformer looks every node's method up on the
        instance, and under `v_args` each lookup makes a new wrapper (functools.update_wrapper): with the
        token callbacks, more than the methods themselves cost. The depth is bounded before (`_too_deep`)."""
        return self._walk(tree)

    def _walk(self, tree: Tree):
        # `build` is wrapped by `v_args` as every method is (a new wrapper at each lookup); this is not
        children = [self._walk(c) if isinstance(c, Tree) else c for c in tree.children]
        method = METHODS.get(tree.data)
        if method is None:  # a rule without a method (`start`) stays a tree, as the Transformer keeps it
            return Tree(tree.data, children, tree.meta)
        return method(self, tree.meta, children)

    def _span(self, meta) -> Span:
        if getattr(meta, "empty", True):
            return Span(self.filename, 0, 0)
        return Span(self.filename, meta.line + self.line_offset, meta.column, meta.end_line + self.line_offset,
                    meta.end_column)

    def _tok_span(self, token: Token) -> Span:
        line, col, end_line, end_col = position(token)
        return Span(self.filename, line + self.line_offset, col, end_line + self.line_offset, end_col)

    def _string(self, token: Token) -> str:
        if len(token.value) > MAX_TEXT_CHARS + 2:
            raise BuildError(Diagnostic("too-large", f"this text is longer than {MAX_TEXT_CHARS:,} characters",
                                         self._tok_span(token), "say it in fewer words; cite the clause for the rest"))
        try:
            value = json.loads(str(token))
        except json.JSONDecodeError:
            raise BuildError(
                Diagnostic(
                    "syntax",
                    "text with an escape that is not understood",
                    self._tok_span(token),
                    'inside quotes write \\" for a quote and \\\\ for a backslash',
                )
            ) from None
        lone = _LONE_SURROGATE.search(value)
        if lone:
            # half of a UTF-16 pair is no character: it cannot be written as UTF-8 (a response, a log line)
            raise BuildError(Diagnostic("syntax", f"`\\u{ord(lone.group()):04x}` is half of a UTF-16 pair, not a "
                                         "character", self._tok_span(token),
                                         "write the character itself, or both halves of the pair (e.g. `\\ud83d\\ude00`)"))
        return value

    # statements
    def header(self, meta, children):
        name = self._string(children[0])
        fields = {}
        for child in children[1:]:
            fields.update(child)
        return ast.Header(name=name, span=self._span(meta), **fields)

    def version(self, meta, children):
        return {"version": self._string(children[0])}

    def effective(self, meta, children):
        return {"effective": str(children[0])}

    def title(self, meta, children):
        return {"title": self._string(children[0])}

    def model(self, meta, children):
        return {"model": str(children[0])}

    def lookup(self, meta, children):
        root, *rest = children
        sources = [c for c in rest if isinstance(c, ast.Path)]
        fields: dict = {"request_wins": (), "described": (), "excluded": ()}
        for kind, value in (c for c in rest if isinstance(c, tuple)):
            fields[kind] += value
        return ast.Lookup(root=str(root), source=sources[0], also_in=tuple(sources[1:]), span=self._span(meta), **fields)

    def ledger_fill(self, meta, children):
        attribute, source, *names = children
        texts = [self._string(n) for n in names]
        return ast.LedgerFill(attribute=attribute, source=str(source), name=texts[0] if texts else None,
                              purpose=texts[1] if len(texts) > 1 else None, span=self._span(meta),
                              source_span=self._tok_span(source))

    def named_condition(self, meta, children):
        name, *rest = children
        body = rest[-1]
        text = self._string(rest[0]) if len(rest) > 1 else ""
        return ast.ConditionDef(str(name), text, body, self._span(meta), self._tok_span(name))

    def overridable(self, meta, children):
        return ("request_wins", tuple(str(c) for c in children))

    def described(self, meta, children):
        return ("described", tuple(str(c) for c in children))

    def excluded(self, meta, children):
        name, *values = children
        return ("excluded", ((str(name), tuple(v.value for v in values)),))

    def rule(self, meta, children):
        effect_token, (rule_id, id_span), *rest = children
        fields: dict = {"when": [], "unless": [], "obligations": [], "advice": [], "accepts": []}
        message = ""
        for child in rest:
            if not isinstance(child, tuple):  # the message: a token (lark's, or lark_cython's, which is no str)
                message = self._string(child)
            else:
                kind, value = child
                if kind in ("when", "unless", "obligations", "advice", "accepts"):
                    fields[kind].append(value)
                elif kind in ("actions", "purposes", "categories", "overrides"):
                    fields[kind] = fields.get(kind, ()) + value
                else:
                    fields[kind] = value
        return ast.Rule(
            id=rule_id,
            effect=str(effect_token),
            message=message,
            cite=fields.get("cite"),
            actions=fields.get("actions", ()),
            purposes=fields.get("purposes", ()),
            categories=fields.get("categories", ()),
            when=tuple(fields["when"]),
            unless=tuple(fields["unless"]),
            obligations=tuple(fields["obligations"]),
            advice=tuple(fields["advice"]),
            overrides=fields.get("overrides", ()),
            accepts=tuple(fields["accepts"]),
            span=self._span(meta),
            id_span=id_span,
        )

    def cite(self, meta, children):
        return ("cite", self._string(children[0]))

    def actions(self, meta, children):
        return ("actions", children[0])

    def purposes(self, meta, children):
        return ("purposes", children[0])

    def categories(self, meta, children):
        return ("categories", children[0])

    def when(self, meta, children):
        return ("when", children[0])

    def unless(self, meta, children):
        return ("unless", children[0])

    def overrides(self, meta, children):
        return ("overrides", children[0])

    def accept(self, meta, children):
        code, reason = children
        return ("accepts", ast.Acceptance(str(code), self._string(reason), self._span(meta)))

    def obligation(self, meta, children):
        return ("obligations", ast.ObligationDecl(**self._duty(children), span=self._span(meta)))

    def advice(self, meta, children):
        return ("advice", ast.AdviceDecl(**self._duty(children), span=self._span(meta)))

    def _duty(self, children) -> dict[str, Any]:
        """An `oblige` or `advise` clause's parts, by field."""
        (duty_id, _), *rest = children
        text, parameters, condition = "", (), None
        for child in rest:
            if isinstance(child, tuple) and child and child[0] == "parameters":
                parameters = child[1]
            elif isinstance(child, tuple) and child and child[0] == "condition":
                condition = child[1]
            else:  # the text: a token (lark's, or lark_cython's, which is no str)
                text = self._string(child)
        return {"id": duty_id, "text": text, "parameters": parameters, "condition": condition}

    def duty_parameters(self, meta, children):
        return ("parameters", tuple(children))

    def duty_parameter(self, meta, children):
        name, value = children
        return ast.Parameter(str(name), value, self._span(meta))

    def duty_condition(self, meta, children):
        return ("condition", children[0])

    def key_list(self, meta, children):
        return tuple(ast.Key(name, span) for name, span in children)

    def dotted_name(self, meta, children):
        return ".".join(str(c) for c in children), self._span(meta)

    # expressions
    def or_expr(self, meta, children):
        return ast.Or(tuple(children), self._span(meta))

    def and_expr(self, meta, children):
        return ast.And(tuple(children), self._span(meta))

    def negation(self, meta, children):
        return ast.Not(children[0], self._span(meta))

    def compare(self, meta, children):
        left, op, right = children
        return ast.Compare(str(op), left, right, self._span(meta))

    def member(self, meta, children):
        return ast.Member(children[0], children[1], False, self._span(meta))

    def not_member(self, meta, children):
        return ast.Member(children[0], children[1], True, self._span(meta))

    def under(self, meta, children):
        return ast.Under(children[0], children[1], self._span(meta))

    def matches(self, meta, children):
        return ast.Matches(children[0], children[1], self._span(meta))

    def has_any(self, meta, children):
        return ast.Has(children[0], children[1], False, self._span(meta))

    def has_all(self, meta, children):
        return ast.Has(children[0], children[1], True, self._span(meta))

    def present(self, meta, children):
        return self._presence(meta, children[0], True)

    def absent(self, meta, children):
        return self._presence(meta, children[0], False)

    def _presence(self, meta, operand, present: bool):
        if not isinstance(operand, ast.Path):
            raise BuildError(
                Diagnostic(
                    "syntax",
                    f"`is {'present' if present else 'absent'}` applies to an attribute, not to a value",
                    self._span(meta),
                    "write e.g. `data_subject.age is present`",
                )
            )
        return ast.Presence(operand, present, self._span(meta))

    def truth(self, meta, children):
        return ast.Truth(children[0], self._span(meta))

    def path(self, meta, children):
        return ast.Path(tuple(part for c in children for part in str(c).split(".")), self._span(meta))

    def string(self, meta, children):
        return ast.Literal(self._string(children[0]), self._span(meta))

    def number(self, meta, children):
        text = str(children[0])
        if len(text) > MAX_NUMBER_CHARS:
            raise BuildError(Diagnostic("too-large", f"a number of more than {MAX_NUMBER_CHARS} characters",
                                         self._tok_span(children[0]), "no attribute is compared with a number that long"))
        value = float(text) if "." in text else int(text)
        return ast.Literal(value, self._span(meta))

    def date(self, meta, children):
        text = str(children[0])
        if dates.day_of(text) is None:
            raise BuildError(Diagnostic("bad-date", f"`{text}` is no date of the calendar", self._tok_span(children[0]),
                                         "write a date as year-month-day, e.g. `2026-03-01`"))
        return ast.Date(text, self._span(meta))

    def shifted(self, meta, children):
        path, sign, amount, unit = children
        return ast.Shift(path, str(sign), self._amount(amount, unit), dates.unit_of(str(unit)), self._span(meta))

    def indexed(self, meta, children):
        table, key, *rest = children
        span = self._span(meta)
        if table.parts[0] != "data":
            raise BuildError(Diagnostic("bad-index", f"`{table.dotted}` is not policy data: only `data.<file>` can be "
                                         "looked up by a value", table.span,
                                         "write e.g. `\"can_read\" in data.role_permissions[subject.role]`"))
        if not (isinstance(key, ast.Path) and key.parts[0] != "data") and \
                not (isinstance(key, ast.Literal) and isinstance(key.value, str)):
            raise BuildError(Diagnostic("bad-index", "policy data is looked up by an attribute of the request or a "
                                         "text, one lookup a value", getattr(key, "span", span),
                                         "write e.g. `data.managers[resource.owner]`; to look up by another lookup's "
                                         "value, keep a table keyed by what the request gives"))
        return ast.Index(table, key, tuple(part for token in rest for part in str(token).split(".")), span)

    def older(self, meta, children):
        operand, amount, unit = children
        if not isinstance(operand, ast.Path):
            raise BuildError(Diagnostic("syntax", "`is older than` applies to an attribute that holds a date",
                                         self._span(meta), "write e.g. `collected_at is older than 2 years`"))
        span = self._span(meta)
        moved = ast.Shift(operand, "+", self._amount(amount, unit), dates.unit_of(str(unit)), span)
        return ast.Compare("<", moved, ast.Path(("now",), span), span)

    def _amount(self, token: Token, unit: Token) -> int:
        text = str(token)
        amount = int(text) if text.isdigit() and len(text) <= 6 else None
        if amount is None or dates.too_long(amount, dates.unit_of(str(unit))):
            raise BuildError(Diagnostic("bad-duration", f"`{text} {unit}` is no duration pdp counts",
                                         self._tok_span(token), "a duration is a whole number of days, weeks, months "
                                         f"or years, at most {dates.MAX_AMOUNT:,} days (e.g. `13 months`)"))
        return amount

    def true(self, meta, children):
        return ast.Literal(True, self._span(meta))

    def false(self, meta, children):
        return ast.Literal(False, self._span(meta))

    def list(self, meta, children):
        looked_up = next((c for c in children if isinstance(c, ast.Index)), None)
        if looked_up is not None:
            raise BuildError(Diagnostic("bad-index", "a list holds values written out, not policy data looked up",
                                         looked_up.span, "test it on its own: `x == data.a[k] or x in [...]`"))
        return ast.ListLiteral(tuple(c for c in children if c is not None), self._span(meta))


# Each rule's method as written (`v_args` wraps them on the class; `base_func` is the function it wraps).
METHODS = {name: method.base_func for name, method in vars(Builder).items()
            if not name.startswith("_") and name != "build" and hasattr(method, "base_func")}
