"""`ledger fills ATTRIBUTE from FACT ...`: what a policy set declares the consent ledger fills, and its errors."""

import pytest

import pdp
from pdp.lang.formatter import format_policy
from pdp.ledger.fill import Fill
from tests.support.sets import HEADER, build_set, errors_of

VOCAB = ("consent_topics: [marketing, cookies, location, analytics]\nattributes:\n  context.objection_upheld: bool\n"
         "  context.processing_restricted: bool\n  context.note: string\n")


def test_a_set_declares_which_attributes_the_ledger_fills():
    policy_set = build_set('''
        ledger fills data_subject.consent.marketing from consent "marketing"
        ledger fills data_subject.consent.analytics from consent "analytics" for "personalisation"
        ledger fills context.objection_upheld from objection "profiling"
        ledger fills context.processing_restricted from restriction
        allow a to use when data_subject.consent.marketing == true
    ''', vocabulary=VOCAB)
    assert policy_set.ledger_fills == (
        Fill(("data_subject", "consent", "marketing"), "consent", "marketing"),
        Fill(("data_subject", "consent", "analytics"), "consent", "analytics", "personalisation"),
        Fill(("context", "objection_upheld"), "objection", "profiling"),
        Fill(("context", "processing_restricted"), "restriction"),
    )


def test_a_set_without_a_declaration_fills_nothing():
    assert build_set("allow a to use").ledger_fills == ()


def test_an_unknown_fact_is_an_error_with_a_suggestion():
    (error,) = errors_of('ledger fills context.objection_upheld from objections', vocabulary=VOCAB)
    assert (error.code, error.message, error.hint) == (
        "unknown-ledger-fact", "the ledger has no fact `objections`", "did you mean `objection`?")
    assert (error.line, error.col) == (2, 44)


def test_an_attribute_not_in_the_contract_is_an_error():
    (error,) = errors_of('ledger fills context.objection_uphold from objection', vocabulary=VOCAB)
    assert error.code == "unknown-attribute" and "`context.objection_upheld`" in error.hint
    (error,) = errors_of('ledger fills data_subject.consent.marketin from consent "marketing"', vocabulary=VOCAB)
    assert error.code == "unknown-consent-topic" and (error.line, error.col) == (2, 14)


def test_an_attribute_that_is_not_true_or_false_is_an_error():
    (error,) = errors_of('ledger fills context.note from gpc', vocabulary=VOCAB)
    assert error.code == "type-mismatch" and "`context.note` is text" in error.message


@pytest.mark.parametrize(("text", "message"), [
    ('ledger fills data_subject.consent.marketing from consent', "`consent` needs the topic it is about"),
    ('ledger fills context.objection_upheld from gpc "x"', "`gpc` is one fact a person"),
    ('ledger fills context.objection_upheld from objection "x" for "y"', "`objection` is not given for a purpose"),
    ('ledger fills context.objection_upheld from objection "a b"', "`a b` is not a name the ledger records"),
])
def test_what_a_fact_is_about_is_checked(text, message):
    (error,) = errors_of(text, vocabulary=VOCAB)
    assert error.code == "bad-ledger-fill" and error.message.startswith(message) and error.hint


def test_an_attribute_filled_twice_is_an_error():
    (error,) = errors_of('ledger fills context.objection_upheld from objection\n'
                         'ledger fills context.objection_upheld from restriction', vocabulary=VOCAB)
    assert error.code == "bad-ledger-fill" and "already filled" in error.message and error.line == 3


def test_an_authzen_set_fills_nothing_from_the_ledger():
    sources = pdp.Sources({"p.pdp": 'policy "t" version "1" model authzen\nledger fills subject.ok from gpc\n'})
    with pytest.raises(pdp.PolicyError) as info:
        pdp.build(sources)
    assert "bad-ledger-fill" in [d.code for d in info.value.diagnostics]


def test_an_unfinished_declaration_is_a_syntax_error_at_its_end():
    error = errors_of('ledger fills context.objection_upheld\nallow a cite "§1" to use', vocabulary=VOCAB)[0]
    assert (error.code, error.message, error.hint) == ("syntax", "this statement is unfinished",
                                                       "expected `from` before the next statement")
    assert (error.line, error.col) == (2, 38)


def test_a_path_segment_named_ledger_is_still_a_name():
    build_set('allow a to use when context.ledger == true',
              vocabulary="attributes:\n  context.ledger: bool\n")


def test_the_formatter_puts_declarations_after_lookups_one_a_line():
    text = HEADER + ('allow a to use\n\nledger   fills data_subject.consent.analytics  from consent "analytics"'
                     '   for "personalisation"  # why\n')
    assert format_policy(text, "p.pdp") == (
        'policy "t"\n  version "1"\n  effective 2026-01-01\n\n'
        'ledger fills data_subject.consent.analytics from consent "analytics" for "personalisation"  # why\n\n'
        'allow a\n  to use\n')
