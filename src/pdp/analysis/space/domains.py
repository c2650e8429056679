"""Attribute domains: the classes of values an attribute takes (one representative each), and their labels."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Sequence

from pdp.vocab import schema as sch
from pdp.vocab import taxonomy as tx
from pdp.engine.conditions import MISSING, ORDER, is_number
from pdp.lang import printer
from .reading import AttributeUse
from .templated import outcome, path_examples
from pdp.base import templates as tpl

# Countries offered first as examples of "any other country" (familiar codes read better than `AD`)
EXAMPLE_COUNTRIES = ("US", "DE", "GB", "FR", "JP", "BR", "AU", "CA")


@dataclass
class ValueClass:
    rep: Any  # MISSING for the absent class
    kind: str  # "absent" | "number" | "bool" | "string"
    label: str  # e.g. `< 18`, `== "IN"`, `is absent`
    members: tuple = ()  # strings: the values of the class (when few); numbers: elementary intervals
    singleton: bool = False
    dates: bool = False  # any date: the solver chooses the day (space/timed.py); `rep` is one of them


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
            return f"== {show_value(values[0])}" if len(values) == 1 else f"in [{', '.join(show_value(v) for v in values)}]"
        rest = [c for i, c in enumerate(self.classes) if i != 0 and i not in present]
        if rest and all(c.singleton for c in rest):
            values = [c.rep for c in rest]
            return f"!= {show_value(values[0])}" if len(values) == 1 else f"not in [{', '.join(show_value(v) for v in values)}]"
        return " or ".join(c.label for c in classes)


def show_value(value) -> str:
    """A class's value as a policy writes it (lang.printer); a whole float as the integer it is."""
    return printer.value(int(value) if isinstance(value, float) and value.is_integer() else value)


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


