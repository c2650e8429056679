"""Values at dotted paths in nested dicts (requests, policy data): read one, write one.

Pure helpers shared by the registers, the decision log's view of a request
and the decision space, which all address a request or the policy data by
path (`("recipient", "id")`).
"""

from __future__ import annotations

from typing import Any


def value_at(tree: Any, parts: tuple[str, ...], missing: Any = None) -> Any:
    """The value at `parts` in `tree`, or `missing` when a step is not a dict or lacks the key."""
    value = tree
    for part in parts:
        if not isinstance(value, dict) or part not in value:
            return missing
        value = value[part]
    return value


def set_at(tree: dict[str, Any], parts: tuple[str, ...], value: Any) -> None:
    """Set the value at `parts` in `tree`, making (or replacing by) dicts on the way."""
    node = tree
    for part in parts[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            child = node[part] = {}
        node = child
    node[parts[-1]] = value
