"""The whole-set analysis and time: a rule that tests dates is never claimed shadowed, overridden or
overlapping from value classes that cannot tell dates apart; `query` and `diff` say they cannot answer."""

import pytest

from pdp.analysis.diff import diff
from pdp.analysis.query import Question, ask
from pdp.analysis.space import SpaceTooLarge
from pdp.analysis.space.encoding import Undecided
from pdp.analysis.warnings import analyse
from tests.support.sets import build_set, request

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
