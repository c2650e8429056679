"""The one evaluator and its trace hook: a traced evaluation is the engine's own, told part by part.

Explain and coverage observe the evaluator through `conditions.Trace`; these
tests hold that tracing changes no value, that only what the engine
evaluates is told, and that explain's verdict for each rule is the engine's.
"""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import pdp
from pdp.engine.conditions import compile_rule_test, compile_test, failure, polarity
from pdp.engine.requested import ALL, EXACT, SOME
from pdp.explain import run_rule
from tests.support.generate import (ENGINE_CONDITIONS, KEY_CONDITIONS, KEY_DATA, defined, drop_none, fewer,
                                    generated_rules, named_conditions, uses)
from tests.support.sets import VOCAB, build_set


class Tape:
    """A trace that keeps every event, in order."""

    def __init__(self):
        self.events = []

    def evaluated(self, where, expr, side, value):
        self.events.append((where, side, "value", value))

    def failed(self, where, expr, side, error):
        self.events.append((where, side, "failed", failure(error)))


def outcome(test, env):
    """A closure's value, or how it failed (as the engine reports it)."""
    try:
        return ("value", test(env))
    except Exception as error:  # noqa: BLE001 - a failure is an outcome, compared as the engine reports it
        return ("failed", failure(error))


# ---------------------------------------------------------------- properties over generated rules and requests

ACTIONS = ["collect", "use", "share"]
PURPOSES = ["essential", "essential.service", "essential.service.payment_processing", "marketing",
            "marketing.advertising", "marketing.advertising.third_party", "marketing.communications",
            "marketing.communications.email", "essential.service.operations"]
CATEGORIES = ["user", "user.contact", "user.contact.email", "user.health_and_medical", "user.name",
              "user.device.cookie_id", "system"]
ANY = st.one_of(st.none(), st.booleans(), st.integers(0, 4), st.sampled_from(["a", "a.b", "x", "IN"]),
                st.lists(st.sampled_from(["a", "x"]), max_size=2))
maybe = st.one_of(st.none(), st.booleans())


@st.composite
def policies(draw):
    """Generated rules, some using named conditions (explain and coverage trace the rules as written)."""
    pool = draw(st.sampled_from([ENGINE_CONDITIONS, KEY_CONDITIONS]))
    names = draw(named_conditions(pool))
    return defined(generated_rules(draw, ACTIONS, PURPOSES, CATEGORIES, pool + uses(names), clauses=2, items=3), names)


requests = st.fixed_dictionaries(
    {"action": st.sampled_from(ACTIONS), "purpose": st.sampled_from(PURPOSES),
     "data_categories": st.lists(st.sampled_from(CATEGORIES), min_size=1, max_size=2),
     "context": st.fixed_dictionaries({"score": ANY}, optional={"note": st.sampled_from(["a", "a.b", "x", "/a/b", "/a/"])})},
    optional={"data_subject": st.fixed_dictionaries({}, optional={
                  "age": st.integers(15, 20), "consent": st.fixed_dictionaries({}, optional={"marketing": maybe})}),
              "recipient": st.fixed_dictionaries({}, optional={
                  "dpa": maybe, "type": st.sampled_from(["service_provider", "affiliate", "third_party"])}),
              "destination_country": st.sampled_from(["IN", "US", "SG"])})


def _build(text: str):
    try:
        return build_set(text, VOCAB.replace("context.note: string", "context.note: any"), KEY_DATA)
    except pdp.PolicyError:
        return None


def _admitted(ps, batch):
    """What the conditions read for each request the engine admits."""
    for req in batch:
        try:
            yield req, ps.select(drop_none(req)).env
        except pdp.RequestError:
            continue


