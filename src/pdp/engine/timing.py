"""The request's time: `now` in conditions, given by the request or stamped at the edge. Pure: the moment is passed in.

A decision is deterministic given its request: the engine never reads a
clock. A request that carries `now` (a day, `YYYY-MM-DD`) is decided for
that day. One that does not is stamped where it enters pdp, before it is
decided (`pdp decide`; `pdp serve`, which refuses a client's own `now`): with
the day of its `as_of` when it asks about the past, else with the day (UTC)
of the moment it is decided, which the edge reads from its clock. A request
that reaches the engine unstamped leaves `now` absent, so a test of it is
unknown, as any missing attribute is.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from pdp.lang import ast

if TYPE_CHECKING:  # (policy_set imports this module)
    from .policy_set import PolicySet


def stamped(request: Any, moment: datetime) -> Any:
    """`request` with `now` set (a copy), unless it has one or is no request: the day of its `as_of` (a time with
    its zone) if it has a valid one, else the day (UTC) of `moment`. A bad `as_of` is left for the request check
    to refuse, and `now` then stays unset."""
    if not isinstance(request, dict) or request.get("now") is not None:
        return request
    as_of = request.get("as_of")
    if as_of is not None:
        try:
            moment = datetime.fromisoformat(as_of) if isinstance(as_of, str) else None  # type: ignore[assignment]
        except ValueError:
            moment = None  # type: ignore[assignment]
        if moment is None or moment.tzinfo is None:
            return request
    return {**request, "now": moment.astimezone(timezone.utc).date().isoformat()}


NOW = ("now",)


def reads_now(policy_set: PolicySet) -> bool:
    """Whether a rule of any version of the set reads `now` (only then does an edge need to stamp it)."""
    return any(NOW in ast.paths_in(rule.source) for version in policy_set.history for rule in version.rules)


__all__ = ["NOW", "reads_now", "stamped"]
