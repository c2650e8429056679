"""How a condition reads the keys a request names: `purpose` and `data_categories`. The one place.

A request that names a key names everything below it (docs/language.md, "A
broad key in a request"): `"purpose": "marketing"` asks for every marketing
purpose, `"data_categories": ["user"]` for all of the person's data. A
*narrowing* of a request puts, in place of each requested key, one key of
the vocabulary below it (or the key itself). A test that reads a requested
key is read on the safe side of the rule it is in (`side`):

- SOME, in a deny's `when` and an allow's `unless`: the test holds when it
  holds for *some* narrowing (the request includes something it is true of);
- ALL, in a deny's `unless` and an allow's `when`: only when it holds for
  *every* narrowing (everything the request includes);
- `not`, `!=` and `not in` turn the side over; EXACT (the workbench's
  `--where`, which describes requests rather than deciding them) compares
  the keys as given.

So a deny refuses a broad request when it refuses some part of it, and an
allow allows a broad request only when it allows all of it: asking for more
never gets past a rule that refuses part of it (fail closed). Each test is
read on its own (a test inside `and`/`or` picks its own narrowing), which
errs on the same safe side: a deny's `when` holds at least as often, an
allow's `when` at most as often, as for the whole condition at once.

How each test reads a broad key (K a key, L a list; `names` = the key and
every vocabulary key below it; `alone` = no vocabulary key below it):

| test                          | SOME                          | ALL                                 |
|-------------------------------|-------------------------------|-------------------------------------|
| `purpose under K`             | K and the purpose overlap     | the purpose is under K              |
| `purpose == K`                | K is the purpose or below it  | K is the purpose, and it is alone   |
| `purpose in L`                | so for some item of L         | L holds every key the purpose names |
| `K under purpose`             | K is the purpose or below it  | K is under every key it names       |
| `K in data_categories`        | some category is K or above K | some category is K, and it is alone |
| `K under data_categories`     | some category is K or above K | K is under every key one names      |
| `data_categories == L`        | item by item, as `purpose ==` | item by item, as `purpose ==`       |

`!=` and `not in` are the negation of `==` and `in` on the other side.

Why ALL is not the exact comparison. A deny `unless purpose == "marketing"`
read exactly lets a request for `marketing` through while the same deny
refuses `marketing.advertising`, which that request includes: a wrong allow
(and an allow `when purpose == "marketing"` would allow the broad request
while refusing its parts). The request names exactly one key only when that
key has nothing below it in the vocabulary, so that is when ALL holds.

Read exactly, whatever the side: tests whose two sides both read requested
keys. The same attribute on both sides (`purpose == purpose`) reads the
same narrowing on both; `purpose in data_categories` compares keys of two
vocabularies that share none. `data_categories == L` with L not a list
(policy data is a set) is never equal, as in the engine.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable, TypeGuard

from pdp.lang import ast
from pdp.vocab.taxonomy import Vocabulary, covers, overlaps

EXACT, SOME, ALL = "exact", "some", "all"
PURPOSE_PATH, CATEGORIES_PATH = ("purpose",), ("data_categories",)
REQUESTED = (PURPOSE_PATH, CATEGORIES_PATH)


def side(effect: str, clause: str) -> str:
    """The side a rule's `when` or `unless` is read on: SOME or ALL (see the module docstring)."""
    return SOME if (effect == "deny") == (clause == "when") else ALL


def flip(reading: str) -> str:
    """The side under a `not` (EXACT stays exact)."""
    return {SOME: ALL, ALL: SOME}.get(reading, reading)


class Keys:
    """The vocabulary's purposes and data categories: what a requested key names."""

    def __init__(self, purposes: Iterable[str], categories: Iterable[str]):
        self._below: dict[tuple[str, ...], dict[str, tuple[str, ...]]] = {
            PURPOSE_PATH: _below(purposes), CATEGORIES_PATH: _below(categories)}

    @classmethod
    def of(cls, vocabulary: Vocabulary) -> Keys:
        return cls(vocabulary.purposes, vocabulary.categories)

    def names(self, path: tuple[str, ...], key: str) -> tuple[str, ...]:
        """The key and every key of the vocabulary below it."""
        return (key,) + self._below[path].get(key, ())

    def alone(self, path: tuple[str, ...], key: str) -> bool:
        """The key names itself only: nothing of the vocabulary lies below it."""
        return not self._below[path].get(key)


def _below(keys: Iterable[str]) -> dict[str, tuple[str, ...]]:
    out: dict[str, list[str]] = {}
    for key in keys:
        parts = key.split(".")
        for i in range(1, len(parts)):
            out.setdefault(".".join(parts[:i]), []).append(key)
    return {k: tuple(sorted(v)) for k, v in out.items()}


def _requested(expr: ast.Expr) -> tuple[str, ...] | None:
    if isinstance(expr, ast.Path) and expr.parts in REQUESTED:
        return expr.parts
    return None


