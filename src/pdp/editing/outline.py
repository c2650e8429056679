"""The outline of a policy file (its header, rules, named conditions, lookups, ledger fills) and its formatting."""

from __future__ import annotations

from dataclasses import dataclass

from pdp.base.source import Span
from pdp.lang import ast
from pdp.lang.formatter import format_policy
from pdp.lang.parser import parse_policy
from .workspace import Workspace


@dataclass(frozen=True)
class Symbol:
    """One statement of a policy file as an outline lists it. `kind`: "policy" (the header), "rule",
    "condition", "lookup" or "ledger"; `span` covers the statement."""

    name: str
    kind: str
    span: Span
    detail: str = ""


def text_of(ws: Workspace, path: str) -> str:
    """The text of `path`; a KeyError naming it when the workspace has no such file."""
    try:
        return ws.texts[path]
    except KeyError:
        raise KeyError(f"`{path}` is not a file of the policy set") from None


def parsed(ws: Workspace, path: str) -> ast.PolicyFile:
    """The statements of a policy file that parse (those before and after a syntax error too)."""
    return parse_policy(text_of(ws, path), path)[0]


def symbols(ws: Workspace, path: str) -> list[Symbol]:
    """The statements of a policy file, in the order written; a statement that does not parse is left out."""
    policy = parsed(ws, path)
    found = [Symbol(h.name, "policy", h.span, " ".join(x for x in (h.version, h.title) if x))
             for h in policy.headers]
    found += [Symbol(r.id, "rule", r.span, r.effect + (f" ({r.cite})" if r.cite else "")) for r in policy.rules]
    found += [Symbol(c.name, "condition", c.span, c.text) for c in policy.conditions]
    found += [Symbol(lk.root, "lookup", lk.span, f"in {lk.named}") for lk in policy.lookups]
    found += [Symbol(f.attribute.dotted, "ledger", f.span, f"from {f.source}") for f in policy.ledger_fills]
    return sorted(found, key=lambda s: (s.span.line, s.span.col))


def format_file(ws: Workspace, path: str) -> str:
    """The policy file in pdp's layout (`pdp fmt`). Raises PolicyError when it does not parse."""
    return format_policy(text_of(ws, path), path)
