"""The decision space of a policy set: every kind of request, finitely many.

A decision depends on a request only through the tests the rules make:
the rule targets (`to`, `for`, `of`: does a key cover the request's key?)
and the atomic tests of the conditions (`age < 18`, `type == "affiliate"`,
`country in data.facilities.countries`, `consent.cookies is absent`). Two
requests that every test answers alike get the same decision. So the space
is finite, and it is enumerated here, not solved:

- **cells**: action x purpose class x category class. The classes are the
  equivalence classes of the vocabulary under the keys the rules name: a
  named key stands for itself and the keys below it that no rule names
  more precisely; the keys no rule covers form one class more. Requests
  have one data category: a multi-category request is allowed exactly when
  each of its categories alone would be (same attributes), so a question
  about categories, and a change of decision, shows on single-category
  requests.
- **attributes**: each attribute a condition reads gets representative
  values, one per class of values the tests cannot tell apart: absent;
  numbers below, at, between and above every boundary compared; each text
  or key compared, plus one value compared with none (countries, recipient
  types and other vocabulary are partitioned exactly); true and false. A
  looked-up part (`lookup recipient in data.processors`) is one joint
  attribute: no id, an id the register does not know, and one registered id
  per kind of record (the register's values override the request's).

Cost, and how it is kept down. A cell's requests are the product of the
representative values of the attributes read by the rules that cover it.
For CX-ONE-GO a share request alone has ~10^6 such combinations, so three
reductions make it seconds:

1. cells covered by the same rules (and alike for conditions on `purpose`
   and `action`) form one *group*, decided once;
2. within a group the attributes split into independent *components*: two
   attributes are in one component when some rule reads both. Rules of
   different components cannot interact, so each component is enumerated
   alone (the sum, not the product, of their sizes), and its assignments
   are grouped into *classes* by which rules apply;
3. each rule's conditions are evaluated once per combination of its own
   attributes (a table), with the engine's compiled closures and lookups.

A full request is one class per component; its decision is `combine`d (the
engine's one function) from the rules that apply, and the requests a tool
reports are re-decided with `PolicySet.outcome` as a check. The space is
that of the version in force (`outcome`); earlier versions kept under
`versions/` (§11) are policy sets of their own. `Stats` counts
cells, groups, the requests the space stands for (sum over cells of the
product) and the partial requests actually enumerated.

Exactness. The enumeration is exhaustive for conditions that compare an
attribute with constants (all the language's usual forms), and for
attributes compared with each other (each gets one value per attribute it
is compared with in every class, so any two can be equal or apart, in
either order). Requests are well-typed: an attribute takes the kinds of
value its type or the constants it is compared with have (a word where a
number is compared is the checker's business; the engine would fail
closed). A list-valued attribute searched with `in`, or a path also read as
a prefix, is sampled, not exhausted, and `Space.notes` says so. The tests
check, request by request, that the class a request falls in gets the
engine's decision (`Space.predict`).
"""

from __future__ import annotations

import itertools
import operator
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator, Sequence

from . import ast
from . import schema as sch
from . import taxonomy as tx
from .compiler import CompiledRule
from .conditions import MISSING, EvaluationError, compile_test, compile_value
from .decision import Outcome, Reason, combine
from .errors import RequestError
from .request import apply_lookups, check_request

CELL_PATHS = ("action", "purpose", "data_categories")
DEFAULT_LIMIT = 2_000_000  # assignments one component may have before the space gives up
_ORDERED = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}
_NICE_COUNTRIES = ("US", "DE", "GB", "FR", "JP", "BR", "AU", "CA")


class SpaceTooLarge(Exception):
    """A component would need more assignments than the limit allows."""


# ---------------------------------------------------------------- reading the conditions


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


def rule_conditions(rule) -> tuple[ast.Expr, ...]:
    return tuple(rule.source.when) + tuple(rule.source.unless)


def _is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


@dataclass
class _Use:
    """What the conditions do with one attribute path."""

    literals: set = field(default_factory=set)  # compared with == / != (and list members)
    sets: set = field(default_factory=set)  # frozensets searched with `in`
    ordered: set = field(default_factory=set)  # (op, number) compared with < <= > >=
    under: set = field(default_factory=set)  # taxonomy keys tested with `under`
    truth: bool = False


def _constant(expr: ast.Expr, data: dict):
    """The value of a constant operand (literal, list of literals, policy data), or MISSING."""
    if isinstance(expr, ast.Literal):
        return expr.value
    if isinstance(expr, ast.ListLiteral) and all(isinstance(i, ast.Literal) for i in expr.items):
        return frozenset(i.value for i in expr.items if not isinstance(i.value, (list, dict)))
    if isinstance(expr, ast.Path) and expr.parts[0] == "data":
        value = compile_value(expr, data)({})
        if isinstance(value, dict):
            return frozenset(value)
        if isinstance(value, (list, tuple)):
            return frozenset(v for v in value if isinstance(v, (str, int, float, bool)))
        return value
    return MISSING


class _Uses:
    """Every attribute use in a collection of conditions (of several policy versions)."""

    def __init__(self):
        self.by_path: dict[tuple[str, ...], _Use] = {}
        self.pairs: list[tuple[tuple[str, ...], tuple[str, ...]]] = []
        self.notes: set[str] = set()

    def use(self, parts: tuple[str, ...]) -> _Use:
        return self.by_path.setdefault(parts, _Use())

    def add(self, expr: ast.Expr, data: dict) -> None:
        for atom in atoms(expr):
            self._atom(atom, data)

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
        if not isinstance(atom, (ast.Compare, ast.Member, ast.Under)):
            return
        left, right = atom.left, atom.right
        lp, rp = path_of(left), path_of(right)
        if isinstance(atom, ast.Compare):
            op = atom.op
            if lp and rp:
                self.use(lp), self.use(rp)
                self.pairs.append((lp, rp))
                return
            if not lp and rp:
                lp, left, right = rp, right, left
                op = {"<": ">", "<=": ">=", ">": "<", ">=": "<="}.get(op, op)
            if not lp:
                return
            value = _constant(right, data)
            if value is MISSING or isinstance(value, frozenset):
                self.use(lp)
                return
            if op in _ORDERED:
                if _is_number(value):
                    self.use(lp).ordered.add((op, value))
            else:
                self.use(lp).literals.add(value)
            return
        if isinstance(atom, ast.Member):
            if lp and not rp:
                value = _constant(right, data)
                if isinstance(value, frozenset):
                    self.use(lp).sets.add(value)
                else:
                    self.use(lp)
                return
            if rp:  # `x in attribute`: the attribute is a list
                use = self.use(rp)
                value = _constant(left, data)
                if rp == ("data_categories",) and isinstance(value, str):
                    use.literals.add(value)
                    return
                if value is not MISSING and not isinstance(value, frozenset):
                    use.literals.add(value)
                self.notes.add(f"`{'.'.join(rp)}` is searched as a list: the space tries one-item lists only")
                if lp:
                    self.use(lp)
            return
        if isinstance(atom, ast.Under) and lp:
            value = _constant(right, data)
            if isinstance(value, str):
                self.use(lp).under.add(value)
            elif isinstance(value, frozenset):
                self.use(lp).under.update(v for v in value if isinstance(v, str))
            else:
                self.use(lp)
                self.notes.add(f"`{'.'.join(lp)}` is tested `under` another attribute: sampled, not exhausted")


