"""The changes of `pdp diff`, found by the solver (space/encoding.py) rather than by walking the space.

The enumeration (diff.py) decides every class of request under both versions; on a large set that is out
of reach (one rule reading twelve attributes is millions of classes). Here z3 searches the same dimensions:

1. the changes. A request that both versions decide (neither refuses it), and differently, and that is in
   no change found so far: the ENGINE decides it under both versions, and the decisions and the rules its
   reasons name are the change (the enumeration's key: before, after, rules before, rules after). The
   change's region, both versions deciding so and naming so (`Encoding.decides`), is blocked and the
   solver asked again, until it finds none.
2. their words. The cells (action x purpose class x category class) of a change's region and, on the
   attributes the edited rules read, the condition under which a request of a cell changes so: the
   region projected as the enumeration projects its classes. The solver finds it as boxes: from a request
   of the region, one dimension at a time (those attributes, then action, purpose, category), the values
   the dimension can take with the others at the request's, then of those only the values for which no
   request of the box (the other attributes as the request has them) leaves the region. Each box lies
   in the region; the box is blocked and the next request sought outside every box, so together they
   cover it. Per cell, the union of the boxes over it is the condition, worded as the enumeration words
   its own (`space.describe`).
3. requests whose keys one version's vocabulary knows and the other's does not: refused by one, decided
   by the rules of the other; grouped, as the enumeration groups them, by the allows that can apply to
   them (a question per allow, or per allow and cell when the allow reads the cell's keys).

Bounded: each question by `encoding.RLIMIT`, the whole diff by `BUDGET` (z3's resource units, counted,
not a clock). A budget spent before the search ends is said in words: the changes found are reported
with a note that there may be more, and none found is "could not be decided within the budget", never
"no decision changes". The solver does not count requests: its changes carry no count.
"""

from __future__ import annotations

import itertools
import json
import math
from dataclasses import dataclass, field
from typing import Any, Sequence

import z3

from .changes import Change, cases_of, condition_text, ids, worded_nodes
from .space.model_keys import is_cell
from .space import NOT_ACCEPTED, Cell, Space, Stats, read_paths, rule_conditions
from .space.encoding import RLIMIT, Dim, Encoding, Formula, Undecided, f_and, f_not, f_or
from .space.reach import Reach
from .space.touched import touched

BUDGET = 40 * RLIMIT  # z3's resource units one diff may spend in all (each question: RLIMIT at most)
NARROW = True  # encode only the rules an edit can make a difference through (space/touched.py)
WORDED = 20_000  # choices of the edited rules' attributes a cell's condition is worded from at once

Box = list[set[int]]  # a set of indexes per dimension searched (attributes, then action, purpose, category)


@dataclass
class Solved:
    changes: list[Change] = field(default_factory=list)
    stats: Stats = field(default_factory=lambda: Stats(method="solver"))
    notes: set[str] = field(default_factory=set)
    complete: bool = True  # False: the budget ran out before the search ended (there may be more changes)


class _Search:
    """The encoding's questions, within the diff's budget."""

    def __init__(self, encoding: Encoding, budget: int):
        self.encoding = encoding
        self.budget = budget
        self.start = encoding.spent()

    def check(self, *assumptions: Formula) -> z3.ModelRef | None:
        spent = self.encoding.spent() - self.start
        if spent > self.budget:
            raise Undecided(f"the diff's budget is spent ({spent:,} of {self.budget:,} resource units)")
        return self.encoding.check(*assumptions)


