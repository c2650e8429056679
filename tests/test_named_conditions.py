"""Named conditions (lang/named.py): defined once in a set, used by name in rules.

A set with named conditions decides exactly as the same set with each use written out by hand (plain path, index,
request memo), and the whole-set analysis finds the same; a definition that uses itself is always refused, with
the cycle named; explain and coverage show the name; the checker reports a definition's errors once, where it is.
"""

import re
import textwrap
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import pdp
from pdp.analysis.warnings import warnings_of
from pdp.engine import request_memo
from pdp.explain.build import explain
from pdp.lang import ast
from pdp.lang.formatter import format_policy
from pdp.lang.parser import parse_policy
from pdp.testing.coverage import measure
from pdp.testing.cases import Case
from tests.support.generate import defined, fewer, generated_rules, named_conditions, uses, written_out
from tests.support.sets import HEADER, VOCAB, build_set, errors_of, request
from tests.test_narrowing import ACTIONS, CATEGORIES, CONDITIONS, DATA, _outcome, requests

TODO = """
condition adult "the person is of age" when data_subject.age >= 18
condition may_market "an adult who agreed to marketing"
  when adult and data_subject.consent.marketing == true
allow marketing.email cite "§1" to use for marketing when may_market
deny marketing.minors cite "§2" to use for marketing when not adult
"""


def _sources(files: dict[str, str]) -> pdp.Sources:
    return pdp.Sources({path: textwrap.dedent(text) for path, text in files.items()}, ("vocabulary.yaml", VOCAB), {})


def _errors(files: dict[str, str]) -> list:
    with pytest.raises(pdp.PolicyError) as info:
        pdp.build(_sources(files))
    return _only_errors(info.value.diagnostics)


def _only_errors(diagnostics) -> list:
    return [d for d in diagnostics if d.severity == "error"]


def errors_in(rules: str) -> list:
    return _only_errors(errors_of(rules))


# ---------------------------------------------------------------- meaning


def test_a_named_condition_means_its_definition():
    policy_set = build_set(TODO)
    marketing = {"purpose": "marketing"}
    assert policy_set.decide(request(**marketing, data_subject={"age": 30, "consent": {"marketing": True}})).decision \
        == "allow"
    assert policy_set.decide(request(**marketing, data_subject={"age": 30})).decision == "deny"
    minor = policy_set.decide(request(**marketing, data_subject={"age": 12, "consent": {"marketing": True}}))
    assert minor.decision == "deny" and [r.rule for r in minor.reasons] == ["marketing.minors"]


def test_deciding_reads_the_rule_written_out_and_explain_reads_it_as_written():
    rule = build_set(TODO).rules[0]
    assert "may_market" not in str(rule.source.when)  # what the engine, the index and the analysis read
    named = rule.as_written.when[0]
    assert isinstance(named, ast.Named) and named.name == "may_market"
    assert isinstance(named.body, ast.And) and isinstance(named.body.items[0], ast.Named)


def test_explain_shows_the_name_and_its_definitions_parts_below_it():
    policy_set = build_set(TODO)
    text = explain(policy_set, request(purpose="marketing", data_subject={"age": 30})).render()
    assert "when may_market is unknown" in text
    assert "adult and data_subject.consent.marketing == true is unknown" in text
    assert "adult is true" in text and "data_subject.age >= 18 is true: data_subject.age is 30" in text


def test_coverage_lists_a_named_condition_by_its_name_and_its_parts_at_the_definition():
    policy_set = build_set(TODO)
    case = Case(Path("t.yaml"), 1, "adult", "s", request(purpose="marketing", data_subject={"age": 30}), "deny")
    shown = {(c.rule, c.text): c for c in measure(policy_set, [case]).conditions}
    assert shown[("marketing.email", "may_market")].unknown == 1
    adult = shown[("marketing.email", "data_subject.age >= 18")]
    assert adult.true == 1 and adult.location == "p.pdp:3"  # the definition's line


def test_a_named_condition_is_read_on_the_side_of_the_rule_that_uses_it():
    # `purpose under "marketing"` for a broad purpose: a deny reads it for some of what is asked, an allow for all
    text = """
    condition for_marketing when purpose under "marketing"
    allow all cite "§1" to use
    deny no_marketing cite "§2" to use when for_marketing
    """
    inlined = written_out(text, {"for_marketing": 'purpose under "marketing"'}).replace(
        "when for_marketing", 'when purpose under "marketing"')
    broad = request(purpose="marketing")
    assert _outcome(build_set(text), broad) == _outcome(build_set(inlined.split("\n", 2)[2]), broad)


# ---------------------------------------------------------------- properties