# ---------------------------------------------------------------- vocabulary classes


@dataclass(frozen=True)
class KeyClass:
    """A set of vocabulary keys (actions, purposes or categories) the rules cannot tell apart."""

    kind: str  # "action" | "purpose" | "category"
    rep: str  # the key requests of this class use
    anchor: str | None  # the most specific named key covering the class; None: no named key covers it
    members: tuple[str, ...]
    excluded: tuple[str, ...] = ()  # named keys below the anchor, decided as classes of their own

    @property
    def label(self) -> str:
        if self.members == (self.rep,) and (self.anchor is None or self.anchor == self.rep):
            return self.rep
        if self.anchor is None:
            plural = "categories" if self.kind == "category" else f"{self.kind}s"
            return f"{plural} no rule names (e.g. {self.rep})"
        text = f"{self.anchor}.*" if len(self.members) > 1 or self.anchor not in self.members else self.anchor
        if self.excluded:
            shown = ", ".join(self.excluded[:3])
            more = f" and {len(self.excluded) - 3} more" if len(self.excluded) > 3 else ""
            text += f" (other than {shown}{more})"
        return text

    def covers_key(self, key: str) -> bool:
        """Is every member of the class under `key`?"""
        return all(tx.covers(key, m) for m in self.members)


def key_classes(kind: str, universe: Iterable[str], covering: set[str], exact: set[str]) -> list[KeyClass]:
    """Partition `universe` by which of the `covering` keys cover a key and which `exact` key it is."""
    covering = {k for k in covering if k}
    named = covering | exact
    buckets: dict[tuple, list[str]] = {}
    for key in sorted(universe):
        sig = (frozenset(k for k in covering if tx.covers(k, key)), key if key in exact else None)
        buckets.setdefault(sig, []).append(key)
    out = []
    for (over, only), members in buckets.items():
        anchor = max(over, key=len) if over else None
        if only is not None:
            anchor = only
        rep = anchor if anchor in members else min(members, key=lambda k: (k.count("."), k))
        excluded = ()
        if anchor is not None and only is None:
            below = sorted(k for k in named if k != anchor and tx.covers(anchor, k))
            excluded = tuple(k for k in below if not any(o != k and tx.covers(o, k) for o in below))
        out.append(KeyClass(kind, rep, anchor, tuple(members), excluded))
    out.sort(key=lambda c: (c.anchor is None, c.anchor or "", c.rep))
    return out


def key_labels(chosen: Iterable[KeyClass], every: Sequence[KeyClass], complement: bool = True) -> list[str]:
    """The fewest keys (`user.contact.*`: the key and all below it) that name exactly the chosen classes."""
    chosen = list(chosen)
    if not chosen:
        return []
    kind = chosen[0].kind
    members = {m for c in chosen for m in c.members}
    universe = {m for c in every for m in c.members}
    if members >= universe:
        return [f"any {kind}"]
    loose = [c for c in chosen if c.anchor is None]
    keyed = members - {m for c in loose for m in c.members}
    below: dict[str, set[str]] = {}
    for key in universe:
        for a in tx.ancestors(key):
            below.setdefault(a, set()).add(key)
    tops: list[str] = []
    for key in sorted(keyed, key=lambda k: (k.count("."), k)):
        if any(tx.covers(t, key) for t in tops):
            continue
        for a in reversed(tx.ancestors(key)):
            if a in universe and below[a] <= keyed:
                tops.append(a)
                break
    labels = [f"{t}.*" if len(below[t]) > 1 else t for t in sorted(tops)] + [c.label for c in loose]
    if complement:
        rest = key_labels([c for c in every if not set(c.members) & members], every, complement=False)
        if len(rest) < len(labels):
            return [f"any {kind} other than {', '.join(rest)}"]
    return labels


# ---------------------------------------------------------------- attribute domains


@dataclass
class ValueClass:
    rep: Any  # MISSING for the absent class
    kind: str  # "absent" | "number" | "bool" | "string"
    label: str  # e.g. `< 18`, `== "IN"`, `is absent`
    members: tuple = ()  # strings: the values of the class (when few); numbers: elementary intervals
    singleton: bool = False


class AttrDomain:
    """The representative values of one attribute path: index 0 is absent."""

    def __init__(self, path: tuple[str, ...], classes: list[ValueClass], classify: Callable[[Any], int]):
        self.path = path
        self.dotted = ".".join(path)
        self.classes = classes
        self._classify = classify

    def __len__(self) -> int:
        return len(self.classes)

    def classify(self, value) -> int:
        """The class a request's value falls in (-1: none of them; a value the tests never met)."""
        if value is None or value is MISSING:
            return 0
        return self._classify(value)

    def describe(self, selected: set[int]) -> str | None:
        """A condition on this attribute true exactly for the selected classes (None: no condition)."""
        everything = set(range(len(self.classes)))
        if selected >= everything:
            return None
        present = sorted(i for i in selected if i != 0)
        if not present:
            return f"{self.dotted} is absent"
        if set(present) == everything - {0}:
            text = "is present"
        else:
            text = self._describe_present(present)
        if 0 in selected:
            return f"{self.dotted} is absent or {text.removeprefix('is ')}" if text.startswith("is ") \
                else f"{self.dotted} is absent or {text}"
        return f"{self.dotted} {text}"

    def _describe_present(self, present: list[int]) -> str:
        classes = [self.classes[i] for i in present]
        if all(c.kind == "number" for c in classes):
            intervals = sorted({iv for c in classes for iv in c.members})
            return _interval_text(_runs(intervals))
        if all(c.kind == "bool" for c in classes):
            return "is " + " or ".join("true" if c.rep else "false" for c in classes)
        if all(c.singleton for c in classes):
            values = [c.rep for c in classes]
            return f"== {_show(values[0])}" if len(values) == 1 else f"in [{', '.join(_show(v) for v in values)}]"
        rest = [c for i, c in enumerate(self.classes) if i != 0 and i not in present]
        if rest and all(c.singleton for c in rest):
            values = [c.rep for c in rest]
            return f"!= {_show(values[0])}" if len(values) == 1 else f"not in [{', '.join(_show(v) for v in values)}]"
        return " or ".join(c.label for c in classes)


