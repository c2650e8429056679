"""The search for the smallest changes that would allow a denied request, each decided by the engine itself."""

from __future__ import annotations

import copy
from itertools import combinations
from typing import Any

from pdp.engine.policy_set import PolicySet
from pdp.base.errors import RequestError
from .candidates import _single_changes
from .model import Change, Suggestion
from .target import Target
from .values import read

LIMIT = 10  # suggestions reported at most
BUDGET = 2000  # requests decided at most while looking for two-attribute changes


def changed(request: dict, changes) -> dict | None:
    """A copy of the request with the changes made (None if one cannot be made)."""
    out = copy.deepcopy(request)
    for change in changes:
        if change.kind == "drop":
            out["data_categories"] = [c for c in out["data_categories"] if c != change.value]
            continue
        *parents, last = change.attribute.split(".")
        holder: Any = out  # the dict the change is made in, once the walk gets there
        for part in parents:
            if holder.get(part) is None and change.kind == "set":
                holder[part] = {}
            holder = holder.get(part)
            if type(holder) is not dict:
                if change.kind == "set":
                    return None
                break
        else:
            if change.kind == "set":
                holder[last] = change.value
            else:
                holder.pop(last, None)
    return out


def _allows(policy_set: PolicySet, request: dict | None) -> bool:
    if request is None:
        return False
    try:
        return policy_set.outcome(request).decision == "allow"
    except RequestError:
        return False


def suggest_changes(policy_set: PolicySet, request: dict, target: Target, env: dict, judge=None) -> tuple[Suggestion, ...]:
    """The smallest changes of a denied request that the engine would allow: one attribute if any will do, else two.

    The changes tried come from `policy_set`'s rules (the version that decided the request); `judge`
    (default: `policy_set`) decides each changed request, as it would be decided if asked anew.
    """
    judge = judge or policy_set
    candidates = _single_changes(policy_set, request, target, env)
    flips = [(size, c) for size, c in candidates if _allows(judge, changed(request, (c,)))]
    if flips:
        flips = _merge_yes_no(flips, request)
        flips.sort(key=lambda sc: sc[0])
        return tuple(Suggestion((c,)) for _, c in flips[:LIMIT])
    pairs = sorted((sa + sb, i, j, (a, b)) for (i, (sa, a)), (j, (sb, b)) in combinations(enumerate(candidates), 2)
                   if a.attribute != b.attribute or a.kind == "drop")
    found: list[Suggestion] = []
    for *_, changes in pairs[:BUDGET]:
        if _allows(judge, changed(request, changes)):
            found.append(Suggestion(changes))
            if len(found) == LIMIT:
                break
    return tuple(found)


def _merge_yes_no(flips: list[tuple[int, Change]], request: dict) -> list[tuple[int, Change]]:
    """`x were true` and `x were not in the request`, for x now false: `x were not false`."""
    out = list(flips)
    for size, change in flips:
        current = read(request, tuple(change.attribute.split(".")))
        if change.kind != "remove" or not isinstance(current, bool):
            continue
        other = Change(change.attribute, "set", not current)
        if (size, other) in out:
            at = out.index((size, other))
            out[at] = (size, Change(change.attribute, "not", current))
            out.remove((size, change))
    return out
