"""The decision log writer's fast paths give what the plain paths give, for any request."""

from __future__ import annotations

from unittest.mock import patch

from hypothesis import example, given, settings
from hypothesis import strategies as st

import pdp.io.log_view as lv
from pdp.base.pseudonym import pseudonym
from pdp.io.log_view import FIELDS, IDENTIFIERS, Selection

KEY = b"k" * 32
PSEUDONYM = pseudonym(KEY, "u-1")  # kept as it is wherever it stands
READ = frozenset({("data_subject", "consent", "marketing"), ("context", "note"), ("recipient", "id"),
                  ("data_subject", "tags"), ("resource", "properties", "owner")})
WORDS = frozenset({"use", "share", "marketing", "IN", "customer", "user.contact"})
SELECTIONS = (Selection(), Selection(READ, WORDS), Selection(READ, WORDS).with_attributes(["context", "data_subject.x"]))

# The names a request may use: those the log keeps (at any depth) and some it does not.
NAMES = sorted({part for path in (*FIELDS, *IDENTIFIERS, *READ) for part in path} | {"note", "x", "other", "1"})
short = st.text(max_size=6)
texts = st.one_of(st.sampled_from([*WORDS, PSEUDONYM, "x" * 9, "u-1"]), short, st.text(min_size=7, max_size=12))
scalars = st.one_of(st.none(), st.booleans(), st.integers(-5, 10**20), st.floats(allow_nan=False), texts)
names = st.one_of(st.sampled_from(NAMES), short)  # requests come parsed from JSON: names are strings
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=5),
                                                      st.dictionaries(names, inner, max_size=5)), max_leaves=25)
# Values placed where the log looks (every path it keeps, its parents, a name below), and anywhere else.
PLACES = sorted({path[:end] for path in (*FIELDS, *IDENTIFIERS, *READ) for end in range(1, len(path) + 1)}
                | {(*path, "x") for path in (*FIELDS, *READ)})
placed = st.lists(st.tuples(st.sampled_from(PLACES), values), max_size=8)


@st.composite
def requests(draw) -> dict:
    request = draw(st.dictionaries(names, values, max_size=4))
    for path, value in draw(placed):
        node = request
        for part in path[:-1]:
            if not isinstance(node.get(part), dict):
                node[part] = {}
            node = node[part]
        node[path[-1]] = value
    return request


MANY = settings(max_examples=settings.default.max_examples * 10)  # a view costs microseconds


def small_bounds():
    """Bounds small enough that generated requests pass them (long texts, long lists, deep nesting)."""
    return patch.multiple(lv, MAX_TEXT=8, MAX_ITEMS=3, MAX_DEPTH=2)


def plain_and_fast(request: dict, selection: Selection) -> tuple:
    try:
        lv.FAST_PATHS = False
        plain = lv.view(request, key=KEY, selection=selection)
    finally:
        lv.FAST_PATHS = True
    return plain, lv.view(request, key=KEY, selection=selection)


@MANY
@given(request=requests(), which=st.sampled_from(range(len(SELECTIONS))))
@example(request={"context": {"note": PSEUDONYM}, "data_subject": {"id": PSEUDONYM, "tags": "hmac:"}}, which=1)
def test_the_fast_view_is_the_plain_view(request, which):
    plain, fast = plain_and_fast(request, SELECTIONS[which])
    assert fast == plain
    assert repr(fast) == repr(plain)  # the same types and the same order, not only equal values


@MANY
@given(request=requests(), which=st.sampled_from(range(len(SELECTIONS))))
def test_the_fast_view_is_the_plain_view_at_the_bounds(request, which):
    with small_bounds():
        plain, fast = plain_and_fast(request, SELECTIONS[which])
    assert repr(fast) == repr(plain)


def test_the_fast_view_does_not_share_the_callers_values():
    request = {"data_categories": ["user.contact"], "data_subject": {"consent": {"marketing": True}, "id": "u-1"}}
    out, people = lv.view(request, key=KEY, selection=Selection(READ, WORDS))
    out["data_categories"].append("changed")
    out["data_subject"]["consent"]["marketing"] = False
    assert request == {"data_categories": ["user.contact"], "data_subject": {"consent": {"marketing": True}, "id": "u-1"}}
    assert people == [pseudonym(KEY, "u-1")]
