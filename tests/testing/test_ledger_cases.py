"""Policy test cases that seed consent-ledger events: the format, the defaults filled, errors, and the decision
made against a temporary ledger (as `pdp serve --ledger` makes it), with coverage and the pytest plugin."""

import textwrap

import pytest

from pdp.testing import TestFileError, run
from pdp.testing.coverage import Recorder, measure
from pdp.testing.seeded import OCCURRED_AT, notice
from tests.support.sets import build_set
from tests.testing.test_policy_cases import parse, problems

pytest_plugins = ["pytester"]

RULES = """
ledger fills data_subject.consent.marketing from consent "marketing"
allow marketing.promotional_email "We may email you about the Service" cite "§2.5"
  to use for marketing.communications.email of user.contact.email
deny marketing.opted_out "You opted out of marketing" cite "§2.6"
  for marketing when data_subject.consent.marketing == false
"""

HEAD = """
defaults:
  request: {action: use, purpose: marketing.communications.email, data_categories: [user.contact.email],
            data_subject: {id: u-1}}
"""


@pytest.fixture(scope="module")
def policy_set():
    return build_set(RULES)


def test_events_are_completed_for_the_case_subject_and_listed_after_the_files():
    [case] = parse(HEAD.replace("defaults:", "defaults:\n  ledger: [{kind: consent.given, topic: marketing}]") + """
cases:
  - name: opted out after consenting
    request: {}
    ledger: [{kind: consent.withdrawn, topic: marketing, occurred_at: "2026-02-01T00:00:00Z"}]
    expect: deny
""").cases
    given, withdrawn = case.ledger
    assert given == {"kind": "consent.given", "topic": "marketing", "subject": "u-1", "occurred_at": OCCURRED_AT,
                     "method": "api", "actor": {"type": "person"}, "notice": notice("test")}
    assert withdrawn["occurred_at"] == "2026-02-01T00:00:00Z" and "notice" not in withdrawn


def test_a_case_without_ledger_events_has_no_ledger_and_an_empty_list_an_empty_one():
    without, empty = parse(HEAD + """
cases:
  - {name: a, request: {}, expect: allow}
  - {name: b, request: {}, ledger: [], expect: allow}
""").cases
    assert without.ledger is None and empty.ledger == ()


def test_a_notice_given_as_text_is_its_version():
    [case] = parse(HEAD + """
cases:
  - {name: a, request: {}, ledger: [{kind: policy.accepted, notice: "2026-11-24"}], expect: allow}
""").cases
    assert case.ledger[0]["notice"]["version"] == "2026-11-24"


def test_a_bad_event_names_the_file_line_case_and_field():
    assert problems(HEAD + """
cases:
  - name: opted out
    request: {}
    ledger:
      - {kind: consent.given}
      - {kind: consent.teleported, topic: marketing}
      - {kind: marketing.opted_out, channel: email, topic: marketing}
    expect: deny
""") == ["9:9: bad-event: case `opted out`: ledger[0].topic: required for `consent.given`",
         "10:9: bad-event: case `opted out`: ledger[1].kind: " + problems_of_kind(),
         "11:9: bad-event: case `opted out`: ledger[2].topic: not a field of `marketing.opted_out`"]


def problems_of_kind() -> str:
    from pdp.ledger.events import InvalidEvent, parse_event
    with pytest.raises(InvalidEvent) as info:
        parse_event({"kind": "consent.teleported"}, where="x")
    return dict(info.value.problems)["x.kind"]


def test_an_event_with_no_subject_asks_for_one():
    with pytest.raises(TestFileError) as info:
        parse("""
cases:
  - name: nobody
    request: {action: use, purpose: marketing.communications.email, data_categories: [user.contact.email]}
    ledger: [{kind: consent.withdrawn, topic: marketing}]
    expect: deny
""")
    [problem] = info.value.diagnostics
    assert problem.message.startswith("case `nobody`: ledger[0].subject: ")
    assert problem.hint == "give the request a `data_subject.id`, or the event a `subject`"
    assert "policies/tests/t.yaml:4:" in str(info.value)


