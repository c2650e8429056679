"""The decision space as formulas for a solver (z3): each dimension a variable, each rule's verdict a formula.

Enumerating the space (space.py) costs the product of the classes of the
attributes one group of rules reads together: one rule reading twelve
attributes is already too many. The encoding keeps what the space computes
exactly, its dimensions (the key classes of action, purpose and category,
the value classes of each attribute, the joint values of a looked-up part),
and lets z3 search their product instead of walking it:

- a dimension of n classes is n - 1 Booleans in order encoding (`>= i`); a
  set of classes is a union of runs of consecutive indexes, two literals
  each. Numbers' classes are in order, so a comparison is one run.
- an atomic test (`age < 18`, `recipient.type == "affiliate"`) is a truth
  table over the classes of the dimensions it reads, made by the ENGINE's
  own closure (`conditions.compile_test`, with the side a broad key is read
  on, under the rule's polarity) on each class's representative, with the
  version's registers looked up: true, false, unknown or failed. So an atom
  cannot mean here what it does not mean to the engine.
- a test that reads a date (`collected_at + 2 years < now`) is no table:
  no finite set of classes tells every day apart. Each attribute that holds
  dates (`Space.timed`) has a class "any date" whose day is three integers
  of the solver, and the test is read over them as the engine evaluates it
  (space/timed.py, on the calendar of space/calendar.py). The solver is
  then z3's default one, not QF_FD (which gives up on integer division).
- `and`, `or`, `not`, `when` and `unless` combine the tables as the engine's
  closures combine values: three-valued (Kleene) logic, left to right, a
  failure stopping the evaluation where it happens (`false and <fails>` is
  false; `true and <fails>` fails, and the rule fails closed).
- a rule takes part when its target reaches the request's keys (a deny's
  keys overlap them, an allow's cover them: `taxonomy.reaches`, one
  dimension at a time as `CompiledRule.reaches` reads them); a version
  allows when no rule that takes part fails, no deny applies and an allow
  applies, and the request is one it does not refuse (unknown keys, an
  `except` of a lookup).

Requests name one data category, as the space's do. What the solver finds
is a model: one class per dimension, which `request` turns into a request
of representatives (and of the model's days, for a class of dates); every tool re-decides it with the engine before it
reports it. The tests hold the encoding equal to the engine request by
request (`Encoding.predict`), and to the enumeration on small sets.

Bounded: each question to the solver has a resource limit (`RLIMIT`, z3's
deterministic count of its work, not a clock); a question it cannot settle
within it is `Undecided`, which the tools report in words and never as
"no such request" (fail safe).
"""

from __future__ import annotations

import copy
import itertools
from dataclasses import dataclass
from datetime import date
from typing import Any, Callable, Iterable, Sequence

import z3

from pdp.base.dates import day_of
from pdp.base.errors import RequestError
from pdp.base.paths import set_at, value_at
from pdp.engine.conditions import compile_test, polarity
from pdp.engine.decision import DEFAULT_DENY
from pdp.engine.requested import EXACT, Keys, flip
from pdp.lang import ast, printer
from pdp.vocab.request import apply_lookups
from .cells import Cell
from .model_keys import KINDS, fill_key
from .reach import Reach, Reached
from .reading import compares_dates, compares_lists, pairs_requested, read_paths, rule_conditions
from .space import COLLECTED_AT, Space
from .calendar import Moment, compared
from .timed import Dates, Undecidable

Formula = Any  # a z3 Boolean expression, or a Python bool when it folds to a constant
MEMO = True  # memoise what the encoding builds again and again (Dim.among, atoms' tables across versions); read when built
RLIMIT = 20_000_000  # z3's resource units per question (deterministic; a few seconds of work at most)
# z3 compacts each model it hands out (its function graphs): with the encoding's many named formulas that cost
# more than the question itself when a diff puts its changes into words (a model per question); the values
# are the same either way. A process-wide z3 setting, set when an encoding is built; read then.
COMPACT_MODELS = False
TABLE_LIMIT = 200_000  # representatives one atomic test may be evaluated on (the product of its dimensions)
REQUESTED_PATHS = {("action",), ("purpose",), ("data_categories",)}


class Undecided(Exception):
    """The solver could not settle a question within its budget: the answer is unknown, never "no"."""


# ---------------------------------------------------------------- folding Boolean connectives


def _connective(make: Callable, items: list) -> z3.BoolRef:
    """z3's `Or` / `And` of Boolean expressions, built by the C API directly: z3.Or coerces and checks each
    argument in Python, which is most of what encoding a large set would cost."""
    ctx = items[0].ctx
    args = (z3.Ast * len(items))()
    for i, item in enumerate(items):
        args[i] = item.as_ast()
    return z3.BoolRef(make(ctx.ref(), len(items), args), ctx)


