"""Text -> syntax tree, and syntax errors a lawyer can read."""

import dataclasses
import sys
import threading
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pdp.lang import ast, grammar, streaming
from pdp.lang.parser import parse_policy
from pdp.lang.streaming import parse_streaming
from tests.support.generate import CONDITIONS, KEY_CONDITIONS, generated_rules, with_obligations


def parse(text):
    return parse_policy(text, "f.pdp")


def test_rule_with_every_clause():
    tree, errors = parse('''
deny children.under_18 "Not for children" cite "§10"
  to collect, use for marketing, essential of user.contact
  when data_subject.age < 18 unless context.legal_request
''')
    assert errors == []
    (rule,) = tree.rules
    assert rule.id == "children.under_18" and rule.effect == "deny" and rule.cite == "§10"
    assert [k.name for k in rule.actions] == ["collect", "use"]
    assert [k.name for k in rule.purposes] == ["marketing", "essential"]
    assert [k.name for k in rule.categories] == ["user.contact"]
    assert rule.when == (ast.Compare("<", ast.Path(("data_subject", "age")), ast.Literal(18)),)
    assert rule.unless == (ast.Truth(ast.Path(("context", "legal_request"))),)
    assert (rule.id_span.line, rule.id_span.col) == (2, 6)


def test_layout_does_not_change_the_tree():
    one, _ = parse('allow a "m" cite "§1" to use when x.y == 1 and x.z in ["a", "b"]')
    two, _ = parse('allow a\n  "m"\n  cite "§1"\n  to use\n  when x.y == 1\n   and x.z in ["a","b"]  # comment\n')
    assert one.rules == two.rules


def test_and_binds_tighter_than_or_and_not_applies_to_one_test():
    tree, _ = parse("allow a when not a.b or c.d and e.f")
    (cond,) = tree.rules[0].when
    assert isinstance(cond, ast.Or)
    assert isinstance(cond.items[0], ast.Not) and isinstance(cond.items[1], ast.And)


def test_header_and_lookup():
    tree, errors = parse('policy "x" version "2" effective 2026-11-24 title "T"\n'
                         'lookup recipient in data.processors request wins for country, name')
    assert errors == []
    assert tree.headers[0] == ast.Header("x", "2", "2026-11-24", "T")
    assert tree.lookups[0] == ast.Lookup("recipient", ast.Path(("data", "processors")), ("country", "name"))


def test_single_equals_gets_a_hint_and_position():
    _, errors = parse('allow a\n  when data_subject.age = 18')
    (error,) = errors
    assert (error.line, error.col, error.code) == (2, 25, "syntax")
    assert "`==`" in error.hint


def test_every_syntax_error_is_reported_and_good_rules_are_kept():
    tree, errors = parse('allow good.one to use\ndeny bad when x &&& y\nallow good.two to use\n'
                         'allow bad2 when a.b ==\nallow good.three')
    assert [e.line for e in errors] == [2, 4]
    assert [r.id for r in tree.rules] == ["good.one", "good.two", "good.three"]


def test_quoted_rule_id_is_explained():
    _, errors = parse('deny "children" cite "§10"')
    assert errors[0].message == "a rule id is a name without quotes"


def test_unclosed_text_is_explained():
    _, errors = parse('allow a "never closed\n  cite "§1"')
    assert errors and errors[0].line == 1


def test_no_parser_internals_in_messages():
    _, errors = parse("allow a when (a.b == 1")
    text = " ".join(e.message + " " + (e.hint or "") for e in errors)
    assert "Token" not in text and "RPAR" not in text and "$END" not in text
    assert "`)`" in text


def test_keyword_prefix_is_a_name():
    tree, errors = parse("allow under_18.tolerated when data_subject.age >= 18")
    assert errors == [] and tree.rules[0].id == "under_18.tolerated"


# ---------------------------------------------------------------- the direct walk equals lark's Transformer

