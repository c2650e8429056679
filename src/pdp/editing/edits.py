"""Edits applied to texts: a fix's replacements, at 1-based lines and columns counted in code points."""

from __future__ import annotations

from pdp.base.errors import Fix, TextEdit
from pdp.base.source import Span
from .workspace import Workspace


def offset_of(text: str, line: int, col: int) -> int:
    """The offset in `text` of (line, col), 1-based; a position past a line's end is its end, past the text, the
    text's end."""
    start = 0
    for _ in range(line - 1):
        found = text.find("\n", start)
        if found < 0:
            return len(text)
        start = found + 1
    end = text.find("\n", start)
    end = len(text) if end < 0 else end
    return min(start + max(col - 1, 0), end)


def position_of(text: str, offset: int) -> tuple[int, int]:
    """The 1-based (line, col) of an offset in `text`."""
    offset = max(0, min(offset, len(text)))
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


def applied_to_text(text: str, edits: list[TextEdit]) -> str:
    """`text` with the edits made (they must not overlap): the last one first, so that none moves another."""
    spans = sorted(((offset_of(text, e.span.line, e.span.col), offset_of(text, e.span.end_line, e.span.end_col),
                     e.new_text) for e in edits), reverse=True)
    for start, end, new_text in spans:
        text = text[:start] + new_text + text[max(start, end):]
    return text


def applied(ws: Workspace, fix: Fix) -> Workspace:
    """The workspace with a fix's edits made, each in its file."""
    files = {e.span.file for e in fix.edits}
    return ws.with_texts({path: applied_to_text(ws.texts[path], [e for e in fix.edits if e.span.file == path])
                          for path in files})


def span_at(text: str, path: str, start: int, end: int) -> Span:
    """The span of text[start:end] in the file `path`."""
    return Span(path, *position_of(text, start), *position_of(text, end))