@settings(fewer(2))
@given(text=policies(), batch=st.lists(requests, min_size=1, max_size=4))
def test_a_traced_evaluation_is_the_engines_and_explain_gives_each_rule_the_engines_verdict(text, batch):
    ps = _build(text)
    if ps is None:
        return
    for req, env in _admitted(ps, batch):
        for rule in ps.rules:
            engine = outcome(rule.applies, env)  # the closure deciding requests, untraced
            for kind, exprs in (("when", rule.source.when), ("unless", rule.source.unless)):
                side = polarity(rule.effect, kind)
                for i, expr in enumerate(exprs):
                    tape = Tape()
                    plain = outcome(compile_test(expr, ps.data, side=side, keys=rule.keys), env)
                    traced = outcome(compile_test(expr, ps.data, side=side, keys=rule.keys, trace=tape,
                                                  where=(kind, i)), env)
                    assert traced == plain, (rule.id, kind, i, req)
                    assert tape.events[-1][0] == (kind, i) and tape.events[-1][2:] == plain
                    # the workbench's `--where` (absent is a value of its own, keys as given) traces alike
                    plain = outcome(compile_test(expr, ps.data, absent_is_value=True), env)
                    assert outcome(compile_test(expr, ps.data, absent_is_value=True, trace=Tape()), env) == plain
            tape = Tape()
            traced = outcome(compile_rule_test(rule.source.when, rule.source.unless, ps.data, effect=rule.effect,
                                               keys=rule.keys, trace=tape), env)
            assert traced == engine, (rule.id, req)
            run = run_rule(rule, env, ps.data)  # explain's (and coverage's) view of the rule
            verdict = ("failed", run.error) if run.error is not None else ("value", run.applies)
            assert verdict == engine, (rule.id, req)


# ---------------------------------------------------------------- what is told, and when

def _one_rule(text: str):
    ps = build_set(text, VOCAB, KEY_DATA)
    return ps, ps.rules[0]


def test_only_what_the_engine_evaluates_is_told_in_the_order_it_evaluates_it():
    ps, rule = _one_rule('deny r cite "§1"\n  when data_subject.age < 18 and recipient.dpa\n  unless context.score < 3\n')
    tape = Tape()
    applies = compile_rule_test(rule.source.when, rule.source.unless, ps.data, effect="deny", keys=rule.keys,
                                trace=tape)
    assert applies({"data_subject": {"age": 30}, "recipient": {"dpa": True}, "context": {"score": 1}}) is False
    # `and` stops at the false item, and the rule at the clause that does not hold: the `unless` is never read
    assert [(where, value) for where, _, _, value in tape.events] == [(("when", 0, 0), False), (("when", 0), False)]


def test_unknown_is_told_as_none_and_a_failure_is_told_for_every_part_it_is_in():
    ps, rule = _one_rule('allow r cite "§1"\n  when not (data_subject.age < 18 or context.score)\n')
    tape = Tape()
    applies = compile_rule_test(rule.source.when, (), ps.data, effect="allow", keys=rule.keys, trace=tape)
    with pytest.raises(Exception):  # noqa: B017 - whatever fails propagates; the tape says which, below
        applies({"context": {"score": 3}})
    message = "expected true or false, got 3"
    # an allow's `when` is read for all of a broad key, and the inside of a `not` for some of it
    assert tape.events == [(("when", 0, 0, 0), SOME, "value", None),  # age is absent: unknown, so `or` goes on
                           (("when", 0, 0, 1), SOME, "failed", message),
                           (("when", 0, 0), SOME, "failed", message),
                           (("when", 0), ALL, "failed", message)]
    run = run_rule(rule, {"context": {"score": 3}}, ps.data)
    assert (run.applies, run.error, run.stop) == (False, message, 0)


def test_a_test_of_a_requested_key_is_told_on_the_side_the_rule_reads_it():
    ps, rule = _one_rule('deny r cite "§1"\n  when purpose == "marketing.advertising"\n')
    tape = Tape()
    applies = compile_rule_test(rule.source.when, (), ps.data, effect="deny", keys=rule.keys, trace=tape)
    assert applies({"purpose": "marketing"}) is True  # a request for all of marketing includes advertising
    assert tape.events == [(("when", 0), SOME, "value", True)]
    run = run_rule(rule, {"purpose": "marketing"}, ps.data)
    assert run.applies and run.clauses[0][1].broad == SOME  # read as given it would be false: explain says so
    assert compile_test(rule.source.when[0], ps.data, side=EXACT)({"purpose": "marketing"}) is False

