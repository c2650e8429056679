"""`has any of` and `has all of`: two lists compared (issue 12). The language (parse, print, format, check), the
engine's three-valued meaning, its bound, the condition index and the request memo (their properties draw these
tests: tests/test_narrowing.py, tests/support/generate.py), explain, and the decision space, which reads a list
attribute exactly or not at all."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

import pdp
from pdp.analysis.query import Question, ask, quote_bare_words
from pdp.analysis.space.encoding import Undecided
from pdp.analysis.space import Space
from pdp.analysis.warnings import warnings_of
from pdp.engine import conditions, request_memo
from pdp.engine.conditions import MISSING, compile_test, has_items
from pdp.engine.guards import guard_of, total
from pdp.explain import explain
from pdp.lang import ast, printer
from pdp.lang.formatter import format_policy
from pdp.lang.parser import parse_policy
from tests.support.sets import HEADER, build_set, errors_of, request

VOCAB = "attributes:\n  context.tags: list\n  context.tag: string\n  context.level: number\n  context.any: any\n"


def _when(text: str) -> ast.Expr:
    policy, errors = parse_policy(HEADER + f'allow r cite "1" when {text}\n', "p.pdp")
    assert errors == []
    return policy.rules[0].when[0]


def _decide(rules: str, **context) -> str:
    return build_set(rules, VOCAB).outcome(request(context=context)).decision


# ---------------------------------------------------------------- the language


def test_both_forms_parse_and_print_back_as_written():
    for text, every in (('context.tags has any of ["admin", "editor"]', False),
                        ('context.tags has all of data.roles.editors', True)):
        node = _when(text)
        assert isinstance(node, ast.Has) and node.every is every
        assert printer.expression(node) == text
        assert _when(printer.expression(node)) == node


def test_the_formatter_lays_the_operator_out_as_the_printer_writes_it():
    text = HEADER + 'allow r cite "1"\n  when   context.tags   has  any\n of ["a","b"] and not (context.tags has all of [])\n'
    formatted = format_policy(text, "p.pdp")
    assert 'when context.tags has any of ["a", "b"] and not (context.tags has all of [])' in formatted
    assert parse_policy(formatted, "p.pdp")[0].rules == parse_policy(text, "p.pdp")[0].rules


def test_the_new_words_are_keywords_only_where_an_operator_goes():
    # `all`, `any` and `has` still name rules and attributes
    policy = build_set('allow all cite "1" to use when context.any has all of ["x"]\n', VOCAB)
    assert [r.id for r in policy.rules] == ["all"]


def test_a_list_on_the_left_of_in_gets_a_hint_naming_the_operator():
    (error,) = errors_of('allow r cite "1" when context.tags in ["admin", "editor"]', vocabulary=VOCAB)
    assert error.code == "type-mismatch"
    assert error.message == "`context.tags` is a list of values: `in` asks whether one value is an item of a list"
    assert error.hint == ('to ask whether the two lists share an item, write `context.tags has any of ["admin", '
                          '"editor"]`; whether it holds every item of the other, `has all of`')
    (negated,) = errors_of('allow r cite "1" when context.tags not in ["admin"]', vocabulary=VOCAB)
    assert "`not (context.tags has any of [\"admin\"])`" in negated.hint


def test_a_value_that_is_no_list_is_refused_with_what_to_write_instead():
    (error,) = errors_of('allow r cite "1" when context.tag has any of ["a", "b"]', vocabulary=VOCAB)
    assert (error.code, error.message) == ("type-mismatch", "`context.tag` is text, not a list: `has any of` compares "
                                                            "two lists")
    assert error.hint == 'to test one value, write `context.tag in ["a", "b"]`'
    assert (error.span.line, error.span.col) == (2, 23)
    (error,) = errors_of('allow r cite "1" when context.tags has all of "admin"', vocabulary=VOCAB)
    assert error.message == "`\"admin\"` is text, not a list: `has all of` compares two lists"
    assert error.hint == 'to test one value, write `"admin" in context.tags`'


def test_lists_of_items_that_can_never_be_equal_are_refused():
    (error,) = errors_of('allow r cite "1" when ["a", "b"] has any of [1, 2]', vocabulary=VOCAB)
    assert error.message == "the list holds texts but the list holds numbers: no item of one can equal an item of the other"
    (error,) = errors_of('allow r cite "1" when ["a"] has any of data.levels', vocabulary=VOCAB,
                         data={"levels": "[1, 2]"})
    assert error.message == "the list holds texts but `data.levels` holds numbers: no item of one can equal an item of the other"
    # a map is no list
    (error,) = errors_of('allow r cite "1" when context.tags has any of data.roles', vocabulary=VOCAB,
                         data={"roles": "admin: 1\n"})
    assert error.message == "`data.roles` is a group of attributes, not a list: `has any of` compares two lists"


def test_the_requested_categories_are_matched_by_the_target_not_by_the_operator():
    (error,) = errors_of('deny r cite "1" when data_categories has any of ["user.health_and_medical"]', vocabulary=VOCAB)
    assert error.code == "type-mismatch"
    assert error.message.startswith("`data_categories` cannot be tested with `has any of`: a request's categories are "
                                    "matched by the rule's target")
    assert "`of user.health_and_medical, user.biometric`" in error.hint


# ---------------------------------------------------------------- the engine


@pytest.mark.parametrize("left, right, every, expected", [
    (["admin", "x"], ["admin", "editor"], False, True),
    (["viewer"], ["admin", "editor"], False, False),
    (["admin"], ["admin", "editor"], True, False),
    (["editor", "admin", "x"], ["admin", "editor"], True, True),
    ([], [], False, False),  # no item to share
    (["a"], [], False, False),
    ([], [], True, True),  # every item of an empty list: vacuously
    (["a"], [], True, True),
    ([True], [1], False, False),  # true and 1 kept apart, as `==` keeps them
    ([1], [1.0], True, True),
    ([{"k": [1]}], [{"k": [1]}], False, True),  # items that are objects compare whole
    ([MISSING], ["a"], False, None),  # an item of a literal that is absent: unknown ...
    ([MISSING, "a"], ["a"], True, True),  # ... unless the answer does not depend on it
    (["a"], [MISSING, "b"], True, False),
    ([], [MISSING], True, False),
])
def test_the_meaning_item_by_item(left, right, every, expected):
    assert has_items(left, right, every) is expected


ITEMS = st.one_of(st.sampled_from(["a", "b", "1", ""]), st.integers(0, 2), st.sampled_from([1.0, 0.0, -0.0]),
                  st.booleans(), st.fixed_dictionaries({"k": st.integers(0, 1)}), st.lists(st.integers(0, 1), max_size=1))


@given(left=st.lists(ITEMS, max_size=5), right=st.lists(ITEMS, max_size=5), every=st.booleans())
def test_a_constant_list_is_read_as_the_general_path_reads_it(left, right, every):
    """The usual shape's own closure (texts matched as a set) answers as `has_items`, item by item."""
    node = ast.Has(ast.Path(("context", "x")), ast.Path(("data", "c")), every)
    test = compile_test(node, {"c": right})
    assert test({"context": {"x": left}}) is has_items(left, right, every)


