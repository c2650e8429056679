"""The condition index (engine/narrowing.py) only leaves out rules that cannot apply and raise nothing: with it on
or off (the plain list), every rule's verdict, every error, and so every decision, reason and obligation is the
same. Its trees are forced deep here (a leaf of one rule), so that small generated sets exercise every split."""

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

import pdp
from pdp.engine import narrowing
from pdp.engine.compiler import RuleIndex
from pdp.engine.conditions import failure
from pdp.engine.decision import evaluate
from pdp.engine.guards import guards_of
from tests.support.generate import (INDEXED, LISTS, defined, fewer, generated_rules, named_conditions, uses,
                                    with_obligations)
from tests.support.sets import build_set

ACTIONS = ["use", "share"]
PURPOSES = ["essential", "marketing", "marketing.advertising.third_party"]
CATEGORIES = ["user", "user.contact.email", "user.name"]
# Every kind of guard (equality with text, numbers and bools, lists of texts and policy data, presence, truth,
# thresholds), on attributes typed and untyped (`context.score: any` may hold text, a number, a list ...), and
# tests that are not guards (or raise) beside them.
CONDITIONS = [
    'recipient.type == "service_provider"', 'recipient.type == "affiliate"', 'recipient.type in ["affiliate", "acquirer"]',
    'recipient.type in ["service_provider"]', "recipient.dpa == true", "recipient.dpa", "recipient.dpa == false",
    "recipient.id is absent", "recipient.type is present", "data_subject.age < 18", "data_subject.age >= 65",
    "data_subject.age > 30", "data_subject.age <= 30", "data_subject.age == 40", "context.score == 2",
    'context.score == "2"', "context.score == true", "context.score < 3", "context.score >= 1", "context.score",
    "context.score is present", 'context.score in ["a", "b"]', "context.note in data.lists.notes",
    'context.note == "x"', 'context.note under "a"', "context.legal_request", "context.legal_request == false",
    'destination_country in data.lists.countries', 'destination_country != "IN"', "not recipient.dpa",
    'purpose under "marketing"', '"user.name" in data_categories', "data_subject.consent.marketing == true",
    'context.note matches "/a/{id}"', 'context.score matches "/a/**"',
    "context.score has any of [1, 2]", "context.score has all of [1, 2.0]", "[0, 1, 2] has all of context.score",
    '["a", context.note] has any of data.lists.notes', "context.score has all of []",
] + INDEXED
DATA = {"lists": LISTS}

values = st.one_of(st.integers(0, 4), st.sampled_from([1.5, 2.0, float("inf")]), st.booleans(),
                   st.sampled_from(["a", "b", "x", "2", "", "/a", "/a/b", "/a//b"]), st.lists(st.integers(0, 3), max_size=2),
                   st.lists(st.sampled_from([0, 1, 1.0, 2, True, False, "a", [1]]), max_size=3),
                   st.fixed_dictionaries({"k": st.integers(0, 2)}))
requests = st.fixed_dictionaries(
    {"action": st.sampled_from(ACTIONS), "purpose": st.sampled_from(PURPOSES),
     "data_categories": st.lists(st.sampled_from(CATEGORIES), min_size=1, max_size=2)},
    optional={
        "data_subject": st.fixed_dictionaries({}, optional={
            "age": st.sampled_from([0, 17, 18, 30, 30.5, 40, 65, 90]),
            "consent": st.fixed_dictionaries({}, optional={"marketing": st.booleans()})}),
        "recipient": st.fixed_dictionaries({}, optional={
            "dpa": st.booleans(), "id": st.just("r1"),
            "type": st.sampled_from(["service_provider", "affiliate", "acquirer", "third_party"])}),
        "destination_country": st.sampled_from(["IN", "SG", "DE"]),
        "context": st.fixed_dictionaries({}, optional={
            "score": values, "note": st.sampled_from(["a", "a.b", "x", "y", "/a/b", "/a/b/c", "/a/"]),
            "legal_request": st.booleans()}),
    },
)


@st.composite
def rule_sets(draw):
    """Many rules on few targets (so that lists are long), some with obligations, some using named conditions."""
    names = draw(named_conditions(CONDITIONS))
    text = generated_rules(draw, ACTIONS, PURPOSES, CATEGORIES, CONDITIONS + uses(names), rules=30, clauses=2, items=3)
    return defined(with_obligations(draw, text, conditions=CONDITIONS), names)


@pytest.fixture(scope="module")
def deep_trees():
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(narrowing, "LEAF", 1)
        yield


