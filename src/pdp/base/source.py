"""Source spans and the caret rendering of a position in a policy file.

Every syntax node carries a Span; spans never take part in equality, so two
policies that differ only in layout compare equal.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class Span:
    """Where something is written: file, 1-based line and column, and its end."""

    file: str
    line: int
    col: int
    end_line: int = 0
    end_col: int = 0

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"


NO_SPAN = Span("<unknown>", 0, 0)


EXCERPT_CHARS = 100  # of a source line shown under an error: a 512 KB one-line file must not print 512 KB
EXCERPT_BEFORE = 40  # of them before the caret, when the line is cut
ELLIPSIS = "…"


def source_lines(text: str) -> list[str]:
    """The lines of a policy text as its spans count them: the parser (Lark) breaks lines at `\n` only.

    Not str.splitlines, which also breaks at NEL, the Unicode line separators and form feeds that a comment
    may hold: every line after one would be shown under the wrong line number.
    """
    return [line.removesuffix("\r") for line in text.split("\n")]


def caret_excerpt(source_text: str | None, span: Span) -> str:
    """The source line of `span` with a caret line under the spanned text.

    A line longer than EXCERPT_CHARS is cut to a window around the caret,
    with an ellipsis where it was cut, and the caret stays under the same
    character.
    """
    if not source_text or span.line < 1:
        return ""
    lines = source_lines(source_text)
    if span.line > len(lines):
        return ""
    line = lines[span.line - 1].expandtabs(4)
    start = max(span.col - 1, 0)
    if span.end_line == span.line and span.end_col > span.col:
        width = span.end_col - span.col
    else:
        width = 1
    if len(line) > EXCERPT_CHARS:
        left = max(0, min(start - EXCERPT_BEFORE, len(line) - EXCERPT_CHARS))
        right = left + EXCERPT_CHARS
        before, after = (ELLIPSIS if left > 0 else ""), (ELLIPSIS if right < len(line) else "")
        line = before + line[left:right] + after
        start = start - left + len(before)
        width = min(width, max(len(line) - len(after) - start, 1))
    width = max(1, min(width, max(len(line) - start, 1)))
    gutter = f"{span.line:>4} | "
    pad = " " * (len(gutter) - 2) + "| "
    return f"{gutter}{line}\n{pad}{' ' * start}{'^' * width}"
