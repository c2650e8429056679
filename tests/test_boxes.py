"""Boxes (pdp.analysis.boxes): what a formula's box says is what the formula says, point by point, and the rule
analysis answers with the boxes exactly as without them (solved.BOXES off: the solver alone)."""

import itertools
from types import SimpleNamespace

import z3
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import pdp
from pdp.analysis import solved
from pdp.analysis.boxes import Box, Boxes
from pdp.analysis.space import Space
from pdp.analysis.space.encoding import Dim, Encoding, f_and, f_not, f_or
from tests.support.generate import fewer
from tests.support.sets import build_set
from tests.support.space import DATA, VOCAB, policies

SIZES = (1, 3, 4)  # a dimension of one index has no literal at all
FREE = z3.Bool("boxes-test:free")  # a Boolean that is no dimension's (as `decided` names `refused`)


def dims():
    return [Dim(f"boxes-test:{n}", size, lambda env, i: None) for n, size in enumerate(SIZES)]


@st.composite
def formulas(draw, depth=3):
    """A formula over the test dimensions: literals, constants, the free Boolean, and/or/not, and an `implies`
    (a connective the boxes do not read: they must stay sound around it)."""
    if depth == 0 or draw(st.integers(0, 3)) == 0:
        n = draw(st.integers(0, len(SIZES)))
        if n == len(SIZES):
            return draw(st.sampled_from([True, False, FREE]))
        return ("ge", n, draw(st.integers(min(1, SIZES[n] - 1), SIZES[n] - 1)))
    kind = draw(st.sampled_from(["and", "or", "not", "implies"]))
    if kind == "not":
        return ("not", draw(formulas(depth - 1)))
    if kind == "implies":
        return ("implies", draw(formulas(depth - 1)), draw(formulas(depth - 1)))
    return (kind, *draw(st.lists(formulas(depth - 1), min_size=1, max_size=3)))


def build(spec, ds):
    if spec is True or spec is False or isinstance(spec, z3.BoolRef):
        return spec
    kind, *rest = spec
    if kind == "ge":
        return ds[rest[0]].ge[rest[1]]
    items = [build(r, ds) for r in rest]
    if kind == "not":
        return f_not(items[0])
    if kind == "implies":
        return z3.Implies(*(z3.BoolVal(i) if isinstance(i, bool) else i for i in items))
    return f_and(items) if kind == "and" else f_or(items)


def points():
    """Every point: an index per dimension, and the free Boolean's value (index 1: true)."""
    return itertools.product(*(range(s) for s in SIZES), (0, 1))


def holds(formula, ds, point) -> bool:
    if isinstance(formula, bool):
        return formula
    pairs = [(d.ge[k], z3.BoolVal(point[n] >= k)) for n, d in enumerate(ds) for k in range(1, d.size)]
    pairs.append((FREE, z3.BoolVal(point[-1] == 1)))
    return z3.is_true(z3.simplify(z3.substitute(formula, *pairs)))


def inside(box: Box, boxes: Boxes, point) -> bool:
    free = boxes._literals.get(FREE.get_id(), (None,))[0]
    indexes = {**dict(enumerate(point[:-1])), **({free: point[-1]} if free is not None else {})}
    return not box.empty and all(mask >> indexes[d] & 1 for d, mask in box.masks.items())


