"""Running policy test cases: each expectation passing and failing, the reports, `pdp test`."""

import json
from xml.etree import ElementTree
import textwrap

import pytest

import pdp
from pdp.cli import main
from pdp.testing import (
    discover, parse_test_file, render_failure, render_json, render_text, run, run_directory,
)
from tests.support.sets import build_set

RULES = """
allow marketing.promotional_email "We may email you about the Service" cite "§2.5"
  to use for marketing.communications.email of user.contact.email
  oblige unsubscribe_link "Every promotional email carries an unsubscribe link"
deny marketing.opted_out "You opted out of marketing" cite "§2.6"
  for marketing when data_subject.consent.marketing == false
"""

EMAIL = "{action: use, purpose: marketing.communications.email, data_categories: [user.contact.email]}"


@pytest.fixture(scope="module")
def policy_set():
    return build_set(RULES)


def cases(text: str):
    return parse_test_file(textwrap.dedent(text).lstrip("\n"), "tests/t.yaml").cases


def run_one(policy_set, text: str):
    [result] = run(policy_set, cases(text))
    return result


# ---------------------------------------------------------------- each expectation


def test_a_case_meeting_every_expectation_passes(policy_set):
    result = run_one(policy_set, f"""
        cases:
          - name: promotional email is allowed
            request: {EMAIL}
            expect: allow
            rules: [marketing.promotional_email]
            cites: ["§2.5"]
            obligations: [unsubscribe_link]
    """)
    assert result.passed and result.failures == ()
    assert (result.expected, result.actual) == ("allow", "allow")
    assert [(f.rule, f.effect, f.cite) for f in result.fired] == [
        ("marketing.promotional_email", "allow", "§2.5")]
    assert result.obligations == ("unsubscribe_link",)


def test_a_different_decision_fails(policy_set):
    result = run_one(policy_set, f"""
        cases:
          - name: opted out
            request: {{<<: {EMAIL}, data_subject: {{consent: {{marketing: false}}}}}}
            expect: allow
    """)
    assert not result.passed
    assert (result.expected, result.actual) == ("allow", "deny")
    assert result.failures == ("expected allow, got deny",)
    assert [(f.rule, f.effect, f.cite) for f in result.fired] == [
        ("marketing.opted_out", "deny", "§2.6")]


def test_rules_and_cites_must_be_among_the_reasons(policy_set):
    passing = run_one(policy_set, f"""
        cases:
          - name: denied by the opt-out and by default
            request: {{<<: {EMAIL}, data_subject: {{consent: {{marketing: false}}}}}}
            expect: deny
            rules: [marketing.opted_out]
            cites: ["§2.6"]
    """)
    assert passing.passed
    failing = run_one(policy_set, f"""
        cases:
          - name: allowed, for other reasons than claimed
            request: {EMAIL}
            expect: allow
            rules: [marketing.promotional_email, marketing.everything]
            cites: ["§2.5", "§9"]
    """)
    assert not failing.passed
    # a rule the set does not have is no rule at all, not merely missing from the decision (issue 12)
    assert failing.failures == ("no such rule `marketing.everything` in the policy set", "missing cites: §9")


def test_default_deny_is_a_rule_a_case_can_expect(policy_set):
    result = run_one(policy_set, """
        cases:
          - name: nothing allows analytics
            request: {action: use, purpose: analytics.reporting, data_categories: [user.contact.email]}
            expect: deny
            rules: [default.deny]
            obligations: []
    """)
    assert result.passed


def test_obligations_must_be_exactly_the_expected_set(policy_set):
    missing_and_unexpected = run_one(policy_set, f"""
        cases:
          - name: wrong duties
            request: {EMAIL}
            expect: allow
            obligations: [delete_after_30_days]
    """)
    assert missing_and_unexpected.failures == (
        "obligations: expected [delete_after_30_days], got [unsubscribe_link] "
        "(missing delete_after_30_days; unexpected unsubscribe_link)",)
    none_expected = run_one(policy_set, f"""
        cases:
          - name: no duties expected
            request: {EMAIL}
            expect: allow
            obligations: []
    """)
    assert none_expected.failures == (
        "obligations: expected [], got [unsubscribe_link] (unexpected unsubscribe_link)",)


def test_every_unmet_expectation_is_reported_at_once(policy_set):
    result = run_one(policy_set, f"""
        cases:
          - name: all wrong
            request: {EMAIL}
            expect: deny
            rules: [marketing.opted_out]
            cites: ["§2.6"]
            obligations: []
    """)
    assert [f.split(":")[0] for f in result.failures] == [
        "expected deny, got allow", "missing rules", "missing cites", "obligations"]


# ---------------------------------------------------------------- refusals and crashes


def test_an_error_case_passes_when_the_request_is_refused_with_that_text(policy_set):
    result = run_one(policy_set, """
        cases:
          - name: unknown purpose
            request: {action: use, purpose: marketing.comunications, data_categories: [user]}
            error: Unknown Purpose
    """)
    assert result.passed  # the text is matched regardless of case
    assert (result.expected, result.actual) == ("error", "error")
    assert "unknown purpose `marketing.comunications`" in result.error


