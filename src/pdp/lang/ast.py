"""The syntax tree of a policy file: frozen dataclasses.

Every node carries a `span` that is left out of equality and hashing, so
the tree is a value: the same rules laid out differently are equal.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, ClassVar, TypeGuard, Union

from pdp.base.source import NO_SPAN, Span


def _span() -> Span:
    return field(default=NO_SPAN, compare=False, hash=False, repr=False)


# ---------------------------------------------------------------- expressions


@dataclass(frozen=True)
class Path:
    """An attribute path such as `data_subject.consent.marketing`."""

    SUB: ClassVar[tuple[str, ...]] = ()  # the fields that hold sub-expressions

    parts: tuple[str, ...]
    span: Span = _span()

    @property
    def dotted(self) -> str:
        return ".".join(self.parts)


@dataclass(frozen=True)
class Literal:
    SUB: ClassVar[tuple[str, ...]] = ()

    value: str | int | float | bool
    span: Span = _span()


@dataclass(frozen=True)
class Date:
    """A calendar date written in a condition (`2026-03-01`): its ISO text, which is how requests carry dates."""

    SUB: ClassVar[tuple[str, ...]] = ()

    value: str
    span: Span = _span()


UNITS = ("days", "weeks", "months", "years")  # a duration's units, as the printer writes them


@dataclass(frozen=True)
class Shift:
    """`collected_at + 2 years`: the date an attribute holds, moved by a whole number of days, weeks, months or
    years (calendar-exact: pdp.engine.timing). It reads the request only through its path."""

    SUB: ClassVar[tuple[str, ...]] = ("operand",)

    operand: "Path"
    sign: str  # "+" | "-"
    amount: int
    unit: str  # one of UNITS
    span: Span = _span()


@dataclass(frozen=True)
class Index:
    """`data.roles[subject.role].permissions`: an entry of policy data looked up by a value, the request's (a path)
    or written (a text), and the path read below it (`rest`). Terminating and total: one lookup in a mapping of
    the policy data; a key the data does not hold, an index that is no text, or an entry without `rest` is
    missing (the test that reads it is unknown). It reads the request only through `key`."""

    SUB: ClassVar[tuple[str, ...]] = ("table", "key")

    table: "Path"  # the policy data indexed: `data.<file>...`, a mapping
    key: "Path | Literal"  # a request attribute (not `data`, not a requested key: the checker says why) or a text
    rest: tuple[str, ...] = ()  # read below the entry found
    span: Span = _span()


@dataclass(frozen=True)
class ListLiteral:
    SUB: ClassVar[tuple[str, ...]] = ("items",)

    items: tuple["Expr", ...]
    span: Span = _span()


@dataclass(frozen=True)
class Compare:
    SUB: ClassVar[tuple[str, ...]] = ("left", "right")

    op: str  # == != < <= > >=
    left: "Expr"
    right: "Expr"
    span: Span = _span()


@dataclass(frozen=True)
class Member:
    """`left in right`, or `left not in right` when negated."""

    SUB: ClassVar[tuple[str, ...]] = ("left", "right")

    left: "Expr"
    right: "Expr"
    negated: bool = False
    span: Span = _span()


@dataclass(frozen=True)
class Under:
    """`left under right`: a taxonomy key equal to or below another."""

    SUB: ClassVar[tuple[str, ...]] = ("left", "right")

    left: "Expr"
    right: "Expr"
    span: Span = _span()


@dataclass(frozen=True)
class Matches:
    """`left matches "/todos/{id}"`: a path (text split on `/`) fits a template (pdp.base.templates). The checker
    holds `right` to a template written in the policy; `left` reads the request only through its paths."""

    SUB: ClassVar[tuple[str, ...]] = ("left", "right")

    left: "Expr"
    right: "Expr"
    span: Span = _span()


@dataclass(frozen=True)
class Has:
    """`left has any of right` (every=False: some item of the left is an item of the right) or `left has all
    of right` (every=True: every item of the right is an item of the left). Both sides are lists; items are
    equal as `==` says (conditions.same)."""

    SUB: ClassVar[tuple[str, ...]] = ("left", "right")

    left: "Expr"
    right: "Expr"
    every: bool = False
    span: Span = _span()

    @property
    def words(self) -> str:
        """The operator as a policy writes it: `has any of` or `has all of`."""
        return "has all of" if self.every else "has any of"


@dataclass(frozen=True)
class Presence:
    """`path is present` (present=True) or `path is absent`."""

    SUB: ClassVar[tuple[str, ...]] = ("path",)

    path: Path
    present: bool
    span: Span = _span()


@dataclass(frozen=True)
class Truth:
    """An operand standing alone as a condition: true when it is `true`."""

    SUB: ClassVar[tuple[str, ...]] = ("operand",)

    operand: "Expr"
    span: Span = _span()


@dataclass(frozen=True)
class Not:
    SUB: ClassVar[tuple[str, ...]] = ("operand",)

    operand: "Expr"
    span: Span = _span()


@dataclass(frozen=True)
class And:
    SUB: ClassVar[tuple[str, ...]] = ("items",)

    items: tuple["Expr", ...]
    span: Span = _span()


@dataclass(frozen=True)
class Or:
    SUB: ClassVar[tuple[str, ...]] = ("items",)

    items: tuple["Expr", ...]
    span: Span = _span()


@dataclass(frozen=True)
class Named:
    """A named condition used in a rule (`when owner_acts`): its name, and its definition's condition (`body`,
    uses of other named conditions in it resolved too). The parser reads a use as the truth of an attribute
    (`Truth(Path(("owner_acts",)))`); lang/named.py resolves it once the set's definitions are known. Deciding
    and the analysis read the rule with every use written out (`named.inlined`); explain and coverage read it
    as written, so that a reader sees the name."""

    SUB: ClassVar[tuple[str, ...]] = ("body",)

    name: str
    body: "Expr"
    span: Span = _span()  # where it is used (the body's nodes keep the definition's spans)


Expr = Union[Path, Literal, Date, Shift, Index, ListLiteral, Compare, Member, Under, Matches, Has, Presence, Truth,
             Not, And, Or, Named]


# ---------------------------------------------------------------- statements


@dataclass(frozen=True)
class Key:
    """A vocabulary key written in a rule target: an action, purpose or category."""

    name: str
    span: Span = _span()


@dataclass(frozen=True)
class Parameter:
    """`with days = 30`: a duty's parameter, by name; its value is a literal, a date or a list of them (checker)."""

    name: str
    value: Expr
    span: Span = _span()


