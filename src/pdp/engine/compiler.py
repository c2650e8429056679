"""Checked policy files -> compiled rules and the rule index.

Compile once, decide many times: each rule becomes a record with its target
as sets and its conditions as one closure (conditions.py). The index maps
(action, purpose, data category) to the rules whose targets reach them
(`taxonomy.reaches`: a deny whose keys overlap the request's, an allow whose
keys cover them), so the cost of a decision does not grow with rules about
other things. For a request that names a broad key it also gives the allows
with obligations that may apply to part of it (`Candidates.partial`): an
allowed broad request carries their obligations (decision.py). The index
only narrows the candidates; `index=False` scans every rule instead, and
the tests prove both paths give the same candidates and decide alike.

`RuleIndex.deciding` narrows each list of candidates once more, by the
request's attribute values (the condition index: guards.py, narrowing.py),
so that rules sharing a target, or naming none, are not all evaluated.
Its trees are built on a target's first request, one part a shape of
target (`RuleIndex._joined`), so that a broad rule's tree is built once,
not again for every (action, purpose, category) that reaches it; the
rules of small shared parts are merged into the target's own tree.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, fields
from typing import Any, Callable, Collection, Iterable, NamedTuple

from pdp.lang import ast
from .conditions import Shared, Test, compile_rule_clauses, compile_rule_possible, compile_rule_test, verdict
from .duties import Advice, Obligation, compile_duties
from .guards import Guard, flat_clauses, guard_of, guards_of, total, typed
from . import narrowing
from .narrowing import Joined, Node, Plain, build as build_tree
from .requested import CATEGORIES_PATH, PURPOSE_PATH, Keys, reads_requested_key
from pdp.vocab import schema as sch
from pdp.vocab.taxonomy import Vocabulary, ancestors, overlaps, reaches


class Clauses(NamedTuple):
    """A compact rule's `when` and `unless` clauses (guards.flat_clauses) compiled, and each `when` clause's test
    as a guard (guards.guard_of: None when it is not a test of one attribute), for CompiledRule.settled."""

    guards: tuple[Guard | None, ...]
    whens: tuple[Test, ...]
    unlesses: tuple[Test, ...]


@dataclass(frozen=True, eq=False, slots=True)  # slots: a rule is a few cache lines, read on every decision
class CompiledRule:
    order: int  # position in the policy set: decisions list rules in this order
    id: str
    effect: str
    message: str
    cite: str | None
    actions: frozenset[str] | None  # None: every action
    purposes: tuple[str, ...] | None  # None: every purpose
    categories: tuple[str, ...] | None  # None: every category
    applies: Callable[[dict[str, Any]], bool]
    obligations: tuple[Obligation, ...]
    source: ast.Rule
    keys: Keys | None = None  # the vocabulary's purposes and categories, as `applies` reads broad keys
    # an allow with obligations: could its conditions hold for some part of a broad request? (decision.py)
    possible: Callable[[dict[str, Any]], bool] | None = None
    reads_requested: bool = False  # a condition tests `purpose` or `data_categories` (requested.py)
    guards: tuple[Guard, ...] = ()  # tests that, when not true, leave the rule inapplicable and silent (guards.py)
    total: bool = False  # no condition can raise: once a deny applies, the rule cannot change the decision
    clauses: Clauses | None = None  # a compact rule's (compile_rules): what `settled` leaves a clause out of
    advice: tuple[Advice, ...] = ()  # given with a decision of the rule's effect (duties.py)
    # each obligation's and advice's condition (None: always due); None: none has one (duties.py)
    obligation_tests: tuple[Test | None, ...] | None = None
    advice_tests: tuple[Test | None, ...] | None = None
    # the rule as written, when it uses named conditions (`source` has them written out, lang/named.py): what
    # explain and coverage show, so that a reader sees the names (`as_written`)
    written: ast.Rule | None = None

    @property
    def as_written(self) -> ast.Rule:
        """The rule as its policy writes it: named conditions by their names (explain, coverage)."""
        return self.source if self.written is None else self.written

    def reaches(self, action: str, purpose: str, category: str) -> bool:
        """Does the rule's target take part in deciding this action, purpose and category? (the unindexed path)

        A deny takes part when its purposes and categories overlap the
        requested ones, an allow only when they cover them (taxonomy.reaches).
        """
        return (
            (self.actions is None or action in self.actions)
            and (self.purposes is None or any(reaches(self.effect, p, purpose) for p in self.purposes))
            and (self.categories is None or any(reaches(self.effect, c, category) for c in self.categories))
        )

    def overlaps(self, action: str, purpose: str, category: str) -> bool:
        """Does the rule's target reach some part of this action, purpose and category? (its keys overlap them)"""
        return (
            (self.actions is None or action in self.actions)
            and (self.purposes is None or any(overlaps(p, purpose) for p in self.purposes))
            and (self.categories is None or any(overlaps(c, category) for c in self.categories))
        )

    def settled(self, guard: Guard) -> CompiledRule:
        """The rule as deciding evaluates it where `guard`'s test is known to be true (narrowing.py: handed over
        below a value of the guard's attribute): without its `when` clauses that are that test, which would be
        true there. A `when` clause that is true changes nothing (the rule goes on to the next), so it applies,
        and raises, exactly where the rule does. Itself when it has no such clause (or was compiled plain)."""
        clauses = self.clauses
        if clauses is None:
            return self
        known = guard[:3]  # (the attribute, the kind of test, its value: what makes the test true)
        kept = tuple(test for g, test in zip(clauses.guards, clauses.whens) if g is None or g[:3] != known)
        if len(kept) == len(clauses.whens):
            return self
        # (a copy made field by field, not by `dataclasses.replace`, which takes twice as long: a target's first
        # request settles the rules of every service below its first split)
        settled = object.__new__(CompiledRule)
        for name in _RULE_FIELDS:
            object.__setattr__(settled, name, getattr(self, name))
        object.__setattr__(settled, "applies", verdict(kept, clauses.unlesses))
        object.__setattr__(settled, "clauses", None)
        return settled

    @property
    def obliges(self) -> bool:
        """An allow with obligations: the rules whose duties a broad request's allow may carry."""
        return self.possible is not None

    def partial(self, action: str, purpose: str, category: str) -> bool:
        """May the rule's obligations be due for part of this broad request (Candidates.partial)? (the unindexed path)

        An allow with obligations whose keys overlap the request's: below
        them, or covering them and testing a requested key in a condition
        (read for part of the request, it may hold where it does not for
        all). One that covers them and tests none reads every part as it
        reads the whole: it applies to a part exactly when it applies.
        """
        return self.obliges and self.overlaps(action, purpose, category) and (
            self.reads_requested or not self.reaches(action, purpose, category))


