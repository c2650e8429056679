"""Hover: what the word at a position of a policy file is."""

from __future__ import annotations

from dataclasses import dataclass

from pdp.base.source import Span
from .workspace import Workspace


@dataclass(frozen=True)
class Hover:
    """What to show over a word: Markdown, and the span of the word it is about."""

    markdown: str
    span: Span


def hover(ws: Workspace, path: str, line: int, col: int) -> Hover | None:
    """What the word at (line, col) of `path` is; None over nothing pdp knows."""
    return None
