"""Policy text -> syntax tree (ast.PolicyFile), with errors a lawyer can read.

Lark parses (LALR, contextual lexer, positions kept); a Transformer builds
the frozen dataclasses of ast.py. A syntax error does not stop the file: the
parser records it, skips to the next statement (`allow`, `deny`, `policy`,
`lookup` at the start of a line) and goes on, so `pdp check` reports every
error at once.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from typing import Collection, cast

from lark import Lark, Token, Transformer, Tree, v_args
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken, VisitError

from . import ast
from pdp.base.errors import Diagnostic
from .grammar import new_parser
from pdp.base.limits import MAX_FILE_BYTES, MAX_NESTING, MAX_NUMBER_CHARS, MAX_SYNTAX_ERRORS, MAX_TEXT_CHARS
from pdp.base.source import Span, source_lines

_LONE_SURROGATE = re.compile(r"[\ud800-\udfff]")
_STATEMENT_START = re.compile(r"^[ \t]*(allow|deny|policy|lookup)\b", re.MULTILINE)

# What each terminal means, for "expected ..." messages.
_TERMINAL_WORDS = {
    "NAME": "a name",
    "STRING": 'quoted text ("...")',
    "NUMBER": "a number",
    "DATE": "a date (YYYY-MM-DD)",
    "COMPARATOR": "a comparison (==, !=, <, <=, >, >=)",
    "EFFECT": "`allow` or `deny`",
    "LSQB": "`[`",
    "RSQB": "`]`",
    "LPAR": "`(`",
    "RPAR": "`)`",
    "COMMA": "`,`",
    "WARNING_CODE": "a warning's code (`shadowed-rule`)",
    "DOT": "`.`",
    "DOTTED_NAME": "a name",
    "$END": "the end of the file",
}

_NAMES = frozenset({"NAME", "DOTTED_NAME"})  # a name: a word, or words joined by dots (`user.contact`)
_CLAUSE_KEYWORDS = ("cite", "to", "for", "of", "when", "unless", "oblige", "overrides", "accept")


@lru_cache(maxsize=1)
def _lark() -> Lark:
    return new_parser()


def parse_policy(text: str, filename: str, direct: bool = True) -> tuple[ast.PolicyFile, list[Diagnostic]]:
    """Parse one policy file. Returns the statements that parsed and every syntax error (up to a limit).

    `direct=False` builds the syntax tree with lark's Transformer: the plain path the direct walk
    (`_Builder.build`) is proved equal to (tests/test_parser.py)."""
    if len(text) > MAX_FILE_BYTES:
        return ast.PolicyFile(path=filename), [Diagnostic("too-large", f"this file is larger than "
                                                          f"{MAX_FILE_BYTES // 1024} KB", Span(filename, 1, 1),
                                                          "split it into several files")]
    diagnostics: list[Diagnostic] = []
    statements: list = []
    remaining = text
    while True:
        try:
            tree = _lark().parse(remaining)
        except UnexpectedInput as error:
            diagnostics.append(_syntax_diagnostic(error, text, filename))
            restart = _next_statement_offset(remaining, error)
            if restart is None:
                break
            if len(diagnostics) >= MAX_SYNTAX_ERRORS:  # each restart reparses the rest: bound the work
                diagnostics.append(Diagnostic("syntax", f"more than {MAX_SYNTAX_ERRORS} syntax errors: the rest of "
                                              "the file is not read", diagnostics[-1].span, "fix these first"))
                break
            # Blank out what was already read, keeping the newlines, so that
            # positions in the rest of the file stay true.
            remaining = re.sub(r"[^\n]", " ", remaining[:restart]) + remaining[restart:]
            continue
        try:
            statements = _build(tree, filename, direct=direct).children + statements
        except _BuildError as error:  # a bad string escape, a number too long, a condition too deep
            diagnostics.append(error.diagnostic)
        break
    # Statements parsed before an error are lost by the restart; parse each
    # statement chunk that precedes an error on its own so none is dropped.
    if diagnostics:
        statements = _parse_good_chunks(text, filename, diagnostics, direct)
    return _assemble(filename, statements), diagnostics


def _parse_good_chunks(text: str, filename: str, diagnostics: list[Diagnostic], direct: bool = True) -> list:
    """Parse statement by statement, keeping every statement without an error."""
    starts = [m.start() for m in _STATEMENT_START.finditer(text)]
    if not starts or starts[0] != 0:
        starts = [0] + starts
    bounds = list(zip(starts, starts[1:] + [len(text)]))
    bad_lines = {d.line for d in diagnostics}
    statements: list = []
    first_line, counted = 1, 0  # lines counted up to `counted`, so the whole file is counted once
    for begin, end in bounds:
        first_line += text.count("\n", counted, begin)
        counted = begin
        last_line = first_line + text.count("\n", begin, max(end - 1, begin))
        if any(first_line <= line <= last_line for line in bad_lines):
            continue
        # a statement starts a line: parsed alone, its positions are off by the lines above it only
        try:
            statements.extend(_build(_lark().parse(text[begin:end]), filename, first_line - 1, direct).children)
        except (UnexpectedInput, _BuildError):
            continue
    return statements


def _build(tree, filename: str, line_offset: int = 0, direct: bool = True):
    """The tree as AST nodes; a condition nested too deeply is an error, never a RecursionError."""
    deep = _too_deep(tree, MAX_NESTING + _STATEMENT_DEPTH)
    if deep is not None:
        span = Span(filename, deep.meta.line + line_offset, deep.meta.column)
        raise _BuildError(Diagnostic("too-deep", f"this condition is nested more than {MAX_NESTING} levels deep",
                                     span, "write it with fewer `not`s and parentheses"))
    if direct:
        return _Builder(filename, line_offset).build(tree)
    try:
        return _Builder(filename, line_offset).transform(tree)
    except VisitError as error:
        if isinstance(error.orig_exc, _BuildError):
            raise error.orig_exc from None
        raise


# the tree levels above a condition: start, rule, when, ...
_STATEMENT_DEPTH = 4


def _too_deep(tree, limit: int):
    """The first node deeper than `limit` levels, or None (walked without recursion)."""
    stack = [(tree, 0)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return node
        stack.extend((child, depth + 1) for child in node.children if isinstance(child, Tree))
    return None


def _next_statement_offset(text: str, error: UnexpectedInput) -> int | None:
    """Offset of the first statement keyword on a line after the error's line."""
    line = getattr(error, "line", -1)
    if line is None or line < 1:
        return None
    line_start = 0
    for _ in range(line):
        nl = text.find("\n", line_start)
        if nl < 0:
            return None
        line_start = nl + 1
    match = _STATEMENT_START.search(text, line_start)
    return match.start() if match else None


