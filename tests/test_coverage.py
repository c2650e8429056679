"""`pdp test --coverage`: which rules the policy tests applied, and which way each condition went."""

import json
import textwrap
from pathlib import Path

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

import pdp

from pdp.cli import main
from pdp.testing.coverage import measure, percent
from pdp.explain import target_of
from pdp.testing import Case, discover
from tests.support.generate import ENGINE_CONDITIONS, LISTS, fewer, generated_rules
from tests.support.sets import HEADER, VOCAB, build_set, request

RULES = '''\
allow ops "Operate" cite "§1"
  to use for essential
  when data_subject.age >= 18 or context.legal_request
deny minors "Children" cite "§2"
  to use
  when data_subject.age < 18
allow transfer_in "India" cite "§3"
  to transfer
  when destination_country == "IN"
deny refused "Refused consent" cite "§4"
  to use for marketing
  when not (data_subject.consent.marketing != false)
'''
CASES = [
    ("an adult", request(data_subject={"age": 30}), "allow"),
    ("a child", request(data_subject={"age": 10}), "deny"),
    ("marketing", request(purpose="marketing.communications.email"), "deny"),
    ("a typo", request(purpose="essentail.service"), None),
]
POLICIES = Path(__file__).resolve().parents[1] / "policies"


@pytest.fixture(scope="module")
def report():
    cases = [Case(Path("t.yaml"), i + 1, name, "t", req, expect, error=None if expect else "purpose")
             for i, (name, req, expect) in enumerate(CASES)]
    return measure(build_set(RULES), cases)


def test_rule_coverage_counts_rules_that_applied(report):
    assert (report.cases, report.refused) == (3, 1)
    assert [(r.rule, r.about, r.applied) for r in report.rules] == [
        ("ops", 2, 1), ("minors", 3, 1), ("transfer_in", 0, 0), ("refused", 1, 0)]
    assert report.rules_applied == 2 and report.rule_percent == 50.0
    assert [r.rule for r in report.never_applied()] == ["transfer_in", "refused"]


def test_condition_coverage_counts_each_way_a_condition_went(report):
    seen = {(c.rule, c.text): (c.true, c.false, c.unknown) for c in report.conditions}
    assert seen == {
        ("ops", "data_subject.age >= 18 or context.legal_request"): (1, 0, 1),
        ("ops", "data_subject.age >= 18"): (1, 1, 0),
        # settled by the adult's age, so never looked at; unknown for the child
        ("ops", "context.legal_request"): (0, 0, 1),
        ("minors", "data_subject.age < 18"): (1, 1, 1),
        ("transfer_in", 'destination_country == "IN"'): (0, 0, 0),
        # `not x` is not counted apart from `x`
        ("refused", "data_subject.consent.marketing != false"): (0, 0, 1),
    }
    assert report.outcomes_seen == 5 and len(report.conditions) == 6
    assert percent(report.condition_percent) == "41.6 %"


def test_report_text(report):
    assert report.render_text() == textwrap.dedent("""\
        rule coverage: 2 of 4 rules applied in some case (50.0 %)
        condition coverage: 5 of 12 outcomes seen, each condition true and false (41.6 %)

        Rules no case applied:
          p.pdp:8: allow transfer_in (§3): no case is about it
          p.pdp:11: deny refused (§4): 1 case about it, but its conditions never held

        Conditions never seen true:
          p.pdp:4: ops: when context.legal_request (seen unknown 1)
          p.pdp:10: transfer_in: when destination_country == "IN" (never evaluated)
          p.pdp:13: refused: when data_subject.consent.marketing != false (seen unknown 1)

        Conditions never seen false:
          p.pdp:4: ops: when data_subject.age >= 18 or context.legal_request (seen true 1, unknown 1)
          p.pdp:4: ops: when context.legal_request (seen unknown 1)
          p.pdp:10: transfer_in: when destination_country == "IN" (never evaluated)
          p.pdp:13: refused: when data_subject.consent.marketing != false (seen unknown 1)""")


def test_report_json(report):
    body = json.loads(json.dumps(report.to_dict()))
    assert body["rules"]["total"] == 4 and body["rules"]["applied"] == 2 and body["rules"]["percent"] == 50.0
    assert [r["rule"] for r in body["rules"]["never_applied"]] == ["transfer_in", "refused"]
    assert body["conditions"]["outcomes"] == 12 and body["conditions"]["outcomes_seen"] == 5
    assert body["conditions"]["never_true"][0] == {
        "rule": "ops", "clause": "when", "condition": "context.legal_request", "location": "p.pdp:4",
        "true": 0, "false": 0, "unknown": 1, "errors": 0}


def test_percent_shows_100_only_when_complete():
    assert [percent(v) for v in (100.0, 99.96, 50.0, 41.666)] == ["100 %", "99.9 %", "50.0 %", "41.6 %"]


