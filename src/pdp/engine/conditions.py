"""Conditions -> Python closures that return True, False or None (unknown).

Compiled once per policy set. A closure reads the request through attribute
getters; a missing attribute (absent or null) makes the comparison that reads
it unknown, and `and` / `or` / `not` follow three-valued (Kleene) logic, as
SQL does with NULL. No closure can loop, call out or change anything: the
language has no way to say so. A test of a key the request names (`purpose`,
`data_categories`) is read on the safe side of the rule it is in, for a
request that names a broad key: requested.py says how, `polarity` which side.

This is the one evaluator. Explain and policy-test coverage observe it
rather than evaluate conditions themselves: compiled with a `Trace`, the
same closures tell it each part's value as they find it (`compile_test`,
`compile_rule_test`); compiled without, as for deciding, nothing is added.
"""

from __future__ import annotations

import operator
from functools import lru_cache, partial
from typing import Any, Callable, Protocol, Sequence

from pdp.base import templates
from pdp.base.dates import day_of, shifted
from pdp.lang import ast
from pdp.lang.printer import expression as printed
from pdp.lang.visitor import Visitor
from .requested import EXACT, Keys, flip, reading, side
from pdp.vocab.taxonomy import covers

MISSING: Any = type("Missing", (), {"__repr__": lambda self: "MISSING"})()

Env = dict[str, Any]  # what conditions read: the checked request, its registers looked up
Getter = Callable[[Env], Any]
MEMO_LIMIT = 4096  # answers remembered per constant test (requested keys: a finite vocabulary)
Test = Callable[[Env], "bool | None"]
# Tests compiled for one policy set, by (the test as printed, its side): rules that repeat a test share one closure
# (`recipient.type == "affiliate"` in a thousand rules is one closure, kept warm by all of them). Untraced only.
Shared = dict[tuple[str, str], "Test"]
Where = tuple[Any, ...]  # a part of a rule: ("when", 0), ("when", 0, 1)... (Trace)


class EvaluationError(Exception):
    """A condition met a value it cannot work with (e.g. a word where a number belongs)."""


@lru_cache(maxsize=4096)
def getter(parts: tuple[str, ...]) -> Getter:
    # Unrolled for the common depths: this runs on every decision. One getter per path, shared by every test
    # that reads it: a set of thousands of rules then reads each attribute through the same (warm) closure.
    if len(parts) == 1:
        (a,) = parts

        def get1(env: Env) -> Any:
            v = env.get(a)
            return MISSING if v is None else v

        return get1
    if len(parts) == 2:
        a, b = parts

        def get2(env: Env) -> Any:
            v = env.get(a)
            if type(v) is not dict:
                return MISSING
            v = v.get(b)
            return MISSING if v is None else v

        return get2

    def get_n(env: Env) -> Any:
        v: Any = env
        for part in parts:
            if type(v) is not dict:
                return MISSING
            v = v.get(part)
            if v is None:
                return MISSING
        return v

    return get_n


def is_number(v: object) -> bool:
    """A number of the policy language: true and false are not numbers (as they are in Python)."""
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def same(a: object, b: object) -> bool:
    """`a == b` in the policy language: true == 1 in Python, not here."""
    return a == b and isinstance(a, bool) == isinstance(b, bool)


ORDER: dict[str, Callable[[Any, Any], bool]] = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}


def _ordered(op: str, a: Any, b: Any) -> bool:
    if is_number(a) and is_number(b):
        return ORDER[op](a, b)
    day_a, day_b = day_of(a), day_of(b)
    if day_a is None or day_b is None:
        raise EvaluationError(f"cannot compare {a!r} {op} {b!r}: only numbers, or dates, can be ordered")
    return ORDER[op](day_a, day_b)


def failure(error: Exception) -> str:
    """What a rule that raised says in its reason (the engine fails closed on any error, and says which)."""
    if isinstance(error, EvaluationError):
        return str(error)
    return f"internal error: {error.__class__.__name__}: {error}"


class Trace(Protocol):
    """An observer of one evaluation (explain, coverage): told each condition's value as the engine finds it.

    `where` names the condition in its rule: ("when", 0) is the first
    `when`, ("when", 0, 1) the second item of that `and` / `or`, ("when", 0,
    0) the operand of a `not`. Only what the engine evaluates is told, after
    its parts, in the order the engine evaluates it: the items of an `and`
    after a false one, of an `or` after a true one and the clauses after the
    first that does not hold are not. `side` is how a test of a requested
    key was read (requested.py: EXACT, SOME, ALL). A part that raised is
    `failed`, and so is every condition it is part of.
    """

    def evaluated(self, where: Where, expr: ast.Expr, side: str, value: bool | None) -> None: ...

    def failed(self, where: Where, expr: ast.Expr, side: str, error: Exception) -> None: ...