def _built(text, **kw):
    """The set, without the generated rules the checker refuses (one that can never apply ...), or None."""
    for _ in range(2):
        try:
            return build_set(text, data=DATA, **kw)
        except pdp.PolicyError as error:
            refused = set(re.findall(r"rule `(r\d+)`", str(error)))
            blocks = re.split(r"\n(?=\S)", text.strip())
            text = "\n".join(b for b in blocks if b.split()[1] not in refused) + "\n"
            if not refused or not text.strip():
                return None
    return None


def _outcome(policy_set, req):
    try:
        x = policy_set.outcome(req)
    except pdp.RequestError as error:
        return ("refused", str(error))
    return (x.decision, x.reasons, x.obligations, x.partial, x.advice)


def _targets(policy_set, batch):
    """(env, action, purpose, category) of each accepted request of the batch, each category in turn."""
    for req in batch:
        try:
            env = policy_set.select(req).env
        except pdp.RequestError:
            continue
        for category in req["data_categories"]:
            yield env, req["action"], req["purpose"], category


def _side_by_side(policy_set, batch, one, other):
    """(env, target, one's deciding, the other's) for each target of the batch (`_targets`)."""
    for env, *target in _targets(policy_set, batch):
        yield env, target, one.deciding(*target), other.deciding(*target)


@fewer(3)
@given(text=rule_sets(), batch=st.lists(requests, min_size=1, max_size=12))
def test_narrowed_lists_hold_every_rule_that_applies_or_raises(deep_trees, text, batch):
    policy_set = _built(text)
    if policy_set is None:
        return
    index = RuleIndex(policy_set.rules)
    for env, *target in _targets(policy_set, batch):
        candidates, deciding = index.candidates(*target), index.deciding(*target)
        rules = candidates.denies + candidates.allows
        chosen = [r.order for r in deciding.rules.select(env)]  # (by order: a rule may be handed over settled)
        assert len(set(chosen)) == len(chosen) and set(chosen) <= {r.order for r in rules}
        for rule in (r for r in rules if r.order not in chosen):
            try:
                applied = rule.applies(env)
            except Exception as error:  # noqa: BLE001
                raise AssertionError(f"{rule.id} was left out but raises {failure(error)}: {target}") from None
            assert not applied, (rule.id, target)


@fewer(3)
@given(text=rule_sets(), batch=st.lists(requests, min_size=1, max_size=12))
def test_the_condition_index_decides_as_the_plain_path(deep_trees, text, batch):
    """Decisions, reasons (errors included, in their order) and obligations, with every optimisation of deciding
    on (`index=True`: the rule index, the condition index, early stop once a deny applies, remembered outcomes)
    and off."""
    indexed = _built(text)
    if indexed is None:
        return
    scanned = _built(text, index=False)
    for req in batch:
        assert _outcome(indexed, req) == _outcome(scanned, req), req


def _decide_alike(policy_set, batch, one, other):
    """Each accepted request of the batch gets the same decision, reasons (errors included, in their order),
    obligations and partial allows from both rule indexes."""
    for req in batch:
        try:
            env = policy_set.select(req).env
        except pdp.RequestError:
            continue
        a, b = (evaluate(index.deciding, req["action"], req["purpose"], req["data_categories"], env, index.outcomes)
                for index in (one, other))
        assert (a.decision, a.reasons, a.obligations, a.partial) == (b.decision, b.reasons, b.obligations, b.partial)


def _verdict(rule, env):
    try:
        return rule.applies(env)
    except Exception as error:  # noqa: BLE001
        return ("raises", failure(error))


@fewer(3)
@given(text=rule_sets(), batch=st.lists(requests, min_size=1, max_size=12))
def test_settled_rules_apply_and_raise_as_compiled_where_they_are_handed_over(deep_trees, text, batch):
    """A rule handed over below a value of a split (CompiledRule.settled: its test of that value left out) applies,
    or raises the same error, exactly as the rule compiled does, on every request that reaches it; and the index
    decides as with every rule as compiled (`RuleIndex(settle=False)`)."""
    policy_set = _built(text)
    if policy_set is None:
        return
    settled, compiled = RuleIndex(policy_set.rules), RuleIndex(policy_set.rules, settle=False)
    for env, target, one, other in _side_by_side(policy_set, batch, settled, compiled):
        for rule in one.rules.select(env):
            assert _verdict(rule, env) == _verdict(policy_set.rules[rule.order], env), (rule.id, target)
        assert _bearing(one.rules.select(env), env) == _bearing(other.rules.select(env), env), target
    _decide_alike(policy_set, batch, settled, compiled)