def test_an_empty_set_of_cases_covers_nothing():
    report = measure(build_set(RULES), [])
    assert report.rule_percent == 0 and report.condition_percent == 0 and report.cases == 0


def test_cx_one_go_tests_apply_every_rule(cx_one_go):
    report = measure(cx_one_go, discover(POLICIES))
    assert report.never_applied() == () and report.rule_percent == 100.0


# ---------------------------------------------------------------- pdp test --coverage


@pytest.fixture
def policy_dir(tmp_path):
    (tmp_path / "p.pdp").write_text(HEADER + RULES)
    (tmp_path / "vocabulary.yaml").write_text(VOCAB)
    (tmp_path / "tests").mkdir()
    lines = ["cases:"]
    for name, req, expect in CASES:
        outcome = f"expect: {expect}" if expect else "error: purpose"
        lines += [f"  - name: {name}", f"    request: {json.dumps(req)}", f"    {outcome}"]
    (tmp_path / "tests" / "cases.yaml").write_text("\n".join(lines) + "\n")
    return tmp_path


def test_cli_prints_coverage_after_the_report(capsys, policy_dir):
    assert main(["test", str(policy_dir), "--coverage"]) == 0
    out = capsys.readouterr().out
    report_end = out.index("4 passed, 0 failed in 1 file")
    assert out.index("rule coverage: 2 of 4 rules applied in some case (50.0 %)") > report_end
    assert "Rules no case applied:" in out and "allow transfer_in (§3): no case is about it" in out


def test_cli_without_coverage_says_nothing_of_it(capsys, policy_dir):
    assert main(["test", str(policy_dir)]) == 0
    assert "rule coverage" not in capsys.readouterr().out


@pytest.mark.parametrize("minimum, code", [("50", 0), ("0", 0), ("50.1", 1), ("90", 1)])
def test_cli_min_coverage_fails_below_the_threshold(capsys, policy_dir, minimum, code):
    assert main(["test", str(policy_dir), "--min-coverage", minimum]) == code
    captured = capsys.readouterr()
    assert "rule coverage: 2 of 4" in captured.out  # --min-coverage implies --coverage
    if code:
        assert f"rule coverage 50.0 % is below the minimum of {float(minimum):g} %" in captured.err


def test_cli_min_coverage_must_be_a_percentage(capsys, policy_dir):
    assert main(["test", str(policy_dir), "--min-coverage", "120"]) == 2
    assert "percentage from 0 to 100" in capsys.readouterr().err


def test_cli_json_carries_the_coverage(capsys, policy_dir):
    assert main(["test", str(policy_dir), "--coverage", "--format", "json"]) == 0
    body = json.loads(capsys.readouterr().out)
    assert body["summary"]["passed"] == 4 and body["coverage"]["rules"]["applied"] == 2


def test_cli_cx_one_go_meets_full_rule_coverage(capsys, cx_one_go):
    assert main(["test", str(POLICIES), "--min-coverage", "100"]) == 0
    rules = len(cx_one_go.rules)
    assert f"rule coverage: {rules} of {rules} rules applied in some case (100 %)" in capsys.readouterr().out



_PURPOSES = ["essential", "essential.service", "marketing", "marketing.advertising"]
_CATEGORIES = ["user", "user.contact", "user.contact.email", "user.behavior"]
_DATA = {"lists": LISTS}


@st.composite
def _policies(draw):
    return generated_rules(draw, ["use", "share", "collect"], _PURPOSES, _CATEGORIES, ENGINE_CONDITIONS)


_REQUESTS = st.lists(st.builds(
    request, action=st.sampled_from(["use", "share", "collect"]), purpose=st.sampled_from(_PURPOSES),
    data_categories=st.lists(st.sampled_from(_CATEGORIES), min_size=1, max_size=2, unique=True)), max_size=6)


@given(_policies(), _REQUESTS)
@fewer(2)
def test_coverage_through_the_index_equals_coverage_through_the_plain_scan(rules, requests):
    """Coverage finds the rules about a case with the version's index; built without one, it scans every rule."""
    try:
        indexed, scanned = build_set(rules, data=_DATA), build_set(rules, data=_DATA, index=False)
    except pdp.PolicyError:
        assume(False)
    cases = [Case(Path("t.yaml"), i + 1, f"case {i}", "t", r, "allow") for i, r in enumerate(requests)]
    report = measure(indexed, cases)
    assert report.to_dict() == measure(scanned, cases).to_dict()
    # and both count a rule about a case exactly when its target reaches one of the case's categories
    about = {rule.id: 0 for rule in indexed.rules}
    for case in cases:
        target = target_of(indexed.select(case.request).request, False)
        for rule in indexed.rules:
            about[rule.id] += bool(target.covered(rule))
    assert {r.rule: r.about for r in report.rules} == about