def _as_read(value: Any) -> Any:
    """A value of the policy data as a condition reads it: a list of scalars as a set (a lookup, not a scan)."""
    if isinstance(value, list) and all(isinstance(v, (str, int, float)) for v in value):
        return frozenset(value)
    return value


class _Values(Visitor[Getter]):
    """An operand -> a getter of its value; policy data is read once, now."""

    def __init__(self, data: dict[str, Any]):
        self.data = data

    def visit_Literal(self, expr: ast.Literal) -> Getter:
        value = expr.value
        return lambda env: value

    def visit_Date(self, expr: ast.Date) -> Getter:
        value = expr.value
        return lambda env: value

    def visit_Shift(self, expr: ast.Shift) -> Getter:
        get, sign, amount, unit = self.visit(expr.operand), expr.sign, expr.amount, expr.unit

        def moved(env: Env) -> Any:
            v = get(env)
            if v is MISSING:
                return MISSING
            day = day_of(v)
            if day is None:
                raise EvaluationError(f"expected a date (YYYY-MM-DD) in `{expr.operand.dotted}`, got {v!r}")
            to = shifted(day, sign, amount, unit)
            if to is None:
                raise EvaluationError(f"{v} {sign} {amount} {unit} is past the calendar's end")
            return to.isoformat()

        return moved

    def visit_ListLiteral(self, expr: ast.ListLiteral) -> Getter:
        items = [self.visit(i) for i in expr.items]
        if ast.all_literals(expr.items):
            constant = [i.value for i in expr.items]
            return lambda env: constant
        return lambda env: [g(env) for g in items]

    def visit_Path(self, expr: ast.Path) -> Getter:
        if expr.parts[0] == "data":
            # Policy data is fixed for the life of the compiled set: resolve now.
            value = _as_read(getter(expr.parts[1:])(self.data) if len(expr.parts) > 1 else self.data)
            return lambda env: value
        return getter(expr.parts)

    def visit_Index(self, expr: ast.Index) -> Getter:
        # The table is fixed for the life of the compiled set: each entry (at `rest`) is read now, so a lookup is
        # one dict access. Keys of policy data are texts (registers.data_key_problems): an index that is no text
        # (a number, true, a list) finds none, and a missing entry is MISSING, which makes its test unknown.
        table = getter(expr.table.parts[1:])(self.data)
        below = getter(expr.rest) if expr.rest else None
        found = {key: _as_read(entry if below is None else below(entry) if type(entry) is dict else MISSING)
                 for key, entry in table.items()} if type(table) is dict else {}
        found = {key: value for key, value in found.items() if value is not None and value is not MISSING}
        key = self.visit(expr.key)

        def looked_up(env: Env) -> Any:
            k = key(env)
            return found.get(k, MISSING) if type(k) is str else MISSING

        return looked_up

    def generic_visit(self, expr: ast.Expr, *args: Any) -> Getter:
        raise TypeError(f"not a value: {expr!r}")


def compile_value(expr: ast.Expr, data: dict[str, Any]) -> Getter:
    """An operand (a literal, a list, an attribute or policy data) -> a getter of its value (MISSING: absent)."""
    return _Values(data).visit(expr)


def compile_test(expr: ast.Expr, data: dict[str, Any], absent_is_value: bool = False, side: str = EXACT,
                 keys: Keys | None = None, trace: Trace | None = None, where: Where = (),
                 shared: Shared | None = None) -> Test:
    """The condition as a closure: True, False or None (unknown).

    `side` (requested.py: EXACT, SOME or ALL) is how a test of a key the
    request names reads a broad key: for some of what the request names or
    all of it, turned over under each `not`, so that asking for a broad key
    never slips past a rule that refuses part of it (see `polarity`). `keys`
    (the vocabulary's purposes and categories) is needed on SOME and ALL.

    With `absent_is_value` (the workbench's `--where`, never a policy), an
    absent attribute is a value of its own rather than unknown: it equals
    nothing and is in no list, so `!=` and `not in` hold for it and every
    other comparison does not ("absent is not true"). The closure is then
    never unknown.

    With a `trace`, every part of the condition tells it its value (Trace);
    `where` names the condition in its rule. Without one, the closures are
    the plain ones the engine decides with: tracing costs nothing then.
    """
    return _Tests(data, absent_is_value, keys, trace, shared).visit(expr, side, where)


