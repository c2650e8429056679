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


def caret_excerpt(source_text: str | None, span: Span) -> str:
    """The source line of `span` with a caret line under the spanned text."""
    if not source_text or span.line < 1:
        return ""
    lines = source_text.splitlines()
    if span.line > len(lines):
        return ""
    line = lines[span.line - 1].expandtabs(4)
    start = max(span.col - 1, 0)
    if span.end_line == span.line and span.end_col > span.col:
        width = span.end_col - span.col
    else:
        width = 1
    width = max(1, min(width, max(len(line) - start, 1)))
    gutter = f"{span.line:>4} | "
    pad = " " * (len(gutter) - 2) + "| "
    return f"{gutter}{line}\n{pad}{' ' * start}{'^' * width}"
