"""The request memo: outcomes remembered by what a version's rules read of a request (`RequestMemo`), so that a request
asked again, or another that differs only where no rule looks (the person's id, a field no rule reads),
is answered without evaluating its rules again.

Why: most of a decision's time is the evaluation (the candidates, the condition index's walk, each
rule's conditions), and a decision point is asked the same question many times: the same service, for
the same purpose, about people whose attributes the rules read fall into a few kinds. The rule index's
own memo (`RuleIndex.outcomes`) only spares gathering reasons once the rules that apply are known.

Exact, not approximate: an outcome is a function of the version (its rules, policy data, registers,
taxonomy, all fixed once built) and of what its evaluation reads of the request: the targets (action,
purpose, data categories; `Model.targets`) and the value of every attribute that a rule which may take
part for those targets reads in its conditions (`Model.rules_for`: the rule index's candidates, the rules
`decision.evaluate` can be handed), each read as `conditions.getter` reads it from the request with its
registers looked up (the env). The key is exactly those values, each with its type (`true == 1 == 1.0`
in Python, not in the policy language; a float by its `repr`, so that `-0.0` and `0.0` stay apart as
messages print them). A request the key cannot hold exactly (an object of another type; more than
`MAX_ITEMS` list or object items, or `MAX_TEXT` characters of text, in all) is not remembered: it is
evaluated as if there were no memo.
Reading only the attributes of the rules for the request's targets keeps keys short in a large set, and
lets requests about other targets differ anywhere. Targets whose rules read more than `MAX_PATHS`
attributes are not remembered at all: such a key costs more to read and compare than the condition
index saves (bench/flat.py --request-memo at 20,000 rules: 17.9 against 9.6 µs a decision without the
cap; with it, the same as without the memo).

Failing safe: the attributes read are found by walking every node of those rules. Targets whose rules
hold a node this module does not know (a later addition to the language, which might read the request
some other way) get no memo, rather than a key that might miss what the node reads. An outcome with an
evaluation error is not remembered (an error may be transient: it is reported again, not replayed). The
memo is bounded (`LIMIT` outcomes and `PLANS_LIMIT` targets' plans per version; when full, it starts
again) and belongs to one version, so a reload starts empty. Off with `ENABLED = False`, and with the
rest of deciding's optimisations (`index=False`); tests/test_request_memo.py proves it equal to the
plain path.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Hashable, Iterable
from typing import Any

from pdp.base.source import Span
from pdp.lang import ast
from .compiler import CompiledRule
from .conditions import Env
from .decision import EVALUATION_ERROR, Outcome

ENABLED = True  # the switch: False builds every version without a memo (the plain path)
LIMIT = 4096  # outcomes kept per version; when full, the memo starts again (bounded whatever is asked)
MAX_PATHS = 16  # targets whose rules read more attributes than this are not remembered (see `plan`)
PLANS_LIMIT = 1024  # targets whose plans are kept; when full, they are made again as asked
MAX_ITEMS = 64  # a key holding more list or object items than this is not made (bounds a key's size) ...
MAX_TEXT = 1024  # ... nor one holding more characters of text than this (so at most about 10 MB a version)

# The nodes a rule may hold, each known to read the request only through the `ast.Path` nodes below it
# (conditions.py compiles every path to a getter). Anything else: no memo for the set.
KNOWN_NODES = (ast.Rule, ast.Key, ast.DutyDecl, ast.Parameter, ast.Acceptance, ast.Path, ast.Literal,
               ast.ListLiteral, ast.Compare, ast.Member, ast.Under, ast.Has, ast.Presence, ast.Truth, ast.Not, ast.And,
               ast.Or,
               ast.Date, ast.Shift,  # a date reads nothing; a shift, its path (`now` is a path of the request)
               ast.Matches,  # its template is a literal: it reads its attribute's path alone
               ast.Index)  # policy data (fixed) looked up by its key's path: the key's value is read exactly
_SCALARS = frozenset({str, int, bool, type(None)})  # kept as they are, beside their types (`_key`)


class Unknown(Exception):
    """A rule holds a node whose reads this module cannot name."""


def paths_read(rules: Iterable[ast.Rule]) -> tuple[tuple[str, ...], ...]:
    """Every attribute path the rules read of the request (policy data, `data.*`, belongs to the version),
    sorted. Raises Unknown for a node outside KNOWN_NODES."""
    found: set[tuple[str, ...]] = set()

    def walk(node: Any) -> None:
        if isinstance(node, (tuple, list)):
            for item in node:
                walk(item)
        elif isinstance(node, Span):
            return  # where the node was written
        elif dataclasses.is_dataclass(node):
            if not isinstance(node, KNOWN_NODES):
                raise Unknown(type(node).__name__)
            if isinstance(node, ast.Path):
                if node.parts[0] != "data":
                    found.add(node.parts)
                return
            for field in dataclasses.fields(node):
                walk(getattr(node, field.name))
        elif not isinstance(node, (str, int, float, bool, type(None))):
            raise Unknown(type(node).__name__)

    walk(list(rules))
    return tuple(sorted(found))


class RequestMemo:
    """One version's remembered outcomes, by the targets and the values their rules read (see the module)."""

    __slots__ = ("_rules_of", "_covered", "_plans", "_outcomes")

    def __init__(self, rules_of: Callable[[Hashable], Iterable[CompiledRule]],
                 covered: frozenset[tuple[str, ...]] = frozenset()):
        self._rules_of = rules_of  # the rules that may take part for a request's targets (Model.rules_for)
        self._covered = covered  # the paths whose values the targets hold (Model.TARGET_PATHS)
        self._plans: dict[Hashable, Plan | None] = {}  # targets -> how to read what their rules read (None: no memo)
        self._outcomes: dict[Hashable, Outcome] = {}

    @classmethod
    def of(cls, rules_of: Callable[[Hashable], Iterable[CompiledRule]],
           covered: frozenset[tuple[str, ...]] = frozenset()) -> RequestMemo | None:
        """The memo of a version whose rules for a request's targets are `rules_of(targets)`; None when off."""
        return cls(rules_of, covered) if ENABLED else None

    def plan(self, targets: Hashable) -> Plan | None:
        """How to read what the rules that may take part for `targets` read; None when one of them holds a node this
        module does not know."""
        try:
            return self._plans[targets]
        except KeyError:
            pass
        paths = self.paths(targets)
        found: Plan | None = None if paths is None else plan_of(paths)
        if len(self._plans) >= PLANS_LIMIT:
            self._plans.clear()
        self._plans[targets] = found
        return found

    def paths(self, targets: Hashable) -> tuple[tuple[str, ...], ...] | None:
        """The attributes the rules that may take part for `targets` read, but for what the targets hold; None when
        they are not remembered: a rule holds a node this module does not know, or they read more than MAX_PATHS."""
        try:
            paths = tuple(p for p in paths_read(r.source for r in self._rules_of(targets)) if p not in self._covered)
        except Unknown:
            return None
        # (a key of many values costs more to read and compare than the condition index's walk saves: in a
        # large set whose targets' rules read many attributes, the memo would slow decisions down)
        return paths if len(paths) <= MAX_PATHS else None

    def key(self, targets: Hashable, env: Env) -> Hashable | None:
        """The key of a request: its targets and what their rules read, typed; None when it cannot be exact."""
        plan = self.plan(targets)
        return None if plan is None else key_of(plan, targets, env)

    def get(self, key: Hashable) -> Outcome | None:
        return self._outcomes.get(key)

    def keep(self, key: Hashable, outcome: Outcome) -> None:
        if any(reason.effect == EVALUATION_ERROR for reason in outcome.reasons):
            return
        outcomes = self._outcomes
        if len(outcomes) >= LIMIT:
            outcomes.clear()
        outcomes[key] = outcome

    def __len__(self) -> int:
        return len(self._outcomes)


