"""The shortcuts that make the whole-set analysis fast enough for an editor change nothing it finds.

With each switch off (space.SHARED_TABLES, FACTORED_CELLS, KEPT_TIME_TESTS, CLASSES_BY_ANSWERS;
compiler.KEY_PARTS; warnings.FOLDED_ONCE, PAUSE_GC), and with all of them off, the decision space has the same
groups, components and classes (what `query` and `diff` read) and the warnings are the same, on generated sets
(with `where` probes, obligations, two versions) and on every set the repository ships."""

from __future__ import annotations

import contextlib
import itertools
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import pdp
from pdp.analysis import warnings as analysis_warnings
from pdp.analysis.query import compile_where
from pdp.analysis.space import ENUMERATION, Selections, Space, SpaceTooLarge
from pdp.analysis.space import space as space_module
from pdp.engine import compiler
from tests.support.generate import fewer, generated_rules, with_obligations
from tests.support.sets import build_set
from tests.support.space import ACTIONS, CATEGORIES, DATA, LOOKUPS, PURPOSES, SPACE_CONDITIONS, VOCAB, policies

ROOT = Path(__file__).resolve().parents[1]
SWITCHES = [(space_module, "SHARED_TABLES"), (space_module, "FACTORED_CELLS"), (space_module, "KEPT_TIME_TESTS"),
            (space_module, "CLASSES_BY_ANSWERS"), (compiler, "KEY_PARTS"), (analysis_warnings, "FOLDED_ONCE"),
            (analysis_warnings, "PAUSE_GC")]
# each switch off alone, then every one off (the plain path)
SETTINGS = [[switch] for switch in SWITCHES] + [SWITCHES]
WHERE = ['recipient.type == "affiliate"', "data_subject.age < 18", 'purpose under "marketing"',
         'context.tags has any of ["a", "b"]']


@contextlib.contextmanager
def switched_off(switches):
    saved = [(module, name, getattr(module, name)) for module, name in switches]
    try:
        for module, name in switches:
            setattr(module, name, False)
        yield
    finally:
        for module, name, value in saved:
            setattr(module, name, value)


def test_every_switch_is_on_by_default():
    assert all(getattr(module, name) is True for module, name in SWITCHES)


def facts_of(make_space):
    """What a space holds, as plain data: per group its cells, rules and partial allows, per component its nodes,
    size, rules and classes (states, probes' answers, members in order, witness); or the error it gave up with."""
    try:
        space = make_space()
        out = []
        for group in space.groups:
            components = space.components(group)
            out.append((
                [(c.action.rep, c.purpose.rep, c.category.rep) for c in group.cells],
                [None if rules is None else [r.id for r in rules] for rules in group.rules],
                [[r.id for r in rules] for rules in group.partial],
                [(c.nodes, c.size, c.rules, [(k.states, k.probes, k.members, k.witness) for k in c.classes])
                 for c in components]))
        return out  # (not `stats`: how much work it took is what the switches change)
    except SpaceTooLarge as error:
        return str(error)


def alike(compute):
    """`compute()` with every switch on, and with each setting of SETTINGS: all equal."""
    expected = compute()
    for switches in SETTINGS:
        with switched_off(switches):
            assert compute() == expected, [name for _module, name in switches]
    return expected


def built(text: str):
    try:
        return build_set(text, vocabulary=VOCAB, data=DATA)
    except pdp.PolicyError:
        return None


@st.composite
def obliging_policies(draw):
    """Generated sets whose allows may carry obligations (so that broad requests have partial allows)."""
    return with_obligations(draw, draw(policies()))


@settings(fewer(6), suppress_health_check=[HealthCheck.too_slow])
@given(text=st.one_of(policies(), obliging_policies()), obligations=st.booleans(),
       where=st.lists(st.sampled_from(WHERE), max_size=2, unique=True))
def test_generated_sets_have_the_same_space_with_every_switch_off(text, obligations, where):
    ps = built(text)
    if ps is None:
        return
    probes = compile_where(tuple(where), ps.sources, ps) if where else []
    alike(lambda: facts_of(lambda: Space([ps], probes, limit=20_000, obligations=obligations)))


@settings(fewer(6), suppress_health_check=[HealthCheck.too_slow])
@given(text=policies())
def test_generated_sets_have_the_same_warnings_with_every_switch_off(text):
    ps = built(text)
    if ps is None:
        return
    alike(lambda: analysis_warnings.analyse(ps, method=ENUMERATION))
    alike(lambda: analysis_warnings.analyse(ps))


@st.composite
def two_sets(draw):
    """Two sets of the same small world (OLD and NEW of a diff)."""
    texts = []
    for _ in range(2):
        lookup = draw(st.sampled_from(LOOKUPS)) + "\n" if draw(st.booleans()) else ""
        texts.append(lookup + generated_rules(draw, ACTIONS, PURPOSES, CATEGORIES, SPACE_CONDITIONS, rules=4, items=2))
    return texts


@settings(fewer(6), suppress_health_check=[HealthCheck.too_slow])
@given(texts=two_sets())
def test_a_space_of_two_versions_is_the_same_with_every_switch_off(texts):
    old, new = (built(t) for t in texts)
    if old is None or new is None:
        return
    alike(lambda: facts_of(lambda: Space([old, new], limit=20_000)))


@settings(fewer(4), suppress_health_check=[HealthCheck.too_slow])
@given(text=obliging_policies())
def test_the_rule_index_lists_the_same_candidates_from_key_parts(text):
    ps = built(text)
    if ps is None:
        return
    vocabulary = ps.vocabulary
    triples = list(itertools.product(sorted(vocabulary.actions), sorted(vocabulary.purposes),
                                     sorted(vocabulary.categories)))

    def listed():
        index = compiler.RuleIndex(tuple(ps.rules))
        return [index.looked_up(*t) for t in triples]

    alike(listed)


@given(st.sets(st.integers(0, 5_000), max_size=60))
def test_rule_orders_as_bits_and_back_are_the_same_orders(orders):
    assert compiler._orders(compiler._bits(orders)) == sorted(orders)
    assert compiler._bits(orders) == sum(1 << order for order in orders)


def shipped_sets() -> list[Path]:
    return [ROOT / "policies"] + sorted(p for p in (ROOT / "examples").iterdir() if (p / "vocabulary.yaml").exists())


@pytest.mark.parametrize("directory", shipped_sets(), ids=lambda p: p.name)
def test_the_shipped_sets_have_the_same_warnings_and_space_with_every_switch_off(directory):
    ps = pdp.load(directory)
    alike(lambda: analysis_warnings.analyse(ps, ps.sources.vocabulary if ps.sources else None))
    alike(lambda: facts_of(lambda: Space(Selections(ps).history, limit=20_000)))