@st.composite
def named_sets(draw):
    """(a set using named conditions, the same set with each use written out by hand)."""
    names = draw(named_conditions(CONDITIONS, count=4))
    text = generated_rules(draw, ACTIONS, ["essential", "marketing"], CATEGORIES, CONDITIONS + uses(names), rules=10,
                           clauses=2, items=3)
    return defined(text, names), written_out(text, names)


def _built(text: str, **kw):
    try:
        return build_set(text, data=DATA, **kw)
    except pdp.PolicyError as error:
        assert all(d.code == "never-matches" for d in error.diagnostics if d.severity == "error"), error
        return None


@fewer(3)
@given(sets=named_sets(), batch=st.lists(requests, min_size=1, max_size=6))
def test_a_set_with_named_conditions_decides_as_the_set_written_out_by_hand(sets, batch):
    named_text, by_hand = sets
    plain = _built(by_hand, index=False)
    if plain is None:
        assert _built(named_text, index=False) is None  # refused alike (a rule that can never apply)
        return
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(request_memo, "ENABLED", False)
        unmemoised = _built(named_text)
    built = [_built(named_text, index=False), _built(named_text), unmemoised]
    for req in batch + batch:  # each asked twice: the second from the memo
        expected = _outcome(plain, req)
        for policy_set in built:
            assert _outcome(policy_set, req) == expected, req


@fewer(6)
@given(sets=named_sets())
def test_the_analysis_finds_the_same_of_both(sets):
    named_text, by_hand = sets
    named, plain = _built(named_text), _built(by_hand)
    if plain is None:
        return

    def found(policy_set):  # (a warning's place differs: the named set's rules are shorter)
        return sorted((w.code, w.message) for w in warnings_of(policy_set) if w.code != "unused-condition")

    assert found(named) == found(plain)


@st.composite
def definitions_any_way(draw):
    """Named conditions that may use any of them, themselves included: name -> the names it uses."""
    count = draw(st.integers(1, 5))
    names = [f"n{i}" for i in range(count)]
    return {name: draw(st.lists(st.sampled_from(names), max_size=2)) for name in names}


def _cycle(graph: dict[str, list[str]]) -> bool:
    def reaches(start, goal, seen):
        return any(n == goal or (n not in seen and reaches(n, goal, seen | {n})) for n in graph[start])
    return any(reaches(name, name, {name}) for name in graph)


@fewer(2)
@given(graph=definitions_any_way())
def test_a_definition_that_uses_itself_is_always_refused(graph):
    text = "".join(f"condition {name} when " + " and ".join([*used, "recipient.dpa"]) + "\n"
                   for name, used in graph.items())
    text += 'allow a cite "§1" to use when ' + " or ".join(graph) + "\n"
    if not _cycle(graph):
        build_set(text)
        return
    errors = errors_in(text)
    cycles = [e for e in errors if e.code == "condition-cycle"]
    assert cycles and {e.code for e in errors} == {"condition-cycle"}  # nothing that follows from it
    for error in cycles:
        named = re.findall(r"`(n\d)`", error.message)
        assert named and all(n in graph for n in named)


# ---------------------------------------------------------------- the checker


def test_a_name_defined_twice_names_both_places():
    errors = _errors({"a.pdp": HEADER + "condition adult when data_subject.age >= 18\n"
                                        'allow x cite "§1" to use when adult\n',
                      "b.pdp": "\ncondition adult when data_subject.age >= 21\n"})
    (error,) = errors
    assert error.code == "duplicate-condition" and str(error.span) == "b.pdp:2:11"
    assert "first defined at a.pdp:2:11" in error.hint


def test_a_cycle_is_named_with_each_definitions_place():
    (error,) = errors_in("""
    condition a when b and recipient.dpa
    condition b when not a
    allow x cite "§1" to use when a
    """)
    assert error.code == "condition-cycle" and str(error.span) == "p.pdp:3:11"
    assert error.message == "the named conditions form a cycle: `a` uses `b` uses `a`"
    assert "`a` at p.pdp:3:11, `b` at p.pdp:4:11" in error.hint
    (error,) = errors_in('condition a when a or recipient.dpa\nallow x cite "§1" to use when a\n')
    assert error.message == "the condition `a` uses itself"


def test_a_type_error_in_a_definition_is_reported_once_at_the_definition():
    errors = errors_in("""
    condition adult when data_subject.age >= "18"
    allow x cite "§1" to use when adult
    allow y cite "§2" to use when adult or recipient.dpa
    deny z cite "§3" to use unless adult
    """)
    assert [(e.code, e.span.line) for e in errors] == [("type-mismatch", 3)]


def test_a_misspelt_name_is_offered_the_condition():
    (error,) = errors_in('condition adult when data_subject.age >= 18\nallow x cite "§1" to use when adlt\n')
    assert error.code == "unknown-attribute" and "`adult`" in error.hint


