"""Root cause first (issue 12): an error that loses part of a file is reported first, and the errors that only
follow from it are held back until it is fixed; the set never loads while they are."""

import textwrap

import pytest

import pdp
from tests.support.sets import HEADER


def errors(policies: dict[str, str], vocabulary: str | None = None, data: dict[str, str] | None = None):
    sources = pdp.Sources({path: textwrap.dedent(text) for path, text in policies.items()},
                          ("vocabulary.yaml", textwrap.dedent(vocabulary)) if vocabulary is not None else None,
                          {f"data/{k}.yaml": textwrap.dedent(v) for k, v in (data or {}).items()})
    with pytest.raises(pdp.PolicyError) as info:
        pdp.build(sources)
    return info.value


HEALTH = '''\
    allow health.ok "ok" cite "§1" to use for essential.service of user.health_and_medical
      when data_subject.consent.health
      when context.wearable == true
    '''


def test_a_bad_indent_in_vocabulary_yaml_is_reported_first_and_alone():
    broken = "consent_topics: [health]\nattributes:\n  context.wearable: bool\n   context.other: bool\n"
    error = errors({"a.pdp": HEADER + HEALTH, "b.pdp": HEALTH.replace("health.ok", "health.two")}, broken)
    (only,) = error.diagnostics
    assert (only.code, only.file, only.line) == ("vocabulary", "vocabulary.yaml", 4)
    assert only.hint and "indentation" in only.hint
    assert error.held_back == 4  # two files, each an unknown topic and an unknown attribute
    assert str(error).endswith("1 error in the policy set (4 more that may only follow from it left out: fix this first)")


def test_with_the_vocabulary_fixed_nothing_was_hiding_and_the_set_loads():
    fixed = "consent_topics: [health]\nattributes:\n  context.wearable: bool\n  context.other: bool\n"
    sources = pdp.Sources({"a.pdp": HEADER + textwrap.dedent(HEALTH)}, ("vocabulary.yaml", fixed), {})
    assert pdp.build(sources).rules


def test_errors_that_do_not_follow_from_the_vocabulary_are_still_reported_after_it():
    broken = "consent_topics: [health]\n bad: indent\n"
    rule = 'deny x.y "no" cite "§1" to use\n  when recipient.type == "processor"\n'
    error = errors({"a.pdp": HEADER + rule}, broken)
    assert [d.code for d in error.diagnostics] == ["vocabulary", "unknown-recipient-type"]


def test_a_misspelt_section_holds_back_the_unknown_topics_it_would_have_declared():
    error = errors({"a.pdp": HEADER + HEALTH}, "consent_topic: [health]\nattributes:\n  context.wearable: bool\n")
    assert [d.code for d in error.diagnostics] == ["vocabulary"]
    assert error.diagnostics[0].hint == "did you mean `consent_topics`?"


def test_a_missing_closing_quote_gives_no_errors_in_other_files():
    header = 'policy "fit version "1" effective 2026-01-01\n'  # the header is lost with its line
    opened = 'allow share.ok "ok cite "§1" to share for essential.service of user.contact\n  when recipient.scc\n'
    other = 'deny share.no "no" cite "§1" to share\n  when recipient.scc == false\n  overrides share.ok\n'
    error = errors({"h.pdp": header + "lookup recipient in data.processors\n", "a.pdp": opened, "b.pdp": other},
                   data={"processors": "p1: {type: service_provider, scc: true}\n"})
    assert {d.file for d in error.diagnostics} == {"h.pdp", "a.pdp"}  # nothing in b.pdp, no `no-header`
    assert all(d.code == "syntax" for d in error.diagnostics)
    assert all(d.hint and "a `\"` is missing on this line" in d.hint for d in error.diagnostics)
    assert error.held_back == 2  # the header and the rule `overrides` names may be in the lost text


def test_a_lost_lookup_holds_back_its_registers_attributes_elsewhere():
    broken = 'lookup recipient in data.processors "\n'
    other = 'deny share.no "no" cite "§1" to share\n  when recipient.scc == false\n'
    error = errors({"h.pdp": HEADER + broken, "b.pdp": other}, data={"processors": "p1: {scc: true}\n"})
    assert [d.file for d in error.diagnostics] == ["h.pdp"]


def test_a_broken_data_file_holds_back_the_lookups_and_reads_of_its_register():
    rules = ('lookup recipient in data.processors\n'
             'deny share.no "no" cite "§1" to share\n  when recipient.scc == false\n  when "x" in data.processors\n')
    error = errors({"a.pdp": HEADER + rules}, data={"processors": "p1: {scc: true\n"})
    assert [d.code for d in error.diagnostics] == ["data"]


def test_root_causes_sort_before_everything_else_whatever_the_file_name():
    rule = 'deny x.y "no" cite "§1" to use\n  when recipient.type == "processor"\n'
    error = errors({"a.pdp": HEADER + rule, "z.pdp": 'deny z "no" cite "§1" to use when =\n'})
    assert [(d.file, d.code) for d in error.diagnostics] == [("z.pdp", "syntax"), ("a.pdp", "unknown-recipient-type")]


def test_without_a_root_cause_nothing_is_held_back():
    rule = 'allow a "ok" cite "§1" to use\n  when context.wearable\n  overrides nothing.here\n'
    error = errors({"a.pdp": HEADER + rule})
    assert {d.code for d in error.diagnostics} == {"unknown-attribute", "unknown-rule"}
    assert error.held_back == 0 and "left out" not in str(error)
