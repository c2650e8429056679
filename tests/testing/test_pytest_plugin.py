"""The pytest plugin: policy test files collected and run by a plain `pytest`."""

import re
import textwrap

import pytest

import pdp.testing.pytest_plugin
from pdp.cli import main

pytest_plugins = ["pytester"]

POLICY = """\
policy "demo" version "1" effective 2026-01-01
allow marketing.promotional_email "We may email you" cite "§2.5"
  to use for marketing.communications.email of user.contact.email
  oblige unsubscribe_link "Every promotional email carries an unsubscribe link"
deny marketing.opted_out "You opted out" cite "§2.6"
  for marketing when data_subject.consent.marketing == false
"""

EMAIL_TESTS = """\
suite: Marketing (§2.5)
defaults:
  request: {action: use, purpose: marketing.communications.email, data_categories: [user.contact.email]}
cases:
  - name: promotional email is allowed
    request: {}
    expect: allow
    obligations: [unsubscribe_link]
  - name: opted-out customers still get email
    request: {data_subject: {consent: {marketing: false}}}
    expect: allow
    rules: [marketing.promotional_email]
"""


@pytest.fixture
def repo(pytester):
    """A policy repository: policies/ with its tests, and the project's own tests/."""
    pytester.makefile(".pdp", **{"policies/main": POLICY})
    pytester.makefile(".yaml", **{"policies/vocabulary": "consent_topics: [marketing]\n"})
    pytester.makefile(".yaml", **{"policies/tests/email": EMAIL_TESTS})
    return pytester


def test_each_case_is_an_item_named_after_it(repo):
    result = repo.runpytest("--collect-only", "-q")
    assert result.outlines[:2] == [
        "policies/tests/email.yaml::promotional_email_is_allowed",
        "policies/tests/email.yaml::opted-out_customers_still_get_email",
    ]


def test_yaml_files_elsewhere_are_not_collected(repo):
    repo.makefile(".yaml", **{
        "tests/fixture": "cases: []\n",              # the project's own tests/: no .pdp beside it
        "policies/data/register": "cases: []\n",     # not in a tests/ folder
        "other/tests/cases": "cases: []\n",          # a tests/ folder whose parent has no .pdp
        "policies/tests/sub/deeper": "cases: []\n",  # below tests/, not in it
    })
    repo.makefile(".pdp", **{"other/sub/rules": POLICY})  # .pdp below `other/`, not in it
    result = repo.runpytest("--collect-only", "-q")
    collected = [line for line in result.outlines if "::" in line]
    assert collected and all(line.startswith("policies/tests/email.yaml::") for line in collected)


def test_a_failing_case_reads_like_the_pdp_test_report(repo, monkeypatch, capsys):
    result = repo.runpytest("-rf", "-vv")  # -vv: summary lines are not cut to the terminal width
    result.assert_outcomes(passed=1, failed=1)
    capsys.readouterr()  # the in-process pytest run printed there too
    monkeypatch.chdir(repo.path)
    assert main(["test", "policies"]) == 1
    cli = capsys.readouterr().out
    failure = cli[cli.index("policies/tests/email.yaml:9:"):cli.rindex("\n\n")]
    assert failure == textwrap.dedent("""\
        policies/tests/email.yaml:9: opted-out customers still get email
          expected allow, got deny
          missing rules: marketing.promotional_email
          rules that fired:
            deny  marketing.opted_out (§2.6): You opted out
          {request}""").format(request='request (defaults merged): {"action": "use", "data_categories": '
                                       '["user.contact.email"], "data_subject": {"consent": {"marketing": false}}, '
                                       '"purpose": "marketing.communications.email"}')
    assert failure in result.stdout.str()  # the very same text under pytest
    result.stdout.fnmatch_lines([
        "*Marketing (§2.5): opted-out customers still get email*",  # the failure's heading
        "FAILED policies/tests/email.yaml::opted-out_customers_still_get_email"
        " - expected allow, got deny",
    ])
    assert "Traceback" not in result.stdout.str() and "pytest_plugin.py" not in result.stdout.str()


