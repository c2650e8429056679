"""A request's `purpose_of_collection` and a set's `compatible_purposes` (GDPR art. 6(4), issue 12): the request
field checked against the taxonomy, the declaration checked at its place in vocabulary.yaml, and rules reading it
as policy data looked up by the purpose of collection (examples/purpose-compatibility)."""

from pathlib import Path

import pytest

import pdp
from pdp.analysis.query import Question, ask
from pdp.vocab.request import DecisionRequest
from tests.support.sets import HEADER, build_set, errors_of, request

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "purpose-compatibility"
VOCAB = "compatible_purposes:\n  marketing.communications: [analytics.reporting]\n  essential.service: [essential]\n"
RULES = 'allow further cite "§3" to use when purpose under data.compatible_purposes[purpose_of_collection]\n'


def test_the_request_field_is_a_purpose_key_in_the_contract():
    schema = DecisionRequest.model_json_schema()["properties"]["purpose_of_collection"]
    assert "purpose the data was collected for" in schema["description"]
    policy_set = build_set(RULES, vocabulary=VOCAB)
    with pytest.raises(pdp.RequestError) as info:
        policy_set.decide(request(purpose_of_collection="marketing.comunications"))
    assert "purpose_of_collection" in str(info.value) and "marketing.communications" in str(info.value)


@pytest.mark.parametrize("purpose, collected_for, allowed", [
    ("analytics.reporting", "marketing.communications", True),
    ("analytics.reporting.system.performance", "marketing.communications", True),  # below a compatible purpose
    ("analytics", "marketing.communications", False),  # names more than the compatible purpose
    ("analytics.reporting", "marketing.communications.email", False),  # below the declared one: no entry
    ("analytics.reporting", "marketing", False),  # above it: no entry either
    ("analytics.reporting", None, False),  # not given: unknown
    ("essential.service", "essential.service", True),
    ("marketing", "essential.service", False),
])
def test_further_use_is_allowed_for_a_compatible_purpose_only(purpose, collected_for, allowed):
    policy_set = build_set(RULES, vocabulary=VOCAB)
    req = request(purpose=purpose, **({"purpose_of_collection": collected_for} if collected_for else {}))
    assert policy_set.decide(req).allowed is allowed


@pytest.mark.parametrize("vocabulary, line, col, message, hint", [
    ("compatible_purposes:\n  markting: [analytics]\n", 2, 3, "`markting` in `compatible_purposes` is no purpose",
     "`marketing`"),
    ("compatible_purposes:\n  marketing: [analytics, analytcs.reporting]\n", 2, 26,
     "`analytcs.reporting` in `compatible_purposes` is no purpose", "`analytics.reporting`"),
    ("compatible_purposes:\n  marketing: analytics\n", 2, 14, "the purposes compatible with `marketing` are a list",
     "compatible_purposes: {essential.service: [analytics.reporting]}"),
    ("compatible_purposes: [marketing]\n", 1, 22, "`compatible_purposes` maps a purpose of collection", "write e.g."),
])
def test_the_declaration_is_checked_at_its_place(vocabulary, line, col, message, hint):
    (error,) = errors_of(RULES, vocabulary=vocabulary)
    assert (error.span.file, error.span.line, error.span.col) == ("vocabulary.yaml", line, col)
    assert message in error.message and hint in (error.hint or "")


def test_a_purpose_the_set_declares_may_be_named():
    vocabulary = "data_uses:\n  - key: analytics.fraud\ncompatible_purposes:\n  essential.service: [analytics.fraud]\n"
    policy_set = build_set(RULES, vocabulary=vocabulary)
    assert policy_set.decide(request(purpose="analytics.fraud", purpose_of_collection="essential.service")).allowed


def test_the_declaration_and_a_data_file_of_its_name_are_one_too_many():
    (error,) = errors_of(RULES, vocabulary=VOCAB, data={"compatible_purposes": "marketing: [analytics]\n"})
    assert error.code == "data" and "vocabulary.yaml and in data/compatible_purposes.yaml" in error.message


def test_a_rule_reading_the_declaration_needs_it():
    (error,) = errors_of(RULES, vocabulary="")
    assert error.code == "unknown-attribute" and "data.compatible_purposes" in error.message


@pytest.mark.parametrize("method", ["enumeration", "solver"])
def test_the_analysis_answers_questions_of_compatibility_as_the_engine_decides(method):
    sources = pdp.Sources({"p.pdp": HEADER + RULES}, ("vocabulary.yaml", VOCAB))
    policy_set = pdp.build(sources)
    question = Question("allow", ("use",), ("analytics",), where=('purpose_of_collection == "marketing.communications"',))
    found = ask(policy_set, question, sources, method=method)
    assert found.yes and policy_set.decide(found.request).allowed
    assert found.request["purpose"].startswith("analytics.reporting")
    question = Question("allow", ("use",), ("marketing",), where=('purpose_of_collection == "marketing.communications"',))
    assert not ask(policy_set, question, sources, method=method).yes


def test_the_example_set_passes_its_tests_and_check():
    from pdp.testing.discovery import run_directory

    results, errors = run_directory(EXAMPLE)
    assert not errors and results and all(r.passed for r in results)
    policy_set = pdp.load(EXAMPLE)
    assert not policy_set.checker_warnings


@pytest.mark.parametrize("condition", ["purpose == purpose_of_collection", "purpose under purpose_of_collection",
                                       "action == context.note"])
def test_a_requested_key_against_another_attribute_is_never_called_never_true(condition):
    """The analysis has no finite classes for such a test: it says so, and claims nothing (it used to call
    `purpose == purpose_of_collection` a rule that applies to no request, while the engine allows by it)."""
    from pdp.analysis.space.encoding import Undecided
    from pdp.analysis.warnings import analyse

    rules = f'allow a cite "§1" to use when {condition}\n'
    sources = pdp.Sources({"p.pdp": HEADER + rules}, ("vocabulary.yaml", VOCAB + "attributes:\n  context.note: string\n"
                                                                      "  context.score: any\n"))
    policy_set = pdp.build(sources)
    found = analyse(policy_set)
    assert not [d for d in found if d.code in ("shadowed-rule", "never-matches")]
    assert [d for d in found if d.code == "analysis-skipped" and "`a`" in d.message]
    with pytest.raises(Undecided):
        ask(policy_set, Question("allow"), sources, method="solver")


def test_the_engine_allows_a_use_within_the_purpose_of_collection():
    policy_set = build_set('allow a cite "§1" to use when purpose under purpose_of_collection\n', vocabulary=VOCAB)
    assert policy_set.decide(request(purpose="essential.service.payment_processing",
                                     purpose_of_collection="essential.service")).allowed
    assert not policy_set.decide(request(purpose="essential", purpose_of_collection="essential.service")).allowed
