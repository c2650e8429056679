"""Policy data looked up by a value (`data.role_permissions[subject.role]`, issue 12): how it is written, checked,
evaluated (a missing entry is unknown), remembered, explained and analysed. The property tests that hold the
plain path, the condition index, the request memo and the analysis equal draw these tests too
(tests/support/generate.py: INDEXED)."""

import pytest

import pdp
from pdp.analysis.query import Question, ask
from pdp.analysis.space.encoding import Undecided
from pdp.analysis.warnings import analyse
from pdp.engine import request_memo
from pdp.engine.conditions import MISSING, compile_test, compile_value
from pdp.engine.guards import total
from pdp.explain import explain
from pdp.lang import ast, printer
from pdp.lang.formatter import format_policy
from pdp.lang.parser import parse_policy
from tests.support.sets import HEADER, VOCAB, build_set, errors_of, request

import textwrap

VOCABULARY = VOCAB + "  context.role: string\n  context.owner: string\n  context.level: number\n  context.day: date\n"
DATA = {"roles": "admin: [erase, export]\nviewer: [export]\nguest: []\n",
        "managers": "alice: svc-bob\ncarol: svc-dave\n",
        "teams": "ops: {lead: svc-bob, size: 3}\nsales: {lead: svc-eve}\n"}


def _set(rules: str, **kw):
    return build_set(rules, vocabulary=VOCABULARY, data=DATA, **kw)


def _sources(rules: str) -> pdp.Sources:
    return pdp.Sources({"p.pdp": HEADER + textwrap.dedent(rules)}, ("vocabulary.yaml", VOCABULARY),
                       {f"data/{k}.yaml": v for k, v in DATA.items()})


def _condition(text: str) -> ast.Expr:
    parsed, errors = parse_policy(HEADER + f'allow r cite "x" when {text}\n', "p.pdp")
    assert not errors, errors
    return parsed.rules[0].when[0]


# ---------------------------------------------------------------- writing it


@pytest.mark.parametrize("text", [
    '"erase" in data.roles[context.role]', "data.managers[context.owner] == requester.id",
    'data.teams[context.role].lead != "svc-bob"', 'data.teams["ops"].size > 2', "requester.id in data.roles[context.role]",
])
def test_a_lookup_reads_back_as_written_and_formats_to_the_same_tree(text):
    expr = _condition(text)
    assert printer.expression(expr) == text
    formatted = format_policy(HEADER + f'allow r cite "x" when {text}\n', "p.pdp")
    assert parse_policy(formatted, "p.pdp")[0].rules[0].when == (expr,)
    streamed, _ = parse_policy(HEADER + f'allow r cite "x" when {text}\n', "p.pdp", streaming=False)
    assert streamed.rules[0].when == (expr,)


def test_the_parts_of_a_lookup():
    expr = _condition("data.teams[context.role].lead == requester.id")
    assert isinstance(expr, ast.Compare) and expr.left == ast.Index(ast.Path(("data", "teams")),
                                                                     ast.Path(("context", "role")), ("lead",))


@pytest.mark.parametrize("text, message", [
    ("context.roles[context.role] == 1", "`context.roles` is not policy data"),
    ("data.roles[data.managers[context.owner]] == 1", "one lookup a value"),
    ("data.roles[1] == 1", "one lookup a value"),
    ('context.role in [data.managers["alice"], "x"]', "a list holds values written out"),
])
def test_what_cannot_be_looked_up_is_a_syntax_error_with_a_hint(text, message):
    _, errors = parse_policy(HEADER + f'allow r cite "x" when {text}\n', "p.pdp")
    (error,) = errors
    assert error.code == "bad-index" and message in error.message and error.hint
    assert error.span.line == 2


@pytest.mark.parametrize("text, code, message", [
    ("context.role in data.rolez[context.role]", "unknown-attribute", "unknown attribute `data.rolez`"),
    ("context.role in data.roles.admin[context.role]", "bad-index", "`data.roles.admin` is a list of texts, not a table"),
    ("context.role in data.roles[context.level]", "type-mismatch",
     "the keys of `data.roles` are texts; `context.level` is a number"),
    ("context.role in data.roles[context.day]", "type-mismatch", "`context.day` is a date"),
    ('context.role in data.roles[purpose]', "bad-index", "`purpose` cannot look up policy data"),
    ('context.role in data.roles["admn"]', "unknown-attribute", "`data.roles` has no entry \"admn\""),
    ("data.teams[context.role].leader == requester.id", "unknown-attribute", "no entry of `data.teams` has `leader`"),
    ("data.managers[context.role] == 3", "type-mismatch", "is text but `3` is a number"),
    ("data.mixed[context.role] == 3", "type-mismatch", "the entries of `data.mixed` are not all one kind: `a` is a list "
                                                       "of texts, `b` is text"),
])
def test_the_checker_names_what_is_wrong_with_a_lookup(text, code, message):
    data = DATA | {"mixed": "a: [x]\nb: y\n"}
    (error,) = errors_of(f'allow r cite "x" to use when {text}\n', vocabulary=VOCABULARY, data=data)
    assert error.code == code and message in error.message, error
    assert error.span.line == 2 and error.span.col > 1