@dataclass(frozen=True)
class DutyDecl:
    """`id "text" with name = value, ... if condition`: what `oblige` and `advise` share."""

    id: str
    text: str
    span: Span = _span()
    parameters: tuple[Parameter, ...] = ()
    condition: Expr | None = None  # due only when it holds (engine/duties.py: on which side an unknown falls)


@dataclass(frozen=True)
class ObligationDecl(DutyDecl):
    """`oblige ...`: a duty that comes with an allow."""


@dataclass(frozen=True)
class AdviceDecl(DutyDecl):
    """`advise ...`: advice returned with the rule's decision (a deny's, or an allow's); unlike an obligation, no
    duty."""


@dataclass(frozen=True)
class Acceptance:
    """`accept shadowed-rule because "..."`: a warning about the rule that is intended, and why."""

    code: str
    reason: str
    span: Span = _span()


@dataclass(frozen=True)
class Rule:
    id: str
    effect: str  # "allow" | "deny"
    message: str = ""
    cite: str | None = None
    actions: tuple[Key, ...] = ()  # empty: every action
    purposes: tuple[Key, ...] = ()  # empty: every purpose
    categories: tuple[Key, ...] = ()  # empty: every category
    when: tuple[Expr, ...] = ()
    unless: tuple[Expr, ...] = ()
    obligations: tuple[ObligationDecl, ...] = ()
    advice: tuple[AdviceDecl, ...] = ()
    overrides: tuple[Key, ...] = ()  # rules this one is a deliberate exception to
    accepts: tuple[Acceptance, ...] = ()  # warnings about this rule that are intended
    span: Span = _span()
    id_span: Span = _span()