def test_a_missing_list_is_unknown_and_a_value_that_is_no_list_fails_closed():
    allow = 'allow r cite "1" to use when context.any has any of ["a"]\n'
    assert _decide(allow, any=["a"]) == "allow"
    assert _decide(allow) == "deny"  # unknown: the allow does not apply
    deny = 'allow ok cite "1" to use\ndeny r cite "2" to use unless context.any has all of ["a"]\n'
    assert _decide(deny) == "allow"  # unknown: an `unless` does not stop the deny ... nor does it apply
    outcome = build_set(deny, VOCAB).outcome(request(context={"any": "a"}))
    assert outcome.decision == "deny"
    assert outcome.reasons[0].effect == "error"
    assert "expected a list on each side of `has all of`, got 'a'" in outcome.reasons[0].message


def test_policy_data_is_read_as_written():
    rules = 'allow r cite "1" to use when context.tags has all of data.roles.needed\n'
    policy = build_set(rules, VOCAB, data={"roles": "needed: [admin, 1]\n"})
    ask = lambda tags: policy.outcome(request(context={"tags": tags})).decision  # noqa: E731
    assert ask(["admin", 1, "x"]) == "allow"
    assert ask(["admin", True]) == "deny"  # true is not 1


def test_the_work_is_one_pass_over_each_list(monkeypatch):
    counted = []
    real = conditions.item_key
    monkeypatch.setattr(conditions, "item_key", lambda v: counted.append(v) or real(v))
    left, right = [{"k": i} for i in range(5_000)], [{"k": -1 - i} for i in range(5_000)]
    assert has_items(left, right, False) is False and has_items(left, right, True) is False
    assert len(counted) <= 2 * (len(left) + len(right))


