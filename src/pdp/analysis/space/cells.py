"""The data types of the space: nodes (what one component varies), cells, states, classes, components, groups, stats."""

from __future__ import annotations

from dataclasses import dataclass, field

from pdp.engine.compiler import CompiledRule
from pdp.base.paths import set_at
from pdp.engine.models import DATA_USE, Model
from .domains import AttrDomain
from .keys import KeyClass
from .model_keys import part_of


# ---------------------------------------------------------------- nodes: what one component varies


@dataclass
class Node:
    """One attribute, or a looked-up request part with its attributes, and its joint values."""

    name: str
    domains: tuple[AttrDomain, ...]
    choices: list[tuple[int, ...]]  # a class index per domain
    free: list[frozenset[int]]  # per choice: domains the register overrides (any value will do)
    # per choice: the versions whose lookup refuses it (an `except`: a value only a register grants, stated for
    # an unlisted id); a choice every version refuses is not in the space. Empty: no version refuses any.
    refused: list[frozenset[int]] = field(default_factory=list)

    def refuses(self, choice: int, version: int) -> bool:
        return bool(self.refused) and version in self.refused[choice]

    def fill(self, env: dict, choice: int) -> None:
        for domain, index in zip(self.domains, self.choices[choice]):
            if index:
                set_at(env, domain.path, domain.classes[index].rep)

    def present(self, choice: int) -> int:
        return sum(1 for i in self.choices[choice] if i)


# ---------------------------------------------------------------- cells, groups, components


@dataclass(frozen=True)
class Cell:
    action: KeyClass
    purpose: KeyClass
    category: KeyClass
    model: Model = field(default=DATA_USE, compare=False)  # what its requests are (the space's set's model)

    def request(self) -> dict:
        return self.model.skeleton(self.action.rep, self.purpose.rep, self.category.rep)

    @property
    def part(self) -> str:
        """What of the cell's request needs an allow (`decision.combine`): its category, or an AuthZEN
        request's action (model_keys.part_of)."""
        return part_of(self.model, self.request())


@dataclass(frozen=True)
class State:
    """What one component's assignment does under one policy version."""

    applies: frozenset[str]  # ids of the rules that apply
    errors: frozenset[str]  # ids of the rules that could not be evaluated
    refused: bool = False  # the version refuses the request (Node.refused): it decides nothing, whatever applies
    # ids of the group's partial allows (Group.partial) that may apply to part of a broad request: an allow of the
    # request carries their obligations (engine/decision.py)
    possible: frozenset[str] = frozenset()

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
    # per version: the allows with obligations that may apply to part of the cells' broad keys (Candidates.partial)
    partial: tuple[tuple[CompiledRule, ...], ...] = ()

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
    method: str = "enumeration"  # how the space was searched: "enumeration" (space.py) or "solver" (encoding.py)
    dimensions: int = 0  # with the solver: the dimensions encoded (action, purpose, category, attributes)
    questions: int = 0  # with the solver: the questions asked of it
    cell_words: str = "action x purpose class x category class"  # what a cell is made of (the set's model)

    def summary(self) -> str:
        if self.method == "solver":
            return (f"solved with z3 over {self.dimensions:,} dimensions ({self.cell_words.replace(' x ', ', ')}, "
                    f"attributes): {self.questions:,} questions, {self.decided:,} requests decided by the engine; "
                    f"{self.seconds:.2f} s")
        return (f"{self.cells:,} cells ({self.cell_words}) in {self.groups:,} groups; "
                f"{self.examined:,} cells examined, standing for {self.represented:,} requests; "
                f"enumerated {self.enumerated:,} partial requests, {self.decided:,} decided by the engine; "
                f"{self.seconds:.2f} s")

    def to_dict(self) -> dict:
        out: dict = {"cells": self.cells, "groups": self.groups, "examined": self.examined,
                     "represented": self.represented, "enumerated": self.enumerated, "decided": self.decided,
                     "seconds": round(self.seconds, 3), "method": self.method}
        if self.method == "solver":
            out.update(dimensions=self.dimensions, questions=self.questions)
        return out
