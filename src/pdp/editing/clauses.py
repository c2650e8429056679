"""The clauses of the privacy policy kept beside a set (clauses.yaml: "§3.2": its text), as rules cite them."""

from __future__ import annotations

from .workspace import Workspace


def clause_text(ws: Workspace, clause: str) -> str | None:
    """The text of `clause` ("§3.2") from the set's clauses.yaml; None when it has none."""
    return None
