"""The whole-set analysis and time: a rule that tests dates is never claimed shadowed, overridden or
overlapping from value classes that cannot tell dates apart; `query` and `diff` say they cannot answer."""

from datetime import date

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import pdp
from pdp.analysis.diff import diff
from pdp.analysis.query import Question, ask
from pdp.analysis.space import SpaceTooLarge
from pdp.analysis.space.encoding import Undecided
from pdp.analysis.warnings import analyse
from tests.support.generate import CONDITIONS, fewer, generated_rules
from tests.support.sets import VOCAB, build_set, request

RULES = """
allow run "Run" cite "§1" to use for essential of user.contact.email
deny late "Late" cite "§7" to use for essential of user.contact.email when collected_at + 2 years < now
deny early "Early" cite "§7" to use for essential of user.contact.email when collected_at > now
"""


@pytest.mark.parametrize("method", ["auto", "enumeration", "solver"])
def test_a_rule_that_tests_time_is_never_claimed_to_apply_to_no_request(method):
    policy = build_set(RULES)
    # both denies do apply to some request: the engine says so
    assert not policy.decide(request(collected_at="2026-02-01", now="2028-03-01")).allowed
    assert not policy.decide(request(collected_at="2026-03-02", now="2026-03-01")).allowed
    assert policy.decide(request(collected_at="2026-02-01", now="2026-03-01")).allowed
    found = analyse(policy, method=method)
    assert not [d for d in found if d.code in ("shadowed-rule", "always-overridden")]
    (skipped,) = [d for d in found if d.code == "analysis-skipped"]
    assert "`late`" in skipped.message and ("`early`" in skipped.message or method == "enumeration")
    assert "time" in skipped.message


def test_the_other_rules_are_still_analysed():
    policy = build_set(RULES + 'allow run_again "Again" cite "§1" to use for essential of user.contact.email\n')
    codes = {(d.code, d.message.split("`")[1]) for d in analyse(policy, method="solver")}
    assert ("shadowed-rule", "run_again") in codes or ("shadowed-rule", "run") in codes


@pytest.mark.parametrize("method", ["enumeration", "solver"])
def test_query_says_it_cannot_answer(method):
    with pytest.raises((Undecided, SpaceTooLarge)):
        ask(build_set(RULES), Question("deny"), method=method)


def test_diff_says_it_cannot_answer():
    report = diff(build_set(RULES), build_set(RULES.replace("2 years", "3 years")))
    assert not report.complete and any("compares dates" in n for n in report.notes)


# ---------------------------------------------------------------- generated policies that test time

DATED_VOCAB = VOCAB + "  context.since: date\n"
TIME_CONDITIONS = [
    "collected_at + 2 years < now", "context.since is older than 13 months", "now - 30 days > 2026-01-31",
    "collected_at >= 2026-03-01", "context.since < collected_at", "now == 2026-12-25", "context.since is present",
    "context.since + 1 month >= now", "now is present", "collected_at is absent",
]
T_ACTIONS, T_PURPOSES, T_CATEGORIES = ["use", "share"], ["essential", "marketing"], ["user.contact", "user.name"]
days = st.dates(min_value=date(2026, 1, 1), max_value=date(2029, 12, 31)).map(lambda d: d.isoformat())
dated_requests = st.fixed_dictionaries(
    {"action": st.sampled_from(T_ACTIONS), "purpose": st.sampled_from(T_PURPOSES),
     "data_categories": st.lists(st.sampled_from(T_CATEGORIES), min_size=1, max_size=2)},
    optional={"now": days, "collected_at": days, "context": st.fixed_dictionaries({}, optional={"since": days}),
              "data_subject": st.fixed_dictionaries({}, optional={"age": st.integers(10, 30)})})


@st.composite
def timed_rules(draw):
    pool = TIME_CONDITIONS + [c for c in CONDITIONS if "age" in c]
    return generated_rules(draw, T_ACTIONS, T_PURPOSES, T_CATEGORIES, pool, rules=5)