class _Tests(Visitor[Test]):
    """A condition -> its closure (compile_test), each part of it traced when there is a trace."""

    def __init__(self, data: dict[str, Any], absent_is_value: bool, keys: Keys | None, trace: Trace | None,
                 shared: Shared | None = None):
        self.data, self.absent_is_value, self.keys, self.trace = data, absent_is_value, keys, trace
        self.shared = shared if trace is None and not absent_is_value else None

    def visit(self, expr: ast.Expr, side: str = EXACT, where: Where = ()) -> Test:
        if self.shared is not None:
            key = (printed(expr), side)
            test = self.shared.get(key)
            if test is None:
                test = self.shared[key] = super().visit(expr, side, where)
            return test
        test = super().visit(expr, side, where)
        return test if self.trace is None else _traced(test, self.trace, where, expr, side)

    def generic_visit(self, expr: ast.Expr, *args: Any) -> Test:
        raise TypeError(f"not a condition: {expr!r}")

    def visit_And(self, expr: ast.And, side: str, where: Where) -> Test:
        return _and([self.visit(item, side, where + (i,)) for i, item in enumerate(expr.items)])

    def visit_Or(self, expr: ast.Or, side: str, where: Where) -> Test:
        return _or([self.visit(item, side, where + (i,)) for i, item in enumerate(expr.items)])

    def visit_Not(self, expr: ast.Not, side: str, where: Where) -> Test:
        inner = self.visit(expr.operand, flip(side), where + (0,))

        def negation(env: Env) -> bool | None:
            v = inner(env)
            return None if v is None else not v

        return negation

    def visit_Named(self, expr: ast.Named, side: str, where: Where) -> Test:
        # A named condition means its definition, read on this side (explain compiles rules as written: the
        # trace tells the name's value at `where`, its definition's parts below it)
        return self.visit(expr.body, side, where + (0,))

    def visit_Presence(self, expr: ast.Presence, side: str, where: Where) -> Test:
        get, present = getter(expr.path.parts), expr.present
        if expr.path.parts[0] == "data":
            get = compile_value(expr.path, self.data)
        return lambda env: (get(env) is not MISSING) == present

    def visit_Truth(self, expr: ast.Truth, side: str, where: Where) -> Test:
        get = compile_value(expr.operand, self.data)

        def truth(env: Env) -> bool | None:
            v = get(env)
            if v is MISSING:
                return None
            if not isinstance(v, bool):
                raise EvaluationError(f"expected true or false, got {v!r}")
            return v

        return self._atom(expr, truth)

    def visit_Compare(self, expr: ast.Compare, side: str, where: Where) -> Test:
        return self._atom(expr, self._on_side(expr, side) or _compare(expr, self.data))

    def visit_Member(self, expr: ast.Member, side: str, where: Where) -> Test:
        return self._atom(expr, self._on_side(expr, side) or _member(expr, self.data))

    def visit_Under(self, expr: ast.Under, side: str, where: Where) -> Test:
        return self._atom(expr, self._on_side(expr, side) or _under(expr, self.data))

    def visit_Matches(self, expr: ast.Matches, side: str, where: Where) -> Test:
        return self._atom(expr, _matches(expr, self.data))

    def visit_Has(self, expr: ast.Has, side: str, where: Where) -> Test:
        # (never a requested key: the checker refuses `data_categories has any of ...`, so no side to read on)
        return self._atom(expr, _has(expr, self.data))

    def _on_side(self, expr: ast.Compare | ast.Member | ast.Under, side: str) -> Test | None:
        """A test of a requested key read on a side (requested.reading), or None when it is read exactly."""
        if side == EXACT:
            return None
        if self.keys is None:
            raise TypeError("reading a condition on a side needs the vocabulary's keys")
        found = reading(expr, side, self.keys)
        return None if found is None else _requested_test(expr, self.data, *found)

    def _atom(self, expr: ast.Expr, test: Test) -> Test:
        """A comparison as it is read: with `absent_is_value`, settled when it would be unknown."""
        if not self.absent_is_value:
            return test
        when_absent = (isinstance(expr, ast.Compare) and expr.op == "!=") or (
            isinstance(expr, ast.Member) and expr.negated)

        def settled(env: Env) -> bool | None:
            v = test(env)
            return when_absent if v is None else v

        return settled


