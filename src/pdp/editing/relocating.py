"""Warnings moved with their text: an edit that changes only the layout of policy files (a line added or joined,
indentation, what `pdp fmt` does, a comment) changes no warning but where each is. The warnings found for a set of
the same tokens are moved to the new positions, token for token, instead of analysing the set again.

The tokens (pdp.editing.context: words, texts in quotes, numbers, operators; no comments, no spaces) key the
layouts; the syntax trees, compared (their spans are not), prove the two sets the same, and a warning is moved
only when each end of its span is an end of a token (else the set is analysed, as without this)."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, replace
from typing import Any

from pdp.base.errors import Diagnostic
from pdp.base.source import Span
from pdp.engine.sources import Sources
from .context import tokens
from .edits import offset_of, position_of

RELOCATE = True  # False: a change of layout analyses the set again (the plain path a property test compares)
_POSITION = re.compile(r"\.pdp:\d+:\d+")  # a message that names a place would keep the old one


@dataclass(frozen=True)
class Layout:
    """Where each token of each policy file is; `key`: what the tokens are, with the other files' texts."""

    key: str
    texts: dict[str, str]
    bounds: dict[str, list[tuple[int, int]]]  # path -> each token's (start, end) offsets, in order

    def starts(self, path: str) -> dict[int, int]:
        return {start: i for i, (start, _) in enumerate(self.bounds[path])}

    def ends(self, path: str) -> dict[int, int]:
        return {end: i for i, (_, end) in enumerate(self.bounds[path])}


def layout_of(sources: Sources) -> Layout:
    h = hashlib.sha256()
    bounds = {}
    for path, text in sorted(sources.texts().items()):
        if path in sources.policies:
            found = tokens(text)
            bounds[path] = [(t.start, t.end) for t in found]
            text = " ".join(t.text for t in found)  # (no token holds a space outside quotes: the join is one-to-one)
        h.update(path.encode() + b"\0" + text.encode() + b"\0")
    return Layout("sha256:" + h.hexdigest(), dict(sources.policies), bounds)


def relocated(warnings: tuple[Diagnostic, ...], old: Layout, new: Layout) -> tuple[Diagnostic, ...] | None:
    """The warnings of the `old` layout at the places of the `new` one's tokens; None when one cannot be moved."""
    out = []
    moves: dict[str, Any] = {}
    for warning in warnings:
        if warning.fixes or any(_POSITION.search(t or "") for t in (warning.message, warning.hint, warning.accepted)):
            return None
        span = warning.span
        if span.file not in old.bounds:
            out.append(warning)  # not a policy file's: its text is the same
            continue
        if span.file not in moves:
            moves[span.file] = (old.texts[span.file], new.texts[span.file], old.starts(span.file),
                                old.ends(span.file), new.bounds[span.file])
        moved = _moved(span, *moves[span.file])
        if moved is None:
            return None
        out.append(replace(warning, span=moved))
    return tuple(out)


def _moved(span: Span, before: str, after: str, starts: dict[int, int], ends: dict[int, int],
           bounds: list[tuple[int, int]]) -> Span | None:
    start = starts.get(offset_of(before, span.line, span.col))
    if start is None:
        return None
    line, col = position_of(after, bounds[start][0])
    if not span.end_line:
        return Span(span.file, line, col)
    end = ends.get(offset_of(before, span.end_line, span.end_col))
    if end is None:
        return None
    return Span(span.file, line, col, *position_of(after, bounds[end][1]))
