"""The checker: every error at once, sorted, with position, source line, caret and hint."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

import pdp
from pdp.analysis.warnings import warnings_of
from pdp.lang.checker import _effects_below
from tests.support.sets import build_set, errors_of


def codes(diagnostics):
    return [(d.code, d.line) for d in diagnostics if d.severity == "error"]


def test_unknown_keys_get_did_you_mean():
    (a, p, c) = errors_of('allow a cite "§1" to usee for marketing.comunications of user.contact.emial')
    assert (a.code, a.hint) == ("unknown-action", "did you mean `use`?")
    assert p.code == "unknown-purpose" and "`marketing.communications`" in p.hint
    assert c.code == "unknown-data-category" and "`user.contact.email`" in c.hint


def test_unknown_attribute_path_suggests_the_full_path():
    (error,) = errors_of('allow a cite "§1" when recipient.typ == "affiliate"')
    assert error.code == "unknown-attribute"
    assert error.message == "unknown attribute `recipient.typ`"
    assert error.hint == "did you mean `recipient.type`?"


def test_unknown_root_and_undeclared_context():
    e1, e2 = errors_of('allow a cite "§1" when subject.age < 3 and context.legal_reqest')
    assert e1.code == e2.code == "unknown-attribute"
    assert "`data_subject`" in e1.hint
    assert "`context.legal_request`" in e2.hint  # a near miss: the spelling alone (declaring is for no near miss)
    (e3,) = errors_of('allow a cite "§1" when context.wearable')
    assert "declare it under `attributes` in vocabulary.yaml: `context.wearable: bool`" in e3.hint


def test_comparing_age_with_text_is_a_type_error():
    (error,) = errors_of('deny a cite "§10" when data_subject.age < "18"')
    assert error.code == "type-mismatch" and "only numbers" in error.message
    (error,) = errors_of('deny a cite "§10" when data_subject.age == "18"')
    assert error.code == "type-mismatch" and error.hint == "write the number without quotes: `18`"


def test_values_are_checked_against_their_vocabulary():
    found = errors_of('allow a cite "§1" when recipient.type == "service_provder" and destination_country in ["IN", "XX"] '
                      'and purpose under "marketting"')
    assert [d.code for d in found] == ["unknown-recipient-type", "unknown-country", "unknown-purpose"]
    assert found[0].hint == "did you mean `service_provider`?"


def test_duplicate_rule_ids_point_at_both():
    (error,) = errors_of('allow a cite "§1"\nallow a cite "§2"')
    assert error.code == "duplicate-rule" and error.line == 3 and "p.pdp:2:7" in error.hint


def test_rules_that_can_never_match():
    cases = [
        'deny a cite "§1" when data_subject.age < 18 and data_subject.age > 65',
        'allow a cite "§1" for essential when purpose under "marketing"',
        'allow a cite "§1" to use when action == "erase"',
        'allow a cite "§1" when recipient.type == "affiliate" and recipient.type == "acquirer"',
        'allow a cite "§1" when data_subject.age is absent and data_subject.age > 3',
        'allow a cite "§1" when destination_country in ["IN"] and destination_country != "IN"',
    ]
    for text in cases:
        (error,) = errors_of(text)
        assert error.code == "never-matches", text


def test_satisfiable_rules_are_not_flagged():
    build_set('allow a cite "§1" when data_subject.age >= 18 and data_subject.age < 65 or recipient.dpa')
    build_set('allow a cite "§1" to use, erase when action == "erase"')
    build_set('allow a cite "§1" for marketing when purpose under "marketing.communications"')


def test_every_error_at_once_root_causes_first_then_sorted_by_position():
    # a syntax error (text that was not read) comes first: what else is wrong may follow from it (issue 12)
    found = errors_of('allow a cite "§1" to sell\nallow b cite "§1" when x.y\ndeny c cite "§1" oblige o "t"\nallow d when a = 1')
    assert codes(found) == [("syntax", 5), ("unknown-action", 2), ("unknown-attribute", 3), ("deny-obligation", 4)]


def test_rendering_has_position_source_line_caret_and_hint():
    try:
        build_set('allow a cite "§1" to usee')
    except pdp.PolicyError as error:
        text = str(error)
    assert "p.pdp:2:22: unknown-action: unknown action `usee`" in text
    assert "   2 | allow a cite \"§1\" to usee\n     |                      ^^^^" in text
    assert "= hint: did you mean `use`?" in text
    assert text.endswith("1 error in the policy set")


def test_missing_citation_is_a_warning_not_an_error():
    policy = build_set("allow a to use")
    assert [w.code for w in warnings_of(policy)] == ["no-citation"]


def test_header_is_required_once():
    sources = pdp.Sources({"a.pdp": 'allow a cite "§1"'})
    try:
        pdp.build(sources)
    except pdp.PolicyError as error:
        assert [d.code for d in error.diagnostics] == ["no-header"]
    sources = pdp.Sources({"a.pdp": 'policy "x" version "1"\npolicy "y" version "2"'})
    try:
        pdp.build(sources)
    except pdp.PolicyError as error:
        assert [d.code for d in error.diagnostics] == ["duplicate-header"]


def test_vocabulary_extensions_are_checked():
    found = errors_of('allow a cite "§1"', vocabulary="data_uses:\n  - key: crm.sync\nconsent_topic: [x]\n")
    assert [d.code for d in found] == ["vocabulary", "vocabulary"]
    assert "no parent" in found[0].message and found[1].hint == "did you mean `consent_topics`?"


def test_declared_keys_can_be_used():
    policy = build_set('allow a cite "§1" for crm.sync of user.crm', vocabulary=(
        "data_uses:\n  - key: crm\n  - key: crm.sync\ndata_categories:\n  - key: user.crm\n"))
    assert policy.decide({"action": "use", "purpose": "crm.sync", "data_categories": ["user.crm"]}).decision == "allow"


def test_lookup_must_name_a_register():
    (error,) = errors_of("lookup recipient in data.nowhere\nallow a cite \"§1\"", data={"processors": "a: {dpa: true}"})
    assert error.code == "unknown-attribute" and "`data.processors`" in error.hint


def test_data_paths_are_typed_from_the_yaml():
    (error,) = errors_of('allow a cite "§8" when destination_country in data.facilities.countres',
                         data={"facilities": "countries: [IN, DE]\n"})
    assert error.hint == "did you mean `data.facilities.countries`?"
    policy = build_set('allow a cite "§8" when destination_country in data.facilities.countries',
                       data={"facilities": "countries: [IN, DE]\n"})
    assert policy.decide({"action": "transfer", "purpose": "essential", "data_categories": ["user"],
                          "destination_country": "DE"}).decision == "allow"


def test_overrides_must_name_a_rule_of_the_other_effect():
    policy = build_set('allow mail cite "§2.5" for marketing\ndeny opted_out cite "§2.6" for marketing '
                       'when data_subject.consent.marketing == false overrides mail')
    assert [k.name for k in policy.rules[1].source.overrides] == ["mail"]
    (error,) = errors_of('allow mail cite "§2.5"\ndeny opted_out cite "§2.6" overrides mial')
    assert error.code == "unknown-rule" and error.hint == "did you mean `mail`?"
    (error,) = errors_of('allow mail cite "§2.5"\nallow other cite "§2.6" overrides mail')
    assert error.code == "bad-override"


def test_overrides_may_name_a_group_of_rules_by_their_common_prefix():
    policy = build_set('allow marketing.mail cite "§2.5" for marketing\nallow marketing.ads cite "§2.3" for marketing\n'
                       'deny opted_out cite "§2.6" for marketing when data_subject.consent.marketing == false '
                       'overrides marketing')
    assert not [w for w in warnings_of(policy) if w.code == "unmarked-overlap"]
    (error,) = errors_of('allow marketing.mail cite "§2.5"\ndeny opted_out cite "§2.6" overrides market')
    assert error.code == "unknown-rule"


@pytest.mark.parametrize("text, where, words, hint", [
    ("countries: [IN, SG\n", ":1:12:", "the [ here is never closed", "add the ]"),
    ('name: "abc\n', ":1:7:", "the quote here is never closed", "closing quote"),
    ("a:\n  b: c: d\n", ":2:7:", "mapping values are not allowed here", "put quotes around a value"),
])
def test_a_yaml_data_file_that_cannot_be_read_is_shown_where_and_how_to_fix(tmp_path, text, where, words, hint):
    (tmp_path / "data").mkdir()
    (tmp_path / "main.pdp").write_text('policy "t" version "1"\nallow a cite "§1" to use for analytics of user\n')
    (tmp_path / "data" / "register.yaml").write_text(text)
    with pytest.raises(pdp.PolicyError) as info:
        pdp.load(tmp_path)
    shown = str(info.value)
    assert f"register.yaml{where} data: this YAML cannot be read: {words}" in shown
    assert "^" in shown and "= hint: " in shown and hint in shown.split("= hint: ", 1)[1]


def test_an_unknown_consent_topic_says_where_topics_are_declared():
    [error] = errors_of('allow a cite "§1" to use for marketing of user when data_subject.consent.marketng == true')
    assert error.code == "unknown-consent-topic" and error.message == "unknown consent topic `marketng`"
    assert "`data_subject.consent.marketing`" in error.hint and "`consent_topics` in vocabulary.yaml" in error.hint


@given(st.lists(st.tuples(st.lists(st.sampled_from(["a", "b", "ab", "c"]), min_size=1, max_size=4),
                          st.sampled_from(["allow", "deny"])), max_size=12),
       st.lists(st.sampled_from(["a", "b", "ab", "c"]), min_size=1, max_size=4))
def test_the_effects_an_overrides_name_covers_are_those_of_the_ids_below_it(rules, name_parts):
    """One pass over the ids gives, for any name, what scanning every id for it gives."""
    class Rule:
        def __init__(self, rule_id, effect):
            self.id, self.effect = rule_id, effect

    made = [Rule(".".join(parts), effect) for parts, effect in rules]
    name = ".".join(name_parts)
    scanned = {r.effect for r in made if r.id == name or r.id.startswith(name + ".")}
    assert _effects_below(made).get(name, set()) == scanned
    assert (name in _effects_below(made)) == bool(scanned)
