"""Positions in a text, as pdp counts them and as an LSP client does (pure).

pdp (`pdp.base.source.Span`) counts 1-based lines broken at `\n` only and 1-based columns in code points.
An LSP client counts 0-based lines broken at `\n`, `\r\n` and `\r`, and 0-based characters in the code
units of the encoding agreed at `initialize` (UTF-16 unless the client offers another). A lone `\r` inside
a comment is one line to the client and none to pdp: both are read through the code-point offset into the
whole text, so a position never lands on the wrong line.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass
from functools import cached_property

UTF8, UTF16, UTF32 = "utf-8", "utf-16", "utf-32"
ENCODINGS = (UTF8, UTF16, UTF32)

_LSP_BREAK = re.compile(r"\r\n|\r|\n")


def units_of(char: str, encoding: str) -> int:
    """How many code units one code point takes in `encoding`."""
    point = ord(char)
    if encoding == UTF16:
        return 2 if point > 0xFFFF else 1
    if encoding == UTF8:
        return 1 if point < 0x80 else 2 if point < 0x800 else 3 if point < 0x10000 else 4
    return 1


def units_in(text: str, encoding: str) -> int:
    """How many code units `text` takes in `encoding`."""
    if encoding == UTF32 or text.isascii():
        return len(text)
    return sum(units_of(char, encoding) for char in text)


def points_in(text: str, units: int, encoding: str) -> int:
    """How many code points of `text` fit in its first `units` code units (a position inside a character
    counts as before it; past the end, the whole text)."""
    if encoding == UTF32 or text.isascii():
        return min(max(units, 0), len(text))
    seen = 0
    for count, char in enumerate(text):
        seen += units_of(char, encoding)
        if seen > units:
            return count
    return len(text)


@dataclass(frozen=True)
class Positions:
    """One text's positions both ways. Out-of-range positions are clamped to the nearest place in the text:
    a stale position from a client, or a span of a whole file (line 0), never raises."""

    text: str
    encoding: str = UTF16

    @cached_property
    def _pdp_starts(self) -> list[int]:
        """Code-point offsets where pdp's lines start."""
        return [0] + [found.end() for found in re.finditer("\n", self.text)]

    @cached_property
    def _lsp_starts(self) -> list[int]:
        """Code-point offsets where the client's lines start."""
        return [0] + [found.end() for found in _LSP_BREAK.finditer(self.text)]

    def _pdp_line_end(self, index: int) -> int:
        starts = self._pdp_starts
        end = starts[index + 1] - 1 if index + 1 < len(starts) else len(self.text)
        if end > starts[index] and end < len(self.text) and self.text[end - 1] == "\r":
            end -= 1  # pdp's lines end before `\r\n` (pdp.base.source.source_lines)
        return end

    def _lsp_line_end(self, index: int) -> int:
        starts = self._lsp_starts
        if index + 1 >= len(starts):
            return len(self.text)
        end = starts[index + 1]
        return end - 2 if self.text[end - 2:end] == "\r\n" else end - 1

    def offset(self, line: int, col: int) -> int:
        """The code-point offset of pdp's 1-based `line` and `col` (a column past the line's end: its end)."""
        if line < 1:
            return 0
        starts = self._pdp_starts
        if line > len(starts):
            return len(self.text)
        start = starts[line - 1]
        return min(start + max(col - 1, 0), self._pdp_line_end(line - 1))

    def at(self, offset: int) -> tuple[int, int]:
        """pdp's 1-based line and column of a code-point offset."""
        offset = min(max(offset, 0), len(self.text))
        index = bisect_right(self._pdp_starts, offset) - 1
        return index + 1, offset - self._pdp_starts[index] + 1

    def to_lsp(self, line: int, col: int) -> tuple[int, int]:
        """pdp's 1-based (line, column in code points) as the client's 0-based (line, character in units)."""
        return self.lsp_at(self.offset(line, col))

    def lsp_at(self, offset: int) -> tuple[int, int]:
        """The client's 0-based (line, character) of a code-point offset."""
        offset = min(max(offset, 0), len(self.text))
        index = bisect_right(self._lsp_starts, offset) - 1
        start = self._lsp_starts[index]
        offset = min(offset, self._lsp_line_end(index))  # inside a `\r\n`: the line's end
        return index, units_in(self.text[start:offset], self.encoding)

    def lsp_offset(self, line: int, character: int) -> int:
        """The code-point offset of the client's 0-based `line` and `character`."""
        if line < 0:
            return 0
        starts = self._lsp_starts
        if line >= len(starts):
            return len(self.text)
        start, end = starts[line], self._lsp_line_end(line)
        return start + points_in(self.text[start:end], character, self.encoding)

    def from_lsp(self, line: int, character: int) -> tuple[int, int]:
        """The client's 0-based (line, character in units) as pdp's 1-based (line, column in code points)."""
        return self.at(self.lsp_offset(line, character))