_RULE_FIELDS = tuple(f.name for f in fields(CompiledRule))


def compile_rules(rules: list[ast.Rule], data: dict[str, Any], vocabulary: Vocabulary,
                  schema: dict[str, sch.Type] | None = None, compact: bool = True,
                  written: list[ast.Rule] | None = None) -> tuple[CompiledRule, ...]:
    """The rules compiled; `schema` (the checker's: what a checked request holds) tells which tests cannot
    raise (guards.total), for the condition index; without it, fewer are known not to.

    `rules` are as deciding reads them, every named condition written out (lang/named.py: `inlined_rule`);
    `written`, beside them, as the policy writes them (CompiledRule.as_written).

    `compact`: each rule's verdict in few objects of its own (guards.flat_clauses, conditions' `compact`), as
    a decision at 20,000 rules finds a rule's own objects cold in the cache; False: the plain closures, which
    a property test holds it to (tests/test_compact_rules.py)."""
    keys = Keys.of(vocabulary)
    kind_of = typed(schema)
    shared: Shared = {}  # tests that rules repeat, compiled once (conditions.Shared)

    def clauses(rule: ast.Rule) -> Clauses | None:
        if not compact:
            return None
        when, unless = flat_clauses(rule.when, ast.And, data, kind_of), flat_clauses(rule.unless, ast.Or, data, kind_of)
        whens, unlesses = compile_rule_clauses(when, unless, data, rule.effect, keys, shared)
        return Clauses(tuple(guard_of(e, data) for e in when), whens, unlesses)

    def compiled(i: int, rule: ast.Rule, clauses: Clauses | None) -> CompiledRule:
        duties = compile_duties(rule, data, keys, shared)
        return CompiledRule(
            order=i,
            id=rule.id,
            effect=sys.intern(rule.effect),  # (deciding compares it with "deny": equal is then the same object)
            message=rule.message,
            cite=rule.cite,
            actions=frozenset(k.name for k in rule.actions) or None,
            purposes=tuple(k.name for k in rule.purposes) or None,
            categories=tuple(k.name for k in rule.categories) or None,
            applies=verdict(clauses.whens, clauses.unlesses) if clauses is not None
            else compile_rule_test(rule.when, rule.unless, data, effect=rule.effect, keys=keys, shared=shared),
            obligations=duties.obligations,
            source=rule,
            keys=keys,
            possible=compile_rule_possible(rule.when, rule.unless, data, keys, shared)
            if rule.effect == "allow" and rule.obligations else None,
            reads_requested=any(reads_requested_key(node) for e in rule.when + rule.unless for node in ast.walk(e)),
            guards=guards_of(rule.when, data, kind_of),
            total=all(total(e, data, kind_of) for e in rule.when + rule.unless),
            clauses=clauses,
            advice=duties.advice,
            obligation_tests=duties.obligation_tests,
            advice_tests=duties.advice_tests,
            written=None if written is None or written[i] is rule else written[i],
        )

    return tuple(compiled(i, rule, clauses(rule)) for i, rule in enumerate(rules))


