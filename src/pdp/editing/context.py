"""The statement around a position, read tolerantly: an editor's text seldom parses, so completion and hover read
the words before the cursor (Lark's tokens would stop at the first mistake), as the grammar lays them out."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable

from pdp.base.source import Span
from .edits import offset_of, span_at

# Statement keywords: a statement starts with one, first on its line (allow, deny, policy, lookup are reserved)
STATEMENTS = ("policy", "allow", "deny", "lookup", "ledger", "condition")
RULE_CLAUSES = ("cite", "to", "for", "of", "when", "unless", "oblige", "advise", "overrides", "accept")
HEADER_CLAUSES = ("version", "effective", "title", "model")
VALUE_OPERATORS = ("==", "!=", "in", "under", "matches", "[", ",", "<", "<=", ">", ">=")
_STATEMENT_LINE = re.compile(r"[ \t]*(policy|allow|deny|lookup|ledger|condition)(?![A-Za-z0-9_.\-])")

_TOKEN = re.compile(r"""
    (?P<comment>\#[^\n]*)
  | (?P<string>"(?:[^"\\\n]|\\.)*("|(?=\n)|$))
  | (?P<word>[A-Za-z_][A-Za-z0-9_\-]*(?:\.[A-Za-z_][A-Za-z0-9_\-]*)*\.?)
  | (?P<number>\d[\d.\-]*)
  | (?P<op>==|!=|<=|>=|[<>+\-,\[\]()=])
  | (?P<space>\s+)
  | (?P<other>.)
""", re.VERBOSE)


@dataclass(frozen=True)
class Token:
    kind: str  # "word", "string", "number", "op", "other"
    text: str
    start: int  # offset in the file's text
    end: int

    @property
    def closed(self) -> bool:
        """A string that has its closing quote."""
        return self.kind != "string" or (len(self.text) >= 2 and self.text.endswith('"'))


def tokens(text: str, start: int = 0, end: int | None = None) -> list[Token]:
    """The tokens of text[start:end], comments and spaces left out."""
    end = len(text) if end is None else end
    out = []
    for match in _TOKEN.finditer(text, start, end):
        kind = match.lastgroup or "other"
        if kind not in ("comment", "space"):
            out.append(Token(kind, match.group(), match.start(), match.end()))
    return out


def statement_start(text: str, offset: int) -> int:
    """The offset of the statement the position is in: the nearest line at or before it that starts with a
    statement keyword (0 when there is none)."""
    line_start = text.rfind("\n", 0, offset) + 1
    while True:
        if _STATEMENT_LINE.match(text, line_start):
            return line_start + len(text[line_start:]) - len(text[line_start:].lstrip(" \t"))
        if line_start == 0:
            return 0
        line_start = text.rfind("\n", 0, line_start - 1) + 1


@dataclass(frozen=True)
class At:
    """A position in a policy file: the tokens of its statement before it, and the word being typed there."""

    text: str
    path: str
    offset: int
    before: list[Token]  # the statement's tokens that end before the word at the position
    word: Token | None  # the word or string the position is in or right after (being typed), if any

    @property
    def prefix(self) -> str:
        """What of the word is typed before the position (without a string's opening quote)."""
        if self.word is None:
            return ""
        typed = self.text[self.word.start:self.offset]
        return typed[1:] if self.word.kind == "string" else typed

    @property
    def in_string(self) -> bool:
        return self.word is not None and self.word.kind == "string"

    @property
    def replace(self) -> Span:
        """The span a completion replaces: the typed part of the word (inside a string, after its quote)."""
        start = self.offset if self.word is None else self.word.start + (1 if self.in_string else 0)
        return span_at(self.text, self.path, start, self.offset)

    @property
    def line_start(self) -> bool:
        """Is the word (or the position) first on its line, at column 1? (where a statement starts)"""
        start = self.offset if self.word is None else self.word.start
        return start == 0 or self.text[start - 1] == "\n"


def at(text: str, path: str, line: int, col: int) -> At:
    """The statement context at (line, col) of a policy file's text."""
    offset = offset_of(text, line, col)
    start = statement_start(text, offset)
    found = tokens(text, start, _line_end(text, offset))
    before = [t for t in found if t.end < offset or (t.end == offset and t.kind not in ("word", "string", "number"))]
    word = next((t for t in found if t.start < offset <= t.end and t.kind in ("word", "string", "number")), None)
    if word is not None and word.kind == "string" and word.closed and offset == word.end:
        before, word = before + [word], None  # right after a closed string: a new word starts
    before = [t for t in before if t.end <= (word.start if word else offset)]
    return At(text, path, offset, before, word)


def word_at(text: str, line: int, col: int) -> Token | None:
    """The word, string or number the position is on (or right after)."""
    offset = offset_of(text, line, col)
    line_start = text.rfind("\n", 0, offset) + 1
    found = [t for t in tokens(text, line_start, _line_end(text, offset)) if t.kind in ("word", "string", "number")]
    inside = next((t for t in found if t.start <= offset < t.end), None)
    return inside or next((t for t in found if t.end == offset), None)


def _line_end(text: str, offset: int) -> int:
    end = text.find("\n", offset)
    return len(text) if end < 0 else end


def clause_of(toks: list[Token], words: Iterable[str]) -> tuple[str, list[Token]] | None:
    """The last of `words` among the tokens (not `of` in `has any of`), and the tokens after it."""
    wanted = set(words)
    for i in range(len(toks) - 1, -1, -1):
        t = toks[i]
        if t.kind == "word" and t.text in wanted and not (t.text == "of" and i and toks[i - 1].text in ("any", "all")):
            return t.text, toks[i + 1:]
    return None


def value_operator(tail: list[Token]) -> tuple[str, str | None] | None:
    """When the cursor is where a value goes: the operator before it, and the attribute it is compared with."""
    i = len(tail) - 1
    if tail[i].text in ("[", ","):
        depth = 0
        while i >= 0:  # back to the list's opening bracket
            if tail[i].text == "]":
                depth += 1
            elif tail[i].text == "[":
                if depth == 0:
                    break
                depth -= 1
            i -= 1
        if i < 0:
            return None
        if i == 0 or tail[i - 1].text not in ("in", "of", "under", "==", "!="):
            return None
        i -= 1
    op = tail[i].text
    if op not in VALUE_OPERATORS and op != "of":
        return None
    j = i - 1
    while j >= 0 and tail[j].text in ("not", "has", "any", "all"):
        j -= 1
    left = tail[j].text if j >= 0 and tail[j].kind == "word" else None
    return ("has" if op == "of" else op), left
