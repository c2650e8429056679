"""Checked policy files -> compiled rules and the rule index.

Compile once, decide many times: each rule becomes a record with its target
as sets and its conditions as one closure (conditions.py). The index maps
(action, purpose, data category) to the rules whose targets reach them
(`taxonomy.reaches`: a deny whose keys overlap the request's, an allow whose
keys cover them), so the cost of a decision does not grow with rules about
other things. The index only narrows the candidates; `index=False` scans
every rule instead, and the tests prove both paths decide alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from pdp.lang import ast
from .conditions import compile_rule_test
from .requested import Keys
from pdp.vocab.taxonomy import ancestors, reaches


@dataclass(frozen=True)
class Obligation:
    id: str
    text: str

    def to_dict(self) -> dict:
        return {"id": self.id, "text": self.text}


@dataclass(frozen=True, eq=False)
class CompiledRule:
    order: int  # position in the policy set: decisions list rules in this order
    id: str
    effect: str
    message: str
    cite: str | None
    actions: frozenset[str] | None  # None: every action
    purposes: tuple[str, ...] | None  # None: every purpose
    categories: tuple[str, ...] | None  # None: every category
    applies: Callable[[dict], bool]
    obligations: tuple[Obligation, ...]
    source: ast.Rule
    keys: Keys | None = None  # the vocabulary's purposes and categories, as `applies` reads broad keys

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


def compile_rules(rules: list[ast.Rule], data: dict, vocabulary) -> tuple[CompiledRule, ...]:
    keys = Keys.of(vocabulary)
    return tuple(
        CompiledRule(
            order=i,
            id=rule.id,
            effect=rule.effect,
            message=rule.message,
            cite=rule.cite,
            actions=frozenset(k.name for k in rule.actions) or None,
            purposes=tuple(k.name for k in rule.purposes) or None,
            categories=tuple(k.name for k in rule.categories) or None,
            applies=compile_rule_test(rule.when, rule.unless, data, effect=rule.effect, keys=keys),
            obligations=tuple(Obligation(o.id, o.text) for o in rule.obligations),
            source=rule,
            keys=keys,
        )
        for i, rule in enumerate(rules)
    )


Candidates = tuple[tuple[CompiledRule, ...], tuple[CompiledRule, ...]]  # (denies, allows), in policy order
# (action, purpose, category) -> the rules whose targets reach it: RuleIndex.candidates or RuleScan.candidates
CandidatesOf = Callable[[str, str, str], Candidates]


class RuleIndex:
    """Rules by action, purpose and category, answered from a memo table.

    The memo is keyed by vocabulary keys, which requests are checked against
    before they get here, so it is bounded by the size of the vocabulary
    (and capped all the same).
    """

    MEMO_LIMIT = 100_000

    def __init__(self, rules: tuple[CompiledRule, ...]):
        self._rules = rules
        self._by_action = _postings(rules, lambda r: r.actions)
        # a rule's key and the keys above it (what an allow covers, what a deny overlaps from below) ...
        self._by_purpose = _postings(rules, lambda r: r.purposes)
        self._by_category = _postings(rules, lambda r: r.categories)
        # ... and, for denies, every key above one of theirs: a broad request overlaps a narrow deny
        self._deny_under_purpose = _postings_above(rules, lambda r: r.purposes)
        self._deny_under_category = _postings_above(rules, lambda r: r.categories)
        self._memo: dict[tuple[str, str, str], Candidates] = {}

    def candidates(self, action: str, purpose: str, category: str) -> Candidates:
        key = (action, purpose, category)
        found = self._memo.get(key)
        if found is None:
            found = self._lookup(action, purpose, category)
            if len(self._memo) < self.MEMO_LIMIT:
                self._memo[key] = found
        return found

    def _lookup(self, action: str, purpose: str, category: str) -> Candidates:
        by_action = self._by_action.get(action, set()) | self._by_action.get(None, set())
        by_purpose = _covering(self._by_purpose, purpose)
        by_category = _covering(self._by_category, category)
        allows = by_action & by_purpose & by_category
        denies = (by_action & (by_purpose | self._deny_under_purpose.get(purpose, set()))
                  & (by_category | self._deny_under_category.get(category, set())))
        rules = [self._rules[i] for i in sorted(allows | denies)]
        return (tuple(r for r in rules if r.effect == "deny"),
                tuple(r for r in rules if r.effect == "allow" and r.order in allows))


class RuleScan:
    """The plain path: every rule, every time. The reference the index is tested against."""

    def __init__(self, rules: tuple[CompiledRule, ...]):
        self._rules = rules

    def candidates(self, action: str, purpose: str, category: str) -> Candidates:
        rules = [r for r in self._rules if r.reaches(action, purpose, category)]
        return tuple(r for r in rules if r.effect == "deny"), tuple(r for r in rules if r.effect == "allow")


def _postings(rules, keys_of) -> dict:
    """key -> the rules naming it (None: the rules naming none, which cover every key)."""
    postings: dict = {}
    for rule in rules:
        keys = keys_of(rule)
        for key in (keys if keys is not None else (None,)):
            postings.setdefault(key, set()).add(rule.order)
    return postings


def _postings_above(rules, keys_of) -> dict:
    """key -> the deny rules naming a key strictly below it."""
    postings: dict = {}
    for rule in rules:
        if rule.effect != "deny":
            continue
        for key in keys_of(rule) or ():
            for above in ancestors(key)[1:]:
                postings.setdefault(above, set()).add(rule.order)
    return postings


def _covering(postings: dict, key: str) -> set:
    """The rules naming `key`, a key above it, or no key at all."""
    found = set(postings.get(None, set()))
    for above in ancestors(key):
        found |= postings.get(above, set())
    return found