class Candidates(NamedTuple):
    """The rules that take part in deciding one action, purpose and category, each in policy order."""

    denies: tuple[CompiledRule, ...]  # whose keys overlap the request's
    allows: tuple[CompiledRule, ...]  # whose keys cover the request's
    # when the purpose or the category is broad (has vocabulary keys below it): the allows with obligations that
    # may apply to part of it (CompiledRule.partial); empty otherwise
    partial: tuple[CompiledRule, ...] = ()


# (action, purpose, category) -> the rules whose targets reach it: RuleIndex.candidates or RuleScan.candidates
CandidatesOf = Callable[[str, str, str], Candidates]


class Deciding(NamedTuple):
    """Candidates as deciding reads them: the denies and the allows together, narrowed by the request's attributes
    (narrowing.py: `rules.select(env)` hands over those that may apply or raise, in no particular order; deciding
    tells them apart by effect), and the allows whose duties a broad request may carry."""

    rules: Node
    partial: tuple[CompiledRule, ...] = ()


ALL_NAMED = 7  # the shape of a rule naming an action, a purpose and a category
# A part of a list that other lists share (its rules name fewer than all three of action, purpose and category) is
# a tree of its own, joined to each list, when it holds more than this many rules: built once, not again for each
# target. A smaller one is merged into the target's tree: built again for each target (a few rules more to file),
# but walked as one tree, not as several joined (about 3 µs a decision less, clustered at 20,000 rules).
APART = 32
# `RuleIndex.looked_up` from each key's part, kept as bit sets of rule orders, and each list made once for the rules
# it holds (the decision space asks for thousands of (action, purpose, category) that share a few keys); False: the
# sets worked out anew for every one (a property test holds the two equal)
KEY_PARTS = True


class _Part(NamedTuple):
    """The rules of one shape in a list (RuleIndex._joined): a tree kept apart, or the rules to merge."""

    apart: tuple[Node, ...]
    denies: tuple[CompiledRule, ...]
    allows: tuple[CompiledRule, ...]
    partial: tuple[CompiledRule, ...]


