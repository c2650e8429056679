"""The condition index: the candidate rules of one target, narrowed by the request's attribute values.

The rule index (compiler.py) hands a request the rules whose targets reach
its action, purpose and category. Rules that share a target, or name none,
differ only by their conditions, and without this each would be evaluated
on every request. Here each such list of rules is compiled once into a
discrimination tree over their guards (guards.py: tests such as
`recipient.type == "affiliate"` that, when not true, leave the rule
inapplicable and silent):

- a node splits on the attribute most of its rules have a guard on: a
  text, number or bool goes to the rules filed under that value (a dict
  look-up), a missing value to the `is absent` rules, any value to the
  `is present` rules; a number goes through sorted thresholds (bisect) to
  the ordering guards it satisfies;
- a rule whose guard would raise for the value's type (`age < 18` given
  text, a truth test given a number), or any rule guarded there when the
  value is of no kind above (a list), is handed over: evaluated, it fails
  closed as it would unindexed;
- the rules without a guard on that attribute are split again, on the
  next; small lists and rules without guards are handed over as they are;
- a list below a value hands its rules over settled (`build`'s `settle`,
  CompiledRule.settled): without their test of that value, which is true
  for every request that reaches them.

`select(env)` returns a subset of the rules (in no particular order) that
holds every rule that applies or raises: evaluating only those gives the
same verdicts, errors, reasons and obligations as evaluating all of them
(property-tested against the plain list, tests/test_narrowing.py). The
index is part of the rule index (`build(index=False)` switches both off).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from typing import TYPE_CHECKING, Any, Callable, Iterable, Sequence

from .conditions import MISSING, getter
from .guards import DISCRETE, EQ_BOOL, EQ_NUMBER, EQ_STR, IN_TEXTS, ORDER, PRESENT, Guard

if TYPE_CHECKING:
    from .compiler import CompiledRule

LEAF = 2  # a list this short is evaluated whole: a look-up would cost about as much as the rules


class Plain:
    """A list of rules handed over whole (a leaf, or the plain path)."""

    __slots__ = ("rules",)

    def __init__(self, rules: Sequence[CompiledRule]):
        self.rules = tuple(rules)

    def select(self, env: dict[str, Any]) -> Sequence[CompiledRule]:
        return self.rules

    def size(self) -> int:
        return len(self.rules)


EMPTY = Plain(())  # every empty list of rules: one object, warm in the cache


class _Thresholds:
    """Ordering guards on one attribute: a number goes to those it satisfies, by bisection."""

    __slots__ = ("below", "below_or_at", "above", "above_or_at")

    def __init__(self, filed: list[tuple[Guard, CompiledRule]]):
        def sorted_by(op: str) -> tuple[list[float], list[CompiledRule]]:
            pairs = sorted(((g.value[1], r.order, r) for g, r in filed if g.value[0] == op), key=lambda p: p[:2])
            return [p[0] for p in pairs], [p[2] for p in pairs]

        self.below, self.below_or_at = sorted_by("<"), sorted_by("<=")  # true for v < c, v <= c
        self.above, self.above_or_at = sorted_by(">"), sorted_by(">=")

    def satisfied(self, v: float) -> list[CompiledRule]:
        if v != v:  # NaN: no ordering holds
            return []
        (lt_c, lt_r), (le_c, le_r) = self.below, self.below_or_at
        (gt_c, gt_r), (ge_c, ge_r) = self.above, self.above_or_at
        return (lt_r[bisect_right(lt_c, v):] + le_r[bisect_left(le_c, v):]
                + gt_r[:bisect_left(gt_c, v)] + ge_r[:bisect_right(ge_c, v)])


def _value_keys(guard: Guard) -> Iterable[Any]:
    return guard.value if guard.kind == IN_TEXTS else (guard.value,)


_NOTHING: dict[Any, Any] = {}  # (never changed) an empty table: one object, warm, shared by every split


class _Split:
    """Rules split on one attribute (see the module docstring); `rest` holds those without a guard on it.

    Built to touch few objects a request: a decision at 20,000 rules meets a handful of nodes that are cold in
    the cache (bench/flat.py), so what is empty is one shared object (`EMPTY`, `_NOTHING`, the empty tuple),
    a short list below a value is its tuple of rules (no node around it), and the rules handed over for a
    value's type are one tuple per type.
    """

    __slots__ = ("get", "texts", "numbers", "bools", "present", "absent", "thresholds", "on_text", "on_bool",
                 "on_number", "guarded", "rest")

    def __init__(self, path: tuple[str, ...], filed: list[tuple[Guard, CompiledRule]], rest: Node,
                 used: frozenset[tuple[str, ...]], shared: Shared | None = None, settle: Settle | None = None):
        self.get = getter(path)
        used = used | {path}
        by: dict[str, dict[Any, list[CompiledRule]]] = {EQ_STR: {}, EQ_NUMBER: {}, EQ_BOOL: {}}
        present: list[CompiledRule] = []
        absent: list[CompiledRule] = []
        for guard, rule in filed:
            if guard.kind == PRESENT:
                (present if guard.value else absent).append(rule)
            elif guard.kind != ORDER:
                table = by[EQ_STR if guard.kind == IN_TEXTS else guard.kind]
                for value in _value_keys(guard):
                    table.setdefault(value, []).append(rule)

        filed_by = {rule.order: guard for guard, rule in filed}

        def below(kind: str) -> dict[Any, Node | tuple[CompiledRule, ...]]:
            """The rules below each value: a tree, or a list of rules, each (`settle`) without the test that the
            value makes true (CompiledRule.settled: its guard here, which holds for every request that reaches
            the list, the value looked up being equal to the guard's), settled on the list's first request."""
            table: dict[Any, Node | tuple[CompiledRule, ...]] = {}
            for k, v in by[kind].items():
                node = build(v, used, shared, settle)
                table[k] = node if type(node) is not Plain else node.rules if settle is None else _Unsettled(
                    table, k, tuple((rule, filed_by[rule.order]) for rule in node.rules), settle)
            return table or _NOTHING

        self.texts, self.numbers, self.bools = below(EQ_STR), below(EQ_NUMBER), below(EQ_BOOL)
        # a guard that is not strict leaves its rule out only when false: a missing value hands it over
        absent += [rule for guard, rule in filed if not guard.strict]
        self.present, self.absent = build(present, used, shared, settle), build(absent, used, shared, settle)
        ordering = [(g, r) for g, r in filed if g.kind == ORDER]
        self.thresholds = _Thresholds(ordering) if ordering else None
        # the rules whose guard raises for a value of this type (evaluated, they fail closed as unindexed)
        raise_unless_number = tuple(r for _, r in ordering)
        raise_unless_bool = tuple(r for g, r in filed if g.raises)
        self.on_text = raise_unless_bool + raise_unless_number
        self.on_bool = raise_unless_number
        self.on_number = raise_unless_bool
        self.guarded = tuple(r for _, r in filed)
        self.rest = rest

    def select(self, env: dict[str, Any]) -> Sequence[CompiledRule]:
        v = self.get(env)
        found: list[CompiledRule] = [*self.rest.select(env)]
        if v is MISSING:
            found += self.absent.select(env)
            return found
        kind = type(v)
        if kind is str:
            node = self.texts.get(v)
            found += self.on_text
        elif kind is bool:
            node = self.bools.get(v)
            found += self.on_bool
        elif kind is int or kind is float:
            node = self.numbers.get(v)
            found += self.on_number
            if self.thresholds is not None:
                found += self.thresholds.satisfied(v)
        else:  # a list, a map: no look-up; every rule guarded here is evaluated
            found += self.guarded
            return found
        if node is not None:
            found += node if type(node) is tuple else node.select(env)  # type: ignore[union-attr]
        if self.present is not EMPTY:
            found += self.present.select(env)
        return found

    def size(self) -> int:
        return (sum(_size(n) for t in (self.texts, self.numbers, self.bools) for n in t.values())
                + self.present.size() + self.absent.size() + len(self.on_text) + len(self.guarded)
                + self.rest.size())


class Joined:
    """Trees whose rules are handed over together: parts of one list kept apart because each part is the same in
    many lists (RuleIndex: the rules that name no target, or those of one shape of target), so one tree of it
    serves them all."""

    __slots__ = ("parts",)

    def __init__(self, parts: tuple[Node, ...]):
        self.parts = parts

    def select(self, env: dict[str, Any]) -> Sequence[CompiledRule]:
        found: list[CompiledRule] = []
        for part in self.parts:
            found += part.select(env)
        return found

    def size(self) -> int:
        return sum(part.size() for part in self.parts)


class _Unsettled:
    """A list below a value of a split (`_Split.texts` ...) before its first request, which settles its rules
    (CompiledRule.settled, by `settle`) and puts them in its place in the table: a target's tree lists every
    service that has rules for it, and a request reaches one; so settling is paid for the lists requests reach,
    once each, not for every list when the tree is built. (Either in the table decides alike.)"""

    __slots__ = ("table", "key", "filed", "settle")

    def __init__(self, table: dict[Any, Any], key: Any, filed: tuple[tuple[CompiledRule, Guard], ...],
                 settle: Settle):
        self.table, self.key, self.filed, self.settle = table, key, filed, settle

    def select(self, env: dict[str, Any]) -> Sequence[CompiledRule]:
        settled = tuple(self.settle(rule, guard) for rule, guard in self.filed)
        self.table[self.key] = settled
        return settled

    def size(self) -> int:
        return len(self.filed)


Node = Plain | _Split | Joined | _Unsettled


# Subtrees built once per set and shared by every tree that holds them (`build`'s `shared`): by the rules (their
# orders) and the attributes split on above that they have guards on (nothing else shapes a subtree).
Shared = dict[tuple[tuple[int, ...], frozenset[tuple[str, ...]]], "Node"]


def _size(node: Node | tuple[CompiledRule, ...]) -> int:
    return len(node) if isinstance(node, tuple) else node.size()


# A rule as handed over where a guard of it is known to hold (CompiledRule.settled, remembered by the rule index)
Settle = Callable[["CompiledRule", Guard], "CompiledRule"]


def build(rules: Sequence[CompiledRule], used: frozenset[tuple[str, ...]] = frozenset(),
          shared: Shared | None = None, settle: Settle | None = None) -> Node:
    """The rules (in policy order) as a tree; `used`: the attributes split on above, not split on again.

    `shared` (the rule index's, over all its trees) keeps each subtree built, so that trees of lists that
    overlap share their common parts (the set-wide rules, a service's rules under several targets): fewer
    objects, and those a request meets are warm because other requests meet them too. `settle` (the rule index's;
    None: off) hands a list below a value over with each rule settled (`_Split`): its test of that value, true
    there, left out, as a decision at 20,000 rules finds each test of a service's own value cold in the cache.
    Such lists are never kept in `shared` (only subtrees are, whose rules are as compiled)."""
    if not rules:
        return EMPTY
    if len(rules) <= LEAF:
        return Plain(rules)
    key = None
    if shared is not None:
        paths = {g.path for rule in rules for g in rule.guards}
        key = (tuple(r.order for r in rules), used & paths)
        found = shared.get(key)
        if found is not None:
            return found
    node = _built(rules, used, shared, settle)
    if key is not None and shared is not None:
        shared[key] = node
    return node


def _built(rules: Sequence[CompiledRule], used: frozenset[tuple[str, ...]], shared: Shared | None,
           settle: Settle | None) -> Node:
    counts: dict[tuple[str, ...], int] = {}
    ordering: dict[tuple[str, ...], int] = {}
    for rule in rules:
        for path in {g.path for g in rule.guards if g.path not in used and g.kind in DISCRETE}:
            counts[path] = counts.get(path, 0) + 1
        for path in {g.path for g in rule.guards if g.path not in used and g.kind == ORDER}:
            ordering[path] = ordering.get(path, 0) + 1
    chosen = counts or ordering
    if not chosen:
        return Plain(rules)
    path = max(chosen, key=lambda p: (chosen[p], p))  # the attribute most rules are guarded on (ties: by name)
    kinds = DISCRETE if counts else frozenset({ORDER})
    filed: list[tuple[Guard, CompiledRule]] = []
    rest: list[CompiledRule] = []
    for rule in rules:
        guard = next((g for g in rule.guards if g.path == path and g.kind in kinds), None)
        if guard is None:
            rest.append(rule)
        else:
            filed.append((guard, rule))
    return _Split(path, filed, build(rest, used | {path}, shared, settle), used, shared, settle)