def _fold(items: Iterable[Formula], absorbing: bool, make: Callable) -> Formula:
    """`or` (absorbing True) or `and` (absorbing False), constants folded away."""
    out = []
    for item in items:
        if item is absorbing:
            return absorbing
        if item is not (not absorbing):
            out.append(item)
    if not out:
        return not absorbing
    return out[0] if len(out) == 1 else _connective(make, out)


def f_or(items: Iterable[Formula]) -> Formula:
    return _fold(items, True, z3.Z3_mk_or)


def f_and(items: Iterable[Formula]) -> Formula:
    return _fold(items, False, z3.Z3_mk_and)


def f_not(item: Formula) -> Formula:
    if isinstance(item, bool):
        return not item
    ctx = item.ctx  # z3.Not by the C API directly: z3.Not coerces and checks its argument in Python
    return z3.BoolRef(z3.Z3_mk_not(ctx.ref(), item.as_ast()), ctx)


def as_z3(item: Formula) -> z3.BoolRef:
    return z3.BoolVal(item) if isinstance(item, bool) else item


@dataclass(frozen=True)
class Value:
    """Where a condition is true, false, or fails (raises); everywhere else it is unknown."""

    t: Formula
    f: Formula
    e: Formula = False

    def negated(self) -> Value:
        return Value(self.f, self.t, self.e)

    def equals(self, wanted: bool) -> Formula:
        return self.t if wanted else self.f


def junction(items: Sequence[Value], decisive: bool) -> Value:
    """`and` (decisive False) or `or` (decisive True), as `conditions._junction` evaluates it: left to right, the
    first item equal to the decisive value settles it, the first that fails makes it fail; otherwise unknown if
    any item is, else the other value."""
    settled, failed = [], []
    before: list[Formula] = []  # the items so far, none of which stopped the evaluation
    for item in items:
        going = f_and(before)
        settled.append(f_and([going, item.equals(decisive)]))
        failed.append(f_and([going, item.e]))
        before.append(f_not(f_or([item.equals(decisive), item.e])))
    rest = f_and([item.equals(not decisive) for item in items])
    if decisive:
        return Value(f_or(settled), rest, f_or(failed))
    return Value(rest, f_or(settled), f_or(failed))


# ---------------------------------------------------------------- dimensions


class Dim:
    """One dimension of the space: an index in [0, size), as `size - 1` Booleans "index >= i" (order encoding)."""

    def __init__(self, name: str, size: int, fill: Callable[[dict, int], None], memo: bool = True):
        self.name, self.size, self.fill = name, size, fill
        self.ge: list[Any] = [True] + [z3.Bool(f"{name}>={i}") for i in range(1, size)]
        self._decls: list | None = None  # the Booleans' declarations, for reading a model through the C API
        # the formula of each set of indexes asked for (rules sharing a target, atoms sharing a table ask again);
        # None: built anew each time (MEMO off)
        self._among: dict[tuple[int, ...], Formula] | None = {} if memo else None

    def constraints(self) -> list:
        return [z3.Implies(self.ge[i + 1], self.ge[i]) for i in range(1, self.size - 1)]

    def among(self, indexes: Iterable[int]) -> Formula:
        """The index is one of these."""
        chosen = tuple(sorted(set(indexes)))
        if self._among is None:
            return self._runs(chosen)
        found = self._among.get(chosen)
        if found is None:
            found = self._among[chosen] = self._runs(chosen)
        return found

    def _runs(self, chosen: tuple[int, ...]) -> Formula:
        if not chosen:
            return False
        if len(chosen) == self.size:
            return True
        runs: list[list[int]] = []
        for i in chosen:
            if runs and runs[-1][1] == i - 1:
                runs[-1][1] = i
            else:
                runs.append([i, i])
        return f_or(f_and([self.ge[lo] if lo else True, f_not(self.ge[hi + 1]) if hi + 1 < self.size else True])
                    for lo, hi in runs)

    def value(self, model: z3.ModelRef) -> int:
        """The index a model gives (the Booleans are monotone: the largest i with "index >= i" true)."""
        if self._decls is None:
            self._decls = [None] + [z3.Z3_get_app_decl(g.ctx.ref(), g.as_ast()) for g in self.ge[1:]]
        lo, hi = 0, self.size - 1
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if truth(model, self._decls[mid]):
                lo = mid
            else:
                hi = mid - 1
        return lo


def truth(model: z3.ModelRef, decl) -> bool:
    """A Boolean constant's value in a model, through the C API (z3's `eval` costs a hundred times more); one
    the model leaves open is false (any value would do)."""
    ctx = model.ctx.ref()
    found = z3.Z3_model_get_const_interp(ctx, model.model, decl)
    return bool(found) and z3.Z3_get_bool_value(ctx, found) == z3.Z3_L_TRUE


