"""The decision log writer's fast paths (log_view.FAST_PATHS, decision_log.FAST_ROWS) give what the plain paths
give, for any request: the same view, the same rows in the database."""

from __future__ import annotations

import datetime as dt
import sqlite3
import tempfile
from contextlib import closing
from pathlib import Path
from unittest.mock import patch

from hypothesis import example, given
from hypothesis import strategies as st

import pdp.io.decision_log as dl
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




def small_bounds():
    """Bounds small enough that generated requests pass them (long texts, long lists, deep nesting)."""
    return patch.multiple(lv, MAX_TEXT=8, MAX_ITEMS=3, MAX_DEPTH=2)


def canonical(value):
    """`value` with each map's keys in order and each scalar's type beside it (1, 1.0 and True differ). The order
    of a view's keys may differ between the paths (the compiled plan's order, or the request's): the log stores
    the view as JSON with sorted keys, so the order never reaches a row."""
    if isinstance(value, dict):
        return ("map", sorted((repr(name), canonical(item)) for name, item in value.items()))
    if isinstance(value, (list, tuple)):
        return (type(value).__name__, [canonical(item) for item in value])
    return (type(value).__name__, repr(value))


def plain_and_fast(request: dict, selection: Selection) -> tuple:
    """(the plain view, the fast one), having checked that the fast one is the same walked (`_apply`) and compiled
    (`log_compiled`)."""
    try:
        lv.FAST_PATHS = False
        plain = lv.view(request, key=KEY, selection=selection)
        lv.FAST_PATHS, lv.COMPILED = True, False
        walked = lv.view(request, key=KEY, selection=selection)
    finally:
        lv.FAST_PATHS, lv.COMPILED = True, True
    fast = lv.view(request, key=KEY, selection=selection)
    assert repr(walked) == repr(plain)  # walked, the fast paths keep the request's order too
    assert canonical(fast) == canonical(walked)
    return plain, fast


@given(request=requests(), which=st.sampled_from(range(len(SELECTIONS))))
@example(request={"context": {"note": PSEUDONYM}, "data_subject": {"id": PSEUDONYM, "tags": "hmac:"}}, which=1)
def test_the_fast_view_is_the_plain_view(request, which):
    plain, fast = plain_and_fast(request, SELECTIONS[which])
    assert fast == plain
    assert canonical(fast) == canonical(plain)  # the same types, not only equal values


@given(request=requests(), which=st.sampled_from(range(len(SELECTIONS))))
@example(request={"data_categories": ["a", "b", "c", "d"], "data_subject": {"consent": {"a": 1, "b": 2, "c": 3, "d": 4}}},
         which=0)
@example(request={"data_categories": ["a", "long text"], "data_subject": {"consent": {"long name": True}}}, which=0)
def test_the_fast_view_is_the_plain_view_at_the_bounds(request, which):
    with small_bounds():
        plain, fast = plain_and_fast(request, SELECTIONS[which])
    assert canonical(fast) == canonical(plain)


def test_the_fast_view_does_not_share_the_callers_values():
    request = {"data_categories": ["user.contact"], "data_subject": {"consent": {"marketing": True}, "id": "u-1"}}
    out, people = lv.view(request, key=KEY, selection=Selection(READ, WORDS))
    out["data_categories"].append("changed")
    out["data_subject"]["consent"]["marketing"] = False
    assert request == {"data_categories": ["user.contact"], "data_subject": {"consent": {"marketing": True}, "id": "u-1"}}
    assert people == [pseudonym(KEY, "u-1")]


def switched(module, optimised: bool):
    """Every switch of the writer's optimisations in `module` (as bench/log_writer.py sets them) off or on."""
    return patch.multiple(module, **dict.fromkeys(module.SWITCHES, optimised))


def stored_rows(entries: list[tuple], optimised: bool, **options) -> list[tuple] | str:
    """The rows the log stores of `entries`, or the error it refuses them with."""
    with tempfile.TemporaryDirectory() as tmp, switched(lv, optimised), switched(dl, optimised):
        with dl.DecisionLog(Path(tmp) / "d.db", pseudonym_key=KEY, clock=lambda: T0, **options) as log:
            try:
                log.append_many(entries)
            except (TypeError, ValueError) as error:  # an integer JSON cannot hold: refused (503), either way
                return repr(error)
        with closing(sqlite3.connect(Path(tmp) / "d.db")) as conn:
            return conn.execute("SELECT * FROM decisions ORDER BY rowid").fetchall()


T0 = dt.datetime(2026, 3, 1, 12, 0, 0, tzinfo=dt.timezone.utc)
answers = st.builds(lambda decision, rules, number: {
    "decision": decision, "reasons": [{"rule": rule, "effect": decision} for rule in rules],
    "policy": {"digest": "sha256:abc"}, "decision_id": f"d{number}"},
    st.sampled_from(["allow", "deny"]), st.lists(st.text(max_size=4), max_size=3), st.integers())
OPTIONS = ({}, {"mask": ["data_subject.age", "context"], "attributes": ["context", "data_subject.x"],
                "max_row_bytes": 256})


@given(rows=st.lists(st.tuples(requests(), answers, st.sampled_from(range(len(SELECTIONS)))), max_size=6,
                     unique_by=lambda row: row[1]["decision_id"]),
       options=st.sampled_from(OPTIONS))
def test_the_fast_writer_stores_the_rows_the_plain_one_stores(rows, options):
    entries = [(request, answer, "/v1/decide", SELECTIONS[which]) for request, answer, which in rows]
    assert stored_rows(entries, True, **options) == stored_rows(entries, False, **options)


def test_a_sets_selection_is_made_once_and_let_go_with_it():
    """`selection_of` remembers the set asked last (a weak reference) beside its weak dictionary: the same
    selection for the same set, another set's own, and neither keeps a set alive."""
    import gc
    import weakref

    import pdp
    from pdp.io.log_view import selection_of

    root = Path(__file__).resolve().parents[2] / "policies"
    first, second = pdp.load(str(root)), pdp.load(str(root))
    made = selection_of(first)
    assert selection_of(first) is made and selection_of(second) is not made
    assert selection_of(first) is made and selection_of(second) == made
    gone = weakref.ref(first)
    del first
    gc.collect()
    assert gone() is None