def _traced(test: Test, trace: Trace, where: Where, expr: ast.Expr, side: str) -> Test:
    def traced(env: Env) -> bool | None:
        try:
            value = test(env)
        except Exception as error:
            trace.failed(where, expr, side, error)
            raise
        trace.evaluated(where, expr, side, value)
        return value

    return traced


def polarity(effect: str, clause: str) -> str:
    """The side a rule's `when` or `unless` reads a broad key on (requested.SOME or ALL).

    A deny applies when its `when` holds for some of what is asked and its
    `unless` does not hold for all of it; an allow only when its `when` holds
    for all of it and its `unless` for none. Fail closed either way.
    """
    return side(effect, clause)


def _is_constant(expr: ast.Expr) -> bool:
    if isinstance(expr, ast.Literal):
        return True
    if isinstance(expr, ast.ListLiteral):
        return ast.all_literals(expr.items)
    return isinstance(expr, ast.Path) and expr.parts[0] == "data"


def _requested_test(expr: ast.Compare | ast.Member | ast.Under, data: dict[str, Any], on_left: bool,
                    decide: Callable[[Any, Any], bool]) -> Test:
    """A test of a requested key read on a side (requested.reading): unknown when either value is missing."""
    requested, other = (expr.left, expr.right) if on_left else (expr.right, expr.left)
    get_requested, get_other = compile_value(requested, data), compile_value(other, data)
    if _is_constant(other) and isinstance(requested, ast.Path) and requested.parts == ("purpose",):
        const = get_other({})  # the usual shape, `purpose == "marketing"`
        return _per_key(get_requested, lambda a: decide(a, const))
    return _binary(get_requested, get_other, decide)


def _per_key(get: Getter, decide_one: Callable[[Any], bool]) -> Test:
    """A test against a constant, its answer remembered per requested key.

    Keys come from a finite vocabulary; the memo is capped all the same.
    """
    memo: dict[str, bool] = {}

    def test(env: Env) -> bool | None:
        a = get(env)
        if a is MISSING:
            return None
        found = memo.get(a) if type(a) is str else None
        if found is None:
            found = decide_one(a)
            if type(a) is str and len(memo) < MEMO_LIMIT:
                memo[a] = found
        return found

    return test


def _junction(tests: list[Test], decisive: bool) -> Test:
    """`and` (decisive=False) or `or` (decisive=True) in three-valued logic.

    One side equal to the decisive value settles it; otherwise any unknown
    side makes the whole unknown.
    """
    settled = decisive

    def junction(env: Env) -> bool | None:
        unknown = False
        for t in tests:
            v = t(env)
            if v is settled:
                return settled
            if v is None:
                unknown = True
        return None if unknown else not settled

    return junction


def _and(tests: list[Test]) -> Test:
    return _junction(tests, False)


def _or(tests: list[Test]) -> Test:
    return _junction(tests, True)


def _compare(expr: ast.Compare, data: dict[str, Any]) -> Test:
    op = expr.op
    left = compile_value(expr.left, data)
    if isinstance(expr.right, ast.Literal):
        # The usual shape, `attribute OP constant`: one read, no dispatch.
        const = expr.right.value
        if op in ("==", "!="):
            want = op == "=="
            if isinstance(const, bool):
                def eq_bool(env: Env) -> bool | None:
                    v = left(env)
                    return None if v is MISSING else (v is const) == want
                return eq_bool
            if isinstance(const, str):
                def eq_str(env: Env) -> bool | None:
                    v = left(env)
                    return None if v is MISSING else (v == const) == want
                return eq_str

            def eq_num(env: Env) -> bool | None:
                v = left(env)
                return None if v is MISSING else same(v, const) == want
            return eq_num
        order = ORDER[op]

        def ordered_const(env: Env) -> bool | None:
            v = left(env)
            if v is MISSING:
                return None
            if not is_number(v):
                raise EvaluationError(f"cannot compare {v!r} {op} {const!r}: only numbers can be ordered")
            return order(v, const)

        return ordered_const
    right = compile_value(expr.right, data)
    if op == "==":
        return _binary(left, right, same)
    if op == "!=":
        return _binary(left, right, lambda a, b: not same(a, b))
    return _binary(left, right, lambda a, b: _ordered(op, a, b))


