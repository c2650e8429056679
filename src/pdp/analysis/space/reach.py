"""Which classes of action, purpose and category a rule's target reaches: `CompiledRule.reaches` one dimension
at a time, over the space's key classes (an action it names; a purpose and a category some key of it reaches,
`taxonomy.reaches`: a deny's keys overlap the request's, an allow's cover them).

The encoding (encoding.py) turns these into the formula of a rule taking part; the diff (touched.py) reads them
to tell which rules an edit can make a difference through. Memoised by the keys a target names: many rules
share a target."""

from __future__ import annotations

from pdp.vocab import taxonomy as tx
from .space import Space

Reached = tuple[frozenset[int] | None, frozenset[int] | None, frozenset[int] | None]  # None: every class


class Reach:
    """The classes the targets of a space's rules reach, memoised by the keys they name."""

    def __init__(self, space: Space):
        self.space = space
        self._memo: dict[tuple, frozenset[int]] = {}

    def classes(self, rule) -> Reached:
        """The action, purpose and category classes the rule's target reaches (None: every class)."""
        space = self.space
        return (None if rule.actions is None else self._reaching(space.actions, "action", rule.effect,
                                                                   tuple(sorted(rule.actions))),
                None if rule.purposes is None else self._reaching(space.purposes, "purpose", rule.effect,
                                                                    rule.purposes),
                None if rule.categories is None else self._reaching(space.categories, "category", rule.effect,
                                                                      rule.categories))

    def _reaching(self, classes, kind: str, effect: str, keys: tuple[str, ...]) -> frozenset[int]:
        """The classes of a dimension some key of a rule reaches (the action itself; `taxonomy.reaches`)."""
        memo = (kind, effect if kind != "action" else "", keys)
        found = self._memo.get(memo)
        if found is None:
            found = frozenset().union(*(self._reaching_key(classes, kind, effect, k) for k in keys))
            self._memo[memo] = found
        return found

    def _reaching_key(self, classes, kind: str, effect: str, key: str) -> frozenset[int]:
        memo = (kind, effect if kind != "action" else "", key)
        found = self._memo.get(memo)
        if found is None:
            if kind == "action":
                found = frozenset(i for i, c in enumerate(classes) if c.rep == key)
            else:
                found = frozenset(i for i, c in enumerate(classes) if tx.reaches(effect, key, c.rep))
            self._memo[memo] = found
        return found


def meet(a: Reached, b: Reached) -> bool:
    """Do two targets reach some class of action, purpose and category in common?"""
    return all(_meet(x, y) for x, y in zip(a, b))


def _meet(x: frozenset[int] | None, y: frozenset[int] | None) -> bool:
    if x is None:
        return y is None or bool(y)
    return bool(x) if y is None else not x.isdisjoint(y)


__all__ = ["Reach", "Reached", "meet"]
