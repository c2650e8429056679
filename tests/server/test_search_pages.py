"""search_pages: pages cut from runs of decisions list every allowed candidate once, in order; tokens round-trip."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pdp.base.errors import RequestError
from pdp.server.search_pages import cut, start_of, token


def run_of(allowed: list[bool], start: int, limit: int, bound: int) -> list[bool]:
    """What the endpoint decides from `start`: at most `bound` candidates, stopping once `limit + 1` are allowed."""
    out, hits = [], 0
    for yes in allowed[start:start + bound]:
        out.append(yes)
        hits += yes
        if hits > limit:
            break
    return out


@given(allowed=st.lists(st.booleans(), max_size=60), limit=st.integers(1, 8), bound=st.integers(1, 12))
def test_following_the_pages_lists_every_allowed_candidate_once_in_order(allowed, limit, bound):
    listed, start = [], 0
    for _ in range(len(allowed) + 2):  # each page moves on by at least one candidate
        page = cut(run_of(allowed, start, limit, bound), start, limit, len(allowed) - start)
        assert len(page.chosen) <= limit
        listed += [start + i for i in page.chosen]
        if page.next_start is None:
            break
        assert page.next_start > start
        start = page.next_start
    else:
        raise AssertionError("the pages never ended")
    assert listed == [i for i, yes in enumerate(allowed) if yes]


@given(position=st.integers(0, 10_000), count=st.integers(0, 10_000))
def test_a_token_round_trips_and_is_bound_to_its_search(position, count):
    issued = token(position, "search-a")
    if position <= count:
        assert start_of(issued, "search-a", count) == position
    else:
        with pytest.raises(RequestError, match="past the end"):
            start_of(issued, "search-a", count)
    with pytest.raises(RequestError) as refused:
        start_of(issued, "search-b", max(count, position))
    assert refused.value.field_errors[0].field == "page.token"


def test_no_token_starts_at_the_beginning():
    assert start_of(None, "search-a", 5) == 0
