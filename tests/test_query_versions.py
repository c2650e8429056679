"""`pdp query` over every version a request can select (§11, issue 8): an answer of "never" must not hide a
request an earlier version allows, and a "yes" shows the `collected_at` that selects the version that answered.

The set below keeps an earlier version that allows the use of contact data for analytics; the current
version does not allow it at all. Data collected while the earlier version was in force is still decided
by it, so such a request can be allowed.
"""

import json

import pytest

import pdp
from pdp.cli import main
from pdp.explain import explain
from pdp.analysis.query import Question, ask
from tests.support.sets import write_versioned

VOCABULARY = "consent_topics: [marketing]\nsubject_requests: [erase]\n"
OLD = '''\
policy "cx" version "2025-01-01" effective 2025-01-01
allow analytics "Analytics of contact data" cite "§2.2" to use for analytics of user.contact
allow erase "Erasure" cite "§4" to erase
'''
NEW = '''\
policy "cx" version "2026-11-24" effective 2026-11-24
allow service "The service" cite "§2.1" to use for essential.service of user.contact
deny no_erase "No erasure of account data" cite "§4" to erase of user.account
'''


def write_set(directory, current: str, older: dict[str, str]):
    return write_versioned(directory, current, older, VOCABULARY)


@pytest.fixture
def versioned(tmp_path):
    return write_set(tmp_path / "cx", NEW, {"2025-01-01": OLD})


def test_only_the_earlier_version_allows_it_and_the_query_says_yes(capsys, versioned):
    code = main(["query", str(versioned), "--allowed", "--action", "use", "--purpose-under", "analytics",
                 "--category-under", "user.contact", "--format", "json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 1 and out["answer"] == "yes"
    example = out["request"]
    assert example["collected_at"] == "2025-01-01"  # in force from 2025-01-01 until 2026-11-24
    assert out["policy"]["version"] == "2025-01-01"
    decision = pdp.load(versioned).decide(example)
    assert decision.decision == "allow" and decision.policy["version"] == "2025-01-01"
    assert [r.rule for r in decision.reasons] == ["analytics"]


def test_the_text_answer_names_the_version_that_answered(capsys, versioned):
    code = main(["query", str(versioned), "--allowed", "--action", "use", "--purpose-under", "analytics"])
    text = capsys.readouterr().out
    assert code == 1
    assert "cx 2025-01-01, in force on 2025-01-01, when the data was collected" in text
    assert '"collected_at": "2025-01-01"' in text


def test_the_persons_own_requests_are_asked_under_the_current_version_only(versioned):
    # the earlier version allows every erasure, but an erasure is decided by the current version (§11)
    policy = pdp.load(versioned)
    answer = ask(policy, Question("allow", ("erase",), (), ("user.account",)))
    assert not answer.yes and answer.cells
    assert policy.decide({"action": "erase", "purpose": "essential.service", "data_categories": ["user.account"],
                          "collected_at": "2025-06-30"}).decision == "deny"


def test_a_request_collected_before_the_first_version_is_denied_and_the_query_finds_it(tmp_path):
    # every version allows every use: only a date before the first version (none in force) is denied
    allow_all = 'allow everything cite "§1" to use\n'
    directory = write_set(tmp_path / "all", 'policy "cx" version "2" effective 2026-01-01\n' + allow_all,
                          {"1": 'policy "cx" version "1" effective 2025-01-01\n' + allow_all})
    policy = pdp.load(directory)
    answer = ask(policy, Question("deny", ("use",)))
    assert answer.yes and answer.request["collected_at"] == "2024-12-31"
    decision = policy.decide(answer.request)
    assert decision.decision == "deny" and [r.rule for r in decision.reasons] == ["version.none_in_force"]
    assert [r.rule for r in answer.outcome.reasons] == ["version.none_in_force"]


def test_a_set_without_earlier_versions_keeps_the_simple_answer(capsys, tmp_path):
    directory = write_set(tmp_path / "one", NEW, {})
    assert main(["query", str(directory), "--allowed", "--action", "use", "--purpose-under", "analytics"]) == 0
    text = capsys.readouterr().out
    assert "never allowed (" in text and "version" not in text
    assert main(["query", str(directory), "--allowed", "--action", "use", "--format", "json"]) == 1
    out = json.loads(capsys.readouterr().out)
    assert "collected_at" not in out["request"] and out["versions"] == ["2026-11-24"]


def test_explain_agrees_with_the_example(versioned):
    policy = pdp.load(versioned)
    answer = ask(policy, Question("allow", ("use",), ("analytics",)))
    e = explain(policy, answer.request)
    assert (e.decision, e.reasons) == ("allow", answer.outcome.reasons)
    assert e.policy == answer.policy


def test_a_key_only_an_earlier_version_knows_is_asked_under_it(tmp_path):
    legacy = OLD + 'allow legacy cite "§9" to use of user.legacy\n'
    directory = write_set(tmp_path / "legacy", NEW, {"2025-01-01": legacy})
    (directory / "versions" / "2025-01-01" / "vocabulary.yaml").write_text(
        VOCABULARY + "data_categories:\n  - key: user.legacy\n    name: Legacy records\n")
    policy = pdp.load(directory)
    answer = ask(policy, Question("allow", ("use",), (), ("user.legacy",)))
    assert answer.yes and answer.request["collected_at"] == "2025-01-01"
    assert policy.decide(answer.request).decision == "allow"
    with pytest.raises(pdp.RequestError):  # the current version refuses it: it no longer knows the key
        policy.decide({k: v for k, v in answer.request.items() if k != "collected_at"})


def test_a_value_an_earlier_version_refuses_is_asked_under_the_version_that_decides_it(capsys, tmp_path):
    """The earlier version's register alone grants `affiliate` (`except`); the current one looks nothing up and
    allows a recipient that says it is one. The space left such requests out under every version, so the query
    answered "never" for a request the current version allows."""
    earlier = ('policy "cx" version "1" effective 2025-01-01\n'
               'lookup recipient in data.reg\n  if unlisted, request states type\n  except type "affiliate"\n'
               'allow listed cite "§1" to use when recipient.type == "service_provider"\n')
    current = ('policy "cx" version "2" effective 2026-01-01\n'
               'allow affiliates cite "§2" to use when recipient.type == "affiliate"\n')
    directory = write_set(tmp_path / "reg", current, {"1": earlier})
    for version in (directory, directory / "versions" / "1"):
        (version / "data").mkdir()
        (version / "data" / "reg.yaml").write_text("p1: {type: service_provider}\n")
    code = main(["query", str(directory), "--allowed", "--action", "use", "--where", "recipient.id is absent",
                 "--where", 'recipient.type == "affiliate"', "--format", "json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 1 and out["answer"] == "yes", out
    policy = pdp.load(directory)
    assert "collected_at" not in out["request"] and policy.decide(out["request"]).decision == "allow"
    with pytest.raises(pdp.RequestError, match="only a register"):  # the earlier version refuses it
        policy.decide({**out["request"], "collected_at": "2025-06-01"})