def _binary(left: Getter, right: Getter, decide: Callable[[Any, Any], bool | None]) -> Test:
    """A test of two values: unknown when either is missing, else `decide(a, b)`."""

    def binary(env: Env) -> bool | None:
        a = left(env)
        if a is MISSING:
            return None
        b = right(env)
        if b is MISSING:
            return None
        return decide(a, b)

    return binary


def _member(expr: ast.Member, data: dict[str, Any]) -> Test:
    left = compile_value(expr.left, data)
    right = compile_value(expr.right, data)
    if isinstance(expr.right, ast.ListLiteral) and ast.all_literals(expr.right.items):
        right_const = frozenset(i.value for i in expr.right.items if not isinstance(i.value, bool))
        if len(right_const) == len(expr.right.items):
            right = lambda env: right_const  # noqa: E731  (set lookup for constant lists)
    negated = expr.negated

    def member(a: Any, b: Any) -> bool:
        if not isinstance(b, (list, tuple, set, frozenset, dict)):
            raise EvaluationError(f"expected a list after `in`, got {b!r}")
        try:
            found = a in b
        except TypeError:  # an unhashable value tested against a set
            found = False
        return found != negated

    return _binary(left, right, member)


_LISTS = (list, tuple, set, frozenset)


def item_key(v: Any) -> Any:
    """A list item as a hashable key, equal to another's exactly when `same` says the items are equal: true
    and 1 apart (at the top, as `same` keeps them), 1 and 1.0 together; a list or an object (a request's
    `list` of anything may hold them) frozen, so that no pair of items is ever compared one by one."""
    return (type(v) is bool, _frozen(v))


MAX_ITEM_DEPTH = 32  # lists and objects nested in one list item that `has any of` compares (as MAX_YAML_DEPTH)


def _frozen(v: Any, depth: int = 0) -> Any:
    if isinstance(v, (dict, list, tuple)) and depth >= MAX_ITEM_DEPTH:
        # a request may nest deeper than Python recurses: refused here, with a reason, rather than by a RecursionError
        raise EvaluationError(f"a list item nested more than {MAX_ITEM_DEPTH} levels deep cannot be compared")
    if isinstance(v, dict):
        return frozenset((k, _frozen(x, depth + 1)) for k, x in v.items())
    if isinstance(v, (list, tuple)):
        return tuple(_frozen(x, depth + 1) for x in v)
    return v


def _not_a_list(v: Any, words: str) -> EvaluationError:
    return EvaluationError(f"expected a list on each side of `{words}`, got {v!r}")


def has_items(left: Any, right: Any, every: bool, words: str = "has any of") -> bool | None:
    """`left has any of right` (every=False) or `has all of` (every=True) of two lists, in three-valued logic: a
    MISSING item (an attribute written in a list literal, absent) is unknown; a value that is no list raises.

    Any of: true when some item of the left is an item of the right; so false when either list is empty.
    All of: true when every item of the right is an item of the left; so true when the right is empty.
    Work: one pass over each list (items hashed by `item_key`), whatever their lengths.
    """
    for v in (left, right):
        if not isinstance(v, _LISTS):
            raise _not_a_list(v, words)
    unknown_left = any(a is MISSING for a in left)
    keys = {item_key(a) for a in left if a is not MISSING}
    unknown = False
    for b in right:
        if b is not MISSING and item_key(b) in keys:
            if not every:
                return True
            continue
        if not left or (b is not MISSING and not unknown_left):  # certainly not an item of the left
            if every:
                return False
        else:  # an item of either side is missing: it may be the one
            unknown = True
    return None if unknown else every


def _operand_of_has(expr: ast.Expr, data: dict[str, Any]) -> Getter:
    """A side of `has any of` / `has all of`: policy data read as written (compile_value makes a list of texts
    and numbers a set, which would take true and 1 for one item)."""
    if isinstance(expr, ast.Path) and expr.parts[0] == "data":
        value = getter(expr.parts[1:])(data) if len(expr.parts) > 1 else data
        return lambda env: value
    return compile_value(expr, data)