def _show(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    return _num(value)


def _num(x) -> str:
    return str(int(x)) if isinstance(x, float) and x.is_integer() else str(x)


def _runs(intervals: list[tuple]) -> list[tuple]:
    """Merge adjacent elementary intervals (index, lo, lo_incl, hi, hi_incl) into runs."""
    runs: list[list] = []
    for index, lo, lo_incl, hi, hi_incl in intervals:
        if runs and runs[-1][4] == index - 1:
            runs[-1][2], runs[-1][3], runs[-1][4] = hi, hi_incl, index
        else:
            runs.append([lo, lo_incl, hi, hi_incl, index])
    return [tuple(r[:4]) for r in runs]


def _interval_text(runs: list[tuple]) -> str:
    parts = []
    for lo, lo_incl, hi, hi_incl in runs:
        if lo is None and hi is None:
            parts.append("is a number")
        elif lo is None:
            parts.append(f"{'<=' if hi_incl else '<'} {_num(hi)}")
        elif hi is None:
            parts.append(f"{'>=' if lo_incl else '>'} {_num(lo)}")
        elif lo == hi:
            parts.append(f"== {_num(lo)}")
        else:
            parts.append(f"{'>=' if lo_incl else '>'} {_num(lo)} and {'<=' if hi_incl else '<'} {_num(hi)}")
    return " or ".join(parts)


def _number_classes(use: _Use, valid: Callable[[Any], bool], extra: int) -> tuple[list[ValueClass], Callable]:
    """Numbers: one class per run of elementary intervals that every test treats alike.

    The elementary intervals are (-inf, b0), [b0], (b0, b1), ..., (bn, inf) for
    the boundaries b compared. An attribute compared with another attribute
    (`extra` > 0) keeps every interval apart, with 1 + extra ascending points
    each, so that the order between the two is kept too.
    """
    bounds = sorted({v for _, v in use.ordered} | {v for v in use.literals if _is_number(v)}
                    | {v for s in use.sets for v in s if _is_number(v)})
    many = 1 + extra
    elementary = []  # (lo, lo_incl, hi, hi_incl, candidate points)
    if not bounds:
        elementary.append((None, False, None, False, list(range(many))))
    else:
        below = [bounds[0] - many + i for i in range(many)]
        if not all(valid(p) for p in below):  # e.g. an age just above 0: stay in range
            below = [bounds[0] - 0.5 / (many - i) for i in range(many)]
        elementary.append((None, False, bounds[0], False, below))
        for i, b in enumerate(bounds):
            elementary.append((b, True, b, True, [b]))
            if i + 1 < len(bounds):
                nxt = bounds[i + 1]
                inside = [b + 1 + k for k in range(many)] if nxt - b > many else \
                    [b + (nxt - b) * (k + 1) / (many + 1) for k in range(many)]
                elementary.append((b, False, nxt, False, inside))
        elementary.append((bounds[-1], False, None, False, [bounds[-1] + 1 + i for i in range(many)]))

    def signature(x):
        return (tuple(_ORDERED[op](x, c) for op, c in sorted(use.ordered, key=repr))
                + tuple(x == v for v in sorted(use.literals, key=repr) if _is_number(v))
                + tuple(x in s for s in sorted(use.sets, key=repr)))

    groups: dict = {}  # signature (or interval index) -> [intervals, points]
    group_of_interval: dict[int, Any] = {}
    for index, (lo, lo_incl, hi, hi_incl, points) in enumerate(elementary):
        points = sorted(p for p in points if valid(p))
        if not points:
            continue
        key = index if extra else signature(points[0])
        entry = groups.setdefault(key, [[], points[-many:] if lo is None else points[:many]])
        entry[0].append((index, lo, lo_incl, hi, hi_incl))
        group_of_interval[index] = key
    classes, first = [], {}
    for key, (intervals, points) in groups.items():
        label = _interval_text(_runs(intervals))
        first[key] = len(classes)
        for point in points:
            classes.append(ValueClass(point, "number", label, tuple(intervals), False))

    def classify(x):
        if not _is_number(x):
            return -1
        index = 0
        for b in bounds:
            if x < b:
                break
            index += 1 if x == b else 2
        key = group_of_interval.get(index)
        return -1 if key is None else first[key]

    return classes, classify


def _string_classes(use: _Use, universe: Sequence | None, valid: Callable[[Any], bool], extra: int,
                    extra_signature: Callable[[str], tuple] | None = None,
                    prefer: Sequence[str] = ()) -> tuple[list[ValueClass], Callable]:
    literals = sorted(v for v in use.literals if isinstance(v, str))
    sets = sorted(use.sets, key=lambda s: sorted(map(str, s)))
    under = sorted(use.under)
    fresh: list[str] = []
    if universe is None:
        named = set(literals) | {v for s in sets for v in s if isinstance(v, str)} | set(under)
        universe = sorted(named)
        n = 0
        while len(fresh) < 1 + extra:
            n += 1
            candidate = "other" if n == 1 else f"other-{n}"
            if candidate not in named:
                fresh.append(candidate)
        universe = list(universe) + fresh + [f"{k}.{fresh[0]}" for k in under]  # a key below each, unnamed

    def signature(v):
        sig = (tuple(v == lit for lit in literals) + tuple(v in s for s in sets)
               + tuple(tx.covers(k, v) for k in under))
        return sig + (extra_signature(v) if extra_signature else ())

    buckets: dict[tuple, list[str]] = {}
    for v in universe:
        buckets.setdefault(signature(v), []).append(v)
    classes, index_of = [], {}
    rank = {v: i for i, v in enumerate(prefer)}
    for sig, members in buckets.items():
        ordered = sorted(members, key=lambda v: (v in fresh, v not in literals, rank.get(v, len(rank)), v))
        reps = [v for v in itertools.islice((v for v in ordered if valid(v)), 1 + extra)]
        if not reps:
            continue
        label = _string_label(members, literals, sets, under, sig, fresh)
        single = len(members) == 1 and not (members[0] in fresh)
        index_of[sig] = len(classes)
        for rep in reps:
            classes.append(ValueClass(rep, "string", label, tuple(sorted(members)) if len(members) <= 6 else (), single))

    def classify(v):
        if not isinstance(v, str):
            return -1
        return index_of.get(signature(v), -1)

    return classes, classify


def _string_label(members, literals, sets, under, sig, fresh) -> str:
    if len(members) == 1 and members[0] not in fresh:
        return f"== {_show(members[0])}"
    if len(members) <= 4 and not any(m in fresh for m in members):
        return f"in [{', '.join(_show(m) for m in sorted(members))}]"
    inside = [k for k, hit in zip(under, sig[len(literals) + len(sets):]) if hit]
    if inside:
        return f"under {_show(max(inside, key=len))} (e.g. {_show(members[0])})"
    named = sorted(set(literals) | {v for s in sets for v in s if isinstance(v, str)})
    if named and len(named) <= 6:
        return f"not in [{', '.join(_show(v) for v in named)}]"
    return f"is another value (e.g. {_show(sorted(members)[0])})"


# ---------------------------------------------------------------- nodes: what one component varies


@dataclass
class Node:
    """One attribute, or a looked-up request part with its attributes, and its joint values."""

    name: str
    domains: tuple[AttrDomain, ...]
    choices: list[tuple[int, ...]]  # a class index per domain
    free: list[frozenset[int]]  # per choice: domains the register overrides (any value will do)

    def fill(self, env: dict, choice: int) -> None:
        for domain, index in zip(self.domains, self.choices[choice]):
            if index:
                _put(env, domain.path, domain.classes[index].rep)

    def present(self, choice: int) -> int:
        return sum(1 for i in self.choices[choice] if i)


def _put(env: dict, parts: tuple[str, ...], value) -> None:
    node = env
    for part in parts[:-1]:
        nxt = node.get(part)
        if not isinstance(nxt, dict):
            nxt = node[part] = {}
        node = nxt
    node[parts[-1]] = value


# ---------------------------------------------------------------- cells, groups, components


@dataclass(frozen=True)
class Cell:
    action: KeyClass
    purpose: KeyClass
    category: KeyClass

    def request(self) -> dict:
        return {"action": self.action.rep, "purpose": self.purpose.rep, "data_categories": [self.category.rep]}


@dataclass(frozen=True)
class State:
    """What one component's assignment does under one policy version."""

    applies: frozenset[str]  # ids of the rules that apply
    errors: frozenset[str]  # ids of the rules that could not be evaluated

    def denies(self, effects: dict[str, str]) -> bool:
        return bool(self.errors) or any(effects[r] == "deny" for r in self.applies)

    def allows(self, effects: dict[str, str]) -> bool:
        return any(effects[r] == "allow" for r in self.applies)


@dataclass
class Klass:
    """Assignments of one component that every rule of the component treats alike."""

    states: tuple[State, ...]  # per version
    probes: tuple  # per probe: True, False or "error"
    members: list[tuple[int, ...]]  # a choice index per node of the component
    witness: tuple[int, ...]


@dataclass
class Component:
    nodes: tuple[int, ...]
    size: int
    classes: list[Klass]
    rules: tuple[frozenset[str], ...]  # per version: the ids of the rules whose conditions it holds


@dataclass
class Group:
    """Cells that the same rules cover, decided together."""

    cells: list[Cell]
    rules: tuple[tuple[CompiledRule, ...] | None, ...]  # per version, in policy order; None: the cell is unknown there
    components: list[Component] = field(default_factory=list)

    @property
    def rep(self) -> Cell:
        return self.cells[0]


@dataclass
class Stats:
    cells: int = 0
    groups: int = 0
    examined: int = 0  # cells whose groups were enumerated
    represented: int = 0  # requests the examined cells stand for: sum over cells of the product of value classes
    enumerated: int = 0  # partial requests evaluated (component assignments)
    decided: int = 0  # full requests decided by the engine
    seconds: float = 0.0

    def summary(self) -> str:
        return (f"{self.cells:,} cells (action x purpose class x category class) in {self.groups:,} groups; "
                f"{self.examined:,} cells examined, standing for {self.represented:,} requests; "
                f"enumerated {self.enumerated:,} partial requests, {self.decided:,} decided by the engine; "
                f"{self.seconds:.2f} s")

    def to_dict(self) -> dict:
        return {"cells": self.cells, "groups": self.groups, "examined": self.examined, "represented": self.represented,
                "enumerated": self.enumerated, "decided": self.decided, "seconds": round(self.seconds, 3)}


class Space:
    """The decision space spanned by one or more versions of a policy set (and optional probe conditions).

    `probes` are compiled rules whose conditions are tracked but take no
    part in decisions: a query's `--where` clauses.
    """

    def __init__(self, versions: Sequence, probes: Sequence[CompiledRule] = (), *,
                 purposes: Iterable[str] = (), categories: Iterable[str] = (), actions: Iterable[str] = (),
                 limit: int = DEFAULT_LIMIT, budget: int | None = None):
        started = time.perf_counter()
        self.versions = tuple(versions)
        self.probes = tuple(probes)
        self.limit = limit
        self.budget = budget  # partial requests the whole enumeration may take (None: no cap)
        self.stats = Stats()
        self.notes: set[str] = set()
        self.effects = [{r.id: r.effect for r in v.rules} for v in self.versions]
        self._messages: dict[tuple[int, str], str] = {}
        self._tables: dict = {}
        self._components: dict = {}
        self._uses = _Uses()
        self._group_of: dict[tuple[str, str, str], Group] = {}
        self._reads: dict[int, tuple[tuple[int, ...], bool]] = {}
        for v in self.versions:
            for rule in v.rules:
                for e in rule_conditions(rule):
                    self._uses.add(e, v.data)
        for probe in self.probes:
            for e in rule_conditions(probe):
                self._uses.add(e, self.versions[0].data)
        self.notes |= self._uses.notes
        self._key_dimensions(purposes, categories, actions)
        self._attribute_nodes()
        self._cell_atoms = self._compile_cell_atoms()
        self.groups = self._groups()
        self.stats.cells = sum(len(g.cells) for g in self.groups)
        self.stats.groups = len(self.groups)
        self.stats.seconds = time.perf_counter() - started

    # -- the vocabulary dimensions ---------------------------------------------------------

    def _key_dimensions(self, purposes, categories, actions) -> None:
        cover = {"action": set(actions), "purpose": set(purposes), "category": set(categories)}
        exact = {"action": set(), "purpose": set(), "category": set()}
        for v in self.versions:
            for rule in v.rules:
                cover["action"] |= set(rule.actions or ())
                cover["purpose"] |= set(rule.purposes or ())
                cover["category"] |= set(rule.categories or ())
        for parts, kind in ((("action",), "action"), (("purpose",), "purpose"), (("data_categories",), "category")):
            use = self._uses.by_path.get(parts)
            if use is None:
                continue
            cover[kind] |= {k for k in use.under}
            exact[kind] |= {v for v in use.literals if isinstance(v, str)}
            exact[kind] |= {v for s in use.sets for v in s if isinstance(v, str)}
        vocabularies = [v.vocabulary for v in self.versions]
        universe = {
            "action": set().union(*(voc.actions for voc in vocabularies)),
            "purpose": set().union(*(voc.purposes for voc in vocabularies)),
            "category": set().union(*(voc.categories for voc in vocabularies)),
        }
        self.actions = key_classes("action", universe["action"], cover["action"], exact["action"])
        self.purposes = key_classes("purpose", universe["purpose"], cover["purpose"], exact["purpose"])
        self.categories = key_classes("category", universe["category"], cover["category"], exact["category"])

    # -- the attribute dimensions ----------------------------------------------------------

    def _attribute_nodes(self) -> None:
        base = self.versions[-1]
        probe_request = {"action": self.actions[0].rep, "purpose": self.purposes[0].rep,
                         "data_categories": [self.categories[0].rep]}
        schema = sch.request_schema(frozenset().union(*(v.vocabulary.consent_topics for v in self.versions)))
        lookups: dict[str, list] = {}  # root -> per version (register, request_wins) or None
        sources: dict[str, str] = {}
        for i, v in enumerate(self.versions):
            for root, register, wins in v._lookups:
                lookups.setdefault(root, [None] * len(self.versions))[i] = (register, wins)
            for f in v.files:
                for lk in f.lookups:
                    sources.setdefault(lk.root, lk.source.dotted)

        def valid(parts, value) -> bool:
            request = {k: (list(x) if isinstance(x, list) else x) for k, x in probe_request.items()}
            _put(request, parts, value)
            try:
                for v in self.versions:
                    check_request(request, v.vocabulary)
            except RequestError:
                return False
            return True

        # attributes compared with each other share their constants, and get one value per attribute of the
        # group in each class, so that any two can be equal or apart (and in either order)
        self._pair_groups = _connected(self._uses.pairs)
        for group in self._pair_groups:
            uses = [self._uses.use(p) for p in group]
            literals = set().union(*(u.literals for u in uses))
            ordered = set().union(*(u.ordered for u in uses))
            sets = set().union(*(u.sets for u in uses))
            for u in uses:
                u.literals, u.ordered, u.sets = set(literals), set(ordered), set(sets)
        paired_extra = {p: len(g) - 1 for g in self._pair_groups for p in g}
        for root in lookups:
            if any(p[0] == root for p in self._uses.by_path if p[0] not in CELL_PATHS):
                self._uses.use((root, "id"))
        paths = sorted(p for p in self._uses.by_path if p[0] not in CELL_PATHS)
        for p in paths:
            if any(q != p and q[: len(p)] == p for q in paths):
                self.notes.add(f"`{'.'.join(p)}` is read both whole and by its parts: sampled, not exhausted")

        domains: dict[tuple[str, ...], AttrDomain] = {}
        register_signature: dict[str, Callable] = {}
        for root, per_version in lookups.items():
            register_signature[root] = self._register_signature(root, per_version, paths, domains)
        # the id of a looked-up part is built last: its classes depend on the other attributes' classes
        ordered_paths = sorted(paths, key=lambda p: (p[0] in lookups and p[1:] == ("id",), p))
        types = {parts: _type_at(schema, parts, base, lookups) for parts in paths}
        kinds_of = {parts: _kinds(self._uses.by_path[parts], types[parts]) for parts in paths}
        for group in self._pair_groups:  # compared with each other: each may hold what the other holds
            joined = set().union(*(kinds_of.get(p, set()) for p in group))
            for p in group:
                kinds_of[p] = joined
        for parts in ordered_paths:
            use = self._uses.by_path[parts]
            typ = types[parts]
            extra = paired_extra.get(parts, 0)
            check = (lambda ps: (lambda value: valid(ps, value)))(parts)
            classes: list[ValueClass] = [ValueClass(MISSING, "absent", "is absent")]
            classifiers: list[tuple[int, Callable]] = []
            kinds = kinds_of[parts]
            literals = use.literals | {v for s in use.sets for v in s}
            if "number" in kinds:
                found, classify = _number_classes(use, check, extra)
                classifiers.append((len(classes), classify))
                classes += found
            if "bool" in kinds:
                offset = len(classes)
                classes += [ValueClass(b, "bool", f"is {'true' if b else 'false'}", (), True)
                            for b in (True, False) if check(b)]
                reps = [c.rep for c in classes[offset:]]
                classifiers.append((offset, lambda x, reps=reps: reps.index(x)
                                    if isinstance(x, bool) and x in reps else -1))
            fresh = None
            if "string" in kinds:
                universe = None
                prefer: Sequence[str] = ()
                if typ is not None and typ.vocab is not None:
                    universe = sorted(set().union(*(v.vocabulary.known(typ.vocab) for v in self.versions)))
                    prefer = _NICE_COUNTRIES if typ.vocab == tx.COUNTRY else ()
                extra_sig = None
                if parts[0] in lookups and parts[1:] == ("id",):
                    registered = set().union(*(set(p[0]) for p in lookups[parts[0]] if p))
                    universe = sorted(set(universe or ()) | {v for v in literals if isinstance(v, str)} | registered)
                    fresh = _fresh(universe)
                    universe.append(fresh)
                    extra_sig = register_signature[parts[0]]
                found, classify = _string_classes(use, universe, check, extra, extra_sig, prefer)
                classifiers.append((len(classes), classify))
                classes += found
            if len(classes) == 1:  # only tested for presence: any value will do
                for value in ("present", True, 1):
                    if check(value):
                        classes.append(ValueClass(value, "string" if isinstance(value, str) else "bool",
                                                  "is present", (), False))
                        break
                classifiers.append((1, lambda x: 0))
            domains[parts] = AttrDomain(parts, classes, _chain(classifiers))
            if parts[0] in lookups and parts[1:] == ("id",):
                self._label_register_ids(domains[parts], lookups[parts[0]], sources.get(parts[0], "the register"),
                                         fresh)
        self.domains = domains

        nodes: list[Node] = []
        self._node_of: dict[tuple[str, ...], int] = {}
        for root in sorted(lookups):
            members = tuple(domains[p] for p in paths if p[0] == root)
            if not members:
                continue
            nodes.append(self._lookup_node(root, members, lookups[root]))
            for d in members:
                self._node_of[d.path] = len(nodes) - 1
        for parts in paths:
            if parts in self._node_of:
                continue
            d = domains[parts]
            nodes.append(Node(d.dotted, (d,), [(i,) for i in range(len(d))], [frozenset()] * len(d)))
            self._node_of[parts] = len(nodes) - 1
        self.nodes = nodes
        self._present = [[node.present(c) for c in range(len(node.choices))] for node in nodes]

    def _register_signature(self, root: str, per_version: list, paths, domains) -> Callable[[str], tuple]:
        fields = [p for p in paths if p[0] == root and len(p) > 1 and p[1:] != ("id",)]

        def signature(ident: str) -> tuple:
            sig = []
            for entry in per_version:
                record = entry[0].get(ident) if entry else None
                if not isinstance(record, dict):
                    sig.append(None)
                    continue
                values = []
                for f in fields:
                    value: Any = record
                    for part in f[1:]:
                        value = value.get(part) if isinstance(value, dict) else None
                    domain = domains.get(f)
                    cls = domain.classify(value) if domain is not None else 0
                    values.append((cls, record.get(f[1]) is not None and f[1] not in entry[1]))
                sig.append(tuple(values))
            return tuple(sig)

        return signature

    def _label_register_ids(self, domain: AttrDomain, per_version: list, source: str, fresh: str | None) -> None:
        registered = set().union(*(set(p[0]) for p in per_version if p))
        for cls in domain.classes[1:]:
            if cls.rep in registered:
                members = cls.members or (cls.rep,)
                cls.label = f"in [{', '.join(_show(m) for m in members)}]" if cls.members else \
                    f"is an id of {source} like {_show(cls.rep)}"
                cls.singleton = False
            elif cls.rep == fresh:
                cls.label = f"is an id {source} does not list"
                cls.singleton = False

    def _lookup_node(self, root: str, members: tuple[AttrDomain, ...], per_version: list) -> Node:
        id_pos = next(i for i, d in enumerate(members) if d.path[1:] == ("id",))
        choices, free = [], []
        for id_class in range(len(members[id_pos])):
            ident = members[id_pos].classes[id_class].rep
            overridden = None
            for entry in per_version:
                record = entry[0].get(ident) if entry and isinstance(ident, str) else None
                names = {k for k, v in record.items() if v is not None} - set(entry[1]) if isinstance(record, dict) else set()
                overridden = names if overridden is None else overridden & names
            fixed = {i for i, d in enumerate(members)
                     if i != id_pos and len(d.path) > 1 and d.path[1] in (overridden or ())}
            ranges = [[id_class] if i == id_pos else [0] if i in fixed else range(len(d)) for i, d in enumerate(members)]
            for combo in itertools.product(*ranges):
                choices.append(tuple(combo))
                free.append(frozenset(fixed))
        return Node(root, members, choices, free)

    # -- cells and groups ------------------------------------------------------------------

    def _compile_cell_atoms(self) -> list[Callable[[dict], Any]]:
        tests = []
        seen = set()
        sources = [(v.data, rule_conditions(r)) for v in self.versions for r in v.rules]
        sources += [(self.versions[0].data, rule_conditions(p)) for p in self.probes]
        for data, conditions in sources:
            for e in conditions:
                for atom in atoms(e):
                    read = read_paths([atom])
                    if read and all(p[0] in CELL_PATHS for p in read) and (atom, id(data)) not in seen:
                        seen.add((atom, id(data)))
                        tests.append(compile_test(atom, data))
        return tests

    def _cell_signature(self, env: dict) -> tuple:
        out = []
        for test in self._cell_atoms:
            try:
                out.append(test(env))
            except Exception:
                out.append("error")
        return tuple(out)

    def cells(self) -> Iterator[Cell]:
        for a in self.actions:
            for p in self.purposes:
                for c in self.categories:
                    yield Cell(a, p, c)

    def _groups(self) -> list[Group]:
        groups: dict[tuple, Group] = {}
        known = [(v.vocabulary.actions, v.vocabulary.purposes, v.vocabulary.categories) for v in self.versions]
        for cell in self.cells():
            a, p, c = cell.action.rep, cell.purpose.rep, cell.category.rep
            per_version = []
            for v, (acts, purps, cats) in zip(self.versions, known):
                if a not in acts or p not in purps or c not in cats:
                    per_version.append(None)
                    continue
                denies, allows = v._candidates(a, p, c)
                per_version.append(tuple(sorted(denies + allows, key=lambda r: r.order)))
            env = cell.request()
            key = (tuple(None if rules is None else tuple(r.id for r in rules) for rules in per_version),
                   self._cell_signature(env))
            group = groups.get(key)
            if group is None:
                group = groups[key] = Group([], tuple(per_version))
            group.cells.append(cell)
            self._group_of[(a, p, c)] = group
        return list(groups.values())

    def group_of(self, cell: Cell) -> Group:
        return self._group_of[(cell.action.rep, cell.purpose.rep, cell.category.rep)]

    # -- components ------------------------------------------------------------------------

    def _slot_nodes(self, rule) -> tuple[tuple[int, ...], bool]:
        """The nodes a rule's conditions read, and whether they read the cell (action, purpose, categories)."""
        found = self._reads.get(id(rule))
        if found is None:
            read = read_paths(rule_conditions(rule))
            nodes = tuple(sorted({self._node_of[p] for p in read if p in self._node_of}))
            found = self._reads[id(rule)] = (nodes, any(p[0] in CELL_PATHS for p in read))
        return found

    def components(self, group: Group) -> list[Component]:
        """The independent components of a group, each with its classes (computed once, then kept)."""
        if group.components:
            return group.components
        slots = []  # (kind, index, rule): kind is a version number or "probe"
        for v, rules in enumerate(group.rules):
            for rule in rules or ():
                slots.append((v, rule))
        for i, probe in enumerate(self.probes):
            slots.append((("probe", i), probe))
        parent: dict[int, int] = {}

        def find(x):
            while parent.setdefault(x, x) != x:
                x = parent[x]
            return x

        slot_nodes = []
        for kind, rule in slots:
            nodes, _ = self._slot_nodes(rule)
            slot_nodes.append(nodes)
            for n in nodes[1:]:
                parent[find(n)] = find(nodes[0])
        by_root: dict = {}
        for (kind, rule), nodes in zip(slots, slot_nodes):
            root = find(nodes[0]) if nodes else None
            by_root.setdefault(root, []).append((kind, rule))
        components = []
        for root, members in sorted(by_root.items(), key=lambda kv: (kv[0] is not None, kv[0] or 0)):
            nodes = tuple(sorted({n for kind, rule in members for n in self._slot_nodes(rule)[0]}))
            components.append(self._component(group, nodes, members))
        if None not in by_root:
            components.insert(0, self._component(group, (), []))
        group.components = components
        represented = len(group.cells)
        for component in components:
            represented *= component.size
        self.stats.represented += represented
        self.stats.examined += len(group.cells)
        return components

    def enumerate(self) -> None:
        """Compute every group's components (the whole space)."""
        started = time.perf_counter()
        for group in self.groups:
            self.components(group)
        self.stats.seconds += time.perf_counter() - started

    def _component(self, group: Group, nodes: tuple[int, ...], slots: list) -> Component:
        cell = group.rep
        key = (nodes, tuple((kind, id(rule), self._reads_cell(rule) and cell) for kind, rule in slots))
        found = self._components.get(key)
        if found is not None:
            return found
        size = 1
        for n in nodes:
            size *= len(self.nodes[n].choices)
        if size > self.limit:
            raise SpaceTooLarge(f"the decision space is too large: one rule group reads "
                                f"{', '.join(self.nodes[n].name for n in nodes)} together, {size:,} combinations "
                                f"(limit {self.limit:,})")
        if self.budget is not None and self.stats.enumerated + size > self.budget:
            raise SpaceTooLarge(f"the decision space is too large: more than {self.budget:,} partial requests")
        tables = []
        for kind, rule in slots:
            own, _ = self._slot_nodes(rule)
            positions = tuple(nodes.index(n) for n in own)
            tables.append((kind, rule, positions, self._table(kind, rule, cell, own)))
        versions = len(self.versions)
        classes: dict[tuple, Klass] = {}
        for assignment in itertools.product(*(range(len(self.nodes[n].choices)) for n in nodes)):
            applies = [[] for _ in range(versions)]
            errors = [[] for _ in range(versions)]
            probes = [None] * len(self.probes)
            for kind, rule, positions, table in tables:
                result = table[tuple(assignment[i] for i in positions)]
                if isinstance(kind, tuple):
                    probes[kind[1]] = result
                elif result is True:
                    applies[kind].append(rule.id)
                elif result == "error":
                    errors[kind].append(rule.id)
            states = tuple(State(frozenset(applies[v]), frozenset(errors[v])) for v in range(versions))
            k = (states, tuple(probes))
            klass = classes.get(k)
            if klass is None:
                classes[k] = Klass(states, tuple(probes), [assignment], assignment)
            else:
                klass.members.append(assignment)
                if self._weight(nodes, assignment) < self._weight(nodes, klass.witness):
                    klass.witness = assignment
        self.stats.enumerated += size
        rule_ids = tuple(frozenset(rule.id for kind, rule in slots if kind == v) for v in range(versions))
        component = Component(nodes, size, list(classes.values()), rule_ids)
        self._components[key] = component
        return component

    def _weight(self, nodes, assignment) -> int:
        """How many attributes the request of an assignment carries (witnesses carry as few as they can)."""
        return sum(self._present[n][c] for n, c in zip(nodes, assignment))

    def _reads_cell(self, rule) -> bool:
        return self._slot_nodes(rule)[1]

    def _table(self, kind, rule, cell: Cell, nodes: tuple[int, ...]) -> dict:
        key = (kind, id(rule), self._reads_cell(rule) and cell)
        table = self._tables.get(key)
        if table is not None:
            return table
        table = {}
        lookups = self.versions[kind]._lookups if not isinstance(kind, tuple) else self.versions[0]._lookups
        for choice in itertools.product(*(range(len(self.nodes[n].choices)) for n in nodes)):
            env = cell.request()
            for n, c in zip(nodes, choice):
                self.nodes[n].fill(env, c)
            if lookups:
                env = apply_lookups(env, lookups)
            try:
                table[choice] = rule.applies(env) is True
            except EvaluationError as error:
                table[choice] = "error"
                self._messages.setdefault((kind if not isinstance(kind, tuple) else -1, rule.id), str(error))
            except Exception as error:  # the engine fails closed on anything unforeseen; so does the space
                table[choice] = "error"
                self._messages.setdefault((kind if not isinstance(kind, tuple) else -1, rule.id),
                                          f"internal error: {error.__class__.__name__}: {error}")
        self._tables[key] = table
        return table

    # -- requests and decisions ------------------------------------------------------------

    def request(self, cell: Cell, group: Group, picks: Sequence[Klass]) -> dict:
        """The request of one class per component of the group, in `cell`."""
        request = cell.request()
        for component, klass in zip(self.components(group), picks):
            for n, c in zip(component.nodes, klass.witness):
                self.nodes[n].fill(request, c)
        return request

    def outcome(self, version: int, group: Group, picks: Sequence[Klass], category: str) -> Outcome:
        """The decision `combine` gives for these classes (the engine's function, on the tables' verdicts)."""
        rules = group.rules[version]
        if rules is None:
            return REFUSED
        applies = set().union(*(k.states[version].applies for k in picks)) if picks else set()
        errors = set().union(*(k.states[version].errors for k in picks)) if picks else set()
        denies = [r for r in rules if r.id in applies and r.effect == "deny"]
        allows = [r for r in rules if r.id in applies and r.effect == "allow"]
        # the engine evaluates a category's denies, then its allows: errors are reported in that order
        erring = [r for r in rules if r.id in errors and r.effect == "deny"] + \
                 [r for r in rules if r.id in errors and r.effect == "allow"]
        failed = [(r, self._messages.get((version, r.id), "could not be evaluated")) for r in erring]
        return combine(denies, allows, [] if allows else [category], failed)

    def decide(self, version: int, request: dict) -> Outcome:
        """The engine's own decision for a request (the check every reported request goes through)."""
        self.stats.decided += 1
        try:
            return self.versions[version].outcome(request)
        except RequestError as error:
            return Outcome("refused", (Reason("request.refused", "deny", None, str(error)),))

    # -- describing sets of assignments ----------------------------------------------------

    def describe(self, nodes: tuple[int, ...], assignments: Iterable[tuple[int, ...]]) -> list[str]:
        """Conditions (each an `and` of attribute tests) whose `or` is true exactly for these assignments."""
        dims: list[AttrDomain] = []
        spans = []
        for n in nodes:
            node = self.nodes[n]
            spans.append((len(dims), node))
            dims.extend(node.domains)
        points = set()
        for assignment in assignments:
            parts: list[list[int]] = []
            for (offset, node), choice in zip(spans, assignment):
                values = node.choices[choice]
                for i, value in enumerate(values):
                    parts.append(list(range(len(node.domains[i]))) if i in node.free[choice] else [value])
            for point in itertools.product(*parts):
                points.add(point)
        sizes = [len(d) for d in dims]
        out = []
        for box in _boxes(points, list(range(len(dims))), sizes):
            tests = [dims[i].describe(set(values)) for i, values in sorted(box.items())]
            tests = [t for t in tests if t]
            out.append(" and ".join(tests) if tests else "")
        return out

    def classify(self, request: dict) -> tuple[Cell, dict[int, int]] | None:
        """The cell and node choices of a single-category request (None if outside the space)."""
        if len(request.get("data_categories") or ()) != 1:
            return None
        keys = []
        for classes, value in ((self.actions, request["action"]), (self.purposes, request["purpose"]),
                               (self.categories, request["data_categories"][0])):
            found = next((c for c in classes if value in c.members), None)
            if found is None:
                return None
            keys.append(found)
        found: dict[tuple[str, ...], int] = {}
        values: dict[tuple[str, ...], Any] = {}
        for d in self.domains.values():
            value: Any = request
            for part in d.path:
                value = value.get(part) if isinstance(value, dict) else None
            values[d.path] = value
            found[d.path] = d.classify(value)
        for group in self._pair_groups:  # attributes compared with each other: keep their order and equalities
            by_class: dict[tuple, list] = {}
            for path in group:
                index = found[path]
                if index > 0:
                    cls = self.domains[path].classes[index]
                    by_class.setdefault((cls.kind, cls.label), []).append(path)
            for paths in by_class.values():
                distinct = sorted({values[p] for p in paths}, key=lambda v: (str(type(v)), v))
                for path in paths:
                    found[path] += distinct.index(values[path])
        choices = {}
        for n, node in enumerate(self.nodes):
            wanted = [found[d.path] for d in node.domains]
            for i, choice in enumerate(node.choices):
                if all(j in node.free[i] or w == c for j, (w, c) in enumerate(zip(wanted, choice))):
                    choices[n] = i
                    break
            else:
                return None
        return Cell(*keys), choices


    def predict(self, version: int, request: dict) -> Outcome | None:
        """The space's decision for a single-category request: the class it falls in, combined.

        What the tests compare with the engine's own decision, request by request.
        """
        located = self.classify(request)
        if located is None:
            return None
        cell, choices = located
        group = self.group_of(cell)
        picks = []
        for component in self.components(group):
            assignment = tuple(choices[n] for n in component.nodes)
            picks.append(next(k for k in component.classes if assignment in k.members))
        return self.outcome(version, group, picks, request["data_categories"][0])


REFUSED = Outcome("refused", (Reason("request.refused", "deny", None, "the version does not know this vocabulary"),))


def _kinds(use: _Use, typ: sch.Type | None) -> set[str]:
    """The kinds of value an attribute takes: its type's, or those of the constants it is compared with."""
    kinds = set()
    if typ is not None and typ.kind in ("number", "bool", "string"):
        kinds.add(typ.kind)
    literals = use.literals | {v for s in use.sets for v in s}
    if any(_is_number(v) for v in literals) or use.ordered:
        kinds.add("number")
    if any(isinstance(v, bool) for v in literals) or use.truth:
        kinds.add("bool")
    if any(isinstance(v, str) for v in literals) or use.under:
        kinds.add("string")
    return kinds


def _connected(pairs) -> list[set]:
    """The groups of attributes linked by comparisons with each other."""
    groups: list[set] = []
    for a, b in pairs:
        joined = {a, b}
        for g in [g for g in groups if g & joined]:
            joined |= g
            groups.remove(g)
        groups.append(joined)
    return groups


def _fresh(taken: Iterable[str]) -> str:
    taken = set(taken)
    n = 1
    while f"unregistered-{n}" in taken:
        n += 1
    return f"unregistered-{n}"


def _chain(classifiers: list[tuple[int, Callable]]) -> Callable[[Any], int]:
    """One classifier from several, each giving an index among its own classes (-1: not one of them)."""

    def classify(value) -> int:
        for offset, fn in classifiers:
            found = fn(value)
            if found >= 0:
                return offset + found
        return -1

    return classify


def _type_at(schema: dict, parts: tuple[str, ...], base, lookups) -> sch.Type | None:
    current = schema.get(parts[0])
    for part in parts[1:]:
        if current is None or current.kind != "map":
            return None
        fields = current.field_map()
        if part not in fields and parts[0] in lookups:
            for register, _ in (e for e in lookups[parts[0]] if e):
                record_type = sch.register_record_type(register).field_map()
                if part in record_type:
                    return record_type[part]
        current = fields.get(part)
    return current


def _boxes(points: set[tuple], dims: list[int], sizes: list[int]) -> list[dict[int, frozenset[int]]]:
    """Split a set of points into boxes (products of value sets), greedily, for description."""
    if not points:
        return []
    projections = {d: frozenset(p[d] for p in points) for d in dims}
    volume = 1
    for d in dims:
        volume *= len(projections[d])
    if volume == len(points):
        return [{d: v for d, v in projections.items() if len(v) < sizes[d]}]
    split = min((d for d in dims if len(projections[d]) > 1), key=lambda d: (len(projections[d]), d))
    rest = [d for d in dims if d != split]
    by_value: dict[int, set] = {}
    for p in points:
        by_value.setdefault(p[split], set()).add(p)
    merged: dict[tuple, set[int]] = {}
    order: list[tuple] = []
    for value, part in sorted(by_value.items()):
        for box in _boxes(part, rest, sizes):
            k = tuple(sorted(box.items()))
            if k not in merged:
                merged[k] = set()
                order.append(k)
            merged[k].add(value)
    out = []
    for k in order:
        box = dict(k)
        if len(merged[k]) < sizes[split]:
            box[split] = frozenset(merged[k])
        out.append(box)
    return out
