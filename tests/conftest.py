"""Hypothesis profiles: a quick one for a developer's run, the full one (the counts CI runs) under `CI`.

`quick` (the default) draws few examples, new ones each run: `python -m pytest`
stays short, and the property tests keep exploring. `full` draws many more
and replays the same ones on every run (`derandomize`), so a red CI run is a
reproducible one and main does not turn red at random from an example a
previous run never drew. `.ci/run` sets `CI=true`; run the full profile
locally with `CI=true python -m pytest` or `python -m pytest
--hypothesis-profile=full`. A failure either finds is pinned with `@example`.

A test sets no example count of its own: the profile decides, and a property
whose every example costs several times as much as most asks for a share of it
(`tests.support.generate.fewer`).
"""

import os

import pytest
from hypothesis import settings

import pdp
from tests.support.sets import CX_ONE_GO

pytest_plugins = ["tests.support.postgres", "tests.support.ledger"]  # the ledger's backends, PostgreSQL among them

# No deadline: the machines that run the suite are shared, and a slow example is not a wrong one.
settings.register_profile("quick", max_examples=25, deadline=None)
settings.register_profile("full", max_examples=300, deadline=None, derandomize=True, database=None)
settings.load_profile("full" if os.environ.get("CI") else "quick")


def pytest_xdist_auto_num_workers(config) -> int:
    """`-n auto` (pyproject.toml): the whole suite runs on every core, in a worker per core, each file on one
    worker (`--dist loadfile`: a module's server or loaded set is built once); a run of chosen tests stays in
    one process, where starting workers would cost more than it saves. `-n 0` runs the whole suite in one."""
    if config.args_source is not pytest.Config.ArgsSource.TESTPATHS:
        return 0
    return len(os.sched_getaffinity(0))


@pytest.fixture(scope="session")
def cx_one_go() -> pdp.PolicySet:
    """The shipped CX-ONE-GO set, loaded once for every test that only reads it; a test that edits the set
    loads an edited copy, and a test of loading itself loads its own."""
    return pdp.load(CX_ONE_GO)