def reads_requested_key(expr: ast.Expr) -> TypeGuard[ast.Compare | ast.Member | ast.Under]:
    """Whether a test is read on a side: it reads a requested key on one side of it, and not on the other."""
    if not isinstance(expr, (ast.Compare, ast.Member, ast.Under)):
        return False
    if isinstance(expr, ast.Compare) and expr.op not in ("==", "!="):
        return False
    left, right = _requested(expr.left), _requested(expr.right)
    return (left is None) != (right is None)


Pair = Callable[[Any, Any], bool]  # (the requested value, the other operand's value) -> the test's value


def reading(expr: ast.Expr, reading_side: str, keys: Keys) -> tuple[bool, Pair] | None:
    """How a test that reads a requested key decides on `reading_side`, or None when it is read exactly.

    The answer is (requested_on_left, decide): `decide(requested, other)`
    gives the test's value from the two operands' values (neither missing);
    it raises EvaluationError where the exact test does.
    """
    if reading_side == EXACT or not reads_requested_key(expr):
        return None
    on_left = _requested(expr.left) is not None
    path = _requested(expr.left) or _requested(expr.right)
    assert path is not None  # reads_requested_key: one side reads a requested key
    some = reading_side == SOME
    if isinstance(expr, ast.Under):
        decide = _under(path, on_left, some, keys)
    elif isinstance(expr, ast.Member):
        if path == PURPOSE_PATH and not on_left:
            return None  # `x in purpose`: not a list; the exact test says so
        if path == CATEGORIES_PATH and on_left:
            return None  # `data_categories in x`: a list is never an item; read exactly
        positive = _member(path, some != expr.negated, keys)
        decide = (lambda a, b: not positive(a, b)) if expr.negated else positive
    else:
        equal = _equal(path, some != (expr.op == "!="), keys)
        if equal is None:
            return None
        decide = (lambda a, b: not equal(a, b)) if expr.op == "!=" else equal
    return on_left, decide


def _equal(path: tuple[str, ...], some: bool, keys: Keys) -> Pair | None:
    """`requested == other` for some (or every) narrowing."""
    def one(key: Any, other: Any) -> bool:
        if not isinstance(other, str) or not isinstance(key, str):
            return False
        return covers(key, other) if some else key == other and keys.alone(path, key)

    if path == PURPOSE_PATH:
        return one

    def items(requested: Any, other: Any) -> bool:
        if not isinstance(other, (list, tuple)) or not isinstance(requested, (list, tuple)):
            return bool(requested == other)  # as the engine: a list never equals anything else
        return len(requested) == len(other) and all(one(k, o) for k, o in zip(requested, other))

    return items


def _member(path: tuple[str, ...], some: bool, keys: Keys) -> Pair:
    """`x in requested` (categories) or `requested in x` (purpose), for some (or every) narrowing."""
    from .conditions import EvaluationError

    if path == PURPOSE_PATH:
        def purpose_in(purpose: Any, items: Any) -> bool:
            if not isinstance(items, (list, tuple, set, frozenset, dict)):
                raise EvaluationError(f"expected a list after `in`, got {items!r}")
            if some:
                return any(isinstance(i, str) and covers(purpose, i) for i in items)
            try:
                return all(k in items for k in keys.names(path, purpose))
            except TypeError:  # an unhashable item cannot hold a key
                return False

        return purpose_in

    def category_in(item: Any, categories: Any) -> bool:
        if not isinstance(categories, (list, tuple)):
            raise EvaluationError(f"expected a list after `in`, got {categories!r}")
        if not isinstance(item, str):
            return False
        if some:
            return any(isinstance(c, str) and covers(c, item) for c in categories)
        return any(c == item and keys.alone(path, c) for c in categories)

    return lambda categories, item: category_in(item, categories)


def _under(path: tuple[str, ...], on_left: bool, some: bool, keys: Keys) -> Pair:
    """`requested under K` (purpose) or `K under requested`, for some (or every) narrowing."""
    from .conditions import EvaluationError

    def taxonomy_key(value: Any) -> str:
        if not isinstance(value, str):
            raise EvaluationError(f"`under` needs a taxonomy key, got {value!r}")
        return value

    def each(value: Any) -> Any:
        return value if isinstance(value, (list, tuple, set, frozenset)) else (value,)

    if on_left:  # `purpose under K`: the purpose overlaps some K, or lies under it
        within = overlaps if some else covers

        def requested_under(purpose: Any, bound: Any) -> bool:
            purpose = taxonomy_key(purpose)
            return any(within(k, purpose) for k in each(bound))

        return requested_under

    def under_requested(requested: Any, key: Any) -> bool:  # `K under purpose`, `K under data_categories`
        key = taxonomy_key(key)
        for named in each(requested):
            if not isinstance(named, str):
                continue
            if covers(named, key) if some else all(covers(k, key) for k in keys.names(path, named)):
                return True
        return False

    return under_requested