Plan = tuple[tuple[int, str, tuple[str, ...]], ...]


def key_of(plan: Plan, targets: Hashable, env: Env) -> Hashable | None:
    """`targets` and the values `plan` reads of `env`, typed: equal only for requests the policy language cannot tell
    apart there; None when it cannot be exact (see the module). Public for the ledger's memo (engine.ledger_memo),
    which keys a ledger decision by the same values and by the caller's own values of the filled attributes."""
    # Each object on the way to an attribute is read once, and its attributes together (`plan_of`). A value is
    # None where `conditions.getter` reads MISSING (absent, null, or below something that is not an object):
    # the key tells apart exactly what the rules can.
    objects: list[dict[str, Any]] = []
    values: list[Any] = []
    found: Any
    for up, name, names in plan:
        if up < 0:
            found = env
        else:
            found = objects[up].get(name)
            if type(found) is not dict:
                found = _EMPTY
        objects.append(found)
        values += map(found.get, names)
    types = tuple(map(type, values))
    if _SCALARS.issuperset(types):
        if str in types and sum([len(v) for v in values if type(v) is str]) > MAX_TEXT:
            return None  # (a key holds at most MAX_TEXT characters: the memo's memory is bounded)
        return targets, tuple(values), types
    budget = [MAX_ITEMS, MAX_TEXT]
    exact = [_exact(value, budget) for value in values]
    if any(value is _INEXACT for value in exact):
        return None
    return targets, tuple(exact), types


def plan_of(paths: Iterable[tuple[str, ...]]) -> Plan:
    """How `key` reads `paths`: for the request and each object on the way to an attribute, parents first,
    (its parent's place in the plan, -1 for the request; its name; the names read in it)."""
    paths = sorted(set(paths))
    objects = sorted({path[:depth] for path in paths for depth in range(len(path))}, key=lambda p: (len(p), p))
    place = {prefix: n for n, prefix in enumerate(objects)}
    return tuple((place[prefix[:-1]] if prefix else -1, prefix[-1] if prefix else "",
                  tuple(path[-1] for path in paths if path[:-1] == prefix)) for prefix in objects)


_EMPTY: dict[str, Any] = {}  # read in place of something that is not an object: every attribute below it is missing
_INEXACT: Any = object()  # a value a key cannot hold exactly


def _exact(value: Any, budget: list[int]) -> Any:
    """`value` as a hashable key part that is equal only for values the policy language cannot tell apart:
    every scalar with its type, lists and objects item by item; _INEXACT when it is of another type or goes
    beyond `budget` ([items, characters] left for the whole key: MAX_ITEMS, MAX_TEXT)."""
    kind = type(value)
    if kind is str:
        budget[1] -= len(value)
        return _INEXACT if budget[1] < 0 else (str, value)
    if kind in _SCALARS:
        return kind, value
    if kind is float:
        return float, repr(value)
    if kind is list or kind is tuple:
        budget[0] -= len(value)
        if budget[0] < 0:
            return _INEXACT
        parts = tuple(_exact(item, budget) for item in value)
        return _INEXACT if any(p is _INEXACT for p in parts) else (kind, parts)
    if kind is dict:
        budget[0] -= len(value)
        if budget[0] < 0 or not all(type(k) is str for k in value):
            return _INEXACT
        budget[1] -= sum(map(len, value))
        pairs = tuple(sorted((k, _exact(v, budget)) for k, v in value.items()))
        return _INEXACT if budget[1] < 0 or any(v is _INEXACT for _, v in pairs) else (dict, pairs)
    return _INEXACT