def test_a_rule_below_its_value_is_handed_over_without_that_test():
    """`requester.id == "svc-1"` is true for every request handed the rules below "svc-1": they are handed over
    without it (settled on the list's first request, and kept in its place), and decide as before."""
    policy_set = build_set(SERVICES)
    tree = RuleIndex(policy_set.rules).deciding("use", "marketing", "user.name").rules
    assert isinstance(tree.texts["svc-1"], narrowing._Unsettled)
    (rule,) = tree.select({"requester": {"id": "svc-1"}})
    assert tree.texts["svc-1"] == (rule,)
    compiled = policy_set.rules[rule.order]
    assert rule.id == "s1" and rule is not compiled and compiled.clauses is not None and rule.clauses is None
    assert rule.applies({}) is True and compiled.applies({}) is False  # (the test it is without)
    assert policy_set.decide({"action": "use", "purpose": "marketing", "data_categories": ["user.name"],
                              "requester": {"id": "svc-1"}}).reasons[0].rule == "s1"


def _bearing(rules, env) -> list[int]:
    """The rules (by order) that apply or raise."""
    def bears(rule) -> bool:
        try:
            return rule.applies(env)
        except Exception:  # noqa: BLE001
            return True
    return sorted(r.order for r in rules if bears(r))


def test_a_rule_is_guarded_by_the_tests_evaluated_before_anything_that_may_raise():
    """`context.score` may hold anything (`any`), so ordering it may raise; `data_subject.age` is a number in any
    checked request, so ordering it cannot."""
    rules = build_set('allow a cite "1" when recipient.dpa == true and context.score < 3\n'
                      '  when recipient.type == "affiliate"\n'
                      'allow b cite "2" when recipient.dpa == true and recipient.id is absent\n'
                      '  when recipient.type == "affiliate"\n'
                      'allow c cite "3" when context.score < 18\n  when recipient.type == "affiliate"\n'
                      'allow d cite "4" when recipient.dpa == true and data_subject.age < 18\n'
                      '  when recipient.type == "affiliate"\n').rules
    assert [len(r.guards) for r in rules] == [2, 3, 1, 3]
    assert [[g.strict for g in r.guards] for r in rules] == [[False, True], [True] * 3, [True], [True] * 3]
    assert [r.total for r in rules] == [False, True, False, True]
    assert guards_of((), {}) == ()


def test_shared_targets_are_narrowed_to_the_rules_that_may_apply():
    """1,000 rules on one target, each for one recipient type and age band: a request meets a handful."""
    types = ["service_provider", "affiliate", "acquirer", "third_party", "other_user"]
    text = "".join(f'deny r{i} cite "{i}" to use for marketing of user.name\n'
                   f'  when recipient.type == "{types[i % 5]}" and data_subject.age == {i // 5}\n' for i in range(1000))
    policy_set = build_set(text)
    req = {"action": "use", "purpose": "marketing", "data_categories": ["user.name"],
           "recipient": {"type": "affiliate"}, "data_subject": {"age": 7}}
    deciding = RuleIndex(policy_set.rules).deciding("use", "marketing", "user.name")
    env = policy_set.select(req).env
    assert [r.id for r in deciding.rules.select(env)] == ["r36"]
    assert [r.rule for r in policy_set.decide(req).reasons] == ["r36"]


def test_thresholds_hand_over_exactly_the_rules_a_number_satisfies():
    from pdp.engine.conditions import ORDER
    from pdp.engine.guards import ORDER as ORDERING, Guard

    class Rule:
        def __init__(self, order):
            self.order = order

    ops = ["<", "<=", ">", ">="]
    filed = [(Guard(("a",), ORDERING, (op, c)), Rule(i)) for i, (op, c) in enumerate(
        (op, c) for op in ops for c in (-1, 0, 2.5, 3, 3, 10))]
    thresholds = narrowing._Thresholds(filed)
    for v in (-2, -1, 0, 1, 2.5, 3, 4, 10, 11, float("inf"), float("nan")):
        want = {r.order for g, r in filed if ORDER[g.value[0]](v, g.value[1])}
        assert {r.order for r in thresholds.satisfied(v)} == want, v


@fewer(3)
@given(text=rule_sets(), batch=st.lists(requests, min_size=1, max_size=12))
def test_shared_subtrees_select_as_trees_built_alone(deep_trees, text, batch):
    """The rule index shares subtrees between its trees (narrowing.build's `shared`); each list's tree then
    hands over exactly the rules the same list's tree built alone hands over (`RuleIndex(share=False)`)."""
    policy_set = _built(text)
    if policy_set is None:
        return
    index, apart = RuleIndex(policy_set.rules), RuleIndex(policy_set.rules, share=False)
    for env, _, shared, alone in _side_by_side(policy_set, batch, index, apart):
        assert sorted(r.order for r in shared.rules.select(env)) == sorted(r.order for r in alone.rules.select(env))