def test_ledger_must_be_a_list_of_mappings():
    assert problems(HEAD + """
cases:
  - {name: a, request: {}, ledger: {kind: gpc.signalled}, expect: deny}
  - {name: b, request: {}, ledger: [gpc.signalled], expect: deny}
""") == ["6:36: wrong-type: the `ledger` of case `a` must be a list of events",
         "7:37: wrong-type: every event of the `ledger` of case `b` must be a mapping"]


def test_cases_are_decided_with_their_events_the_stricter_side_winning(policy_set):
    results = run(policy_set, parse(HEAD + """
cases:
  - {name: opted out in the ledger, request: {}, ledger: [{kind: consent.withdrawn, topic: marketing}],
     expect: deny, rules: [marketing.opted_out]}
  - {name: caller says consent but the ledger has a withdrawal,
     request: {data_subject: {consent: {marketing: true}}}, ledger: [{kind: consent.withdrawn, topic: marketing}],
     expect: deny}
  - {name: caller says opted out while the ledger says consent,
     request: {data_subject: {consent: {marketing: false}}}, ledger: [{kind: consent.given, topic: marketing}],
     expect: deny}
  - {name: consent given, request: {}, ledger: [{kind: consent.given, topic: marketing}], expect: allow}
  - {name: no events, request: {data_subject: {consent: {marketing: false}}}, ledger: [], expect: deny}
  - {name: this one fails, request: {}, ledger: [{kind: consent.withdrawn, topic: marketing}], expect: allow}
""").cases)
    assert [r.passed for r in results] == [True, True, True, True, True, False]
    assert results[-1].failures == ("expected allow, got deny",)


def test_the_same_case_without_the_ledger_declaration_decides_on_the_request_alone():
    plain = build_set(RULES.replace('ledger fills data_subject.consent.marketing from consent "marketing"\n', ""))
    [result] = run(plain, parse(HEAD + """
cases:
  - {name: a, request: {}, ledger: [{kind: consent.withdrawn, topic: marketing}], expect: deny}
""").cases)
    assert (result.passed, result.actual) == (False, "allow")


def test_coverage_counts_the_filled_request_while_running_and_when_measured_alone(policy_set):
    test_file = parse(HEAD + """
cases:
  - {name: a, request: {}, ledger: [{kind: consent.withdrawn, topic: marketing}], expect: deny}
""")
    recorder = Recorder(policy_set)
    run(policy_set, test_file.cases, recorder)
    for report in (recorder.report(), measure(policy_set, test_file.cases)):
        applied = {r.rule: r.applied for r in report.rules}
        assert applied == {"marketing.promotional_email": 1, "marketing.opted_out": 1}


def test_the_pytest_plugin_runs_ledger_cases(pytester):
    pytester.makefile(".pdp", **{"policies/main": 'policy "demo" version "1" effective 2026-01-01\n' + RULES})
    pytester.makefile(".yaml", **{"policies/vocabulary": "consent_topics: [marketing]\n"})
    pytester.makefile(".yaml", **{"policies/tests/t": textwrap.dedent(HEAD).lstrip("\n") + textwrap.dedent("""
        cases:
          - {name: opted out, request: {}, ledger: [{kind: consent.withdrawn, topic: marketing}], expect: deny}
          - {name: wrongly expected, request: {}, ledger: [{kind: consent.withdrawn, topic: marketing}], expect: allow}
    """)})
    result = pytester.runpytest()
    result.assert_outcomes(passed=1, failed=1)
    assert "expected allow, got deny" in result.stdout.str()


def test_a_case_as_of_a_past_time_is_decided_on_the_state_then(policy_set):
    results = run(policy_set, parse(HEAD + """
  ledger:
    - {kind: consent.withdrawn, topic: marketing, occurred_at: "2026-06-01T00:00:00Z"}
cases:
  - {name: before the withdrawal, request: {as_of: "2026-04-01T00:00:00Z"}, expect: allow}
  - {name: after it, request: {as_of: "2026-07-01T00:00:00Z"}, expect: deny}
""").cases)
    assert [(r.passed, r.actual) for r in results] == [(True, "allow"), (True, "deny")]