def _assemble(filename: str, statements: list) -> ast.PolicyFile:
    headers = tuple(s for s in statements if isinstance(s, ast.Header))
    rules = tuple(s for s in statements if isinstance(s, ast.Rule))
    lookups = tuple(s for s in statements if isinstance(s, ast.Lookup))
    order = lambda node: (node.span.line, node.span.col)  # noqa: E731
    return ast.PolicyFile(
        path=filename,
        headers=tuple(sorted(headers, key=order)),
        rules=tuple(sorted(rules, key=order)),
        lookups=tuple(sorted(lookups, key=order)),
    )


# ---------------------------------------------------------------- syntax errors


def _describe_expected(expected: set[str]) -> str:
    words = []
    for name in sorted(expected):
        if name in _TERMINAL_WORDS:
            words.append(_TERMINAL_WORDS[name])
        elif name.isupper():
            # Anonymous keyword terminals are named after their text by Lark.
            words.append(f"`{name.lower()}`")
        else:
            words.append(f"`{name}`")
    words = sorted(set(words))
    if len(words) > 6:
        words = words[:6] + ["..."]
    return ", ".join(words)


def _keyword_terminals() -> dict[str, str]:
    return {t.name: t.pattern.value for t in _lark().terminals if t.pattern.type == "str"}


