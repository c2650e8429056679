"""Reading the conditions: the atomic tests, the attributes they read, and what they do with each."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial
from typing import Any, Collection, Iterable, Iterator

from pdp.lang import ast, printer
from pdp.vocab import taxonomy as tx
from pdp.engine.conditions import MISSING, ORDER, compile_value, is_number
from pdp.engine.requested import REQUESTED as _REQUESTED


def atoms(expr: ast.Expr) -> Iterator[ast.Expr]:
    """The atomic tests of a condition: comparisons, memberships, `under`, presence, truth."""
    if isinstance(expr, (ast.And, ast.Or)):
        for item in expr.items:
            yield from atoms(item)
    elif isinstance(expr, ast.Not):
        yield from atoms(expr.operand)
    else:
        yield expr


def read_paths(exprs: Iterable[ast.Expr]) -> set[tuple[str, ...]]:
    """The request attributes (not policy data) the conditions read."""
    return {n.parts for e in exprs for n in ast.walk(e) if isinstance(n, ast.Path) and n.parts[0] != "data"}


def compares_dates(atom: ast.Expr, dated: frozenset[tuple[str, ...]]) -> bool:
    """An atomic test of time: a date written in it, a duration (`collected_at + 2 years`), or an attribute of
    `dated` (one that holds dates: `Space.timed`) read. Whether it holds depends on how far apart two dates are,
    which no finite set of values per attribute captures: the enumeration refuses a rule that has one, and the
    solver's encoding reads it with the dates themselves (space/timed.py). `is present` / `is absent` of a date is
    no such test, except of `collected_at`, which also chooses the version that decides (the space's version
    choices set it: space/selection.py)."""
    if isinstance(atom, ast.Presence):
        return atom.path.parts == ("collected_at",)
    return any(isinstance(n, (ast.Date, ast.Shift)) or (isinstance(n, ast.Path) and n.parts in dated)
               for n in ast.walk(atom))


def compares_lists(atom: ast.Expr, lists: Collection[tuple[str, ...]] = ()) -> bool:
    """`has any of` / `has all of` of a list the request gives (`subject.roles has any of ["admin", "editor"]`)
    that the value classes do not decide: an attribute not in `lists` (those whose classes of lists are every set
    of their values' classes: Space.lists), or one written as an item of a list.
    The enumeration refuses such a rule and the solver's encoding leaves it unread (Undecided): nothing is
    claimed of it rather than a wrong "never". Of two constants (a list literal, policy data) it is a constant."""
    if not isinstance(atom, ast.Has):
        return False
    sides = (atom.left, atom.right)
    return any(isinstance(n, ast.Path) and n.parts[0] != "data" and not (n is side and n.parts in lists)
               for side in sides for n in ast.walk(side))


def untabled(atom: ast.Expr, dated: frozenset[tuple[str, ...]], lists: Collection[tuple[str, ...]] = ()) -> bool:
    """A test no table of value classes decides: of time (`compares_dates`) or of a list (`compares_lists`)."""
    return compares_dates(atom, dated) or compares_lists(atom, lists)


def timed_paths(exprs: Iterable[ast.Expr], dated: Iterable[tuple[str, ...]]) -> frozenset[tuple[str, ...]]:
    """The request attributes that hold dates as the conditions read them: those typed a date, those a duration
    moves, and, in turn, those compared with a date (`context.since < now`, `context.day == 2026-03-01`)."""
    found = set(dated)
    compares: list[tuple[ast.Expr, ast.Expr]] = []
    for expr in exprs:
        for atom in atoms(expr):
            for node in ast.walk(atom):
                if isinstance(node, ast.Shift) and node.operand.parts[0] != "data":
                    found.add(node.operand.parts)
            if isinstance(atom, ast.Compare):
                compares.append((atom.left, atom.right))

    def dated_operand(e: ast.Expr) -> bool:
        return isinstance(e, (ast.Date, ast.Shift)) or (isinstance(e, ast.Path) and e.parts in found)

    grown = True
    while grown:
        grown = False
        for left, right in compares:
            for one, other in ((left, right), (right, left)):
                if dated_operand(one) and isinstance(other, ast.Path) and other.parts[0] != "data" \
                        and other.parts not in found:
                    found.add(other.parts)
                    grown = True
    return frozenset(found)


CELL_PATHS = ("action", "purpose", "data_categories")  # the keys a request names: the cells' dimensions


def pairs_requested(atom: ast.Expr) -> bool:
    """A test of a key the request names (action, purpose, data categories) against another attribute of the
    request itself (`purpose == context.p`, `purpose under purpose_of_collection`). The cells' key classes are
    made by the keys the rules name, and no class of the other attribute follows each key of them, so no finite
    table reads such a test exactly: the analysis claims nothing of its rule (`unread_test`), rather than a wrong
    "never". Against policy data looked up by an attribute (`purpose under data.c[x]`) it is read exactly: the
    attribute's classes are the table's keys (AttributeUses._looked_up)."""
    paths = [p for p in _read_directly(atom) if p[0] != "data"]
    return any(p[0] in CELL_PATHS for p in paths) and any(p[0] not in CELL_PATHS for p in paths)


def _read_directly(expr: ast.Expr) -> Iterator[tuple[str, ...]]:
    """The paths a test reads, but the keys of lookups."""
    if isinstance(expr, ast.Path):
        yield expr.parts
    elif not isinstance(expr, ast.Index):
        for child in ast.children(expr):
            yield from _read_directly(child)


def unread_test(atom: ast.Expr, dated: frozenset[tuple[str, ...]]) -> bool:
    """A test no table of value classes decides: one of time (read by the solver over the dates: space/timed.py),
    or one of a requested key against another attribute (`pairs_requested`: read by neither)."""
    return compares_dates(atom, dated) or pairs_requested(atom)


def unread_message(rule_id: str, atom: ast.Expr) -> str:
    if pairs_requested(atom):
        return (f"the rule `{rule_id}` compares a key the request names with another of its attributes "
                f"(`{printer.expression(atom)}`), which the analysis does not read")
    return time_message(rule_id, atom)


def time_message(rule_id: str, atom: ast.Expr) -> str:
    if isinstance(atom, ast.Matches):
        return (f"the rule `{rule_id}` tests `{printer.expression(atom)}`, and its attribute's templates are too many "
                "to tell apart")
    if compares_lists(atom):
        return (f"the rule `{rule_id}` compares lists (`{printer.expression(atom)}`): value classes cannot tell "
                f"every list apart")
    return (f"the rule `{rule_id}` tests time (`{printer.expression(atom)}`): value classes cannot tell its dates "
            f"apart, so the enumeration leaves it to the solver")


def rule_conditions(rule) -> tuple[ast.Expr, ...]:
    return tuple(rule.source.when) + tuple(rule.source.unless)


@dataclass
class AttributeUse:
    """What the conditions do with one attribute path."""

    literals: set = field(default_factory=set)  # compared with == / != (and list members)
    sets: set = field(default_factory=set)  # frozensets searched with `in`
    ordered: set = field(default_factory=set)  # (op, number) compared with < <= > >=
    under: set = field(default_factory=set)  # taxonomy keys tested with `under`
    templates: set = field(default_factory=set)  # path templates tested with `matches` (templated.py)
    truth: bool = False
    needs_kind: bool = False  # tested against another attribute by a test of one kind (`<`, `under`)
    # read as a list: searched with `x in attribute`, or compared with `has any of` / `has all of` (its classes of
    # lists: every set of its values' classes, space.LIST_CLASSES); `unlisted`: compared by `has` with what those
    # classes do not decide (a list that varies, an item that is no text, number or truth value)
    listed: bool = False
    unlisted: bool = False


def constant_of(expr: ast.Expr, data: dict):
    """The value of a constant operand (literal, list of literals, policy data), or MISSING."""
    if isinstance(expr, ast.Literal):
        return expr.value
    if isinstance(expr, ast.ListLiteral) and ast.all_literals(expr.items):
        return frozenset(i.value for i in expr.items if not isinstance(i.value, (list, dict)))
    if isinstance(expr, ast.Path) and expr.parts[0] == "data":
        value = compile_value(expr, data)({})
        if isinstance(value, dict):
            return frozenset(value)
        if isinstance(value, (list, tuple)):
            return frozenset(v for v in value if isinstance(v, (str, int, float, bool)))
        return value
    return MISSING


class AttributeUses:
    """Every attribute use in a collection of conditions (of several policy versions)."""

    def __init__(self):
        self.by_path: dict[tuple[str, ...], AttributeUse] = {}
        self.pairs: list[tuple[tuple[str, ...], tuple[str, ...]]] = []
        self.notes: set[str] = set()

    def use(self, parts: tuple[str, ...]) -> AttributeUse:
        return self.by_path.setdefault(parts, AttributeUse())

    def add(self, expr: ast.Expr, data: dict) -> None:
        for atom in atoms(expr):
            if any(isinstance(node, ast.Index) for node in ast.children(atom)):
                self._looked_up(atom, data)
            else:
                self._atom(atom, data)
            for node in ast.walk(atom):  # the attribute a duration moves is read too (a dimension of its own)
                if isinstance(node, ast.Shift) and node.operand.parts[0] != "data":
                    self.use(node.operand.parts)

    def _looked_up(self, atom: ast.Expr, data: dict) -> None:
        """Policy data looked up by a value (`data.managers[resource.owner] == subject.id`): its key tells the
        entries apart (one class per key, one for every other value), and the test is read once for each value
        an entry holds, as if it were written there (`subject.id == "bob"`), so that the attribute it is compared
        with gets a class for each of them. Exact: the value found is one of those, or missing (unknown)."""
        for node in ast.children(atom):
            if isinstance(node, ast.Path) and node.parts[0] != "data":
                self.use(node.parts)  # (a dimension even when no entry is found)
            elif isinstance(node, ast.Index) and isinstance(node.key, ast.Path):
                self.use(node.key.parts).literals.update(_entries(node, data))
        for written in with_entries(atom, data):
            self._atom(written, data)

    def _atom(self, atom: ast.Expr, data: dict) -> None:
        def path_of(e):
            return e.parts if isinstance(e, ast.Path) and e.parts[0] != "data" else None

        if isinstance(atom, ast.Presence):
            if atom.path.parts[0] != "data":
                self.use(atom.path.parts)
            return
        if isinstance(atom, ast.Truth):
            p = path_of(atom.operand)
            if p:
                self.use(p).truth = True
            return
        if isinstance(atom, ast.Has):
            self._has(atom, data)
            return
        if isinstance(atom, ast.Matches):
            p = path_of(atom.left)
            if p:
                value = constant_of(atom.right, data)
                if isinstance(value, str):
                    self.use(p).templates.add(value)
                else:  # no template (the checker refuses it): the test fails on any value, as the engine's does
                    self.use(p).needs_kind = True
            return
        if not isinstance(atom, (ast.Compare, ast.Member, ast.Under)):
            return
        left, right = atom.left, atom.right
        lp, rp = path_of(left), path_of(right)
        if isinstance(atom, ast.Compare):
            op = atom.op
            if lp and rp:
                self.use(lp), self.use(rp)
                self.pairs.append((lp, rp))
                if op in ORDER:
                    self.use(lp).needs_kind = self.use(rp).needs_kind = True
                return
            if not lp and rp:
                lp, left, right = rp, right, left
                op = {"<": ">", "<=": ">=", ">": "<", ">=": "<="}.get(op, op)
            if not lp:
                return
            value = constant_of(right, data)
            if value is MISSING or isinstance(value, frozenset):
                use = self.use(lp)
                if lp in _REQUESTED and isinstance(value, frozenset):  # `data_categories == [...]`: keys, item by item
                    use.literals |= {v for v in value if isinstance(v, str)}
                    self.notes.add("`data_categories` is tested as a list: the space tries one-category requests only")
                return
            if op in ORDER:
                if is_number(value):
                    self.use(lp).ordered.add((op, value))
            else:
                self.use(lp).literals.add(value)
            return
        if isinstance(atom, ast.Member):
            if lp and not rp:
                value = constant_of(right, data)
                if isinstance(value, frozenset):
                    self.use(lp).sets.add(value)
                else:
                    self.use(lp)
                return
            if rp:  # `x in attribute`: the attribute is a list
                use = self.use(rp)
                use.listed = True
                value = constant_of(left, data)
                if rp == ("data_categories",) and isinstance(value, str):
                    use.literals.add(value)
                    # a condition over the whole list (`"a" in data_categories and "b" in data_categories`)
                    # can hold for a request of several categories and for none of one
                    self.notes.add("`data_categories` is tested as a list: the space tries one-category requests only")
                    return
                if value is not MISSING and not isinstance(value, frozenset):
                    use.literals.add(value)
                self.notes.add(searched_note(rp))
                if lp:  # `subject.id in resource.editors`: the list may hold what the attribute holds
                    self.use(lp)
                    self.pairs.append((lp, rp))
            return
        if isinstance(atom, ast.Under) and rp in _REQUESTED and not lp:
            # `"k" under purpose`: on ALL it depends on every key between the requested one and k (requested.py)
            value = constant_of(left, data)
            if isinstance(value, str):
                self.use(rp).literals.update(tx.ancestors(value))
                if rp == ("data_categories",):
                    self.notes.add("`data_categories` is tested as a list: the space tries one-category requests only")
            else:
                self.use(rp)
            return
        if isinstance(atom, ast.Under) and lp:
            value = constant_of(right, data)
            if isinstance(value, str):
                self.use(lp).under.add(value)
            elif isinstance(value, frozenset):
                self.use(lp).under.update(v for v in value if isinstance(v, str))
            else:
                self.use(lp).needs_kind = True
                if rp:  # the other attribute decides too: the space gives it values (one of each kind it takes)
                    self.use(rp)
                self.notes.add(f"`{'.'.join(lp)}` is tested `under` another attribute: sampled, not exhausted")


    def _has(self, atom: ast.Has, data: dict) -> None:
        """`attribute has any of [..]`: the attribute read as a list, its values compared with the constant's items."""
        for side, other in ((atom.left, atom.right), (atom.right, atom.left)):
            for node in ast.walk(side):
                if isinstance(node, ast.Path) and node.parts[0] != "data":
                    use = self.use(node.parts)
                    items = list_constant(other, data)
                    use.listed = True
                    if node is not side or items is None or not all(_scalar(i) for i in items) or _bool_and_number(
                            use.literals | set(items)):
                        # an item of a list literal, a list that varies, an item of a map or list; or true and 1,
                        # which the engine tells apart and a set of values does not
                        use.unlisted = True
                        continue
                    use.literals.update(items)
                    self.notes.add(searched_note(node.parts))


def _scalar(value) -> bool:
    return isinstance(value, (str, bool)) or is_number(value)


def _bool_and_number(values: set) -> bool:
    return any(isinstance(v, bool) for v in values) and any(is_number(v) and not isinstance(v, bool) for v in values)


def list_constant(expr: ast.Expr, data: dict) -> list | None:
    """The items of a constant list as the engine reads them for `has any of` (a literal list, policy data: a
    list as written, true and 1 apart), or None."""
    if isinstance(expr, ast.ListLiteral) and ast.all_literals(expr.items):
        return [i.value for i in expr.items]
    if isinstance(expr, ast.Path) and expr.parts[0] == "data":
        value: Any = data
        for part in expr.parts[1:]:
            value = value.get(part) if isinstance(value, dict) else None
        return list(value) if isinstance(value, list) else None
    return None


def _entries(node: ast.Index, data: dict) -> list[str]:
    """The keys of the table a lookup reads."""
    table = compile_value(node.table, data)({})
    return [k for k in table if isinstance(k, str)] if isinstance(table, dict) else []


def with_entries(atom: ast.Expr, data: dict) -> Iterator[ast.Expr]:
    """An atomic test that looks policy data up by a value, once for each distinct value an entry holds, written in
    the lookup's place (`subject.id == data.managers[resource.owner]` -> `subject.id == "bob"`, ...): what the test
    can be for some value of its key (else the entry is missing, and the test unknown)."""
    for node in ast.children(atom):
        if not isinstance(node, ast.Index):
            continue
        values: dict[str, Any] = {}
        for k in _entries(node, data):  # (the distinct values, by how they read: a map is no key of a set)
            value = compile_value(ast.Index(node.table, ast.Literal(k), node.rest), data)({})
            if value is not MISSING:
                values.setdefault(repr(sorted(map(repr, value)) if isinstance(value, (frozenset, dict)) else value), value)
        for value in values.values():
            written = _written(value, node.span)
            if written is not None:
                yield ast.with_children(atom, partial(_in_place, node, written))


def _in_place(node: ast.Expr, written: ast.Expr, sub: ast.Expr) -> ast.Expr:
    return written if sub is node else sub


def _written(value, span) -> ast.Expr | None:
    """A value of policy data as the constant a policy would write (a map: its keys, as `in` reads it)."""
    if isinstance(value, (str, int, float, bool)):
        return ast.Literal(value, span)
    if isinstance(value, (dict, list, tuple, set, frozenset)) and all(isinstance(v, (str, int, float, bool))
                                                                         for v in value):
        return ast.ListLiteral(tuple(ast.Literal(v, span) for v in value), span)
    return None  # (the checker admits no other value to be looked up)


def searched_note(parts: tuple[str, ...]) -> str:
    """`Space.notes` of a list the request gives that a condition searches (`x in attribute`), when the lists the
    space tries may not tell every request apart."""
    return f"`{'.'.join(parts)}` is searched as a list: the space tries lists of a few values only"


def connected_groups(pairs) -> list[set]:
    """The groups of attributes linked by comparisons with each other."""
    groups: list[set] = []
    for a, b in pairs:
        joined = {a, b}
        for g in [g for g in groups if g & joined]:
            joined |= g
            groups.remove(g)
        groups.append(joined)
    return groups