def test_an_item_nested_beyond_the_limit_fails_the_rule_with_a_reason():
    deep: list = ["a"]
    for _ in range(conditions.MAX_ITEM_DEPTH + 5):
        deep = [deep]
    rules = 'allow ok cite "1" to use\ndeny r cite "2" to use when context.any has any of data.x\n'
    policy = build_set(rules, VOCAB, data={"x": "[{k: 1}]\n"})
    assert policy.outcome(request(context={"any": [{"k": 2}]})).decision == "allow"
    outcome = policy.outcome(request(context={"any": [deep]}))
    assert outcome.decision == "deny" and outcome.reasons[0].effect == "error"
    assert "nested more than 32 levels deep" in outcome.reasons[0].message


def test_the_operator_is_no_guard_and_may_fail_so_the_index_never_counts_it_total():
    node = _when('context.any has any of ["a"]')
    assert guard_of(node, {}) is None
    assert not total(node, {})


def test_the_request_memo_knows_the_operator():
    assert ast.Has in request_memo.KNOWN_NODES
    policy = build_set('allow r cite "1" to use when context.tags has any of ["a"]\n', VOCAB)
    assert policy.request_memo is not None
    assert [policy.outcome(request(context={"tags": t})).decision for t in (["a"], ["b"], ["a"])] == \
        ["allow", "deny", "allow"]


# ---------------------------------------------------------------- explain


def test_explain_shows_the_list_and_the_list_that_would_change_the_decision():
    policy = build_set('allow r "tagged" cite "1" to use when context.tags has all of ["a", "b"]\n', VOCAB)
    text = explain(policy, request(context={"tags": ["a"]})).render_text()
    assert 'when context.tags has all of ["a", "b"] is false: context.tags is ["a"]' in text
    assert 'would be allowed if context.tags were ["a", "b"]' in text


# ---------------------------------------------------------------- the decision space


def test_a_list_read_only_as_a_list_is_analysed_exactly():
    policy = build_set('allow tagged cite "1" to use when context.tags has all of ["a", "b"]\n'
                       'deny nob cite "2" to use when context.tags has any of ["b", "c"]\n', VOCAB)
    codes = {(d.code, d.message.split("`")[1]) for d in warnings_of(policy)}
    assert ("always-overridden", "tagged") in codes  # every list holding a and b holds b
    for method in ("enumeration", "solver"):
        assert not ask(policy, Question(decision="allow"), method=method).yes


def test_the_space_finds_the_list_that_is_allowed():
    policy = build_set('allow tagged cite "1" to use when context.tags has all of ["a", "b"]\n'
                       'deny noc cite "2" to use when ["a", "b"] has any of context.tags and "c" in context.tags\n',
                       VOCAB)
    for method in ("enumeration", "solver"):
        answer = ask(policy, Question(decision="allow"), method=method)
        assert answer.yes and answer.request is not None
        assert set(answer.request["context"]["tags"]) >= {"a", "b"}
        assert policy.outcome(answer.request).decision == "allow"


def test_a_question_may_use_the_operator_with_bare_words():
    assert quote_bare_words("context.tags has any of [a, b]") == 'context.tags has any of ["a", "b"]'
    rules = ('allow tagged cite "1" to use when context.tags has all of ["a", "b"]\n'
             'deny noc cite "2" to use when context.tags has any of ["c"]\n')
    policy = build_set(rules, VOCAB)
    sources = pdp.Sources({"p.pdp": HEADER + rules}, ("vocabulary.yaml", VOCAB))
    assert not ask(policy, Question("allow", where=("context.tags has any of [c]",)), sources).yes
    answer = ask(policy, Question("allow", where=("not (context.tags has any of [c])",)), sources)
    assert answer.yes and answer.request is not None and policy.outcome(answer.request).decision == "allow"