def test_a_name_read_as_a_value_is_an_error():
    (error,) = errors_in('condition adult when data_subject.age >= 18\nallow x cite "§1" to use when adult == true\n')
    assert error.code == "type-mismatch" and "named condition `adult` as a value" in error.message
    assert "`when adult`" in error.hint


@pytest.mark.parametrize("name, says", [("purpose", "part of requests"), ("subject", "model authzen"),
                                        ("and", "word of the policy language"),
                                        ("true", "word of the policy language")])
def test_a_name_must_not_be_a_part_of_requests_or_a_word_of_the_language(name, says):
    errors = errors_in(f"condition {name} when recipient.dpa\n")
    assert [e.code for e in errors] == ["bad-condition-name"]
    assert says in errors[0].message + (errors[0].hint or "")


def test_an_unused_definition_is_a_warning():
    policy_set = build_set("""
    condition adult when data_subject.age >= 18
    condition old when data_subject.age >= 65 and adult
    allow x cite "§1" to use when recipient.dpa
    """)
    unused = [w for w in policy_set.checker_warnings if w.code == "unused-condition"]
    assert sorted(w.message for w in unused) == ["the condition `adult` is used by no rule",
                                                 "the condition `old` is used by no rule"]


def test_a_condition_too_large_once_written_out_is_refused():
    # each name uses the one before twice: 2^30 parts written out, from a few lines of text
    lines = ["condition n0 when recipient.dpa"] + [f"condition n{i} when n{i - 1} or n{i - 1}" for i in range(1, 31)]
    errors = errors_in("\n".join(lines) + '\nallow x cite "§1" to use when n30\n')
    assert [e.code for e in errors] == ["too-large"]
    assert errors[0].message.startswith("the condition `n12` is too large once its named conditions are written out")


def test_a_chain_of_many_names_is_read_without_recursion():
    lines = ["condition n0 when recipient.dpa"] + [f"condition n{i} when n{i - 1}" for i in range(1, 3000)]
    errors = errors_in("\n".join(lines) + '\nallow x cite "§1" to use when n2999\n')
    assert {e.code for e in errors} == {"too-large"}  # deeper than a condition may be: refused, not a crash


def test_a_use_of_a_name_the_broken_file_defines_is_held_back():
    errors = _errors({"a.pdp": HEADER + 'allow x cite "§1" to use when adult\n',
                      "b.pdp": "condition adult when data_subject.age >= 18 and\n"})
    assert [e.code for e in errors] == ["syntax"]


# ---------------------------------------------------------------- syntax and layout


def test_the_formatter_lays_out_a_definition_and_round_trips():
    text = 'allow x to use when  adult\ncondition   adult   "of age"   # why\n   when data_subject.age >= 18\n'
    formatted = format_policy(text, "p.pdp")
    assert formatted == ('condition adult "of age"  # why\n  when data_subject.age >= 18\n\n'
                         "allow x\n  to use\n  when adult\n")
    assert format_policy(formatted, "p.pdp") == formatted
    assert parse_policy(formatted, "p.pdp")[0] == parse_policy(text, "p.pdp")[0]


def test_a_syntax_error_in_a_definition_does_not_lose_the_next_statement():
    parsed, errors = parse_policy("condition adult when data_subject.age >= >= 3\n\ncondition old when recipient.dpa\n",
                                  "p.pdp")
    assert [e.code for e in errors] == ["syntax"] and [c.name for c in parsed.conditions] == ["old"]


def test_an_attribute_may_still_be_called_condition():
    parsed, errors = parse_policy('allow x to use when data_subject.condition == "x"\n', "p.pdp")
    assert not errors and parsed.rules[0].when[0].left.parts == ("data_subject", "condition")


def test_a_question_may_use_a_named_condition_and_asks_what_it_means():
    from pdp.analysis.query import Question, ask

    text = HEADER + textwrap.dedent("""
    condition minor "under 18" when data_subject.age < 18
    allow all cite "§1" to use
    deny children cite "§2" to use when minor
    """)
    sources = _sources({"p.pdp": text})
    policy_set = pdp.build(sources)
    by_name = ask(policy_set, Question("allow", where=("minor",)), sources)
    written = ask(policy_set, Question("allow", where=("data_subject.age < 18",)), sources)
    assert not by_name.yes and not written.yes  # the deny holds for every minor
    assert ask(policy_set, Question("allow", where=("not minor",)), sources).yes


def test_a_duty_due_if_a_named_condition_holds_reads_its_definition():
    policy_set = build_set("""
    condition minor when data_subject.age < 18
    allow a cite "§1" to use when recipient.dpa
      oblige tell_parent "tell the parent" if minor
    """)
    child = policy_set.decide(request(data_subject={"age": 10}, recipient={"dpa": True}))
    adult = policy_set.decide(request(data_subject={"age": 30}, recipient={"dpa": True}))
    assert [o.id for o in child.obligations] == ["tell_parent"] and adult.obligations == ()
