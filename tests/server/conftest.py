"""Fixtures of the server tests."""

import pytest

from tests.support.serve import SERVE_VARIABLES, own_environment


@pytest.fixture
def clean_environment():
    """For `pdp serve` run in this process: no PDP_* serve variables, and the environment put back after."""
    with own_environment(*SERVE_VARIABLES):
        yield
