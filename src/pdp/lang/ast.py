"""The syntax tree of a policy file: frozen dataclasses.

Every node carries a `span` that is left out of equality and hashing, so
the tree is a value: the same rules laid out differently are equal.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Union

from pdp.base.source import NO_SPAN, Span


def _span() -> Span:
    return field(default=NO_SPAN, compare=False, hash=False, repr=False)


# ---------------------------------------------------------------- expressions


@dataclass(frozen=True)
class Path:
    """An attribute path such as `data_subject.consent.marketing`."""

    parts: tuple[str, ...]
    span: Span = _span()

    @property
    def dotted(self) -> str:
        return ".".join(self.parts)


@dataclass(frozen=True)
class Literal:
    value: str | int | float | bool
    span: Span = _span()


@dataclass(frozen=True)
class ListLiteral:
    items: tuple["Expr", ...]
    span: Span = _span()


@dataclass(frozen=True)
class Compare:
    op: str  # == != < <= > >=
    left: "Expr"
    right: "Expr"
    span: Span = _span()


@dataclass(frozen=True)
class Member:
    """`left in right`, or `left not in right` when negated."""

    left: "Expr"
    right: "Expr"
    negated: bool = False
    span: Span = _span()


@dataclass(frozen=True)
class Under:
    """`left under right`: a taxonomy key equal to or below another."""

    left: "Expr"
    right: "Expr"
    span: Span = _span()


@dataclass(frozen=True)
class Presence:
    """`path is present` (present=True) or `path is absent`."""

    path: Path
    present: bool
    span: Span = _span()


@dataclass(frozen=True)
class Truth:
    """An operand standing alone as a condition: true when it is `true`."""

    operand: "Expr"
    span: Span = _span()


@dataclass(frozen=True)
class Not:
    operand: "Expr"
    span: Span = _span()


@dataclass(frozen=True)
class And:
    items: tuple["Expr", ...]
    span: Span = _span()


@dataclass(frozen=True)
class Or:
    items: tuple["Expr", ...]
    span: Span = _span()


Expr = Union[Path, Literal, ListLiteral, Compare, Member, Under, Presence, Truth, Not, And, Or]


# ---------------------------------------------------------------- statements


@dataclass(frozen=True)
class Key:
    """A vocabulary key written in a rule target: an action, purpose or category."""

    name: str
    span: Span = _span()


@dataclass(frozen=True)
class ObligationDecl:
    id: str
    text: str
    span: Span = _span()


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
class PolicyFile:
    path: str
    headers: tuple[Header, ...] = ()
    rules: tuple[Rule, ...] = ()
    lookups: tuple[Lookup, ...] = ()


def walk(expr: Expr):
    """Every node of an expression, the node itself first."""
    yield expr
    if isinstance(expr, (Compare, Member, Under)):
        yield from walk(expr.left)
        yield from walk(expr.right)
    elif isinstance(expr, (Not, Truth)):
        yield from walk(expr.operand)
    elif isinstance(expr, Presence):
        yield from walk(expr.path)
    elif isinstance(expr, (And, Or, ListLiteral)):
        for item in expr.items:
            yield from walk(item)