def _shape(rule: CompiledRule) -> int:
    """Which of action, purpose and category the rule's target names (bits 1, 2, 4)."""
    return (rule.actions is not None) | (rule.purposes is not None) << 1 | (rule.categories is not None) << 2


def _joined(nodes: Iterable[Node]) -> Node:
    """The trees handed over together: the short lists handed over whole (a part of few rules) as one list, each
    tree as it is (fewer parts for a decision to go through), one alone as it is."""
    nodes = list(nodes)
    plain = tuple(rule for node in nodes if type(node) is Plain for rule in node.rules)
    kept = tuple(node for node in nodes if type(node) is not Plain) + ((Plain(plain),) if plain else ())
    return kept[0] if len(kept) == 1 else Joined(kept) if kept else narrowing.EMPTY


def _broad(keys: Keys | None, purpose: str, category: str) -> bool:
    """Does the request name more than one key here (a key with vocabulary keys below it)?"""
    return keys is not None and not (keys.alone(PURPOSE_PATH, purpose) and keys.alone(CATEGORIES_PATH, category))


def _keys_of(rules: tuple[CompiledRule, ...]) -> Keys | None:
    return next((r.keys for r in rules if r.keys is not None), None)


class RuleIndex:
    """Rules by action, purpose and category, answered from a memo table.

    The memo is keyed by vocabulary keys, which requests are checked against
    before they get here, so it is bounded by the size of the vocabulary
    (and capped all the same).
    """

    MEMO_LIMIT = 100_000
    # Rules filed in condition trees, over all trees: each (action, purpose, category) asked has one (trees of
    # the same rules are shared), so their size is bounded by the vocabulary; past this, lists are not narrowed.
    TREE_BUDGET = 2_000_000

    def __init__(self, rules: tuple[CompiledRule, ...], conditions: bool = True, share: bool = True,
                 shapes: bool = True, of_shape: int | None = None, apart: int = APART, together: bool = True,
                 settle: bool = True):
        self._rules = rules  # by order
        # the rules indexed: all, or (of_shape: the part of one shape of target, _joined) those of one shape
        indexed = rules if of_shape is None else tuple(r for r in rules if _shape(r) == of_shape)
        self._conditions = conditions  # narrow each list by its rules' conditions too (narrowing.py)
        # `deciding` joins one part a shape of target (_joined), each looked up once for the values its shape names,
        # from the index of that shape's rules alone, a shared part of more than `apart` rules a tree of its own;
        # shapes=False: one tree per (action, purpose, category) asked (the rules naming no target apart), each
        # list a tree of its own, built on its first request
        self._shaped = tuple((shape, RuleIndex(rules, shapes=False, of_shape=shape))
                             for shape in sorted({_shape(r) for r in rules})) if shapes and conditions else ()
        self._parts: dict[tuple[int, tuple[str, ...], bool], _Part] = {}  # (shape, values named, broad) -> part
        self._apart = apart
        # a list's denies and allows in one tree (deciding walks one tree a list, not two: about 2 µs a decision
        # less, clustered at 20,000 rules); together=False: a tree each, joined
        self._together = together
        # a list below a value of a split hands its rules over settled (CompiledRule.settled: without their test of
        # that value, true there), each settled rule made once (by order and guard) for every tree it is in;
        # settle=False: the rules as compiled
        self._settled: dict[tuple[int, Guard], CompiledRule] = {}
        self._settle = self._settled_rule if settle else None
        self._trees: dict[tuple[int, ...], Node] = {}
        # the trees' common parts, built once and shared (narrowing.build); share=False: each tree built alone
        self._subtrees: narrowing.Shared | None = {} if share else None
        self._tree_size = 0
        self._deciding: dict[tuple[str, str | None, str], Deciding] = {}
        self.outcomes: dict[Any, Any] = {}  # decision.evaluate's memo of outcomes by the rules that apply
        self._by_action = _postings(indexed, lambda r: r.actions)
        # a rule's key and the keys above it (what an allow covers, what a deny overlaps from below) ...
        self._by_purpose = _postings(indexed, lambda r: r.purposes)
        self._by_category = _postings(indexed, lambda r: r.categories)
        # ... and, for denies, every key above one of theirs: a broad request overlaps a narrow deny
        deny = lambda r: r.effect == "deny"  # noqa: E731
        self._deny_under_purpose = _postings_above(indexed, lambda r: r.purposes, deny)
        self._deny_under_category = _postings_above(indexed, lambda r: r.categories, deny)
        # ... and for allows with obligations, which a broad request's allow may carry (Candidates.partial)
        self._obliging = {r.order for r in indexed if r.obliges}
        obliging = lambda r: r.obliges  # noqa: E731
        self._obliging_under_purpose = _postings_above(indexed, lambda r: r.purposes, obliging)
        self._obliging_under_category = _postings_above(indexed, lambda r: r.categories, obliging)
        self._reading = {r.order for r in indexed if r.reads_requested}
        self._keys = _keys_of(indexed)
        self._memo: dict[tuple[str, str, str], Candidates] = {}
        self._action_memo: dict[str, Candidates] = {}
        # KEY_PARTS: each key's part of `looked_up` as bit sets of rule orders, and the lists by the bits they hold
        self._action_parts: dict[str, int] = {}
        self._purpose_parts: dict[str, tuple[int, int, int, bool]] = {}
        self._category_parts: dict[str, tuple[int, int, int, bool]] = {}
        self._lists: dict[tuple[int, int, int], Candidates] = {}
        self._obliging_bits = _bits(self._obliging)
        self._reading_bits = _bits(self._reading)

    def candidates(self, action: str, purpose: str, category: str) -> Candidates:
        key = (action, purpose, category)
        found = self._memo.get(key)
        if found is None:
            found = self.looked_up(action, purpose, category)
            if len(self._memo) < self.MEMO_LIMIT:
                self._memo[key] = found
        return found

    def for_action(self, action: str, purpose: None = None, part: str | None = None) -> Candidates:
        """The rules about an action, whatever else they target: an AuthZEN set's rules target actions only,
        and its requests have no purpose (`decision.evaluate` passes one, and the part, which are not read)."""
        found = self._action_memo.get(action)
        if found is None:
            orders = self._by_action.get(action, set()) | self._by_action.get(None, set())
            found = _split([self._rules[i] for i in sorted(orders)])
            if len(self._action_memo) < self.MEMO_LIMIT:
                self._action_memo[action] = found
        return found

    def deciding(self, action: str, purpose: str, category: str) -> Deciding:
        """The candidates for an action, purpose and category, each list narrowed by its rules' conditions."""
        key = (action, purpose, category)
        found = self._deciding.get(key)
        if found is None:
            found = (self._joined(action, purpose, category) if self._shaped
                     else self._narrowed(self.candidates(action, purpose, category)))
            if len(self._deciding) < self.MEMO_LIMIT:
                self._deciding[key] = found
        return found

    def deciding_for_action(self, action: str, purpose: None = None, part: str | None = None) -> Deciding:
        """`for_action`, narrowed as `deciding` is."""
        key = (action, None, "")
        found = self._deciding.get(key)
        if found is None:
            found = self._narrowed(self.for_action(action))
            if len(self._deciding) < self.MEMO_LIMIT:
                self._deciding[key] = found
        return found

    def _joined(self, action: str, purpose: str, category: str) -> Deciding:
        """`deciding` from one part a shape of target (which of action, purpose and category the rules name).

        Whether a rule takes part is tested per dimension, and a dimension it does not name passes every
        value: the rules of one shape in a list are fixed by the values of the dimensions the shape names
        (and, for `partial`, by whether the request is broad). So each shape's part is looked up and kept under
        those alone. A part other targets share that holds many rules is a tree of its own, built once and
        joined to each list it is in (a rule naming only an action is in one tree for that action, whatever
        the purpose and category); the others' rules are merged into one tree for the target, as deciding walks
        one tree faster than several joined. A request for a new (action, purpose, category) so builds a tree of
        the rules that name all three and the few that share small parts, never one over a large shared part."""
        broad = _broad(self._keys, purpose, category)
        apart: list[Node] = []
        denies: list[CompiledRule] = []
        allows: list[CompiledRule] = []
        partial: list[CompiledRule] = []
        for shape, index in self._shaped:
            named = tuple(value for bit, value in ((1, action), (2, purpose), (4, category)) if shape & bit)
            key = (shape, named, broad)
            part = self._parts.get(key)
            if part is None:
                part = self._part(shape, index.looked_up(action, purpose, category))
                if len(self._parts) < self.MEMO_LIMIT:
                    self._parts[key] = part
            apart += part.apart
            denies += part.denies
            allows += part.allows
            partial += part.partial
        merged = self._both(_in_order(denies), _in_order(allows))
        return Deciding(_joined(apart + [merged]), _in_order(partial))

    def _part(self, shape: int, found: Candidates) -> _Part:
        """A shape's part of a list as `_joined` takes it: the tree of a part other targets share (a shape naming
        fewer than all three of action, purpose and category) when it holds more than `apart` rules, else the
        rules, to be merged into the target's tree."""
        if shape != ALL_NAMED and len(found.denies) + len(found.allows) > self._apart:
            return _Part((self._both(found.denies, found.allows),), (), (), found.partial)
        return _Part((), found.denies, found.allows, found.partial)

    def _narrowed(self, candidates: Candidates) -> Deciding:
        return Deciding(self._both(candidates.denies, candidates.allows), candidates.partial)

    def _both(self, denies: tuple[CompiledRule, ...], allows: tuple[CompiledRule, ...]) -> Node:
        """A list's denies and allows (each in policy order) as one tree, or (together=False) a tree each, joined."""
        if self._together:
            return self._tree(_in_order(denies + allows))
        return _joined((self._tree(denies), self._tree(allows)))

    def _tree(self, rules: tuple[CompiledRule, ...]) -> Node:
        """The list's condition tree: shared by every (action, purpose, category) with the same rules; only trees
        are kept (their keys and rules count against the budget), a list past the budget is handed over whole.
        The rules that name no target are in every list: they get one tree of their own, joined to each (by
        shape of target, `_joined` has kept them apart or merged them already)."""
        if not self._conditions or len(rules) <= narrowing.LEAF:
            return Plain(rules)
        everywhere = tuple(r for r in rules if r.actions is None and r.purposes is None and r.categories is None)
        if everywhere and len(everywhere) < len(rules) and not self._shaped:
            own = tuple(r for r in rules if not (r.actions is None and r.purposes is None and r.categories is None))
            return Joined((self._tree(own), self._tree(everywhere)))
        return self._kept(rules)

    def _kept(self, rules: tuple[CompiledRule, ...]) -> Node:
        if len(rules) <= narrowing.LEAF:
            return Plain(rules)
        key = tuple(r.order for r in rules)
        tree = self._trees.get(key)
        if tree is None:
            if self._tree_size + 2 * len(rules) > self.TREE_BUDGET:
                return Plain(rules)
            tree = build_tree(rules, shared=self._subtrees, settle=self._settle)
            self._tree_size += tree.size() + len(rules)
            self._trees[key] = tree
        return tree

    def _settled_rule(self, rule: CompiledRule, guard: Guard) -> CompiledRule:
        key = (rule.order, guard)
        found = self._settled.get(key)
        if found is None:
            found = self._settled[key] = rule.settled(guard)
        return found

    def looked_up(self, action: str, purpose: str, category: str) -> Candidates:
        """`candidates`, worked out anew (not remembered): a shape's index is asked once a part (`_joined`)."""
        if KEY_PARTS:
            return self._from_key_parts(action, purpose, category)
        by_action = self._by_action.get(action, set()) | self._by_action.get(None, set())
        by_purpose = _covering(self._by_purpose, purpose)
        by_category = _covering(self._by_category, category)
        allows = by_action & by_purpose & by_category
        denies = (by_action & (by_purpose | self._deny_under_purpose.get(purpose, set()))
                  & (by_category | self._deny_under_category.get(category, set())))
        partial: set[int] = set()
        if self._obliging and _broad(self._keys, purpose, category):
            overlapping = (by_action & self._obliging
                           & (by_purpose | self._obliging_under_purpose.get(purpose, set()))
                           & (by_category | self._obliging_under_category.get(category, set())))
            partial = overlapping - (allows - self._reading)
        return self._listed(sorted(allows | denies | partial), allows, partial)

    def _listed(self, orders: Iterable[int], allows: Collection[int], partial: Collection[int]) -> Candidates:
        rules = [self._rules[i] for i in orders]
        return Candidates(tuple(r for r in rules if r.effect == "deny"),
                          tuple(r for r in rules if r.effect == "allow" and r.order in allows),
                          tuple(r for r in rules if r.order in partial))

    def _from_key_parts(self, action: str, purpose: str, category: str) -> Candidates:
        """`looked_up` (KEY_PARTS) from each key's part, worked out once per key as bit sets of rule orders (the
        intersections are then a few operations on integers), and each list made once for the rules it holds: the
        decision space asks it of every (action, purpose, category) class, thousands that share a few keys."""
        by_action = self._action_parts.get(action)
        if by_action is None:
            by_action = self._kept_part(self._action_parts, action, _bits(
                self._by_action.get(action, set()) | self._by_action.get(None, set())))
        in_purpose = self._purpose_parts.get(purpose)
        if in_purpose is None:
            in_purpose = self._kept_part(self._purpose_parts, purpose, self._key_part(
                _covering(self._by_purpose, purpose), self._deny_under_purpose, self._obliging_under_purpose,
                purpose, PURPOSE_PATH))
        in_category = self._category_parts.get(category)
        if in_category is None:
            in_category = self._kept_part(self._category_parts, category, self._key_part(
                _covering(self._by_category, category), self._deny_under_category, self._obliging_under_category,
                category, CATEGORIES_PATH))
        covered, overlapped, obliged, alone = in_purpose
        allows = by_action & covered & in_category[0]
        denies = by_action & overlapped & in_category[1]
        partial = 0
        if self._obliging and not (alone and in_category[3]):  # (`_broad`: either key has keys below it)
            overlapping = by_action & self._obliging_bits & obliged & in_category[2]
            partial = overlapping & ~(allows & ~self._reading_bits)
        key = (allows, denies, partial)
        found = self._lists.get(key)
        if found is None:
            found = self._listed(_orders(allows | denies | partial), set(_orders(allows)), set(_orders(partial)))
            if len(self._lists) < self.MEMO_LIMIT:
                self._lists[key] = found
        return found

    def _key_part(self, covering: set[int], deny_under: Postings, obliging_under: Postings, key: str,
                  path: tuple[str, ...]) -> tuple[int, int, int, bool]:
        """A purpose's or category's part (bits): the rules covering it, those a deny of it takes part in, those
        whose obligations may be due for part of it, and whether it names itself alone (not broad)."""
        return (_bits(covering), _bits(covering | deny_under.get(key, set())),
                _bits(covering | obliging_under.get(key, set())),
                self._keys is None or self._keys.alone(path, key))

    def _kept_part(self, parts: dict[str, Any], key: str, part: Any) -> Any:
        if len(parts) < self.MEMO_LIMIT:
            parts[key] = part
        return part


