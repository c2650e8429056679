"""Compact rules (compiler.compile_rules(compact=True): `and` / `or` clauses flattened where that cannot change what
is raised, guards.flat_clauses, and each verdict a `partial` over tuples, conditions._compact) give every rule
the verdict, or raise the error, that the plain closures give, on every request; `index=False` builds the plain
ones, so the decisions are compared in tests/test_narrowing.py too."""

from hypothesis import given
from hypothesis import strategies as st

from pdp.engine.compiler import compile_rules
from pdp.engine.conditions import failure
from pdp.engine.guards import flat_clauses
from pdp.lang import ast
from tests.support.generate import fewer
from tests.support.sets import build_set
from tests.test_narrowing import _built, requests, rule_sets


def _verdict(rule, env):
    try:
        return rule.applies(env)
    except Exception as error:  # noqa: BLE001 - what the engine reports of it (decision.evaluate)
        return ("raised", failure(error))


@fewer(3)
@given(text=rule_sets(), batch=st.lists(requests, min_size=1, max_size=12))
def test_compact_rules_decide_and_raise_as_the_plain_closures(text, batch):
    policy_set = _built(text)
    if policy_set is None:
        return
    sources = [rule.source for rule in policy_set.rules]
    schema = policy_set.model.schema(policy_set.vocabulary)
    compact = compile_rules(sources, policy_set.data, policy_set.vocabulary, schema, compact=True)
    plain = compile_rules(sources, policy_set.data, policy_set.vocabulary, schema, compact=False)
    for req in batch:
        try:
            env = policy_set.select(req).env
        except Exception:  # noqa: BLE001 - refused requests are not decided
            continue
        for one, other in zip(compact, plain):
            assert _verdict(one, env) == _verdict(other, env), (one.id, req)


def test_a_junction_is_flattened_only_where_no_later_item_may_raise():
    """`context.score` may hold anything (`any`): ordering it may raise, so an `and` with it after its first item
    keeps its own order (an unknown first item must not stop it early); first, it is evaluated first either way."""
    policy_set = build_set('allow a cite "1" when recipient.dpa == true and recipient.type == "affiliate"\n'
                           'allow b cite "2" when recipient.dpa == true and context.score < 3\n'
                           'allow c cite "3" when context.score < 3 and (recipient.dpa and recipient.id is absent)\n'
                           'deny d cite "4" unless recipient.dpa == true or recipient.type == "affiliate"\n'
                           'deny e cite "5" unless recipient.dpa == true and recipient.type == "affiliate"\n')
    schema = policy_set.model.schema(policy_set.vocabulary)
    from pdp.engine.guards import typed

    def flat(rule):
        source = rule.source
        return (len(flat_clauses(source.when, ast.And, policy_set.data, typed(schema))),
                len(flat_clauses(source.unless, ast.Or, policy_set.data, typed(schema))))

    assert [flat(r) for r in policy_set.rules] == [(2, 0), (1, 0), (3, 0), (0, 2), (0, 1)]
