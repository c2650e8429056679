"""`app.state` whose values are read as plain attributes (`MIRRORED`).

Why: Starlette's `State` keeps its values in a dict and finds each through
`__getattr__`, a Python call (about 0.4 µs); a `/v1/decide` request reads
several of them (the policy holder, the metrics, the decision log, the
ledger's states). `AppState` keeps every value in that dict, as Starlette
does (so `State`'s other readers see the same), and also as an ordinary
attribute of the object, which Python finds without a call. Setting and
deleting go through both, so the two never disagree (a property test,
tests/server/test_app_state.py, holds its reads equal to `State`'s).
`MIRRORED = False` gives Starlette's own `State`.
"""

from __future__ import annotations

from typing import Any

from starlette.datastructures import State

MIRRORED = True


class AppState(State):
    """Starlette's `State`, each value also an attribute of the object (see the module)."""

    def __setattr__(self, key: Any, value: Any) -> None:
        super().__setattr__(key, value)
        if _mirrored(key):
            object.__setattr__(self, key, value)

    def __delattr__(self, key: Any) -> None:
        super().__delattr__(key)
        if _mirrored(key):
            object.__delattr__(self, key)


def _mirrored(key: Any) -> bool:
    # The dict itself (`_state`, an attribute of the object) and a name the class has (a dunder) read as themselves
    # on Starlette's State too: never shadowed by a value, so that such a name reads alike either way.
    return isinstance(key, str) and key != "_state" and not hasattr(AppState, key)


def service_state() -> State:
    """The `app.state` a pdp app is given."""
    return AppState() if MIRRORED else State()