def test_a_list_also_read_as_a_value_is_read_exactly_as_both():
    # `context.any` is a text for `==` and a list for `has all of`: its classes are both (the values compared, and
    # every set of them as a list), so the analysis decides it; `odd` applies only to a text, where `tagged` never
    # does, so it is rightly called redundant, and `tagged` is not
    policy = build_set('allow tagged cite "1" to use when context.any has all of ["a", "b"]\n'
                       'deny odd cite "2" to use when context.any == "a"\n', VOCAB)
    warnings = warnings_of(policy)
    assert [d.code for d in warnings if "`tagged`" in d.message] == []
    assert any(d.code == "shadowed-rule" and "`odd`" in d.message for d in warnings)
    for method in ("enumeration", "solver"):
        answer = ask(policy, Question(decision="allow"), method=method)
        assert answer.yes and answer.request is not None and policy.outcome(answer.request).decision == "allow"


def test_a_list_compared_with_a_list_the_request_gives_is_left_unread_never_called_never_true():
    policy = build_set('allow tagged cite "1" to use when context.any has all of context.tags\n', VOCAB)
    warnings = warnings_of(policy)
    assert not any(d.code in ("shadowed-rule", "always-overridden") for d in warnings)
    skipped = [d for d in warnings if d.code == "analysis-skipped"]
    assert skipped and "`has any of` or `has all of`" in skipped[0].message
    with pytest.raises(Undecided):
        ask(policy, Question(decision="allow"), method="solver")


def test_a_list_a_register_gives_is_read_by_its_entries():
    policy = build_set('lookup recipient in data.reg\n'
                       'allow r cite "1" to share when recipient.roles has any of ["editor", "admin"]\n'
                       'deny d cite "2" to share when recipient.roles has all of ["admin", "evil"]\n',
                       VOCAB, data={"reg": "rick: {roles: [admin, evil]}\nmorty: {roles: [editor]}\n"
                                           "beth: {roles: [viewer]}\n"})
    space = Space([policy])
    assert ("recipient", "roles") in space.lists
    for ident in ("rick", "morty", "beth", "nobody", None):
        req = request(action="share", recipient={"id": ident} if ident else {})
        assert space.predict(0, req).decision == policy.outcome(req).decision, ident
    answer = ask(policy, Question(decision="allow"))
    assert answer.yes and answer.request is not None and answer.request["recipient"]["id"] == "morty"


# ---------------------------------------------------------------- the reference's example


def test_the_reference_example_decides_as_documented():
    """docs/language.md, "Any of, all of: `has any of`, `has all of`"."""
    policy = pdp.build(pdp.Sources(
        {"todo.pdp": 'policy "todo" version "1" effective 2026-01-01 model authzen\n'
                     "lookup subject in data.users\n"
                     'allow todos.edit "Editors and admins may edit any todo"\n  cite "interop"\n'
                     '  to can_update_todo\n  when subject.roles has any of ["admin", "editor"]\n'
                     'allow todos.purge "Only an admin who is also an evil genius may purge"\n  cite "interop"\n'
                     '  to can_delete_todo\n  when subject.roles has all of ["admin", "evil_genius"]\n'},
        ("vocabulary.yaml", "actions: [can_update_todo, can_delete_todo]\n"),
        {"data/users.yaml": "rick: {roles: [admin, evil_genius]}\nmorty: {roles: [editor]}\nbeth: {roles: [viewer]}\n"}))

    def decide(who: str, action: str) -> str:
        return policy.outcome({"subject": {"type": "user", "id": who}, "action": {"name": action},
                               "resource": {"type": "todo", "id": "1"}}).decision

    assert [decide(w, "can_update_todo") for w in ("rick", "morty", "beth", "nobody")] == \
        ["allow", "allow", "deny", "deny"]
    assert [decide(w, "can_delete_todo") for w in ("rick", "morty", "beth", "nobody")] == \
        ["allow", "deny", "deny", "deny"]