def _has(expr: ast.Has, data: dict[str, Any]) -> Test:
    left, right = _operand_of_has(expr.left, data), _operand_of_has(expr.right, data)
    every, words = expr.every, expr.words
    constant = right({}) if _is_constant(expr.right) else None
    if isinstance(expr.left, ast.Path) and isinstance(constant, _LISTS):
        # the usual shape, `subject.roles has any of ["admin", "editor"]`: the right's items hashed once
        return _has_constant(left, constant, every, words)

    def decide(a: Any, b: Any) -> bool | None:
        return has_items(a, b, every, words)

    return _binary(left, right, decide)


def _has_constant(left: Getter, constant: Any, every: bool, words: str) -> Test:
    """`attribute has any of [..]` / `has all of [..]` of a constant list. Its texts are matched as a set, in C:
    a text equals only a text (`same`), so the request's other items cannot match them; its other items (numbers,
    true and false, ...) by `item_key`, which keeps true and 1 apart. A list holding what cannot be hashed (an
    object) is read item by item (`has_items`)."""
    texts = frozenset(b for b in constant if type(b) is str)
    others = frozenset(item_key(b) for b in constant if type(b) is not str)

    def keys(a: Any) -> set[Any]:
        return {item_key(x) for x in a if type(x) is not str}

    def has_constant(env: Env) -> bool | None:
        a = left(env)
        if a is MISSING:
            return None
        if not isinstance(a, _LISTS):
            raise _not_a_list(a, words)
        try:
            if every:
                return texts.issubset(a) and (not others or others <= keys(a))
            return not texts.isdisjoint(a) or (bool(others) and not others.isdisjoint(keys(a)))
        except TypeError:  # an item that cannot be hashed
            return has_items(a, constant, every, words)

    return has_constant


def _under(expr: ast.Under, data: dict[str, Any]) -> Test:
    left = compile_value(expr.left, data)
    right = compile_value(expr.right, data)
    within = covers
    constant = _literal_keys(expr.right)

    def under(a: Any, b: Any) -> bool:
        keys = b if isinstance(b, (list, tuple, set, frozenset)) else (b,)
        if not isinstance(a, str):
            raise EvaluationError(f"`under` needs a taxonomy key, got {a!r}")
        return any(within(k, a) for k in keys)

    if constant is not None:  # the usual shape, `purpose under "marketing"`
        return _per_key(left, lambda a: under(a, constant))
    return _binary(left, right, under)


def _matches(expr: ast.Matches, data: dict[str, Any]) -> Test:
    """Unknown when the attribute is missing; a failure (fail closed) on a value that is no text, or a path pdp does
    not compare (templates.PathError), or a template the checker would refuse."""
    left = compile_value(expr.left, data)
    try:
        template = templates.parse(expr.right.value) if isinstance(expr.right, ast.Literal) and isinstance(
            expr.right.value, str) else None
    except templates.TemplateError:
        template = None
    written = printed(expr.right)

    def test(env: Env) -> bool | None:
        v = left(env)
        if v is MISSING:
            return None
        if template is None:
            raise EvaluationError(f"{written} is no template `matches` reads")
        if not isinstance(v, str):
            raise EvaluationError(f"`matches` reads a path (text), got {v!r}")
        try:
            return templates.matches(template, v)
        except templates.PathError as error:
            raise EvaluationError(f"cannot match {written}: {error}") from None

    return test


def _literal_keys(expr: ast.Expr) -> tuple[str, ...] | None:
    if isinstance(expr, ast.Literal) and isinstance(expr.value, str):
        return (expr.value,)
    if isinstance(expr, ast.ListLiteral) and ast.all_literals(expr.items):
        keys = tuple(i.value for i in expr.items if isinstance(i.value, str))
        if len(keys) == len(expr.items):  # every item is text
            return keys
    return None


def compile_rule_test(when: tuple[ast.Expr, ...], unless: tuple[ast.Expr, ...], data: dict[str, Any],
                      absent_is_value: bool = False, effect: str | None = None,
                      keys: Keys | None = None, trace: Trace | None = None,
                      shared: Shared | None = None, compact: bool = False) -> Callable[[Env], bool]:
    """True only when every `when` is true and every `unless` is false, the first that is not stopping it.

    A rule's (`effect` given) reads broad keys as `polarity` says for it;
    without an effect (the workbench's `--where`) keys compare as given.
    With a `trace`, each clause is traced as ("when", i) or ("unless", i)
    (compile_test); the rule's verdict is then the same closure's, only
    without the shortcuts below.

    `compact` (untraced only; the compiler's): the verdict as a `partial`
    over two tuples of the clauses' tests rather than a closure over two
    lists: the same evaluation in the same order, in fewer objects.
    """
    whens, unlesses = _clauses(when, unless, data, absent_is_value, effect, keys, trace, shared)
    if trace is None and compact:
        return _compact(tuple(whens), tuple(unlesses))
    if trace is None and not unlesses and len(whens) == 1:
        (only,) = whens
        return lambda env: only(env) is True
    if trace is None and not whens and not unlesses:
        return lambda env: True
    return partial(_holds, whens, unlesses)