@example(spec=("or", ("ge", 1, 1), ("ge", 2, 2)), other=("and", ("ge", 1, 2), ("not", ("ge", 2, 1))))
@example(spec=("and", ("or", ("ge", 1, 1), ("ge", 2, 2)), ("not", ("ge", 1, 2))), other=("not", FREE))
@given(spec=formulas(), other=formulas())
def test_a_box_holds_every_point_its_formula_holds_at_and_exactly_those_when_exact(spec, other):
    ds = dims()
    boxes = Boxes(SimpleNamespace(dims=ds))
    formula, second = build(spec, ds), build(other, ds)
    box, box2 = boxes.of(formula), boxes.of(second)
    true = {p for p in points() if holds(formula, ds, p)}
    true2 = {p for p in points() if holds(second, ds, p)}
    assert all(inside(box, boxes, p) for p in true), spec  # never a point left out
    if box.empty:
        assert not true, spec
    if box.exact:
        assert true == {p for p in points() if inside(box, boxes, p)}, spec
        if not box.empty:  # its point is a model
            point = box.point()
            free = boxes._literals.get(FREE.get_id(), (None,))[0]
            assert holds(formula, ds, (*(point.get(n, 0) for n in range(len(SIZES))), point.get(free, 0))), spec
    # what solved.py reads off two boxes
    if not box.meets(box2):
        assert not (true & true2), (spec, other)
    if box.exact and box2.exact:
        assert box.meets(box2) == bool(true & true2), (spec, other)
        assert box.meet(box2).exact and {p for p in points() if inside(box.meet(box2), boxes, p)} == true & true2
    if box.exact and not box.empty:
        if not box.within(box2):
            assert not true <= true2, (spec, other)
        elif box2.exact:
            assert true <= true2, (spec, other)


@st.composite
def regions(draw):
    return {d: draw(st.integers(0, (1 << size) - 1)) for d, size in enumerate((5, 3, 4, 80, 6))
            if draw(st.booleans())}


@given(rules=st.lists(regions(), max_size=12), region=regions())
def test_the_neighbours_of_a_region_are_every_rule_whose_region_meets_it(rules, region):
    ids = [SimpleNamespace(id=f"r{i}") for i in range(len(rules))]
    targets = solved._Targets(ids, rules)
    found = {r.id for r in targets.of(targets.meeting(region))}
    meeting = {ids[i].id for i, other in enumerate(rules)
               if all(region[d] & m for d, m in other.items() if d in region)}
    assert meeting <= found  # never a neighbour left out
    narrow = all(m.bit_count() <= solved.WIDE for d, m in [*region.items(), *(i for r in rules for i in r.items())]
                 if d >= 3)
    if narrow:
        assert found == meeting


def built(text):
    try:
        return build_set(text, vocabulary=VOCAB, data=DATA)
    except pdp.PolicyError:
        return None


@settings(fewer(4), suppress_health_check=[HealthCheck.too_slow])
@given(text=policies())
def test_the_pair_questions_are_answered_alike_with_and_without_boxes(text):
    ps = built(text)
    if ps is None:
        return
    encoding = Encoding(Space([ps], obligations=False))
    facts = {r.id: solved.RuleFacts() for r in ps.rules}
    plain = solved._Pairs(ps, encoding, facts, boxes=False)
    boxed = solved._Pairs(ps, encoding, facts, boxes=True)
    for rule in ps.rules:
        facts[rule.id].applies = plain.applies(rule)
        assert boxed.applies(rule) == facts[rule.id].applies, (text, rule.id)
    for rule in ps.rules:
        if not facts[rule.id].applies:
            continue
        assert rule.id in plain.applying(boxed.example(rule), [rule]), (text, rule.id)  # the engine agrees
        for alone in (True, False):
            answers = plain.search(rule, alone), boxed.search(rule, alone)
            assert None in answers or answers[0] == answers[1], (text, rule.id, alone)
        for other in ps.rules:
            assert boxed.together(rule, other) == plain.together(rule, other), (text, rule.id, other.id)
            if other.id != rule.id:
                assert boxed.implies(rule, other) == plain.implies(rule, other), (text, rule.id, other.id)


@settings(fewer(4), suppress_health_check=[HealthCheck.too_slow])
@given(text=policies())
def test_the_rule_facts_are_the_same_with_and_without_boxes(text):
    ps = built(text)
    if ps is None:
        return
    unmarked = lambda deny, allow: True  # noqa: E731 - every overlap
    with_boxes, without = (solved.solve_facts(ps, unmarked, boxes=b) for b in (True, False))
    assert with_boxes.facts == without.facts, text
    assert with_boxes.overlaps == without.overlaps, text
    assert with_boxes.undecided == without.undecided, text