def number_classes(use: AttributeUse, valid: Callable[[Any], bool], extra: int) -> tuple[list[ValueClass], Callable]:
    """Numbers: one class per run of elementary intervals that every test treats alike.

    The elementary intervals are (-inf, b0), [b0], (b0, b1), ..., (bn, inf) for
    the boundaries b compared. An attribute compared with another attribute
    (`extra` > 0) keeps every interval apart, with 1 + extra ascending points
    each, so that the order between the two is kept too.
    """
    bounds = sorted({v for _, v in use.ordered} | {v for v in use.literals if is_number(v)}
                    | {v for s in use.sets for v in s if is_number(v)})
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
        return (tuple(ORDER[op](x, c) for op, c in sorted(use.ordered, key=repr))
                + tuple(x == v for v in sorted(use.literals, key=repr) if is_number(v))
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
    classes: list[ValueClass] = []
    first: dict[Any, int] = {}
    for key, (intervals, points) in groups.items():
        label = _interval_text(_runs(intervals))
        first[key] = len(classes)
        for point in points:
            classes.append(ValueClass(point, "number", label, tuple(intervals), False))

    def classify(x):
        if not is_number(x):
            return -1
        index = 0
        for b in bounds:
            if x < b:
                break
            index += 1 if x == b else 2
        key = group_of_interval.get(index)
        return -1 if key is None else first[key]

    return classes, classify


def string_classes(use: AttributeUse, universe: Sequence | None, valid: Callable[[Any], bool], extra: int,
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
    written = sorted(use.templates)
    parsed = [tpl.parse(t) for t in written]
    if written:  # a path for each way the templates tell paths apart (templated.py)
        named = set(literals) | {v for s in sets for v in s if isinstance(v, str)} | set(under)
        examples, many = path_examples(written, named, ["x"] + [f"x{n}" for n in range(2, 2 + extra)])
        fresh += sorted(many)
        universe = list(universe) + [v for v in examples if v not in set(universe)]

    def signature(v):
        sig = (tuple(v == lit for lit in literals) + tuple(v in s for s in sets)
               + tuple(tx.covers(k, v) for k in under) + tuple(outcome(t, v) for t in parsed))
        return sig + (extra_signature(v) if extra_signature else ())

    buckets: dict[tuple, list[str]] = {}
    for v in universe:
        buckets.setdefault(signature(v), []).append(v)
    classes: list[ValueClass] = []
    index_of: dict[tuple, int] = {}
    rank = {v: i for i, v in enumerate(prefer)}
    for sig, members in buckets.items():
        ordered = sorted(members, key=lambda v: (v in fresh, v not in literals, rank.get(v, len(rank)), v))
        reps = list(itertools.islice((v for v in ordered if valid(v)), 1 + extra))
        if not reps:
            continue
        label = _string_label(members, literals, sets, under, sig, fresh)
        single = len(members) == 1 and members[0] not in fresh
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
        return f"== {show_value(members[0])}"
    if len(members) <= 4 and not any(m in fresh for m in members):
        return f"in [{', '.join(show_value(m) for m in sorted(members))}]"
    inside = [k for k, hit in zip(under, sig[len(literals) + len(sets):]) if hit]
    if inside:
        return f"under {show_value(max(inside, key=len))} (e.g. {show_value(members[0])})"
    named = sorted(set(literals) | {v for s in sets for v in s if isinstance(v, str)})
    if named and len(named) <= 6:
        return f"not in [{', '.join(show_value(v) for v in named)}]"
    return f"is another value (e.g. {show_value(sorted(members)[0])})"


SCALAR_KINDS = frozenset({"number", "bool", "string"})


def value_kinds(use: AttributeUse, typ: sch.Type | None) -> set[str]:
    """The kinds of value an attribute takes: its type's, or those of the constants it is compared with.

    A test that needs one kind (`under` text, `<` a number, a bare truth test true or false) fails on a value of
    another, and the engine fails closed (denies). When the type does not fix the kind (`any`, or no declared
    type), a request may hold any kind, so the attribute takes them all: the space meets that failure, and a
    query finds the deny, as the engine gives it. (The request check drops the values a type refuses.)
    """
    kinds = set()
    if typ is not None and typ.kind in SCALAR_KINDS:
        kinds.add(typ.kind)
    elif (typ is None or typ.kind == "any") and (use.under or use.ordered or use.truth or use.needs_kind or use.templates):
        return set(SCALAR_KINDS)
    literals = use.literals | {v for s in use.sets for v in s}
    if any(is_number(v) for v in literals) or use.ordered:
        kinds.add("number")
    if any(isinstance(v, bool) for v in literals) or use.truth:
        kinds.add("bool")
    if any(isinstance(v, str) for v in literals) or use.under or use.templates:
        kinds.add("string")
    return kinds


def unregistered_id(taken: Iterable[str]) -> str:
    """An id no register lists (`unregistered-N`): the example of a party the registers do not know."""
    taken = set(taken)
    n = 1
    while f"unregistered-{n}" in taken:
        n += 1
    return f"unregistered-{n}"


def chain_classifiers(classifiers: list[tuple[int, Callable]]) -> Callable[[Any], int]:
    """One classifier from several, each giving an index among its own classes (-1: not one of them)."""

    def classify(value) -> int:
        for offset, fn in classifiers:
            found = fn(value)
            if found >= 0:
                return offset + found
        return -1

    return classify


def type_at(schema: dict, parts: tuple[str, ...], base, lookups) -> sch.Type | None:
    """The declared type of the attribute at `parts` (a register's record types included), if any."""
    current = schema.get(parts[0])
    for part in parts[1:]:
        if current is None or current.kind != "map":
            return None
        fields = current.field_map()
        if part not in fields and parts[0] in lookups:
            for register in (e.register for e in lookups[parts[0]] if e):
                record_type = sch.register_record_type(register).field_map()
                if part in record_type:
                    return record_type[part]
        current = fields.get(part)
    return current