def _starts_its_line(text: str, token: Token) -> bool:
    line_number, column, _, _ = _position(token)
    line = source_lines(text)[line_number - 1]
    return column == 1 + len(line) - len(line.lstrip())


def _syntax_diagnostic(error: UnexpectedInput, text: str, filename: str) -> Diagnostic:
    line, col = error.line or 1, error.column or 1
    keywords = _keyword_terminals()

    def word(name: str) -> str:
        if name in keywords:
            return f"`{keywords[name]}`"
        return _TERMINAL_WORDS.get(name, f"`{name.lower()}`")

    if isinstance(error, UnexpectedCharacters):
        pos = cast(int, error.pos_in_stream)  # lark declares it None on the class; this error sets it
        char = text[pos] if pos < len(text) else ""
        hint: str | None = None
        following = text[pos:pos + 2]
        if following.startswith("="):
            hint = "to compare two values write `==`"
        elif following in ("&&", "||") or char in "&|":
            hint = "write `and` / `or` in words"
        elif char == "'":
            hint = 'quote text with double quotes: "like this"'
        elif char == '"':
            hint = "this text is never closed: add the closing `\"` on the same line"
        elif char == "!":
            hint = "write `not`, or `!=` for \"is not equal to\""
        return Diagnostic(
            "syntax",
            f"unexpected character `{char}`",
            Span(filename, line, col, line, col + 1),
            hint,
        )
    if isinstance(error, UnexpectedEOF) or (isinstance(error, UnexpectedToken) and error.token.type == "$END"):
        expected = cast(Collection[str], getattr(error, "expected", None) or getattr(error, "accepts", set()))
        listed = ", ".join(sorted({word(e) for e in expected}))
        return Diagnostic(
            "syntax",
            "the file ends in the middle of a statement",
            Span(filename, line, col),
            f"expected {listed}" if listed else None,
        )
    assert isinstance(error, UnexpectedToken)
    token = error.token
    if token.type in ("EFFECT", "POLICY", "LOOKUP") and _starts_its_line(text, token):
        # A new statement began while the previous one was unfinished: point at
        # where the previous one stops, which is where the author must look.
        end = len(text[:token.start_pos].rstrip())
        line = text.count("\n", 0, end) + 1
        col = end - (text.rfind("\n", 0, end) + 1) + 1
        names = sorted({word(e) for e in set(error.accepts or error.expected)})
        return Diagnostic("syntax", "this statement is unfinished", Span(filename, line, max(col, 1)),
                          f"expected {', '.join(names[:8])} before the next statement")
    found = str(token)
    expected = set(error.accepts or error.expected)
    names = sorted({word(e) for e in expected})
    hint = f"expected {', '.join(names[:8])}{' ...' if len(names) > 8 else ''}"
    message = f"unexpected `{found}`"
    if token.type in _NAMES and found in _CLAUSE_KEYWORDS:
        message = f"unexpected `{found}`"
    if token.type in _NAMES and "EFFECT" in expected and len(expected) <= 5:
        message = f"unexpected `{found}`: a statement starts with `allow`, `deny`, `lookup` or `policy`"
        hint = None
    elif token.type in keywords and expected & _NAMES:
        message = f"`{found}` is a reserved word and cannot be used as a name here"
        hint = "choose another name, e.g. add a prefix or suffix"
    elif token.type == "STRING" and expected & _NAMES and len(expected) == 1:
        message = "a rule id is a name without quotes"
        hint = "write e.g. `deny children.under_18 \"message\"`"
    elif found == "=":
        hint = "to compare two values write `==`"
    return Diagnostic(
        "syntax",
        message,
        Span(filename, token.line or line, token.column or col, token.end_line or line, token.end_column or col + 1),
        hint,
    )


# ---------------------------------------------------------------- tree -> AST


class _BuildError(Exception):
    def __init__(self, diagnostic: Diagnostic):
        super().__init__(diagnostic.message)
        self.diagnostic = diagnostic