def test_a_table_looked_up_by_a_vocabulary_key_has_keys_of_that_vocabulary():
    data = {"ok": "marketing: [analytics]\nmarketing.advertsing: [analytics]\n"}
    (error,) = errors_of('allow r cite "x" to use when purpose in data.ok[context.poc]\n',
                         vocabulary=VOCAB + "  context.poc: purpose\n", data=data)
    assert error.code == "unknown-purpose" and "`marketing.advertsing` is no purpose" in error.message
    assert "marketing.advertising" in error.hint


def test_a_suggestion_for_a_misspelt_entry():
    (error,) = errors_of('allow r cite "x" to use when data.roles["viewr"] == []\n', vocabulary=VOCABULARY, data=DATA)
    assert "did you mean" in error.hint and "viewer" in error.hint


# ---------------------------------------------------------------- evaluating it


@pytest.mark.parametrize("role, value", [("admin", True), ("viewer", False), ("guest", False), ("nobody", None),
                                         (None, None), (3, None), (True, None), (["admin"], None), ({"a": 1}, None)])
def test_a_missing_entry_or_an_index_that_is_no_text_is_unknown(role, value):
    test = compile_test(_condition('"erase" in data.roles[context.role]'), {"roles": {"admin": ["erase"],
                                                                                      "viewer": [], "guest": []}})
    assert test({"context": {"role": role}}) is value


def test_an_entry_without_the_path_below_it_is_missing():
    get = compile_value(_condition("data.teams[context.role].size == 3").left, {"teams": {"ops": {"size": 3},
                                                                                         "sales": {}, "odd": "x"}})
    assert [get({"context": {"role": r}}) for r in ("ops", "sales", "odd")] == [3, MISSING, MISSING]


def test_decisions_fail_closed_on_a_missing_entry():
    policy_set = _set('allow export cite "x" to use when "export" in data.roles[context.role]\n'
                      '  when data.managers[context.owner] == requester.id\n')
    allowed = request(context={"role": "viewer", "owner": "alice"}, requester={"id": "svc-bob"})
    assert policy_set.decide(allowed).allowed
    # an unknown role: the allow does not apply
    assert not policy_set.decide(request(context={"role": "root", "owner": "alice"}, requester={"id": "svc-bob"})).allowed
    # an owner the table does not list: the requirement is unknown, so the allow does not apply
    assert not policy_set.decide(request(context={"role": "viewer", "owner": "zed"}, requester={"id": "svc-bob"})).allowed


def test_the_plain_path_and_the_index_agree():
    rules = ('allow export cite "x" to use when "export" in data.roles[context.role]\n'
             'deny other cite "x" to use when data.managers[context.owner] != requester.id\n')
    fast, plain = _set(rules), _set(rules, index=False)
    for role in ("admin", "viewer", "guest", "x"):
        for owner in ("alice", "carol", "zed"):
            req = request(context={"role": role, "owner": owner}, requester={"id": "svc-bob"})
            assert fast.decide(req).decision == plain.decide(req).decision


def test_a_lookup_is_never_total_where_it_can_raise():
    data = {"roles": {"admin": ["erase"]}}
    assert not total(_condition('"erase" in data.roles[context.role]'), data)
    assert not total(_condition("data.roles[context.role] < 3"), data)
    assert total(_condition('data.roles[context.role] == "x"'), data)  # `==` never raises


def test_the_request_memo_keys_a_lookup_by_the_value_of_its_index():
    rule = parse_policy(HEADER + 'allow r cite "x" when data.teams[context.role].lead == requester.id\n',
                        "p.pdp")[0].rules[0]
    assert request_memo.paths_read([rule]) == (("context", "role"), ("requester", "id"))


# ---------------------------------------------------------------- explaining and analysing it


def test_explain_shows_the_entry_found_or_that_there_is_none():
    policy_set = _set('allow export cite "x" to use when "export" in data.roles[context.role]\n')
    text = explain(policy_set, request(context={"role": "viewer"})).render_text()
    assert 'data.roles[context.role] is ["export"]; context.role is "viewer"' in text
    text = explain(policy_set, request(context={"role": "root"})).render_text()
    assert "is unknown: data.roles has no entry for context.role; context.role is \"root\"" in text