def solve(space: Space, edited: set[str], budget: int | None = None, narrow: bool | None = None) -> Solved:
    """The changes between the space's two versions (OLD, NEW), as diff.py reports them, found by z3 within
    `budget` resource units (BUDGET, read when called). `edited`: the rules the edit added, removed or changed
    (`diff.edited_rules`). `narrow` (NARROW, read when called): encode only the rules the edit can make a
    difference through (space/touched.py); off, every rule of both versions, for the same answer."""
    solved = Solved(notes=set(space.notes))
    decided = space.stats.decided
    encoding, search = None, None
    found: list[tuple[Change, Formula, z3.ModelRef]] = []
    try:
        reach = Reach(space)
        only = touched(space, edited, reach) if (NARROW if narrow is None else narrow) else None
        encoding = Encoding(space, only=only, reach=reach)
        encoding.selects_latest()  # the current versions, as a request they are both in force for selects them
        solved.stats.dimensions = len(encoding.dims)
        solved.stats.cell_words = space.stats.cell_words
        search = _Search(encoding, BUDGET if budget is None else budget)
        _vocabulary_changes(space, search, solved)
        _decision_changes(space, search, solved, found)
    except Undecided as error:
        solved.complete = False
        more = "there may be more changes than those listed" if solved.changes else \
            "whether any decision changes could not be decided within the budget"
        solved.notes.add(f"the search stopped before its end: {error}; {more}")
    if search is not None:
        _word_changes(space, search, solved, found, edited)  # the changes found, even when the search stopped
    solved.stats.questions = encoding.questions if encoding is not None else 0
    solved.stats.decided = space.stats.decided - decided
    return solved


def _true(model: z3.ModelRef, formula: Formula) -> bool:
    return formula if isinstance(formula, bool) else z3.is_true(model.eval(formula, model_completion=True))


def _cell(space: Space, indexes: Sequence[int]) -> Cell:
    a, p, c = indexes
    return Cell(space.actions[a], space.purposes[p], space.categories[c], space.model)


# ---------------------------------------------------------------- changes the rules make


def _decision_changes(space: Space, search: _Search, solved: Solved,
                      found: list[tuple[Change, Formula, z3.ModelRef]]) -> None:
    """Every change of decision between the two versions (both decide the request), added to `solved` and,
    with its region and the model of its example, to `found`."""
    encoding = search.encoding
    old, new = encoding.verdicts
    # keys both vocabularies know (the others: _vocabulary_changes), and decided otherwise, or decided by one
    # version and refused by the other (a value it does not accept: refused -> allowed, say, when an `except` is
    # dropped or an attribute's type widened)
    differ = f_and([old.known, new.known,
                    f_or([f_and([old.allow, new.deny]), f_and([old.deny, new.allow]),
                          f_and([old.not_accepted, f_not(new.not_accepted)]),
                          f_and([f_not(old.not_accepted), new.not_accepted])])])
    blocked: list[Formula] = []
    cites = {r.id: r.cite for v in space.versions for r in v.rules if r.cite}
    while True:
        model = search.check(differ, *blocked)
        if model is None:
            return
        model = encoding.lightest(model, differ, *blocked)  # an example reads best with the fewest attributes
        example = encoding.request(model)
        before, after = space.decide(0, example), space.decide(1, example)
        named = [_named(before), _named(after)]
        region = f_and([encoding.decides(0, before.decision, named[0]), encoding.decides(1, after.decision, named[1])])
        if before.decision == after.decision or not _true(model, region):
            raise RuntimeError(f"the decision space and the engine disagree on {json.dumps(example)}: the engine "
                               f"says {before.decision} before, {after.decision} after")
        change = Change(before.decision, after.decision, named[0], named[1], None, example=example, cites=cites)
        solved.changes.append(change)
        region = encoding.named(f"diff.change.{len(found)}", region)  # asked about many times: named once
        found.append((change, region, model))
        blocked.append(f_not(region))


def _named(outcome) -> tuple[str, ...]:
    """The rules a change names for an outcome: its reasons', or NOT_ACCEPTED for a request the version refuses
    (`differ` asks only for keys both versions know: the refusal is of a value, as `Encoding.decides` reads)."""
    return (NOT_ACCEPTED,) if outcome.decision == "refused" else ids(outcome)


def _word_changes(space: Space, search: _Search, solved: Solved, found: list[tuple[Change, Formula, z3.ModelRef]],
                  edited: set[str]) -> None:
    """Each change's cases, once every change is found (a budget spent on words leaves no change out)."""
    encoding = search.encoding
    starved = False
    for change, region, example in found:
        nodes = worded_nodes(space, edited, change)
        dims = [*(encoding.nodes[n] for n in nodes), encoding.action, encoding.purpose, encoding.category]
        boxes: list[Box] = []
        if not starved:
            try:
                _boxes(search, region, dims, boxes)
            except Undecided as error:
                starved = True
                solved.notes.add(f"the budget ran out while the changes were put into words ({error}): the "
                                 f"cases listed are some of each change's requests, maybe not all")
        if not boxes:
            boxes.append([{d.value(example)} for d in dims])  # at least the example's
        change.cases = cases_of(space, _worded(space, nodes, boxes))
    if found and encoding.dates.days:
        solved.notes.add("a change that depends on dates is worded for the dates of its example (the words name "
                         "no day): the example shows them")


