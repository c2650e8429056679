"""Policy text -> syntax tree (ast.PolicyFile), with errors a lawyer can read.

Lark parses (LALR, contextual lexer, positions kept); a Transformer builds
the frozen dataclasses of ast.py. A syntax error does not stop the file: the
parser records it, skips to the next statement (`allow`, `deny`, `policy`,
`lookup`, `ledger`, `condition` at the start of a line) and goes on, so `pdp check` reports every
error at once.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Collection, cast

from lark import Lark, Token, Tree
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken, VisitError

from . import ast
from pdp.base.errors import Diagnostic, replacements, suggest, suggestion_hint
from .builder import BuildError, Builder, position
from .grammar import new_parser
from .streaming import parse_streaming
from pdp.base.limits import MAX_FILE_BYTES, MAX_NESTING, MAX_SYNTAX_ERRORS
from pdp.base.source import Span, source_lines
_STATEMENT_START = re.compile(r"^[ \t]*(allow|deny|policy|lookup|ledger(?=[ \t]+fills)|condition(?=[ \t]+[A-Za-z_]))\b",
                              re.MULTILINE)

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
_CLAUSE_KEYWORDS = ("cite", "to", "for", "of", "when", "unless", "oblige", "advise", "overrides", "accept")


@lru_cache(maxsize=1)
def _lark() -> Lark:
    return new_parser()


def parse_policy(text: str, filename: str, direct: bool = True, streaming: bool = True,
                 cython: bool = True) -> tuple[ast.PolicyFile, list[Diagnostic]]:
    """Parse one policy file. Returns the statements that parsed and every syntax error (up to a limit).

    A file without errors is parsed by the streaming parser (`streaming`, on lark_cython when it is
    installed and `cython`); one with any error, or every file when `streaming=False`, the plain way:
    lark's tree with positions, walked into the syntax tree (`Builder.build`), or with `direct=False`
    turned by lark's Transformer. The plain path reports the errors; tests/test_parser.py proves the
    others equal to it."""
    if len(text) > MAX_FILE_BYTES:
        return ast.PolicyFile(path=filename), [Diagnostic("too-large", f"this file is larger than "
                                                          f"{MAX_FILE_BYTES // 1024} KB", Span(filename, 1, 1),
                                                          "split it into several files")]
    if streaming:
        streamed = parse_streaming(text, filename, cython)
        if streamed is not None:
            return _assemble(filename, streamed), []
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
        except BuildError as error:  # a bad string escape, a number too long, a condition too deep
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
        except (UnexpectedInput, BuildError):
            continue
    return statements


def _build(tree, filename: str, line_offset: int = 0, direct: bool = True):
    """The tree as AST nodes; a condition nested too deeply is an error, never a RecursionError."""
    deep = _too_deep(tree, MAX_NESTING + _STATEMENT_DEPTH)
    if deep is not None:
        span = Span(filename, deep.meta.line + line_offset, deep.meta.column)
        raise BuildError(Diagnostic("too-deep", f"this condition is nested more than {MAX_NESTING} levels deep",
                                     span, "write it with fewer `not`s and parentheses"))
    if direct:
        return Builder(filename, line_offset).build(tree)
    try:
        return Builder(filename, line_offset).transform(tree)
    except VisitError as error:
        if isinstance(error.orig_exc, BuildError):
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
    fills = tuple(s for s in statements if isinstance(s, ast.LedgerFill))
    conditions = tuple(s for s in statements if isinstance(s, ast.ConditionDef))
    order = lambda node: (node.span.line, node.span.col)  # noqa: E731
    return ast.PolicyFile(
        path=filename,
        headers=tuple(sorted(headers, key=order)),
        rules=tuple(sorted(rules, key=order)),
        lookups=tuple(sorted(lookups, key=order)),
        ledger_fills=tuple(sorted(fills, key=order)),
        conditions=tuple(sorted(conditions, key=order)),
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
    line_number, column, _, _ = position(token)
    line = source_lines(text)[line_number - 1]
    return column == 1 + len(line) - len(line.lstrip())


UNBALANCED_HINT = "a `\"` is missing on this line: every text opened with `\"` is closed on the same line"


def _unbalanced_quotes(text: str, line: int) -> bool:
    """Does the line hold an odd number of `"` (before a comment)? Then a text was left open or closed early,
    and what the parser trips over after it is only a consequence (issue 12: the root cause first)."""
    lines = source_lines(text)
    if not 1 <= line <= len(lines):
        return False
    code = lines[line - 1]
    quotes = 0
    for char in code:
        if char == "#" and quotes % 2 == 0:
            break
        quotes += char == '"'
    return quotes % 2 == 1


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
        elif _unbalanced_quotes(text, line):
            hint = UNBALANCED_HINT
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
    if token.type in ("EFFECT", "POLICY", "LOOKUP", "LEDGER", "CONDITION") and _starts_its_line(text, token):
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
    elif found == "=":  # (a token since `with days = 30`: reported as when it was no token at all)
        message, hint = "unexpected character `=`", "to compare two values write `==`"
    elif _unbalanced_quotes(text, token.line or line):
        hint = UNBALANCED_HINT
    span = Span(filename, token.line or line, token.column or col, token.end_line or line, token.end_column or col + 1)
    close = _close_keywords(found, expected, keywords) if token.type in _NAMES else []
    if close:  # a misspelt keyword (`wehn`): say which, and offer it as a fix
        hint = "; ".join(filter(None, [suggestion_hint(close), hint]))
    return Diagnostic("syntax", message, span, hint, fixes=replacements(span, close))


def _close_keywords(found: str, expected: set[str], keywords: dict[str, str]) -> list[str]:
    """The keywords the parser expected that are close to the name it found instead."""
    words = {keywords[e] for e in expected if e in keywords and keywords[e].isalpha()}
    if "EFFECT" in expected:
        words |= {"allow", "deny"}
    return suggest(found, words, limit=2) if words else []