def _built(text):
    """The set with its index, and without (None: the generated rules do not check, e.g. `never-matches`)."""
    try:
        return build_set(text, vocabulary=DATED_VOCAB), build_set(text, vocabulary=DATED_VOCAB, index=False)
    except pdp.PolicyError:
        return None


timed_sets = timed_rules().map(_built).filter(lambda built: built is not None)
batches = st.lists(dated_requests, min_size=1, max_size=12)


@settings(fewer(4), suppress_health_check=[HealthCheck.too_slow])
@given(sets=timed_sets, batch=batches)
def test_the_analysis_never_claims_a_rule_applies_to_no_request_that_the_engine_applies(sets, batch):
    policy = sets[0]
    never = {d.message.split("`")[1] for d in analyse(policy) if d.code == "shadowed-rule"
             and "applies to no request" in d.message}
    for req in batch:
        applied = {r.rule for r in policy.decide(req).reasons}
        assert not (never & applied), req


@settings(fewer(4), suppress_health_check=[HealthCheck.too_slow])
@given(sets=timed_sets, batch=batches)
def test_query_never_answers_no_where_the_engine_says_yes(sets, batch):
    policy = sets[0]
    for decision in ("allow", "deny"):
        try:
            answer = ask(policy, Question(decision))
        except (Undecided, SpaceTooLarge):
            continue  # it says it cannot answer: never a wrong "no"
        if not answer.yes:
            assert all(policy.decide(req).decision != decision for req in batch), decision


@settings(fewer(2))
@given(sets=timed_sets, batch=batches)
def test_the_index_and_the_scan_decide_time_alike(sets, batch):
    indexed, scanned = sets
    for req in batch:
        a, b = indexed.decide(req), scanned.decide(req)
        assert (a.decision, a.reasons, a.obligations) == (b.decision, b.reasons, b.obligations), req


def test_a_date_tested_only_for_presence_takes_a_date_and_a_rule_in_the_way_is_not_claimed_of():
    """`now is present` made no present class (no date among the values tried), so `run` was claimed to apply
    to no request; with `d` (on `collected_at`, which also chooses the version: a test of time) in its way, the
    solver's example was not the engine's, and check stopped on it."""
    policy = build_set("""
allow run "Run" cite "§1" to use for essential of user.contact.email when now is present
deny d "D" cite "§1" to use for essential of user.contact.email when collected_at is absent
""")
    assert policy.decide(request(now="2026-03-01", collected_at="2026-03-01")).allowed
    for method in ("auto", "enumeration", "solver"):
        found = analyse(policy, method=method)
        assert not [d for d in found if d.code in ("shadowed-rule", "always-overridden")], method


def test_a_declared_date_tested_for_presence_is_present_in_the_space():
    """`context.since` (declared `date`) refuses every value but a date: its present class needs one."""
    policy = build_set('allow r0 cite "§0" when context.since is present\nallow r1 cite "§1"\n', vocabulary=DATED_VOCAB)
    (shadowed,) = [d for d in analyse(policy) if d.code == "shadowed-rule"]
    assert "applies to no request" not in shadowed.message and "shadowed by `r1`" in shadowed.message


@settings(fewer(3))
@given(text=timed_rules(), batch=st.lists(dated_requests, min_size=1, max_size=8))
def test_the_request_memo_decides_time_as_the_plain_path(text, batch):
    """`now` is a path of the request like any other: the memo keys on it, and on the paths a shift moves."""
    from pdp.engine import request_memo

    try:
        remembering = build_set(text, vocabulary=DATED_VOCAB)
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(request_memo, "ENABLED", False)
            plain = build_set(text, vocabulary=DATED_VOCAB)
    except pdp.PolicyError:
        return
    assert remembering.request_memo is not None and plain.request_memo is None
    for req in batch + batch[::-1]:  # each asked again: answered from the memo
        a, b = remembering.decide(req), plain.decide(req)
        assert (a.decision, a.reasons, a.obligations) == (b.decision, b.reasons, b.obligations), req