SET_WIDE = ('deny wide.a cite "1" to use when data_subject.age < 18\n'
            'deny wide.b cite "2" to use when context.legal_request == true\n'
            'deny wide.c cite "3" to use when recipient.type == "affiliate"\n')
SERVICES = "".join(f'deny {t}{i} cite "{i}" to use for {purpose} of user.name when requester.id == "svc-{i}"\n'
                   for t, purpose in (("s", "marketing"), ("t", "essential")) for i in range(4))


def test_trees_of_overlapping_lists_share_their_common_part():
    """Two targets whose lists hold the same set-wide rules: those rules' subtree is one object in both trees."""
    text = SET_WIDE + SERVICES
    policy_set = build_set(text)
    index = RuleIndex(policy_set.rules, shapes=False)  # one tree a list (with shapes, the set-wide rules' own)
    one = index.deciding("use", "marketing", "user.name").rules
    two = index.deciding("use", "essential", "user.name").rules
    assert isinstance(one, narrowing._Split) and isinstance(two, narrowing._Split)
    assert one is not two and one.rest is two.rest


BROAD_PARTS = (SET_WIDE + 'deny m.a cite "4" for marketing when data_subject.age < 16\n'
               'deny m.b cite "5" for marketing when recipient.type == "acquirer"\n'
               'deny m.c cite "6" for marketing when recipient.dpa == false\n' + SERVICES)


def test_a_broad_rules_tree_is_built_once_for_every_list_it_is_in():
    """Rules naming only an action, or only a purpose, are in every list of that action or purpose: by shape of
    target (RuleIndex's default), each such part of more than `apart` rules is one tree, whatever else the list
    holds, and a new (action, purpose, category) builds only the part of the rules that name all three."""
    rules = build_set(BROAD_PARTS).rules
    index = RuleIndex(rules, apart=2)  # (parts of three rules: kept apart)
    one = index.deciding("use", "marketing", "user.name").rules
    two = index.deciding("use", "essential", "user.name").rules
    three = index.deciding("use", "marketing.advertising", "user.contact").rules
    assert isinstance(one, narrowing.Joined) and isinstance(two, narrowing.Joined)
    to_use, for_marketing = one.parts[:2]  # in the order of shapes: the action's rules, the purpose's
    assert to_use in two.parts and to_use in three.parts  # `to use`: one tree, in every list of `use`
    assert for_marketing in three.parts and for_marketing not in two.parts  # and it covers the narrower purpose
    assert {"m.a", "wide.a"} <= {r.id for r in three.select({"data_subject": {"age": 10}})}


def test_small_shared_parts_are_merged_into_the_targets_tree():
    """Parts other targets share of at most `apart` rules (RuleIndex's default: 32) are not joined as trees of
    their own: their rules are in the target's one tree, which deciding walks faster than several."""
    rules = build_set(BROAD_PARTS).rules
    index = RuleIndex(rules)
    one = index.deciding("use", "marketing", "user.name").rules
    assert isinstance(one, narrowing._Split)
    assert {"m.a", "wide.a", "s1"} <= {r.id for r in one.select({"data_subject": {"age": 10},
                                                                 "requester": {"id": "svc-1"}})}


@fewer(3)
@given(text=rule_sets(), batch=st.lists(requests, min_size=1, max_size=12), apart=st.sampled_from([0, 1, 3, 32]),
       together=st.booleans())
def test_trees_by_shape_of_target_decide_as_one_tree_a_list(deep_trees, text, batch, apart, together):
    """Joining a part a shape of target (`RuleIndex`'s default; a shared part of at most `apart` rules merged into
    the target's tree), with a list's denies and allows in one tree (`together`, the default) or a tree each,
    hands over the same rules that apply or raise, and decides with the same decision, reasons (errors included,
    in their order) and obligations, as one tree a list and an effect (`RuleIndex(shapes=False, together=False)`):
    the parts' union is the list, for broad and narrow requests, allows, denies and the allows whose duties a
    broad request may carry."""
    policy_set = _built(text)
    if policy_set is None:
        return
    shaped = RuleIndex(policy_set.rules, apart=apart, together=together)
    whole = RuleIndex(policy_set.rules, shapes=False, together=False)
    for env, target, one, other in _side_by_side(policy_set, batch, shaped, whole):
        # (each tree may hand over more)
        assert _bearing(one.rules.select(env), env) == _bearing(other.rules.select(env), env), target
        assert [r.order for r in one.partial] == [r.order for r in other.partial]
    _decide_alike(policy_set, batch, shaped, whole)