def region(dims: Sequence[Dim], points: set[tuple[int, ...]]) -> Formula:
    """A formula true exactly where the dimensions' indexes are one of the points."""
    if not points:
        return False
    if not dims:
        return True
    if len(dims) == 1:
        return dims[0].among(p[0] for p in points)
    by_rest: dict[frozenset, list[int]] = {}
    rests: dict[int, set] = {}
    for p in points:
        rests.setdefault(p[0], set()).add(p[1:])
    for first, rest in rests.items():
        by_rest.setdefault(frozenset(rest), []).append(first)
    return f_or(f_and([dims[0].among(firsts), region(dims[1:], set(rest))]) for rest, firsts in by_rest.items())


# ---------------------------------------------------------------- the encoding


def reads_alike(one, other) -> bool:
    """Do two versions read a request alike (an atom's table is the same under both)? The same vocabulary (and
    so the same broad keys), registers and lookups."""
    return one is other or (one.vocabulary == other.vocabulary and one.data == other.data
                            and one.lookups == other.lookups)


@dataclass
class Verdicts:
    """One version's formulas: per rule whether it takes part and applies, and whether it fails."""

    applies: dict[str, Formula]  # rule id -> takes part and applies
    fails: dict[str, Formula]  # rule id -> takes part and cannot be evaluated
    reach: dict[str, Formula]  # rule id -> its target reaches the request's keys
    refused: Formula  # the version refuses the request (unknown keys, an `except`)
    not_accepted: Formula  # the version refuses a value the request states (its type, an `except`); keys aside
    known: Formula  # the version's vocabulary knows the request's keys
    failing: Formula  # some rule fails
    denying: Formula  # some deny applies
    allowing: Formula  # some allow applies

    @property
    def allow(self) -> Formula:
        return f_and([f_not(self.refused), f_not(self.failing), f_not(self.denying), self.allowing])

    @property
    def deny(self) -> Formula:
        return f_and([f_not(self.refused), f_or([self.failing, self.denying, f_not(self.allowing)])])


