"""Why one condition is what it is, in plain words: the parts that decided it and the values it read."""

from __future__ import annotations

from pdp.engine.policy_set import PolicySet
from pdp.lang import ast
from pdp.engine.conditions import MISSING, compile_value
from pdp.engine.requested import REQUESTED, SOME
from .evaluator import Node
from .values import _word, fmt, read, show


def _because(node: Node, want: bool, env: dict, notes: "_Origins") -> list[str]:
    """Why a condition is what it is: its value, then the parts that made it so."""
    text = show(node.expr)
    if node.error is not None and not node.children:
        return [f"{text} could not be evaluated: {node.error}"]
    if isinstance(node.expr, (ast.And, ast.Or, ast.Not, ast.Named)):
        lines = [f"{text} could not be evaluated" if node.error else f"{text} is {_word(node.value)}"]
        holds = node.error is None and node.value is want
        for child in node.children:
            child_want = (not want) if isinstance(node.expr, ast.Not) else want
            if child.reached and (child.error is None and child.value is child_want) == holds:
                lines += ["  " + line for line in _because(child, child_want, env, notes)]
        return lines
    detail = _detail(node, env, notes)
    return [f"{text} is {_word(node.value)}" + (f": {detail}" if detail else "")]


def _detail(node: Node, env: dict, notes: "_Origins") -> str:
    """The attributes a comparison read, and their values."""
    expr = node.expr
    if isinstance(expr, ast.Truth) and node.value is not None:
        return ""
    said, seen = [], set()
    for part in ast.walk(expr):
        if isinstance(part, ast.Index):  # the entry found, not the whole table (its key is read below)
            seen.add(part.table.dotted)
            value = compile_value(part, notes.data)(env)
            said.append(f"{show(part)} is {fmt(value)}" if value is not MISSING
                        else f"{part.table.dotted} has no entry for {show(part.key)}" + (f" with {'.'.join(part.rest)}"
                                                                                 if part.rest else ""))
            continue
        if not isinstance(part, ast.Path) or part.dotted in seen:
            continue
        seen.add(part.dotted)
        if part.parts[0] == "data":
            value = compile_value(part, notes.data)(env)
            if isinstance(value, dict):
                value = list(value)
            if isinstance(value, (list, set, frozenset)) and len(value) > 10:
                said.append(f"{part.dotted} has {len(value)} entries")
            else:
                said.append(f"{part.dotted} is {fmt(value)}")
            continue
        value = read(env, part.parts)
        if value is MISSING:
            said.append(notes.ignored(part) or f"{part.dotted} is not in the request")
        else:
            said.append(f"{part.dotted} is {fmt(value)}{notes.origin(part.parts)}{_broad(node, part)}")
    return "; ".join(said)


def _broad(node: Node, path: ast.Path) -> str:
    """A broad requested key read on the safe side of its rule (requested.py) says so: its value is not the key's."""
    if node.broad is None or path.parts not in REQUESTED:
        return ""
    return f", read for {'any' if node.broad == SOME else 'every'} key it names (a broad key)"


class _Origins:
    """Says when a value came from a register (`lookup ... in data.x`), not from the request."""

    def __init__(self, policy_set: PolicySet, request: dict):
        self.data = policy_set.data
        self.request = request
        self.compiled = policy_set.lookups  # registers.CompiledLookup

    def ignored(self, path: ast.Path) -> str:
        """Why an attribute the request gave is not read: the register is authoritative (language.md §4)."""
        parts = path.parts
        for lookup in self.compiled:
            part = self.request.get(lookup.root) if isinstance(self.request, dict) else None
            if parts[0] != lookup.root or len(parts) < 2 or not isinstance(part, dict) or part.get(parts[1]) is None:
                continue
            ident = part.get("id")
            if isinstance(ident, str) and isinstance(lookup.register.get(ident), dict):
                return (f"{path.dotted} is not in {lookup.named} for {lookup.root}.id {fmt(ident)} "
                        "(the request's value is not read)")
            who = f"{lookup.root}.id {fmt(ident)}" if ident is not None else f"a {lookup.root} without an id"
            return (f"{path.dotted} is not read from the request: {lookup.named} does not list {who}, "
                    f"and the request may not state its {parts[1]}")
        return ""

    def origin(self, parts: tuple[str, ...]) -> str:
        for root, register, wins, *_, name in self.compiled:
            part = self.request.get(root) if isinstance(self.request, dict) else None
            if parts[0] != root or len(parts) < 2 or not isinstance(part, dict):
                continue
            try:
                record = register.get(part.get("id"))
            except TypeError:
                continue
            if isinstance(record, dict) and parts[1] in record and not (parts[1] in wins and part.get(parts[1]) is not None):
                return f" (from {name} for {root}.id {fmt(part.get('id'))})"
        return ""