def _position(token: Token) -> tuple[int, int, int, int]:
    """Line, column, end line, end column: lark types them optional, a token of a parse always has them."""
    return token.line, token.column, token.end_line, token.end_column  # type: ignore[return-value]


@v_args(meta=True)
class _Builder(Transformer):
    def __init__(self, filename: str, line_offset: int = 0):
        super().__init__()
        self.filename = filename
        self.line_offset = line_offset  # lines above the text parsed (a statement parsed alone)

    def build(self, tree: Tree):
        """What `transform` returns, by a plain walk. lark's Transformer looks every node's method up on the
        instance, and under `v_args` each lookup makes a new wrapper (functools.update_wrapper): with the
        token callbacks, more than the methods themselves cost. The depth is bounded before (`_too_deep`)."""
        children = [self.build(c) if isinstance(c, Tree) else c for c in tree.children]
        method = _METHODS.get(tree.data)
        if method is None:  # a rule without a method (`start`) stays a tree, as the Transformer keeps it
            return Tree(tree.data, children, tree.meta)
        return method(self, tree.meta, children)

    def _span(self, meta) -> Span:
        if getattr(meta, "empty", True):
            return Span(self.filename, 0, 0)
        return Span(self.filename, meta.line + self.line_offset, meta.column, meta.end_line + self.line_offset,
                    meta.end_column)

    def _tok_span(self, token: Token) -> Span:
        line, col, end_line, end_col = _position(token)
        return Span(self.filename, line + self.line_offset, col, end_line + self.line_offset, end_col)

    def _string(self, token: Token) -> str:
        if len(token) > MAX_TEXT_CHARS + 2:
            raise _BuildError(Diagnostic("too-large", f"this text is longer than {MAX_TEXT_CHARS:,} characters",
                                         self._tok_span(token), "say it in fewer words; cite the clause for the rest"))
        try:
            value = json.loads(str(token))
        except json.JSONDecodeError:
            raise _BuildError(
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
            raise _BuildError(Diagnostic("syntax", f"`\\u{ord(lone.group()):04x}` is half of a UTF-16 pair, not a "
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

    def overridable(self, meta, children):
        return ("request_wins", tuple(str(c) for c in children))

    def described(self, meta, children):
        return ("described", tuple(str(c) for c in children))

    def excluded(self, meta, children):
        name, *values = children
        return ("excluded", ((str(name), tuple(v.value for v in values)),))

    def rule(self, meta, children):
        effect_token, (rule_id, id_span), *rest = children
        fields: dict = {"when": [], "unless": [], "obligations": [], "accepts": []}
        message = ""
        for child in rest:
            if isinstance(child, Token):
                message = self._string(child)
            else:
                kind, value = child
                if kind in ("when", "unless", "obligations", "accepts"):
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
        (ob_id, span), *text = children
        return ("obligations", ast.ObligationDecl(ob_id, self._string(text[0]) if text else "", self._span(meta)))

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

    def present(self, meta, children):
        return self._presence(meta, children[0], True)

    def absent(self, meta, children):
        return self._presence(meta, children[0], False)

    def _presence(self, meta, operand, present: bool):
        if not isinstance(operand, ast.Path):
            raise _BuildError(
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
            raise _BuildError(Diagnostic("too-large", f"a number of more than {MAX_NUMBER_CHARS} characters",
                                         self._tok_span(children[0]), "no attribute is compared with a number that long"))
        value = float(text) if "." in text else int(text)
        return ast.Literal(value, self._span(meta))

    def true(self, meta, children):
        return ast.Literal(True, self._span(meta))

    def false(self, meta, children):
        return ast.Literal(False, self._span(meta))

    def list(self, meta, children):
        return ast.ListLiteral(tuple(c for c in children if c is not None), self._span(meta))


# Each rule's method as written (`v_args` wraps them on the class; `base_func` is the function it wraps).
_METHODS = {name: method.base_func for name, method in vars(_Builder).items()
            if not name.startswith("_") and name != "build" and hasattr(method, "base_func")}
