"""Where a formula of the encoding can hold, one set of indexes per dimension, read off the formula without a solver.

The encoding (pdp.analysis.space.encoding) builds its formulas over order-encoded dimensions ("index >= i"
literals) with `and`, `or` and `not`. Read node by node, a formula gives a *box*: for each dimension the indexes
it allows there (a bitmask; a dimension not named allows every index). A box is

- exact when the formula holds at exactly the points of the box: a conjunction of tests that each read one
  dimension, which is what rule targets and most conditions are (`age < 18 and recipient.type == "affiliate"`);
- otherwise an over-approximation: every point where the formula holds lies in the box (an `or` across
  dimensions, a test reading two attributes together).

So, exactly: a formula whose box is empty holds nowhere; one whose exact box is not empty holds at every point of
it (any point is a model); two formulas whose boxes are disjoint never hold together, and two exact boxes that
meet hold together exactly where they meet. What a box cannot settle (an over-approximation that meets) is left
to the solver: the boxes only spare it the questions they answer (`solved.BOXES` switches them off, and the tests
hold both paths equal).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

import z3

from .space.encoding import Encoding, Formula


@dataclass(frozen=True)
class Box:
    masks: dict[int, int]  # dimension number -> the indexes allowed (bit i: index i); absent: every index
    exact: bool  # the formula holds at every point of the box (else: at some points of it at most)

    @cached_property
    def empty(self) -> bool:
        return any(m == 0 for m in self.masks.values())

    def meet(self, other: Box) -> Box:
        """Where both hold (exact when both are)."""
        masks = dict(self.masks)
        for dim, mask in other.masks.items():
            masks[dim] = masks[dim] & mask if dim in masks else mask
        return Box(masks, self.exact and other.exact)

    def meets(self, other: Box) -> bool:
        """Do the boxes share a point?"""
        mine = self.masks
        return not self.empty and not other.empty and all(mine[d] & m for d, m in other.masks.items() if d in mine)

    def within(self, other: Box) -> bool:
        """Is every point of this box one of the other's?"""
        return all(self.masks.get(d, -1) & ~m == 0 for d, m in other.masks.items())

    def point(self, highest: bool = False) -> dict[int, int]:
        """One point of a box that is not empty: the lowest (or highest) index it allows on each dimension it
        names."""
        if highest:
            return {d: m.bit_length() - 1 for d, m in self.masks.items()}
        return {d: (m & -m).bit_length() - 1 for d, m in self.masks.items()}


EVERYWHERE = Box({}, True)
NOWHERE = Box({-1: 0}, True)
_UNKNOWN = Box({}, False)  # a connective the reader does not know: anywhere, as far as it can tell

_AND, _OR, _NOT = z3.Z3_OP_AND, z3.Z3_OP_OR, z3.Z3_OP_NOT
_TRUE, _FALSE, _CONSTANT = z3.Z3_OP_TRUE, z3.Z3_OP_FALSE, z3.Z3_OP_UNINTERPRETED


class Boxes:
    """The boxes of an encoding's formulas. Subformulas are shared (z3 builds each distinct term once), so each is
    read once, by its id."""

    def __init__(self, encoding: Encoding):
        self.dims = encoding.dims
        self._ctx = z3.main_ctx().ref()
        self.full = [(1 << d.size) - 1 for d in self.dims]
        self._literals: dict[int, tuple[int, int]] = {}  # term id of "index >= i" -> (dimension number, i)
        for n, dim in enumerate(self.dims):
            for i, ge in enumerate(dim.ge[1:], 1):
                self._literals[ge.get_id()] = (n, i)
        self._memo: dict[tuple[int, bool], Box] = {}

    def of(self, formula: Formula) -> Box:
        if isinstance(formula, bool):
            return EVERYWHERE if formula else NOWHERE
        self._ctx = formula.ctx.ref()
        return self._read(formula.as_ast(), True)

    def _dimension(self, term_id: int) -> int:
        """A Boolean constant other than a dimension's literal (a named formula the caller left as a name): a
        dimension of its own, two indexes (false, true)."""
        self._literals[term_id] = (len(self.full), 1)
        self.full.append(0b11)
        return self._literals[term_id][0]

    def _read(self, term: Any, positive: bool) -> Box:
        ctx = self._ctx
        term_id = z3.Z3_get_ast_id(ctx, term)
        found = self._memo.get((term_id, positive))
        if found is not None:
            return found
        kind = z3.Z3_get_decl_kind(ctx, z3.Z3_get_app_decl(ctx, term)) \
            if z3.Z3_get_ast_kind(ctx, term) == z3.Z3_APP_AST else None
        if kind == _TRUE or kind == _FALSE:
            box = EVERYWHERE if (kind == _TRUE) == positive else NOWHERE
        elif kind == _CONSTANT:
            dim, i = self._literals.get(term_id) or (self._dimension(term_id), 1)
            at_least = self.full[dim] & ~((1 << i) - 1)
            box = Box({dim: at_least if positive else self.full[dim] ^ at_least}, True)
        elif kind == _NOT:
            box = self._read(z3.Z3_get_app_arg(ctx, term, 0), not positive)
        elif kind == _AND or kind == _OR:
            items = [self._read(z3.Z3_get_app_arg(ctx, term, i), positive)
                     for i in range(z3.Z3_get_app_num_args(ctx, term))]
            box = self._all(items) if (kind == _AND) == positive else self._any(items)
        else:
            box = _UNKNOWN
        self._memo[(term_id, positive)] = box
        return box

    @staticmethod
    def _all(items: list[Box]) -> Box:
        box = EVERYWHERE
        for item in items:
            box = box.meet(item)
        return NOWHERE if box.empty else box

    def _any(self, items: list[Box]) -> Box:
        """A union of boxes: a box again (exactly) when they are exact and all name one same dimension (or none);
        else the smallest box around them."""
        items = [b for b in items if not b.empty]
        if not items:
            return NOWHERE
        if len(items) == 1:
            return items[0]
        named = set().union(*(b.masks for b in items))
        common = set.intersection(*(set(b.masks) for b in items))
        masks = {}
        for dim in common:
            mask = 0
            for b in items:
                mask |= b.masks[dim]
            if mask != self.full[dim]:
                masks[dim] = mask
        return Box(masks, all(b.exact for b in items) and len(named) <= 1)


def request_at(encoding: Encoding, point: dict[int, int], only: frozenset[str]) -> dict:
    """The request at a point of a box (index 0 where the point names none: what the solver gives a dimension
    nothing constrains), the attributes of the dimensions named in `only`, the others absent."""
    return encoding.request_at(lambda n: point.get(n, 0), only)