def test_items_report_the_case_file_and_line(repo):
    calls = repo.inline_run("--collect-only").getcalls("pytest_itemcollected")
    assert [call.item.location for call in calls] == [
        ("policies/tests/email.yaml", 4, "Marketing (§2.5): promotional email is allowed"),
        ("policies/tests/email.yaml", 8, "Marketing (§2.5): opted-out customers still get email"),
    ]


def test_the_failure_headline_reaches_junit_xml(repo):
    repo.runpytest("--junitxml=report.xml")
    xml = (repo.path / "report.xml").read_text()
    assert 'message="expected allow, got deny"' in xml


def test_a_policy_set_that_does_not_load_fails_its_items_and_is_loaded_once(repo, monkeypatch):
    repo.makefile(".pdp", **{"policies/broken": "allow x to usee\n"})
    repo.makefile(".yaml", **{"policies/tests/more": (
        "cases:\n  - {name: another, request: {action: use, purpose: marketing,"
        " data_categories: [user]}, expect: deny}\n")})
    loads = []
    real_load = pdp.testing.pytest_plugin.load
    monkeypatch.setattr(pdp.testing.pytest_plugin, "load", lambda d: loads.append(d) or real_load(d))
    result = repo.runpytest()
    result.assert_outcomes(failed=3)
    assert len(loads) == 1  # one directory, one load, for three cases in two files
    result.stdout.fnmatch_lines([
        "policies/tests/email.yaml:5: promotional email is allowed",
        "  the policy set in policies does not load:",
        "policies/broken.pdp:1:12: unknown-action: unknown action `usee`",
        "*1 error in the policy set",
    ])


def test_a_bad_test_file_is_a_collection_error_at_its_line(repo):
    repo.makefile(".yaml", **{"policies/tests/bad": (
        "cases:\n  - name: a\n    request: {action: use}\n    expct: deny\n")})
    result = repo.runpytest()
    assert result.ret != 0
    result.stdout.fnmatch_lines([
        "*ERROR collecting policies/tests/bad.yaml*",
        "policies/tests/bad.yaml:4:5: unknown-key: unknown key `expct` in case `a`",
        "*= hint: did you mean `expect`?",
    ])
    assert "Traceback" not in result.stdout.str()


def test_case_names_become_valid_unique_node_ids(repo):
    repo.makefile(".yaml", **{"policies/tests/names": textwrap.dedent("""\
        defaults:
          request: {action: use, purpose: marketing.communications.email, data_categories: [user.contact.email]}
        cases:
          - {name: "a::b / c [d]", request: {}, expect: allow}
          - {name: "a b c d", request: {}, expect: allow}
          - {name: "a_b_c_d", request: {}, expect: deny}
        """)})
    result = repo.runpytest("--collect-only", "-q", "policies/tests/names.yaml")
    assert result.outlines[:3] == [
        "policies/tests/names.yaml::a_b_c_d",
        "policies/tests/names.yaml::a_b_c_d-2",
        "policies/tests/names.yaml::a_b_c_d-3",
    ]
    selected = repo.runpytest("policies/tests/names.yaml::a_b_c_d-3")
    selected.assert_outcomes(failed=1)
    selected.stdout.fnmatch_lines(["policies/tests/names.yaml:6: a_b_c_d"])


@pytest.mark.parametrize("name, expected", [
    ("promotional email is allowed", "promotional_email_is_allowed"),
    ("transfers abroad (§8) need a DPA", "transfers_abroad_§8_need_a_DPA"),
    ("x::y/z[1]", "x_y_z_1"),
    ("   ", "case"),
])
def test_item_name(name, expected):
    assert pdp.testing.pytest_plugin.item_name(name) == expected
    assert re.fullmatch(r"[\w.§-]+", pdp.testing.pytest_plugin.item_name(name))
