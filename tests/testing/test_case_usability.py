"""Policy tests as a user writes them (issue 12, "Policy tests"): removing a default in one case, the request shown
on failure, a misspelt rule or request key named as such."""

import json
import textwrap

from pdp.testing import parse_test_file, run
from pdp.testing.report import render_failure, render_json
from tests.support.sets import build_set

RULES = '''\
allow health.consented "ok" cite "§1" to use for essential.service of user.health_and_medical
  when data_subject.consent.health
deny health.no_consent "no" cite "§2" to use of user.health_and_medical
  unless data_subject.consent.health
deny health.minor "no" cite "§3" to use
  when data_subject.age < 18
'''
VOCABULARY = "consent_topics: [health]\n"

FILE = '''
defaults:
  request:
    action: use
    purpose: essential.service
    data_categories: [user.health_and_medical]
    data_subject: {id: u-1, age: 30, consent: {health: true}}
cases:
'''


def results(cases: str):
    policy_set = build_set(RULES, vocabulary=VOCABULARY)
    text = textwrap.dedent(FILE).lstrip("\n") + textwrap.indent(textwrap.dedent(cases), "  ")
    return run(policy_set, [parse_test_file(text, "tests/health.yaml")])


def test_null_removes_a_value_the_defaults_give_in_that_case_only():
    first, second = results('''
        - name: without an age, the minor rule cannot apply, and consent allows
          request: {data_subject: {age: null}}
          expect: allow
        - name: the others keep the default age
          request: {}
          expect: allow
    ''')
    assert first.passed and second.passed
    assert "age" not in first.case.request["data_subject"]  # removed, not sent as null
    assert second.case.request["data_subject"]["age"] == 30


def test_null_removes_a_whole_part():
    (result,) = results('''
        - name: no data subject at all
          request: {data_subject: null}
          expect: deny
    ''')
    assert result.passed and "data_subject" not in result.case.request


def test_a_failure_shows_the_request_as_decided_with_the_defaults_merged():
    (result,) = results('''
        - name: a minor
          request: {data_subject: {age: 17}}
          expect: allow
    ''')
    assert not result.passed
    text = render_failure(result)
    shown = next(line for line in text.splitlines() if line.startswith("  request (defaults merged): "))
    assert json.loads(shown.split(": ", 1)[1]) == {
        "action": "use", "purpose": "essential.service", "data_categories": ["user.health_and_medical"],
        "data_subject": {"id": "u-1", "age": 17, "consent": {"health": True}}}
    assert json.loads(render_json([result]))["results"][0]["request"]["data_subject"]["age"] == 17


def test_a_misspelt_rule_is_no_such_rule_with_the_closest_id():
    (result,) = results('''
        - name: without consent
          request: {data_subject: {consent: {health: false}}}
          expect: deny
          rules: [health.no_consnt]
    ''')
    (failure,) = result.failures  # not "missing rules" as well: it is no rule at all
    assert failure.startswith("no such rule `health.no_consnt` in the policy set (did you mean `health.no_consent`")


def test_a_real_rule_that_did_not_fire_is_still_missing():
    (result,) = results('''
        - name: consent given
          request: {}
          expect: allow
          rules: [health.no_consent]
    ''')
    assert result.failures == ("missing rules: health.no_consent",)


def test_a_misspelt_request_key_is_named_before_what_it_leaves_missing():
    (result,) = results('''
        - name: a typo
          request: {data_categries: [user.health_and_medical], data_categories: null}
          expect: allow
    ''')
    (failure,) = result.failures
    assert failure.startswith("expected allow, but the request was refused: data_categries: unknown attribute "
                              "`data_categries` (did you mean `data_categories`?); data_categories: this field is required")
