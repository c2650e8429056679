"""The one printer: values and conditions written as a policy writes them, and read back as the same."""

import json

from hypothesis import example, given
from hypothesis import strategies as st

from pdp.explain import explain
from pdp.lang import ast, printer
from pdp.lang.parser import parse_policy
from tests.support.generate import CONDITIONS, KEY_CONDITIONS
from tests.support.sets import VOCAB, build_set, request


def _condition(text: str) -> ast.Expr:
    parsed, errors = parse_policy(f'allow r cite "§1"\n  when {text}\n', "f.pdp")
    assert not errors, (text, errors)
    return parsed.rules[0].when[0]


@given(st.text())
@example("line\x85break \u2028 \u2029 \x0b \x0c \x1c\x1d\x1e \r\n")
def test_text_is_quoted_so_that_it_reads_back_as_itself(text):
    written = printer.value(text)
    assert json.loads(written) == text
    assert written.encode("utf-8")  # a lone surrogate stays escaped: every writer can print it
    assert len(written.splitlines()) == 1  # a line break is written escaped: a literal never spans lines
    assert _condition(f"context.note == {written}") == ast.Compare("==", ast.Path(("context", "note")),
                                                                   ast.Literal(text))


conditions = st.recursive(
    st.sampled_from(CONDITIONS + KEY_CONDITIONS).map(lambda c: f"({c})"),
    lambda inner: st.one_of(st.lists(inner, min_size=2, max_size=3).map(" and ".join),
                            st.lists(inner, min_size=2, max_size=3).map(" or ".join),
                            inner.map(lambda c: f"not ({c})")).map(lambda c: f"({c})"),
    max_leaves=6)


@given(conditions)
def test_a_printed_condition_reads_back_as_itself(text):
    """Parentheses are normalised (`a and (b and c)` is written `a and b and c`), so printing is a fixed point."""
    expr = _condition(text)
    written = printer.expression(expr)
    again = _condition(written)
    assert printer.expression(again) == written
    tests = [n for n in ast.walk(expr) if not isinstance(n, (ast.And, ast.Or, ast.Not))]  # the same tests, in order
    assert [n for n in ast.walk(again) if not isinstance(n, (ast.And, ast.Or, ast.Not))] == tests


def test_values_are_written_as_the_language_writes_them():
    assert [printer.value(v) for v in (True, False, 34, 2.5, "a\"b", ["x", 1], frozenset({"b", "a"}))] == [
        "true", "false", "34", "2.5", '"a\\"b"', '["x", 1]', '["a", "b"]']


def test_an_explanation_writes_a_quote_in_a_condition_escaped():
    ps = build_set('deny quoted cite "§1"\n  when context.note == "say \\"hi\\""\n'
                   'allow all cite "§2"\n', VOCAB)
    e = explain(ps, request(context={"note": 'say "hi"'}), suggest=False)
    (rule,) = [r for r in e.rules if r.rule == "quoted"]
    assert rule.conditions[0].because == ('when context.note == "say \\"hi\\"" is true: '
                                          'context.note is "say \\"hi\\""',)