def _boxes(search: _Search, region: Formula, dims: list[Dim], boxes: list[Box]) -> None:
    """Boxes over these dimensions (some attributes, then action, purpose, category) added to `boxes`, each
    inside the region's projection on them, until they cover it."""
    others = [d for d in search.encoding.nodes if all(d is not a for a in dims)]
    outside: list[Formula] = []
    while True:
        model = search.check(region, *outside)
        if model is None:
            return
        point = [d.value(model) for d in dims]
        fixed = [d.among([d.value(model)]) for d in others]  # the request's other attributes, kept
        fixed += search.encoding.dates_at(model)  # and its dates (classes do not tell days apart: words cannot)
        box: Box = [{p} for p in point]
        for i, dim in enumerate(dims):
            at_point = [d.among([point[j]]) for j, d in enumerate(dims) if j != i]
            values = {point[i]}
            while len(values) < dim.size:  # the values this dimension takes in the region, the rest as at the point
                other = search.check(region, *fixed, *at_point, f_not(dim.among(values)))
                if other is None:
                    break
                values.add(dim.value(other))
            while True:  # of those, the ones for which the whole box stays in the region
                box[i] = values
                leaving = search.check(f_not(region), *fixed, *(d.among(b) for d, b in zip(dims, box)))
                if leaving is None:
                    break
                bad = dim.value(leaving)
                if bad == point[i]:
                    raise RuntimeError("the solver left a box it had found inside the region")
                values = values - {bad}
        boxes.append(box)
        outside.append(f_not(f_and([d.among(b) for d, b in zip(dims, box)])))


def _worded(space: Space, nodes: tuple[int, ...], boxes: list[Box]) -> dict[str, list[Cell]]:
    """The boxes as cells under conditions: per cell, the union of the boxes over it, worded. The words are
    those of the union alone, never of the boxes that make it up (they follow the models the solver happens
    to find): one set of requests, one wording, whichever encoding found it, so cells worded alike are one
    case on both routes."""
    k = len(nodes)
    over: dict[tuple[int, ...], list[int]] = {}  # cell -> the boxes over it
    for b, box in enumerate(boxes):
        for cell in itertools.product(*(sorted(s) for s in box[k:])):
            over.setdefault(cell, []).append(b)
    cells_of: dict[tuple[int, ...], list[tuple[int, ...]]] = {}
    for cell, under in over.items():
        cells_of.setdefault(tuple(under), []).append(cell)
    forms: dict[frozenset, Form] = {}
    by_text: dict[str, list[Cell]] = {}
    for which, cells in cells_of.items():
        parts = [boxes[b][:k] for b in which]
        choices = _union(parts, WORDED)
        if choices is not None:
            text = condition_text(space, nodes, choices)
        else:  # too many choices to word at once: word the union's disjoint boxes, one by one
            texts = [_box_text(space, nodes, part) for part in _paths(_form(_rows(parts), forms))]
            text = "" if not all(texts) else texts[0] if len(texts) == 1 else " or ".join(f"({t})" for t in texts)
        by_text.setdefault(text, []).extend(_cell(space, c) for c in sorted(cells))
    return by_text


def _union(parts: list[Box], limit: int) -> set[tuple[int, ...]] | None:
    """The choices these boxes hold, or None when they are more than `limit` (counted without repeats: boxes
    overlap, and how much depends on the models found)."""
    out: set[tuple[int, ...]] = set()
    for part in parts:
        if math.prod(len(s) for s in part) > limit:
            return None
        out.update(itertools.product(*part))
        if len(out) > limit:
            return None
    return out


Form = tuple  # the union of some boxes, canonical: ((values, the form of what they leave), ...); () for "any"
Rows = frozenset  # boxes, each a tuple of frozensets of indexes


