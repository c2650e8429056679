"""A file parsed before in the process, from the same text, is taken again (pdp.lang.reuse): a build that reuses
parses builds the set a build that parses every file afresh builds, spans naming its own files included."""

import gc
import textwrap

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import pdp
from pdp.engine import build as build_module
from pdp.lang.reuse import Parses
from tests.support.generate import ENGINE_CONDITIONS, KEY_CONDITIONS, KEY_DATA, fewer, generated_rules
from tests.support.sets import HEADER, VOCAB
from tests.test_parser import _with_spans

ACTIONS = ["collect", "use", "share"]
PURPOSES = ["essential", "essential.service", "marketing", "marketing.communications.email", "analytics.reporting"]
CATEGORIES = ["user", "user.contact", "user.contact.email", "user.name", "user.health_and_medical"]


@st.composite
def rules(draw):
    text = generated_rules(draw, ACTIONS, PURPOSES, CATEGORIES, draw(st.sampled_from([ENGINE_CONDITIONS, KEY_CONDITIONS])),
                           rules=4, clauses=2, items=2)
    return text + draw(st.sampled_from(["", "allow broken to\n", 'allow b "an escape \\q"\n']))


def _sources(root: str, texts: list[str]) -> pdp.Sources:
    return pdp.Sources({f"{root}/p{i}.pdp": (HEADER if i == 0 else "") + text for i, text in enumerate(texts)},
                       (f"{root}/vocabulary.yaml", VOCAB),
                       {f"{root}/data/{k}.yaml": textwrap.dedent(v) for k, v in KEY_DATA.items()}, root=root)


def _built(sources: pdp.Sources, reuse: bool):
    try:
        built = pdp.build(sources, reuse=reuse)
    except pdp.PolicyError as error:
        return None, ("errors", _with_spans(error.diagnostics))
    return built, ("set", _with_spans(built.files), _with_spans(built.checker_warnings), built.digest)


@settings(fewer(2))
@given(old=st.lists(rules(), min_size=1, max_size=3), edits=st.lists(st.tuples(st.integers(0, 2), rules()), max_size=2),
       root=st.sampled_from(["old", "new"]))
def test_a_build_that_reuses_parses_is_the_build_that_parses_afresh(old, edits, root):
    """OLD is built, then NEW (OLD with a few files changed, in another directory or the same one: pdp diff, a hot
    reload): NEW built reusing OLD's parses equals NEW built afresh, spans, warnings and errors included."""
    new = list(old)
    for index, text in edits:
        if index < len(new):
            new[index] = text
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(build_module, "_PARSES", Parses())  # this example's own memo
        first, _ = _built(_sources("old", old), reuse=True)
        reused, reused_result = _built(_sources(root, new), reuse=True)
        fresh, fresh_result = _built(_sources(root, new), reuse=False)
    assert reused_result == fresh_result
    del first, reused, fresh


def test_an_unchanged_file_is_parsed_once_and_named_after_its_new_place(monkeypatch_parses):
    text = "allow a.b to use when data_subject.age >= 18\n"
    old = pdp.build(_sources("old", [text]))
    parsed = []
    original = build_module.parse_policy
    monkeypatch_parses.setattr("pdp.lang.reuse.parse_policy", lambda *a: parsed.append(a) or original(*a))
    new = pdp.build(_sources("new", [text]))
    assert parsed == []
    assert new.files[0].path == "new/p0.pdp" and new.files[0].rules[0].span.file == "new/p0.pdp"
    assert old.files[0].rules[0].span.file == "old/p0.pdp"
    assert _with_spans(new.files) == _with_spans(pdp.build(_sources("new", [text]), reuse=False).files)


def test_the_memo_keeps_no_set_alive(monkeypatch_parses):
    built = pdp.build(_sources("old", ["allow a to use\n"]))
    assert len(build_module._PARSES._by_text) == 1
    del built
    gc.collect()
    assert len(build_module._PARSES._by_text) == 0


@pytest.fixture
def monkeypatch_parses(monkeypatch):
    """A memo of this test's own, so that no other test's parses are taken."""
    monkeypatch.setattr(build_module, "_PARSES", Parses())
    return monkeypatch