def test_explain_suggests_the_entries_a_table_holds():
    policy_set = _set('allow export cite "x" to use when "export" in data.roles[context.role]\n'
                      '  when data.managers[context.owner] == requester.id\n')
    text = explain(policy_set, request(context={"role": "root", "owner": "alice"}, requester={"id": "svc-bob"})
                   ).render_text()
    assert 'would be allowed if context.role were "viewer"' in text
    assert 'would be allowed if context.role were "admin"' in text
    text = explain(policy_set, request(context={"role": "admin", "owner": "alice"}, requester={"id": "svc-x"})
                   ).render_text()
    assert 'would be allowed if requester.id were "svc-bob"' in text


@pytest.mark.parametrize("method", ["enumeration", "solver"])
def test_the_analysis_reads_a_lookup_exactly(method):
    sources = _sources('allow export cite "x" to use for essential of user.contact.email\n'
                       '  when "export" in data.roles[context.role]\n'
                       'deny mine cite "x" to use when data.managers[context.owner] == requester.id\n')
    policy_set = pdp.build(sources)
    found = ask(policy_set, Question("allow", where=('context.role == "guest"',)), sources, method=method)
    assert not found.yes
    found = ask(policy_set, Question("allow", where=('context.role == "viewer"',)), sources, method=method)
    assert found.yes and policy_set.decide(found.request).allowed
    # the manager of carol's account is svc-dave: the deny holds for that requester alone, which only the
    # table's values tell apart from every other id
    mine = ('context.owner == "carol"', 'context.role == "admin"', 'requester.id == "svc-dave"')
    assert not ask(policy_set, Question("allow", where=mine), sources, method=method).yes
    found = ask(policy_set, Question("deny", ("use",), ("essential",), ("user.contact.email",),
                                     where=mine[:2] + ("requester.id is present",)), sources, method=method)
    assert found.yes and found.request["requester"]["id"] == "svc-dave"
    assert [r.rule for r in policy_set.decide(found.request).reasons] == ["mine"]


def test_a_rule_the_data_lets_apply_is_not_called_shadowed():
    policy_set = _set('allow a cite "x" to use when "erase" in data.roles[context.role]\n'
                      'allow b cite "x" to use when data.managers[context.owner] == "svc-dave"\n'
                      'deny c cite "x" to use when context.role == "admin"\n')
    found = analyse(policy_set)
    # only an admin can erase, and an admin is denied: the data says so, the analysis finds it
    assert [d.code for d in found if "`a`" in d.message.split(" rule")[1][:5]] == ["always-overridden"]
    assert not [d for d in found if d.code in ("shadowed-rule", "always-overridden") and "`b`" in d.message]


def test_a_date_looked_up_is_left_undecided_never_answered_no():
    policy_set = build_set('allow r cite "x" to use when data.due[context.role] < now\n',
                           vocabulary=VOCABULARY, data={"due": "a: 2026-01-01\n"})
    with pytest.raises((Undecided, pdp.PolicyError)):
        ask(policy_set, Question("allow"), method="solver")


def test_every_request_of_a_space_with_lookups_gets_the_engines_decision():
    """Every class of every cell, against the engine: lookups beside attributes, and a requested key tested against
    data looked up (whose cells the space tells apart by each value an entry holds)."""
    from pdp.analysis.space import Space
    from tests.support.space import DATA, VOCAB as SPACE_VOCAB, every_request, same

    policy_set = build_set('''
        allow further to use when purpose under data.lists.purposes_of[context.note]
        deny not_listed for marketing when purpose not in data.lists.purposes_of[context.note]
        allow share to share when recipient.type in data.lists.types_of[context.note]
        deny home to share when data.lists.country_of[context.note] == destination_country
        deny low to share unless context.score < data.lists.limit_of[context.note]
    ''', vocabulary=SPACE_VOCAB, data=DATA)
    space = Space([policy_set])
    count = 0
    for group in space.groups:
        for req in every_request(space, group):
            count += 1
            assert same(space.predict(0, req), policy_set.outcome(req)), req
    assert count == space.stats.represented > 1000


def test_the_decision_log_keeps_a_looked_up_key_the_table_holds_and_pseudonymises_others():
    from pdp.base.pseudonym import pseudonym
    from pdp.io.log_view import selection_of, view

    policy_set = _set('allow export cite "x" to use when "export" in data.roles[context.role]\n')
    key = b"k" * 32
    for role, kept in (("viewer", "viewer"), ("someone's secret", pseudonym(key, "someone's secret"))):
        stored, _ = view(request(context={"role": role}), key=key, selection=selection_of(policy_set))
        assert stored["context"] == {"role": kept}  # replayed, the decision is the same