def test_an_error_case_fails_on_another_refusal_or_a_decision(policy_set):
    other_refusal, decided = run(policy_set, cases(f"""
        cases:
          - name: refused, but for the action
            request: {{action: usee, purpose: marketing, data_categories: [user]}}
            error: unknown purpose
          - name: not refused at all
            request: {EMAIL}
            error: unknown purpose
    """))
    assert other_refusal.failures == (
        "the request was refused, but the message does not contain `unknown purpose`: "
        "action: unknown action `usee` (did you mean `use`?)",)
    assert decided.actual == "allow"
    assert decided.failures == (
        "expected the request to be refused with an error containing `unknown purpose`, "
        "but it was decided: allow",)


def test_a_refused_request_fails_a_case_that_expects_a_decision(policy_set):
    result = run_one(policy_set, """
        cases:
          - name: typo
            request: {action: use, purpose: marketing, data_categories: [user.contact.emial]}
            expect: deny
    """)
    assert not result.passed and result.actual == "error"
    assert result.failures[0].startswith("expected deny, but the request was refused: "
                                         "data_categories.0: unknown data category")


class Exploding:
    def select(self, request):  # the runner's way in (PolicySet.select)
        request.clear()  # must not reach the case's own request
        raise ZeroDivisionError("engine bug")


def test_an_exception_while_deciding_fails_the_case_and_the_run_goes_on():
    first, second = run(Exploding(), cases(f"""
        cases:
          - {{name: one, request: {EMAIL}, expect: allow}}
          - {{name: two, request: {EMAIL}, error: nope}}
    """))
    assert not first.passed and first.actual is None
    assert first.failures == ("expected allow, but the request could not be decided: "
                              "deciding raised ZeroDivisionError: engine bug",)
    assert not second.passed and second.failures[0].startswith("expected a refusal")
    assert first.case.request["action"] == "use"


def test_run_takes_whole_test_files_too(policy_set):
    test_file = parse_test_file(f"cases:\n  - {{name: a, request: {EMAIL}, expect: allow}}\n",
                                "t.yaml")
    assert [r.case.name for r in run(policy_set, [test_file])] == ["a"]


# ---------------------------------------------------------------- reports


# the request as a failure shows it (the file's defaults merged under the case's own)
EMAIL_REQUEST = ('request (defaults merged): {"action": "use", "data_categories": ["user.contact.email"], '
                 '"purpose": "marketing.communications.email"}')
OPTED_OUT_REQUEST = EMAIL_REQUEST.replace('"purpose"', '"data_subject": {"consent": {"marketing": false}}, "purpose"')


def test_the_text_report(policy_set):
    results = run(policy_set, cases(f"""
        suite: Marketing (§2.5, §2.6)
        defaults:
          request: {{data_subject: {{consent: {{marketing: false}}}}}}
        cases:
          - name: opted-out customers get no promotional email
            request: {EMAIL}
            expect: deny
          - name: opted-out customers still get promotional email
            request: {EMAIL}
            expect: allow
            rules: [marketing.promotional_email]
            cites: ["§2.5"]
            obligations: [unsubscribe_link]
    """))
    assert render_text(results) == textwrap.dedent("""\
        tests/t.yaml: Marketing (§2.5, §2.6)
          PASS  opted-out customers get no promotional email
          FAIL  opted-out customers still get promotional email

        Failures:

        tests/t.yaml:8: opted-out customers still get promotional email
          expected allow, got deny
          missing rules: marketing.promotional_email
          missing cites: §2.5
          obligations: expected [unsubscribe_link], got [] (missing unsubscribe_link)
          rules that fired:
            deny  marketing.opted_out (§2.6): You opted out of marketing
          obligations: none
          {OPTED_OUT_REQUEST}

        1 passed, 1 failed in 1 file""").format(OPTED_OUT_REQUEST=OPTED_OUT_REQUEST)


def test_a_failure_whose_decision_was_right_says_so(policy_set):
    result = run_one(policy_set, f"""
        cases:
          - name: right decision, wrong rule
            request: {EMAIL}
            expect: allow
            rules: [marketing.opted_out]
    """)
    assert render_failure(result) == textwrap.dedent("""\
        tests/t.yaml:2: right decision, wrong rule
          decision: allow, as expected
          missing rules: marketing.opted_out
          rules that fired:
            allow  marketing.promotional_email (§2.5): We may email you about the Service
          obligations: unsubscribe_link
          {EMAIL_REQUEST}""").format(EMAIL_REQUEST=EMAIL_REQUEST)


def test_the_json_report(policy_set):
    results = run(policy_set, cases(f"""
        cases:
          - {{name: ok, request: {EMAIL}, expect: allow}}
          - {{name: wrong, request: {EMAIL}, expect: deny}}
    """))
    report = json.loads(render_json(results))
    assert report["summary"] == {"passed": 1, "failed": 1, "files": 1, "file_errors": 0}
    wrong = report["results"][1]
    assert wrong["file"] == "tests/t.yaml" and wrong["line"] == 3 and wrong["name"] == "wrong"
    assert (wrong["passed"], wrong["expected"], wrong["actual"]) == (False, "deny", "allow")
    assert wrong["rules"][0]["rule"] == "marketing.promotional_email"
    assert wrong["obligations"] == ["unsubscribe_link"]
    assert wrong["failures"] == ["expected deny, got allow"]