class Encoding:
    """A space's versions (and probes) as formulas over its dimensions, and a z3 solver holding them."""

    def __init__(self, space: Space, *, rlimit: int | None = None, only: Sequence[frozenset[str]] | None = None,
                 reach: Reach | None = None, unencoded_free: bool = False):
        """`only`: per version, the ids of the rules to encode (None: all of them). The verdicts then hold those
        rules alone, and are the whole version's only where no other rule takes part: the caller's claim to
        make (`touched.touched` makes it for a diff). `reach`: the space's `Reach`, if the caller has one.

        A rule with a test no table decides (reading.compares_dates) raises Undecided, unless `unencoded_free`:
        its conditions are then free (they may hold, or fail, anywhere its target reaches), so a question about
        the other rules is answered for every way it could go, and the rule's id is in `unencoded`: the caller
        claims nothing of it (solved.solve_facts)."""
        self.space = space
        self.unencoded_free = unencoded_free
        self.unencoded: set[str] = set()
        self.only = only
        self.reaching = Reach(space) if reach is None else reach
        self.rlimit = RLIMIT if rlimit is None else rlimit  # read when built (tests lower it)
        self.questions = 0  # checks asked of the solver
        z3.set_param("model.compact", COMPACT_MODELS)
        self.solver = self._new_solver()
        base = Cell(space.actions[0], space.purposes[0], space.categories[0], space.model).request()
        self._base = base

        def key_fill(kind: str, classes):
            def fill(env: dict, i: int) -> None:
                fill_key(space.model, env, kind, classes[i].rep)
            return fill

        self.memo = MEMO
        self.action = Dim("action", len(space.actions), key_fill("action", space.actions), self.memo)
        self.purpose = Dim("purpose", len(space.purposes), key_fill("purpose", space.purposes), self.memo)
        self.category = Dim("category", len(space.categories), key_fill("category", space.categories),
                            self.memo)
        self.nodes = [Dim(f"{n}:{node.name}", len(node.choices), node.fill, self.memo)
                      for n, node in enumerate(space.nodes)]
        for dim in self.dims:
            for constraint in dim.constraints():
                self.solver.add(constraint)
        self._tables: dict[tuple, Value] = {}
        self._local: z3.Solver | None = None  # alone's
        self.dates = Dates(self._dated_dim, self._constrain, lambda dim, i: dim.among([i]))
        self._restrictions: list = []
        self._keys = [Keys.of(v.vocabulary) for v in space.versions]
        self._envs: dict[tuple, list] = {}
        # per version, the first version that reads requests alike (the same vocabulary, registers and lookups):
        # an atom's table is the same in both (with MEMO off, each version its own)
        self._reader = [i if not self.memo else next(j for j in range(i + 1) if reads_alike(v, space.versions[j]))
                        for i, v in enumerate(space.versions)]
        self.raw: dict[int, Formula] = {}  # a named Boolean (by its id) -> the formula it stands for
        self.verdicts = [self._version(i, v) for i, v in enumerate(space.versions)]
        self.probes = [self._probe(p) for p in space.probes]

    @property
    def dims(self) -> list[Dim]:
        return [self.action, self.purpose, self.category, *self.nodes]

    def _new_solver(self) -> z3.Solver:
        """A solver of the dimensions' Booleans (QF_FD, z3's fastest on them), or, when a test of time reads a
        date, of the dates' integers too (the default solver: QF_FD gives up on integer division)."""
        solver = z3.Solver() if self.space.timed else z3.SolverFor("QF_FD")
        solver.set("rlimit", self.rlimit)
        return solver

    def _constrain(self, constraints: list) -> None:
        """Constraints of a date (a valid day of the calendar) in every solver of the encoding."""
        for solver in (self.solver, self._local):
            if solver is not None:
                solver.add(*constraints)

    def collected(self, since: str | None, before: str | None, absent: bool) -> Formula:
        """`collected_at` is a day in [since, before) (None: unbounded), or, if `absent`, not given: how a request
        selects a version (§11, space/selection.py) when a rule reads the day. True when no rule reads it (the
        caller then sets it: `VersionChoice.apply`)."""
        if self.space.node_of(COLLECTED_AT) is None or self._dated_dim(COLLECTED_AT) is None:
            return True
        dim, classes = self._dated_dim(COLLECTED_AT)  # type: ignore[misc]
        day = self.dates.day(COLLECTED_AT).moment()
        bounds = [compared(">=", day, Moment.of(date.fromisoformat(since)))] if since else []
        bounds += [compared("<", day, Moment.of(date.fromisoformat(before)))] if before else []
        dated = f_and([dim.among(i for i, c in enumerate(classes) if c.dates), *bounds])
        return f_or([dated, dim.among([0])]) if absent else dated

    def dates_at(self, model: z3.ModelRef) -> list[Formula]:
        """Each date of the encoding on the day the model gives it."""
        return [day.equals(day.of(model)) for day in self.dates.days.values()]

    def restrict(self, formula: Formula) -> None:
        """Ask only of requests where the formula holds (every solver of the encoding)."""
        if formula is not True:
            self._restrictions.append(as_z3(formula))
            self._constrain([as_z3(formula)])

    def selects_latest(self) -> None:
        """Ask only of requests that the latest version of the space is in force for (`collected_at` absent, or
        on its effective date or after): those its rules decide, not an earlier version's (§11)."""
        latest = max((v.effective for v in self.space.versions if v.effective), default=None)
        subject = self.action.among(i for i, c in enumerate(self.space.actions)
                                    if all(c.rep in v.vocabulary.subject_requests for v in self.space.versions))
        self.restrict(f_or([subject, self.collected(latest, None, True)]))

    def _dated_dim(self, parts: tuple[str, ...]) -> tuple[Dim, list] | None:
        """The dimension of an attribute that holds dates, and its value classes (None: it is one attribute of a
        looked-up part, whose values a register may give)."""
        node = self.space.node_of(parts)
        if node is None or len(self.space.nodes[node].domains) != 1 or self.space.nodes[node].name != ".".join(parts):
            return None
        return self.nodes[node], list(self.space.nodes[node].domains[0].classes)

    # -- atoms, conditions, rules -----------------------------------------------------------

    def _dim_of(self, parts: tuple[str, ...]) -> Dim | None:
        for kind, dim in zip(KINDS, (self.action, self.purpose, self.category)):
            if self.space.model.KEY_PATHS.get(kind) == parts:
                return dim
        node = self.space.node_of(parts)
        return None if node is None else self.nodes[node]

    def _requests(self, version: int, dims: tuple[Dim, ...]) -> list[tuple[tuple[int, ...], dict | None]]:
        """Every choice of classes of these dimensions and its request (the other dimensions' first classes), as
        `version`'s conditions read it (None: refused)."""
        key = (version, tuple(d.name for d in dims))
        found = self._envs.get(key)
        if found is not None:
            return found
        lookups = self.space.versions[version].lookups
        found = []
        for choice in itertools.product(*(range(d.size) for d in dims)):
            env: dict | None = copy.deepcopy(self._base)
            assert env is not None
            for dim, i in zip(dims, choice):
                dim.fill(env, i)
            if lookups:
                try:
                    env = apply_lookups(env, lookups)
                except RequestError:  # the version refuses such a request (an `except`): Verdicts.refused says so
                    env = None
            found.append((choice, env))
        self._envs[key] = found
        return found

    def _atom(self, version: int, atom: ast.Expr, side: str, absent_is_value: bool) -> Value:
        """The engine's closure for one atomic test, tabled over the classes of what it reads."""
        version = self._reader[version]  # a version that reads requests alike builds the same table
        key = (version, printer.expression(atom), side, absent_is_value)
        found = self._tables.get(key)
        if found is not None:
            return found
        pv = self.space.versions[version]
        untold = self.space.untold_test(atom)
        if untold is not None:
            raise Undecided(f"the test `{printer.expression(atom)}`: {untold}")
        if pairs_requested(atom):  # no finite table of classes decides it (reading.pairs_requested)
            raise Undecided(f"the test `{printer.expression(atom)}` compares a key the request names with another of "
                            "its attributes, which the analysis does not read")
        if compares_lists(atom, self.space.lists):
            raise Undecided(f"the test `{printer.expression(atom)}` compares a list the request gives, which the "
                            "analysis does not encode")
        if self._timed(atom):  # no finite table of classes decides it: the dates themselves do (space/timed.py)
            value = self._timed_atom(atom, pv.data, side, absent_is_value)
            if value is not None:
                self._tables[key] = value
                return value
        test = compile_test(atom, pv.data, absent_is_value, side, self._keys[version] if side != EXACT else None)
        dims = tuple(sorted({d for p in read_paths([atom]) if (d := self._dim_of(p)) is not None},
                            key=lambda d: d.name))
        size = 1
        for d in dims:
            size *= d.size
        if size > TABLE_LIMIT:
            raise Undecided(f"the test `{printer.expression(atom)}` reads {', '.join(d.name for d in dims)} together: "
                            f"{size:,} combinations of classes (limit {TABLE_LIMIT:,})")
        points: dict[Any, set[tuple[int, ...]]] = {True: set(), False: set(), "error": set()}
        for choice, env in self._requests(version, dims):
            if env is None:
                continue  # refused: decided by no rule (Verdicts.refused)
            got: Any
            try:
                got = test(env)
            except Exception:  # noqa: BLE001 - the engine fails closed on anything, so the table says "fails"
                got = "error"
            if got is not None:
                points[got].add(choice)
        value = Value(region(dims, points[True]), region(dims, points[False]), region(dims, points["error"]))
        self._tables[key] = value
        return value

    def _timed(self, atom: ast.Expr) -> bool:
        timed = self.space.timed
        return compares_dates(atom, timed) or any(p in timed for p in read_paths([atom]))

    def _timed_atom(self, atom: ast.Expr, data: dict, side: str, absent_is_value: bool) -> Value | None:
        """A test that reads a date, as formulas over the dates (None: its table of classes is exact, as for
        `is present` or a truth test). Raises Undecided for what is neither (`under`, a list the request gives)."""
        if any(isinstance(node, ast.Index) for node in ast.walk(atom)):  # a day looked up in policy data
            raise Undecided(f"the test `{printer.expression(atom)}` reads a date together with policy data looked up "
                            "by a value, which the analysis does not encode")
        if isinstance(atom, (ast.Presence, ast.Truth)):
            return None
        if not isinstance(atom, (ast.Compare, ast.Member)) or side != EXACT and read_paths([atom]) & REQUESTED_PATHS:
            raise Undecided(f"the test `{printer.expression(atom)}` reads a date in a way the analysis does not encode")
        try:
            if isinstance(atom, ast.Member):
                return Value(*self.dates.member(atom, data, absent_is_value))
            return Value(*self.dates.compare(atom, data, absent_is_value))
        except Undecidable as error:
            raise Undecided(f"the test `{printer.expression(atom)}`: {error}") from None

    def _expr(self, version: int, expr: ast.Expr, side: str, absent_is_value: bool) -> Value:
        """A condition, combined as `conditions._Tests` combines its parts (a `not` turns the side over)."""
        if isinstance(expr, (ast.And, ast.Or)):
            return junction([self._expr(version, i, side, absent_is_value) for i in expr.items],
                            isinstance(expr, ast.Or))
        if isinstance(expr, ast.Not):
            return self._expr(version, expr.operand, flip(side), absent_is_value).negated()
        return self._atom(version, expr, side, absent_is_value)

    def conditions(self, version: int, when: Sequence[ast.Expr], unless: Sequence[ast.Expr], effect: str | None,
                   absent_is_value: bool = False) -> tuple[Formula, Formula]:
        """(holds, fails) of a rule's clauses, as `conditions.compile_rule_test` runs them: every `when` true,
        then every `unless` false, the first that is not stopping it (and failing, if it fails)."""
        clauses = [(self._expr(version, e, polarity(effect, "when") if effect else EXACT, absent_is_value), True)
                   for e in when]
        clauses += [(self._expr(version, e, polarity(effect, "unless") if effect else EXACT, absent_is_value), False)
                    for e in unless]
        holds: list[Formula] = []
        fails: list[Formula] = []
        going: list[Formula] = []
        for value, wanted in clauses:
            fails.append(f_and([*going, value.e]))
            holds.append(value.equals(wanted))
            going.append(value.equals(wanted))
        return f_and(holds), f_or(fails)

    def _reach(self, rule) -> Formula:
        """Does the rule's target take part for the request's keys? (CompiledRule.reaches, one dimension at a
        time: an action it names, a purpose and a category some key of it reaches)"""
        return f_and(dim.among(classes) if classes is not None else True
                     for dim, classes in zip((self.action, self.purpose, self.category), self.reach_classes(rule)))

    def reach_classes(self, rule) -> Reached:
        """The action, purpose and category classes the rule's target reaches (None: every class)."""
        return self.reaching.classes(rule)

    def _name(self, name: str, formula: Formula) -> Formula:
        """A Boolean standing for the formula (asserted equal), so that questions can refer to it cheaply."""
        if isinstance(formula, bool) or z3.is_const(formula):
            return formula
        var = z3.Bool(name)
        self.solver.add(var == formula)
        self.raw[var.get_id()] = formula
        return var

    def _version(self, index: int, version) -> Verdicts:
        space = self.space
        keys = space.known[index]
        known = f_and([self.action.among(i for i, c in enumerate(space.actions) if c.rep in keys["action"]),
                       self.purpose.among(i for i, c in enumerate(space.purposes) if c.rep in keys["purpose"]),
                       self.category.among(i for i, c in enumerate(space.categories) if c.rep in keys["category"])])
        refusing = [dim.among(i for i in range(len(node.choices)) if node.refuses(i, index))
                    for dim, node in zip(self.nodes, space.nodes)]
        applies, fails, reach = {}, {}, {}
        rules = self.rules(index)
        for rule in rules:
            try:
                holds, failed = self.conditions(index, rule.source.when, rule.source.unless, rule.effect)
            except Undecided:
                if not self.unencoded_free or space.time_test_of(rule) is None:
                    raise
                self.unencoded.add(rule.id)
                holds, failed = z3.Bool(f"v{index}:{rule.id}:free-holds"), z3.Bool(f"v{index}:{rule.id}:free-fails")
                self.solver.add(z3.Not(z3.And(holds, failed)))
            reach[rule.id] = self._reach(rule)
            applies[rule.id] = self._name(f"v{index}:{rule.id}:applies", f_and([reach[rule.id], holds]))
            fails[rule.id] = self._name(f"v{index}:{rule.id}:fails", f_and([reach[rule.id], failed]))
        not_accepted = self._name(f"v{index}:not-accepted", f_or(refusing))
        known = self._name(f"v{index}:known", known)
        return Verdicts(
            applies, fails, reach,
            refused=self._name(f"v{index}:refused", f_or([f_not(known), not_accepted])),
            not_accepted=not_accepted, known=known,
            failing=self._name(f"v{index}:failing", f_or(fails.values())),
            denying=self._name(f"v{index}:denying", f_or(applies[r.id] for r in rules if r.effect == "deny")),
            allowing=self._name(f"v{index}:allowing", f_or(applies[r.id] for r in rules if r.effect == "allow")))

    def rules(self, version: int) -> list:
        """The version's rules this encoding holds (all of them, unless `only` says otherwise)."""
        rules = self.space.versions[version].rules
        return list(rules) if self.only is None else [r for r in rules if r.id in self.only[version]]

    def _probe(self, probe) -> Formula:
        """A `--where` condition holds: read as the current version reads a request, absent a value of its own."""
        holds, _ = self.conditions(len(self.space.versions) - 1, probe.source.when, (), None, absent_is_value=True)
        return holds

    def decides(self, version: int, decision: str, rules: Iterable[str]) -> Formula:
        """The version decides the request so, its reasons naming exactly these rules (as `predict` names
        them: the rules that fail and the denies that apply; DEFAULT_DENY; or the allows that apply): one kind
        of change of `pdp diff` is one such formula per version."""
        verdicts = self.verdicts[version]
        if decision == "refused":  # a value it does not accept (NOT_ACCEPTED): a request of keys it knows
            return f_and([verdicts.known, verdicts.not_accepted])
        effects = {r.id: r.effect for r in self.rules(version)}
        named = set(rules)
        if not named <= effects.keys() | {DEFAULT_DENY}:  # a rule left out (`only`) cannot be named
            raise ValueError(f"rules not encoded: {', '.join(sorted(named - effects.keys()))}")
        if decision == "allow":
            return f_and([verdicts.allow, *(f if r in named else f_not(f) for r, f in verdicts.applies.items()
                                            if effects[r] == "allow")])
        if named == {DEFAULT_DENY}:
            return f_and([f_not(verdicts.refused), f_not(verdicts.failing), f_not(verdicts.denying),
                          f_not(verdicts.allowing)])
        reasons = [f_or([verdicts.fails[r], verdicts.applies[r]]) if effect == "deny" else verdicts.fails[r]
                   for r, effect in effects.items()]
        unnamed = [f_not(f) for r, f in zip(effects, reasons) if r not in named]
        return f_and([f_not(verdicts.refused), *unnamed, self._failed_then_denied(version, tuple(rules))])

    def _failed_then_denied(self, version: int, named: tuple[str, ...]) -> Formula:
        """The named rules, in this order, are the reasons of a deny: `decision.combine` names the rules that fail
        (the denies, then the allows, each in the rules' order), then the denies that apply (in order). Where
        the failures end is not written, so each place they may end is one way."""
        verdicts = self.verdicts[version]
        rules = self.rules(version)
        position = {r.id: i for i, r in enumerate(rules)}
        failing_rank = {r.id: (r.effect != "deny", i) for i, r in enumerate(rules)}
        ways = []
        for k in range(len(named) + 1):
            failed, denied = named[:k], named[k:]
            if list(failed) != sorted(failed, key=failing_rank.__getitem__) or \
                    list(denied) != sorted(denied, key=position.__getitem__) or \
                    any(r not in verdicts.fails or (r in denied and self.space.effects[version].get(r) != "deny")
                        for r in named):
                continue
            ways.append(f_and([*(verdicts.fails[r] for r in failed),
                               *(f_and([verdicts.applies[r], f_not(verdicts.fails[r])]) for r in denied)]))
        return f_or(ways)

    def named(self, name: str, formula: Formula) -> Formula:
        """A Boolean asserted equal to the formula (a constant stays itself): a question that refers to a large
        formula many times (as blocked, or as the region it explores) refers to it cheaply."""
        return self._name(name, formula)

    def spent(self) -> int:
        """z3's resource units spent by this solver so far (RLIMIT bounds each question; a caller asking many
        bounds their sum with this)."""
        statistics = self.solver.statistics()
        return int(next((statistics.get_key_value(k) for k in statistics.keys() if k == "rlimit count"), 0))

    # -- questions ------------------------------------------------------------------------

    def satisfiable(self, *assumptions: Formula) -> bool:
        """Is there a request where every assumption holds? Raises Undecided."""
        wanted = [a for a in assumptions if a is not True]
        if any(a is False for a in wanted):
            return False
        self.questions += 1
        # the question as assumptions, nothing added to the solver: what it learns stays valid for the next
        found = self.solver.check(*wanted)
        if found == z3.unknown:
            raise Undecided(f"the solver could not settle it within its budget "
                            f"({self.solver.reason_unknown()})")
        return found == z3.sat

    def check(self, *assumptions: Formula) -> z3.ModelRef | None:
        """A model where every assumption holds, or None when there is none. Raises Undecided."""
        return self.solver.model() if self.satisfiable(*assumptions) else None

    def lightest(self, model: z3.ModelRef, *assumptions: Formula) -> z3.ModelRef:
        """A model of the assumptions with as few attributes present as the solver finds (an example reads best
        with the fewest), starting from `model`: a binary search on how many, a few questions."""
        present = [d.ge[1] for d in self.nodes if d.size > 1]
        best = model

        def count(m: z3.ModelRef) -> int:
            return sum(1 for p in present if z3.is_true(m.eval(p, model_completion=True)))

        if self.dates.days:  # an example reads best with days of this era, where the question has some
            near = tuple(self.dates.near())
            try:
                found = self.check(*assumptions, *near)
            except Undecided:
                found = None
            if found is not None:
                best, assumptions = found, (*assumptions, *near)
        low, high = 0, count(best)  # no model below `low` is known to exist; `best` has `high`
        while low < high:
            middle = (low + high) // 2
            try:
                better = self.check(*assumptions, z3.AtMost(*present, middle))
            except Undecided:
                return best  # the example is still one; only not the lightest
            if better is None:
                low = middle + 1
            else:
                best, high = better, count(better)
        return best

    def at_most_one(self, formulas: list[Formula]) -> Formula:
        """At most one of these holds (a cardinality constraint z3 keeps as one), as a named Boolean."""
        live = [f for f in formulas if f is not False]
        always = sum(1 for f in live if f is True)
        live = [f for f in live if f is not True]
        if always:  # one always holds: then no other may
            return False if always > 1 else f_and(f_not(f) for f in live)
        if len(live) <= 1:
            return True
        return self._name(f"at-most-one:{len(self.raw)}", z3.AtMost(*live, 1))

    def formula_of(self, named: Formula) -> Formula:
        """The formula a named Boolean stands for (a constant or a formula stands for itself)."""
        return named if isinstance(named, bool) else self.raw.get(named.get_id(), named)

    @staticmethod
    def holds(model: z3.ModelRef, formula: Formula) -> bool:
        return formula if isinstance(formula, bool) else z3.is_true(model.eval(formula, model_completion=True))

    def local(self) -> z3.Solver:
        """A small solver holding the dimensions only: questions about a few rules' own formulas."""
        if self._local is None:
            self._local = self._new_solver()
            for dim in self.dims:
                for constraint in dim.constraints():
                    self._local.add(constraint)
            self._local.add(*self.dates.constraints, *self._restrictions)
        return self._local

    def alone(self, formula: Formula, model: bool = True) -> z3.ModelRef | bool | None:
        """A model of one formula over the dimensions alone, not the whole set's: a small solver, so a candidate
        request is found quickly (the caller has the engine decide it). Without `model`: True when there is
        one (fetching a model costs more than finding it)."""
        if formula is False:
            return None
        local = self.local()
        local.push()
        try:
            local.add(as_z3(formula))
            if not self.settled(local):
                return None
            return local.model() if model else True
        finally:
            local.pop()

    def settled(self, solver: z3.Solver) -> bool:
        """Is what the solver holds satisfiable? Raises Undecided when it cannot tell within its budget."""
        self.questions += 1
        found = solver.check()
        if found == z3.unknown:
            raise Undecided(f"the solver could not settle it within its budget ({solver.reason_unknown()})")
        return found == z3.sat

    def choices(self, model: z3.ModelRef) -> dict[str, int]:
        return {d.name: d.value(model) for d in self.dims}

    def request(self, model: z3.ModelRef, only: frozenset[str] | None = None) -> dict:
        """The request of a model: one representative per dimension (with `only`, the attributes of the
        dimensions named there; the others absent)."""
        dims = self.dims
        request = self.request_at(lambda n: dims[n].value(model), only)
        for parts, day in self.dates.days.items():  # a date's day is the model's, where its class is any date
            dim, classes = self._dated_dim(parts)  # type: ignore[misc]
            if (only is None or dim.name in only) and classes[dim.value(model)].dates:
                set_at(request, parts, day.of(model).isoformat())
        return request

    def request_at(self, index: Callable[[int], int], only: frozenset[str] | None = None) -> dict:
        """The request whose dimension n (in `dims`' order) takes its class `index(n)`, as `request`."""
        space = self.space
        request = Cell(space.actions[index(0)], space.purposes[index(1)], space.categories[index(2)],
                       space.model).request()
        for n, (node, dim) in enumerate(zip(space.nodes, self.nodes), 3):
            if only is None or dim.name in only:
                node.fill(request, index(n))
        return request

    def reads(self, rule) -> frozenset[str]:
        """The names of the dimensions a rule's conditions read (`action`, `purpose`, `category` among them
        when a condition tests the request's keys)."""
        return frozenset(d.name for p in read_paths(rule_conditions(rule)) if (d := self._dim_of(p)) is not None)

    def at(self, request: dict) -> list[Formula] | None:
        """The request's classes as assumptions (None: outside the space, as `Space.classify` says)."""
        located = self.space.classify(request)
        if located is None:
            return None
        cell, choices = located
        space = self.space
        fixed = [self.action.among([space.actions.index(cell.action)]),
                 self.purpose.among([space.purposes.index(cell.purpose)]),
                 self.category.among([space.categories.index(cell.category)])]
        fixed += [self.nodes[n].among([c]) for n, c in choices.items()]
        for parts, day in self.dates.days.items():  # and the dates the request holds, each its own day
            held = day_of(value_at(request, parts))
            if held is not None:
                fixed.append(day.equals(held))
        return fixed

    def predict(self, version: int, request: dict) -> tuple[str, frozenset[str]] | None:
        """The encoding's decision of a single-category request under a version and the rules its reasons name
        (as `decision.combine` names them), "refused" when the version refuses it; None when the request is
        outside the space. What the tests hold equal to the engine, request by request."""
        fixed = self.at(request)
        if fixed is None:
            return None
        model = self.check(*fixed)
        if model is None:
            if self._restrictions:
                return None  # a request the encoding was asked not to hold (`restrict`)
            raise AssertionError("the request's classes are one point of the space: satisfiable")
        verdicts = self.verdicts[version]

        def true(formula: Formula) -> bool:
            return formula if isinstance(formula, bool) else z3.is_true(model.eval(formula, model_completion=True))

        if true(verdicts.refused):
            return "refused", frozenset()
        effects = {r.id: r.effect for r in self.rules(version)}
        applying = {r for r, f in verdicts.applies.items() if true(f)}
        failing = {r for r, f in verdicts.fails.items() if true(f)}
        denies = {r for r in applying if effects[r] == "deny"}
        if failing or denies:
            return "deny", frozenset(failing | denies)
        if not applying:
            return "deny", frozenset({DEFAULT_DENY})
        return "allow", frozenset(applying)


__all__ = ["Dim", "Encoding", "reads_alike", "Undecided", "Value", "Verdicts", "as_z3", "f_and", "f_not", "f_or", "junction",
           "region"]
