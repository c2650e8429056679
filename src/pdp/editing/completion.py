"""Completion: what may be written at a position of a policy file."""

from __future__ import annotations

from dataclasses import dataclass

from pdp.base.source import Span
from .workspace import Workspace


@dataclass(frozen=True)
class Completion:
    """A word that may be written at the cursor. `kind`: "category", "purpose", "action", "attribute", "topic",
    "register", "rule", "condition", "keyword", "country" or "value"; `replace`: the partial word it replaces
    (None: inserted at the cursor); `insert_text`: what is written, when it is not the label."""

    label: str
    kind: str
    detail: str = ""
    documentation: str = ""
    insert_text: str | None = None
    replace: Span | None = None


def complete(ws: Workspace, path: str, line: int, col: int) -> list[Completion]:
    """The words that may be written at (line, col) of `path`."""
    return []