def _always(env: Env) -> bool:
    return True


def _only(test: Test, env: Env) -> bool:
    return test(env) is True


def _holds(whens: Sequence[Test], unlesses: Sequence[Test], env: Env) -> bool:
    for t in whens:
        if t(env) is not True:
            return False
    for t in unlesses:
        if t(env) is not False:
            return False
    return True


def compile_rule_clauses(when: tuple[ast.Expr, ...], unless: tuple[ast.Expr, ...], data: dict[str, Any],
                         effect: str, keys: Keys, shared: Shared | None = None) -> tuple[tuple[Test, ...], tuple[Test, ...]]:
    """A rule's `when` and `unless` clauses compiled untraced, each read on its side (compile_rule_test's), for
    `verdict`."""
    whens, unlesses = _clauses(when, unless, data, False, effect, keys, None, shared)
    return tuple(whens), tuple(unlesses)


def verdict(whens: tuple[Test, ...], unlesses: tuple[Test, ...]) -> Callable[[Env], bool]:
    """`compile_rule_test(..., compact=True)`'s verdict of these clauses (`compile_rule_clauses`)."""
    return _compact(whens, unlesses)


def _compact(whens: tuple[Test, ...], unlesses: tuple[Test, ...]) -> Callable[[Env], bool]:
    """A rule's verdict as `compile_rule_test`'s closure decides it, in as few objects as Python allows: a rule's
    own objects are what a decision at 20,000 rules finds cold in the cache (bench/flat.py); its tests are
    shared with other rules (`Shared`)."""
    if not unlesses and not whens:
        return _always
    if not unlesses and len(whens) == 1:
        return partial(_only, whens[0])
    return partial(_holds, whens, unlesses)


def _clauses(when: tuple[ast.Expr, ...], unless: tuple[ast.Expr, ...], data: dict[str, Any], absent_is_value: bool,
             effect: str | None, keys: Keys | None, trace: Trace | None,
             shared: Shared | None = None) -> tuple[list[Test], list[Test]]:
    """A rule's `when` and `unless` clauses compiled, each read on its side for a rule of `effect` (EXACT: none)."""
    whens = [compile_test(e, data, absent_is_value, polarity(effect, "when") if effect else EXACT, keys, trace,
                          ("when", i), shared) for i, e in enumerate(when)]
    unlesses = [compile_test(e, data, absent_is_value, polarity(effect, "unless") if effect else EXACT, keys, trace,
                             ("unless", i), shared) for i, e in enumerate(unless)]
    return whens, unlesses


def compile_rule_possible(when: tuple[ast.Expr, ...], unless: tuple[ast.Expr, ...], data: dict[str, Any],
                          keys: Keys, shared: Shared | None = None) -> Callable[[Env], bool]:
    """Could an allow apply to some part of a broad request (some narrowing, requested.py)?

    Each clause is read on the side that holds for *some* narrowing, as a
    deny's are: a `when` on SOME (it must be true), an `unless` on ALL (it
    must be false). What this decides is which obligations an allowed broad
    request carries (decision.py), so it errs on the side of more:

    - a clause that cannot be evaluated counts as one that could hold (a
      narrower request might not reach the failing part);
    - each test read on its own (requested.py) only widens what could hold.

    An unknown clause cannot hold for any part: a narrowing changes only the
    requested keys, never the attribute that is missing, and a test of a
    narrower key is never truer than its SOME reading (nor an `unless`
    falser than its ALL reading). So a rule on consent the request does not
    give adds no obligation, as it allows no part of the request.
    """
    whens, unlesses = _clauses(when, unless, data, False, "deny", keys, None, shared)

    def possible(env: Env) -> bool:
        for tests, needed in ((whens, True), (unlesses, False)):
            for t in tests:
                try:
                    if t(env) is not needed:
                        return False
                except Exception:  # noqa: BLE001 - cannot be evaluated: could hold, on the strict side
                    continue
        return True

    return possible
