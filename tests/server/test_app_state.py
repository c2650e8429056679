"""`AppState` (app.state read as plain attributes) against Starlette's `State`: the same reads after any writes."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from starlette.datastructures import State

from pdp.server import Settings, app_state, create_app
from pdp.server.app_state import AppState

READ = ["holder", "metrics", "decision_log", "ledger", "ledger_states", "settings", "_state"]
NAMES = st.sampled_from(READ)
STEPS = st.lists(st.tuples(st.sampled_from(["set", "delete"]), NAMES, st.integers() | st.none() | st.text()),
                 max_size=30)


def _apply(state: State, steps) -> list:
    """Each step's outcome: what deleting or setting raised, if anything."""
    outcomes = []
    for action, name, value in steps:
        try:
            if action == "set":
                setattr(state, name, value)
            else:
                delattr(state, name)
            outcomes.append(None)
        except (AttributeError, KeyError) as error:
            outcomes.append(type(error))
    return outcomes


def _reads(state: State) -> dict:
    out = {}
    for name in READ:
        try:
            out[name] = ("value", getattr(state, name))
        except AttributeError:
            out[name] = ("absent", None)
    return out


@given(steps=STEPS)
def test_app_state_reads_as_starlettes_state(steps):
    """Any sets and deletes: the same values (and absences, and failures) as Starlette's own State, by attribute
    and by item, and the same dict underneath."""
    mirrored, plain = AppState(), State()
    assert _apply(mirrored, steps) == _apply(plain, steps)
    assert _reads(mirrored) == _reads(plain)
    assert mirrored._state == plain._state
    assert all(mirrored[key] == plain[key] for key in plain._state)


@pytest.mark.parametrize("mirrored", [True, False])
def test_the_app_is_given_the_state_of_the_switch(monkeypatch, tmp_path, mirrored):
    monkeypatch.setattr(app_state, "MIRRORED", mirrored)
    app = create_app(Settings(policy_dir=tmp_path, reload=False))
    assert isinstance(app.state, AppState) is mirrored
    assert app.state.settings.policy_dir == tmp_path
    assert app.state._state["settings"] is app.state.settings