def _with_spans(node):
    """The syntax tree as nested tuples, spans included (they are left out of the nodes' equality)."""
    if dataclasses.is_dataclass(node) and not isinstance(node, type):
        return (type(node).__name__, *(_with_spans(getattr(node, f.name)) for f in dataclasses.fields(node)))
    if isinstance(node, (tuple, list)):
        return tuple(_with_spans(item) for item in node)
    return node


_HEADERS = st.sampled_from(["", 'policy "t" version "1" effective 2026-01-01 title "T" model data_use\n',
                            "lookup recipient in data.processors, data.affiliates\n"
                            '  if unlisted, request states type, name\n  except type "affiliate"\n'])


@st.composite
def _policy_texts(draw):
    rules = generated_rules(draw, ["use", "share"], ["marketing", "essential.service"], ["user", "user.name"],
                            draw(st.sampled_from([CONDITIONS, KEY_CONDITIONS])), rules=6, clauses=2, items=3)
    rules = with_obligations(draw, rules, conditions=draw(st.sampled_from([CONDITIONS, KEY_CONDITIONS])))
    ends = ["", "allow broken to\n", 'deny "no id"\n', 'allow z.k cite "§1" accept shadowed-rule because "kept"\n',
            'allow bad "an escape \\q no one knows"\n', "deny d when " + "not " * 70 + "x\n"]
    return draw(_HEADERS) + rules + draw(st.sampled_from(ends))


@given(text=_policy_texts())
def test_the_direct_walk_builds_the_tree_lark_s_transformer_builds(text):
    direct, direct_errors = parse_policy(text, "f.pdp")
    plain, plain_errors = parse_policy(text, "f.pdp", direct=False)
    assert _with_spans(direct) == _with_spans(plain)
    assert direct_errors == plain_errors


# ---------------------------------------------------------------- the streaming parser equals the plain path

@given(text=_policy_texts())
def test_the_streaming_parser_builds_the_tree_and_errors_of_the_plain_path(text):
    """With lark_cython (when installed) and with pure lark: the same tree, spans included, and the same errors
    (a file with any error is parsed the plain way, so its errors are the plain path's own)."""
    plain, plain_errors = parse_policy(text, "f.pdp", streaming=False)
    for cython in (True, False):
        streamed, streamed_errors = parse_policy(text, "f.pdp", cython=cython)
        assert _with_spans(streamed) == _with_spans(plain)
        assert streamed_errors == plain_errors


@pytest.mark.parametrize("path", sorted((Path(__file__).resolve().parents[1] / "policies").glob("*.pdp")),
                         ids=lambda p: p.name)
def test_the_policies_stream_into_the_plain_tree(path):
    text = path.read_text(encoding="utf-8")
    streamed = parse_streaming(text, str(path))
    assert streamed is not None, "a policy without errors is parsed by the streaming parser"
    assert _with_spans(parse_policy(text, str(path))[0]) == _with_spans(parse_policy(text, str(path), streaming=False)[0])


def test_a_file_with_an_error_is_left_to_the_plain_path():
    for text in ("allow a when x = 1\n", 'allow b "bad \\q"\n', "deny d when " + "not " * 70 + "x\n"):
        assert parse_streaming(text, "f.pdp") is None
        assert parse_policy(text, "f.pdp")[1] == parse_policy(text, "f.pdp", streaming=False)[1] != []


def test_the_terminals_left_out_are_never_kept():
    """The callbacks leave tokens out by their type: a terminal lark leaves out in one rule must not be kept in
    another."""
    rules = grammar.new_parser().rules
    kept = {s.name for r in rules for s in r.expansion if s.is_term and not s.filter_out}
    assert streaming._anonymous_terminals() and not streaming._anonymous_terminals() & kept


def test_without_lark_cython_pure_lark_parses(monkeypatch):
    monkeypatch.setitem(sys.modules, "lark_cython", None)  # as when no wheel could be installed
    assert grammar.cython_plugins() == {}
    text = 'allow a.b "m" to use when data_subject.age >= 18 and (x or not y)\n'
    monkeypatch.setattr(streaming, "_threads", threading.local())
    assert _with_spans(parse_policy(text, "f.pdp")[0]) == _with_spans(parse_policy(text, "f.pdp", streaming=False)[0])