# ---------------------------------------------------------------- directories and `pdp test`


@pytest.fixture
def policies(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # file names in reports are relative to where pdp runs
    root = tmp_path / "policies"
    (root / "tests").mkdir(parents=True)
    (root / "main.pdp").write_text('policy "demo" version "1" effective 2026-01-01\n' + RULES)
    (root / "vocabulary.yaml").write_text("consent_topics: [marketing]\n")
    (root / "tests" / "email.yaml").write_text(f"cases:\n  - {{name: ok, request: {EMAIL}, expect: allow}}\n")
    return root


def write_failing_case(policies):
    (policies / "tests" / "wrong.yaml").write_text(
        f"cases:\n  - {{name: wrong, request: {EMAIL}, expect: deny}}\n")


def write_bad_test_file(policies):
    (policies / "tests" / "bad.yaml").write_text("cases:\n  - name: a\n    expct: deny\n")


def test_run_directory_runs_every_test_file_and_returns_bad_ones(policies):
    write_failing_case(policies)
    write_bad_test_file(policies)
    results, errors = run_directory("policies")
    assert [(r.case.name, r.passed) for r in results] == [("ok", True), ("wrong", False)]
    [error] = errors
    assert "policies/tests/bad.yaml:2:5: missing-key: case `a` has no `request`" in str(error)
    assert "policies/tests/bad.yaml:3:5: unknown-key: unknown key `expct` in case `a`" in str(error)


def test_a_policy_set_that_does_not_load_stops_the_run(policies):
    (policies / "broken.pdp").write_text("allow x to usee\n")
    with pytest.raises(pdp.PolicyError):
        run_directory(policies)


def test_discover_reads_test_files_in_name_order_and_raises_for_bad_ones(policies):
    write_failing_case(policies)
    (policies / "tests" / "notes.txt").write_text("not a test file")
    assert [f.path.name for f in discover(policies)] == ["email.yaml", "wrong.yaml"]
    write_bad_test_file(policies)
    with pytest.raises(pdp.testing.TestFileError, match="bad.yaml:3:5: unknown-key"):
        discover(policies)


def test_pdp_test_exits_0_when_every_case_passes(policies, capsys):
    assert main(["test", "policies"]) == 0
    out = capsys.readouterr().out
    assert "PASS  ok" in out and out.rstrip().endswith("1 passed, 0 failed in 1 file")


def test_pdp_test_exits_1_on_a_failing_case(policies, capsys):
    write_failing_case(policies)
    assert main(["test", "policies"]) == 1
    out = capsys.readouterr().out
    assert "policies/tests/wrong.yaml:2: wrong\n  expected deny, got allow" in out
    assert out.rstrip().endswith("1 passed, 1 failed in 2 files")


def test_pdp_test_exits_1_on_a_bad_test_file_and_still_runs_the_rest(policies, capsys):
    write_bad_test_file(policies)
    assert main(["test", "policies"]) == 1
    out, err = capsys.readouterr()
    assert "PASS  ok" in out
    assert "policies/tests/bad.yaml:3:5: unknown-key: unknown key `expct`" in out  # file errors are part of the report


def test_pdp_test_exits_1_when_the_policy_set_does_not_load(policies, capsys):
    (policies / "broken.pdp").write_text("allow x to usee\n")
    assert main(["test", "policies"]) == 1
    assert "unknown-action" in capsys.readouterr().err


def test_pdp_test_json(policies, capsys):
    write_failing_case(policies)
    assert main(["test", "policies", "--format", "json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["summary"]["passed"] == 1 and report["summary"]["failed"] == 1


def test_pdp_test_junit_for_ci(policies, capsys):
    write_failing_case(policies)
    write_bad_test_file(policies)
    assert main(["test", "policies", "--format", "junit"]) == 1
    root = ElementTree.fromstring(capsys.readouterr().out.encode())
    assert (root.tag, root.get("tests"), root.get("failures"), root.get("errors")) == ("testsuites", "3", "1", "1")
    suites = {s.get("file") or s.get("name"): s for s in root.iter("testsuite")}
    assert suites["policies/tests/email.yaml"].find("testcase").find("failure") is None
    wrong = suites["policies/tests/wrong.yaml"].find("testcase")
    assert (wrong.get("name"), wrong.get("line")) == ("wrong", "2")
    failure = wrong.find("failure")
    assert failure.get("message") == "expected deny, got allow"
    assert "rules that fired:" in failure.text  # the same text `pdp test` prints
    error = suites["test files"].find("testcase").find("error")
    assert "unknown key `expct`" in error.text


def test_pdp_test_junit_with_coverage_keeps_stdout_xml(policies, capsys):
    assert main(["test", "policies", "--format", "junit", "--coverage"]) == 0
    out, err = capsys.readouterr()
    assert ElementTree.fromstring(out.encode()).get("failures") == "0"
    assert "rules" in err
