"""A bad request costs bounded work: lists and parts are capped, errors are capped, suggestions are fast and budgeted."""

import difflib
import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

import pdp.vocab.request as rq
import pdp.vocab.taxonomy as tx
from pdp.base import errors
from pdp.base.errors import RequestError, close_matches, suggest
from tests.support.sets import build_set, request

POLICY = "allow ops to use for essential of user\n"


@pytest.fixture(scope="module")
def policy_set():
    return build_set(POLICY)


def refusal(policy_set, req) -> list[dict]:
    with pytest.raises(RequestError) as info:
        policy_set.decide(req)
    return info.value.errors


@pytest.fixture
def suggest_calls(monkeypatch):
    """How many suggestion lookups deciding makes (the costly part of an error)."""
    calls = []

    def counting(*args, **kwargs):
        calls.append(args[0])
        return suggest(*args, **kwargs)

    monkeypatch.setattr(rq, "suggest", counting)  # a misspelt attribute name
    monkeypatch.setattr(tx, "suggest", counting)  # an unknown key (tx.closest_keys)
    return calls


def test_errors_are_capped_and_only_those_shown_get_suggestions(policy_set, suggest_calls):
    unknown = [f"user.nonsense_{i}" for i in range(200)]
    found = refusal(policy_set, request(data_categories=unknown))
    assert len(found) == rq.MAX_ERRORS + 1
    assert [e["field"] for e in found[:3]] == ["data_categories.0", "data_categories.1", "data_categories.2"]
    assert all(e["suggestions"] for e in found[:rq.MAX_ERRORS])
    assert found[-1] == {"field": "request", "message": "180 more errors not listed (at most 20 are reported)"}
    assert len(suggest_calls) == rq.MAX_ERRORS


def test_a_list_longer_than_its_limit_is_refused_naming_it(policy_set, suggest_calls):
    found = refusal(policy_set, request(data_categories=["user.x"] * 5000))
    assert [e["field"] for e in found] == ["data_categories"]
    assert "at most 256" in found[0]["message"]
    assert suggest_calls == []


@pytest.mark.parametrize("part", ["context", "data_subject", "recipient", "requester"])
def test_a_part_with_too_many_attributes_is_refused_naming_it(policy_set, part, suggest_calls):
    found = refusal(policy_set, request(**{part: {f"k{i}": True for i in range(rq.MAX_ATTRIBUTES + 1)}}))
    assert found == [{"field": part, "message": f"at most {rq.MAX_ATTRIBUTES} attributes, got {rq.MAX_ATTRIBUTES + 1}"}]
    assert suggest_calls == []


def test_too_many_consent_topics_are_refused_naming_them(policy_set):
    found = refusal(policy_set, request(data_subject={"consent": {f"t{i}": True for i in range(300)}}))
    assert [e["field"] for e in found] == ["data_subject.consent"]


def test_too_many_top_level_keys_are_refused(policy_set):
    found = refusal(policy_set, {**request(), **{f"extra{i}": 1 for i in range(300)}})
    assert [e["field"] for e in found] == ["request"] and "at most 256 attributes" in found[0]["message"]


def test_a_suggestion_budget_bounds_the_lookups_of_many_requests(policy_set, suggest_calls):
    bad = request(data_categories=[f"user.nonsense_{i}" for i in range(10)])
    with rq.suggestion_budget(15):
        answers = [refusal(policy_set, bad) for _ in range(5)]
    assert len(suggest_calls) == 15
    with_suggestions = [e for found in answers for e in found if e.get("suggestions")]
    assert len(with_suggestions) == 15
    assert all(len(found) == 10 for found in answers)  # every error is still reported, some without suggestions
    assert len(refusal(policy_set, bad)) == 10 and len(suggest_calls) == 25  # outside a budget: all


words = st.text(alphabet=string.ascii_lowercase + "._", max_size=24)


@given(word=words, pool=st.lists(words, max_size=40, unique=True), n=st.integers(1, 5),
       cutoff=st.sampled_from([0.0, 0.3, 0.6, 0.7, 0.75, 1.0]))
def test_the_fast_close_matches_are_difflibs(word, pool, n, cutoff):
    assert close_matches(word, pool, n, cutoff, fast=True) == difflib.get_close_matches(word, pool, n=n, cutoff=cutoff)


@given(word=words, pool=st.lists(words, min_size=1, max_size=40), always=st.booleans())
def test_suggest_is_the_same_with_the_fast_path_on_or_off(word, pool, always):
    fast = suggest(word, pool, always=always)
    errors.FAST_MATCHES = False
    try:
        assert suggest(word, pool, always=always) == fast
    finally:
        errors.FAST_MATCHES = True


def test_close_matches_on_the_real_vocabulary_agree(policy_set):
    keys = sorted(policy_set.vocabulary.categories)
    for word in ["user.contact.emial", "usr", "zzzz", "user.health", "marketing", "", "user.contact.phone"]:
        for cutoff in (0.0, 0.6):
            assert close_matches(word, keys, 3, cutoff, fast=True) == difflib.get_close_matches(word, keys, 3, cutoff)