class RuleScan:
    """The plain path: every rule, every time. The reference the index is tested against."""

    outcomes = None  # nothing remembered: every outcome is made anew

    def __init__(self, rules: tuple[CompiledRule, ...]):
        self._rules = rules
        self._obliging = tuple(r for r in rules if r.obliges)  # (what a rule is, not what a request asks)
        self._keys = _keys_of(rules)

    def candidates(self, action: str, purpose: str, category: str) -> Candidates:
        rules = [r for r in self._rules if r.reaches(action, purpose, category)]
        partial = [r for r in self._obliging if r.partial(action, purpose, category)] \
            if self._obliging and _broad(self._keys, purpose, category) else []
        return Candidates(tuple(r for r in rules if r.effect == "deny"), tuple(r for r in rules if r.effect == "allow"),
                          tuple(partial))

    def for_action(self, action: str, purpose: None = None, part: str | None = None) -> Candidates:
        return _split([r for r in self._rules if r.actions is None or action in r.actions])

    def deciding(self, action: str, purpose: str, category: str) -> Deciding:
        denies, allows, partial = self.candidates(action, purpose, category)
        return Deciding(Plain(denies + allows), partial)

    def deciding_for_action(self, action: str, purpose: None = None, part: str | None = None) -> Deciding:
        denies, allows, partial = self.for_action(action)
        return Deciding(Plain(denies + allows), partial)