def _rows(parts: list[Box]) -> Rows:
    return frozenset(tuple(frozenset(s) for s in part) for part in parts)


def _form(rows: Rows, memo: dict[frozenset, Form]) -> Form:
    """The union of these boxes as an ordered decision diagram: the first dimension's values grouped by the
    union they leave over the others (its form, likewise). Equal unions have equal forms, however the boxes
    cut them (a reduced ordered diagram is canonical)."""
    if not rows or not next(iter(rows)):
        return ()
    found = memo.get(rows)
    if found is None:
        groups: dict[Form, set[int]] = {}
        for value in set().union(*(row[0] for row in rows)):
            rest = frozenset(row[1:] for row in rows if value in row[0])
            groups.setdefault(_form(rest, memo), set()).add(value)
        found = memo[rows] = tuple(sorted((tuple(sorted(values)), form) for form, values in groups.items()))
    return found


def _paths(form: Form) -> list[list[set[int]]]:
    """A form as disjoint boxes: one per path through it."""
    if not form:
        return [[]]
    return [[set(values), *rest] for values, below in form for rest in _paths(below)]


def _box_text(space: Space, nodes: tuple[int, ...], part: list[set[int]]) -> str:
    words = [condition_text(space, (n,), {(c,) for c in values}) for n, values in zip(nodes, part)]
    return " and ".join(f"({w})" if " or " in w else w for w in words if w)


# ---------------------------------------------------------------- changes the vocabularies make


def _known(space: Space, version: int) -> tuple[set[int], set[int], set[int]]:
    keys = space.known[version]
    return ({i for i, c in enumerate(space.actions) if c.rep in keys["action"]},
            {i for i, c in enumerate(space.purposes) if c.rep in keys["purpose"]},
            {i for i, c in enumerate(space.categories) if c.rep in keys["category"]})


def _vocabulary_changes(space: Space, search: _Search, solved: Solved) -> None:
    """Cells only one version's vocabulary knows: refused by the other, decided by its rules; one change per
    set of allows that can apply to them (the enumeration's grouping)."""
    encoding = search.encoding
    known = [_known(space, 0), _known(space, 1)]
    for version in (0, 1):
        mine, theirs = known[version], known[1 - version]
        if all(a <= b for a, b in zip(mine, theirs)):
            continue
        only: set[tuple[int, ...]] = set()
        for d in range(3):  # the cells with some key the other vocabulary does not know: three boxes
            ranges = [sorted(mine[j] - theirs[j]) if j == d else sorted(mine[j]) for j in range(3)]
            only.update(itertools.product(*ranges))
        can: dict[Any, bool] = {}
        by_allows: dict[tuple[str, ...], list[Cell]] = {}
        rules = space.versions[version]
        for indexes in sorted(only):
            cell = _cell(space, indexes)
            candidates = rules.candidates_for(cell.action.rep, cell.purpose.rep, cell.category.rep)
            allowing = []
            for rule in candidates.allows:
                reads_cell = any(is_cell(space.model, p) for p in read_paths(rule_conditions(rule)))
                key = (rule.id, indexes if reads_cell else None)
                if key not in can:
                    at = [encoding.action.among([indexes[0]]), encoding.purpose.among([indexes[1]]),
                          encoding.category.among([indexes[2]])]
                    can[key] = search.check(*at, encoding.verdicts[version].applies[rule.id]) is not None
                if can[key]:
                    allowing.append(rule.id)
            by_allows.setdefault(tuple(sorted(allowing)), []).append(cell)
        for allows, cells in by_allows.items():
            refused = ("request.refused",)
            change = Change("refused", "decided", refused, allows, None) if version else \
                Change("decided", "refused", allows, refused, None)
            change.example = cells[0].request()
            got = [space.decide(v, change.example).decision for v in (0, 1)]
            if ["decided" if d != "refused" else d for d in got] != [change.before, change.after]:
                raise RuntimeError(f"the decision space and the engine disagree on {json.dumps(change.example)}")
            change.cites = {r.id: r.cite for r in rules.rules if r.cite}
            change.cases = cases_of(space, {"": cells})
            solved.changes.append(change)
