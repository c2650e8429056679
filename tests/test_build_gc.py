"""A build with Python's cycle collector paused (engine.build.collector_paused, what makes loading linear) builds
the same policy set as one with it running, and leaves the collector as it found it, errors or not."""

import gc
import textwrap

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import pdp
from pdp.engine.build import collector_paused
from tests.support.generate import ENGINE_CONDITIONS, KEY_CONDITIONS, KEY_DATA, drop_none, fewer, generated_rules
from tests.support.sets import HEADER, VOCAB

ACTIONS = ["collect", "use", "share"]
PURPOSES = ["essential", "essential.service", "marketing", "marketing.communications.email", "analytics.reporting"]
CATEGORIES = ["user", "user.contact", "user.contact.email", "user.name", "user.health_and_medical"]

requests = st.fixed_dictionaries(
    {"action": st.sampled_from(ACTIONS), "purpose": st.sampled_from(PURPOSES),
     "data_categories": st.lists(st.sampled_from(CATEGORIES), min_size=1, max_size=2)},
    optional={"data_subject": st.fixed_dictionaries({}, optional={"age": st.integers(15, 20)}),
              "recipient": st.fixed_dictionaries({}, optional={"dpa": st.one_of(st.none(), st.booleans())}),
              "context": st.fixed_dictionaries({}, optional={"score": st.integers(0, 4),
                                                             "note": st.sampled_from(["a", "a.b", "x"])}),
              "destination_country": st.sampled_from(["IN", "US"])})


@st.composite
def policies(draw):
    return generated_rules(draw, ACTIONS, PURPOSES, CATEGORIES, draw(st.sampled_from([ENGINE_CONDITIONS, KEY_CONDITIONS])),
                           rules=8, clauses=2, items=2)


def _sources(rules: str) -> pdp.Sources:
    return pdp.Sources({"p.pdp": HEADER + rules}, ("vocabulary.yaml", VOCAB),
                       {f"data/{k}.yaml": textwrap.dedent(v) for k, v in KEY_DATA.items()})


def _built(sources: pdp.Sources, pause: bool):
    """The set (its syntax trees, warnings and digest), or its errors; and whether the collector ran after."""
    try:
        built = pdp.build(sources, pause_gc=pause)
        result = ("set", built.files, built.checker_warnings, built.digest)
    except pdp.PolicyError as error:
        built, result = None, ("errors", tuple(error.diagnostics))
    return built, result, gc.isenabled()


@settings(fewer(2))
@given(text=policies(), batch=st.lists(requests, min_size=1, max_size=5))
def test_a_build_with_the_collector_paused_is_the_build_with_it_running(text, batch):
    sources = _sources(text)
    paused, paused_result, enabled_after_paused = _built(sources, pause=True)
    running, running_result, enabled_after_running = _built(sources, pause=False)
    assert paused_result == running_result
    assert enabled_after_paused and enabled_after_running
    if paused is None or running is None:
        return
    for request in batch:
        request = drop_none(request)
        try:
            expected = running.decide(request)
        except pdp.RequestError as error:
            with pytest.raises(pdp.RequestError, match=str(error)):
                paused.decide(request)
            continue
        decided = paused.decide(request)
        assert (decided.decision, decided.reasons, decided.obligations) == \
            (expected.decision, expected.reasons, expected.obligations)


def test_the_collector_runs_again_after_a_build_that_fails_and_a_paused_one_stays_paused():
    with pytest.raises(pdp.PolicyError):
        pdp.build(_sources("allow r to nonsense\n"))
    assert gc.isenabled()
    gc.disable()
    try:
        with collector_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()  # someone else paused it: left to them
    finally:
        gc.enable()