@dataclass(frozen=True)
class Header:
    name: str
    version: str | None = None
    effective: str | None = None
    title: str | None = None
    model: str = "data_use"  # what the requests are about: "data_use" or "authzen"
    span: Span = _span()


@dataclass(frozen=True)
class Lookup:
    """`lookup recipient in data.processors, data.affiliates request wins for country
    if unlisted, request states type except type "affiliate"`."""

    root: str
    source: Path  # the first register
    request_wins: tuple[str, ...] = ()  # attributes a request may set for a listed id
    also_in: tuple[Path, ...] = ()  # further registers, read as one with the first
    described: tuple[str, ...] = ()  # attributes a request may state for an id no register lists
    excluded: tuple[tuple[str, tuple[str | int | float | bool, ...]], ...] = ()  # values it may never state
    span: Span = _span()

    @property
    def sources(self) -> tuple[Path, ...]:
        return (self.source,) + self.also_in

    @property
    def named(self) -> str:
        """The registers as a policy names them: `data.processors or data.affiliates`."""
        return " or ".join(p.dotted for p in self.sources)


@dataclass(frozen=True)
class LedgerFill:
    """`ledger fills data_subject.consent.analytics from consent "analytics" for "personalisation"`."""

    attribute: Path
    source: str  # the fact: a name of pdp.ledger.fill.SOURCES (the checker says which)
    name: str | None = None  # the topic, channel, purpose or scope it is about
    purpose: str | None = None  # a consent's purpose
    span: Span = _span()
    source_span: Span = _span()


@dataclass(frozen=True)
class ConditionDef:
    """`condition owner_acts "the subject owns the resource" when subject.id == resource.properties.ownerID`."""

    name: str
    text: str  # what it says, in words ("" when not given)
    body: Expr
    span: Span = _span()
    name_span: Span = _span()


@dataclass(frozen=True)
class PolicyFile:
    path: str
    headers: tuple[Header, ...] = ()
    rules: tuple[Rule, ...] = ()
    lookups: tuple[Lookup, ...] = ()
    ledger_fills: tuple[LedgerFill, ...] = ()
    conditions: tuple[ConditionDef, ...] = ()  # named conditions (`condition NAME when ...`)


def all_literals(items: tuple[Expr, ...]) -> TypeGuard[tuple[Literal, ...]]:
    """Every item is a literal: a list of constants."""
    return all(isinstance(i, Literal) for i in items)


def children(expr: Expr) -> tuple[Expr, ...]:
    """The sub-expressions of a node, in the order written."""
    out: list = []
    for name in expr.SUB:
        value = getattr(expr, name)
        out.extend(value if isinstance(value, tuple) else (value,))
    return tuple(out)


def with_children(expr: Expr, rebuild) -> Expr:
    """The node with each sub-expression replaced by `rebuild(sub)`; the node itself when it has none."""
    if not expr.SUB:
        return expr
    changes: dict[str, Any] = {}
    for name in expr.SUB:
        value = getattr(expr, name)
        changes[name] = tuple(rebuild(v) for v in value) if isinstance(value, tuple) else rebuild(value)
    return replace(expr, **changes)


def walk(expr: Expr):
    """Every node of an expression, the node itself first."""
    yield expr
    for child in children(expr):
        yield from walk(child)


def paths_in(rule: Rule) -> set[tuple[str, ...]]:
    """The attribute paths a rule's conditions (`when`, `unless`, and its obligations' and advice's `if`) name,
    policy data's included."""
    duties = tuple(d.condition for d in rule.obligations + rule.advice if d.condition is not None)
    return {node.parts for expr in rule.when + rule.unless + duties for node in walk(expr) if isinstance(node, Path)}
