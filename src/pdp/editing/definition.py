"""Definition: where the word at a position of a policy file is defined."""

from __future__ import annotations

from pdp.base.source import Span
from .workspace import Workspace


def definition(ws: Workspace, path: str, line: int, col: int) -> Span | None:
    """Where the word at (line, col) of `path` is defined (span.file: a workspace path); None when nowhere."""
    return None