def _in_order(rules: Iterable[CompiledRule]) -> tuple[CompiledRule, ...]:
    return tuple(sorted(rules, key=lambda r: r.order))


def _split(rules: list[CompiledRule]) -> Candidates:
    """Rules about an action alone: its denies and allows (no broad keys, so nothing partial)."""
    return Candidates(tuple(r for r in rules if r.effect == "deny"), tuple(r for r in rules if r.effect == "allow"))


Postings = dict[str | None, set[int]]  # a key -> the rules (by order) it leads to
KeysOf = Callable[[CompiledRule], Iterable[str] | None]


def _postings(rules: tuple[CompiledRule, ...], keys_of: KeysOf) -> Postings:
    """key -> the rules naming it (None: the rules naming none, which cover every key)."""
    postings: Postings = {}
    for rule in rules:
        keys = keys_of(rule)
        for key in (keys if keys is not None else (None,)):
            postings.setdefault(key, set()).add(rule.order)
    return postings


def _postings_above(rules: tuple[CompiledRule, ...], keys_of: KeysOf,
                    chosen: Callable[[CompiledRule], bool]) -> Postings:
    """key -> the `chosen` rules naming a key strictly below it."""
    postings: Postings = {}
    for rule in rules:
        if not chosen(rule):
            continue
        for key in keys_of(rule) or ():
            for above in ancestors(key)[1:]:
                postings.setdefault(above, set()).add(rule.order)
    return postings


def _bits(orders: Collection[int]) -> int:
    """A set of rule orders as the bits of an integer (made from a bitmap: no large integer is made per order)."""
    if not orders:
        return 0
    bitmap = bytearray(max(orders) // 8 + 1)
    for order in orders:
        bitmap[order >> 3] |= 1 << (order & 7)
    return int.from_bytes(bitmap, "little")


_BYTE_BITS = tuple(tuple(i for i in range(8) if byte >> i & 1) for byte in range(256))


def _orders(bits: int) -> list[int]:
    """The rule orders an integer's bits hold, in order (read byte by byte: no large integer is made per order)."""
    out: list[int] = []
    for at, byte in enumerate(bits.to_bytes((bits.bit_length() + 7) // 8, "little")):
        if byte:
            out.extend(at * 8 + i for i in _BYTE_BITS[byte])
    return out


def _covering(postings: Postings, key: str) -> set[int]:
    """The rules naming `key`, a key above it, or no key at all."""
    found = set(postings.get(None, set()))
    for above in ancestors(key):
        found |= postings.get(above, set())
    return found
