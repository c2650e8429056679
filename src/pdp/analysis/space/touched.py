"""The rules an edit can make a difference through: what `pdp diff` encodes for the solver (diff_solver.py).

Two versions that differ in their rules alone (the same vocabulary, registers and lookups) encode every rule
they share identically: a rule's formulas read only its own effect, target and conditions and that shared
environment (encoding.py). So wherever no edited rule (added, removed or changed, `diff.edited_rules`) takes
part, both versions decide alike. Rules take part only where their target reaches the request's action,
purpose and category (`reach.Reach`): the decisions can differ only in the cells some edited rule's target
reaches, the region R. There, the rules that decide are the edited ones and the shared rules whose targets
reach some cell of R; every other rule takes part in no cell of R.

Encoding those rules alone (in both versions) is exact for the diff: inside R every rule that takes part is
encoded; outside R both versions encode the same rules identically and the edited ones take no part, so
neither the narrowed nor the whole encoding finds a change there. A broad edited rule (no `to`, `for` or
`of`) reaches every cell, and then every rule is encoded, as without narrowing.

Over-approximating is always safe (an extra rule encoded only costs time): beyond `BOXED` edited rules, R is
taken as the box of their classes per dimension rather than the union of their targets.
"""

from __future__ import annotations

from .encoding import reads_alike
from .reach import Reach, Reached, meet
from .space import Space

BOXED = 64  # edited rules beyond which R is widened to one box (per dimension, the union of their classes)


def touched(space: Space, edited: set[str], reach: Reach) -> tuple[frozenset[str], ...] | None:
    """Per version, the ids of the rules to encode for the diff of the space's two versions, given the ids of the
    rules the edit added, removed or changed (`diff.edited_rules`); None when every rule must be (the versions
    differ in more than their rules: vocabulary, registers, lookups)."""
    if len(space.versions) != 2 or space.probes or not _same_environment(space):
        return None
    targets = [reach.classes(r) for v in space.versions for r in v.rules if r.id in edited]
    if len(targets) > BOXED:
        targets = [_box(targets)]
    meets: dict[Reached, bool] = {}

    def kept(rule) -> bool:
        if rule.id in edited:
            return True
        mine = reach.classes(rule)
        found = meets.get(mine)
        if found is None:
            found = meets[mine] = any(meet(mine, t) for t in targets)
        return found

    return tuple(frozenset(r.id for r in v.rules if kept(r)) for v in space.versions)


def _same_environment(space: Space) -> bool:
    """Do both versions read requests alike: the same vocabulary (and so the same broad keys), registers and
    lookups, and the same requests refused?"""
    old, new = space.versions
    return (reads_alike(old, new)
            and all((0 in refused) == (1 in refused) for node in space.nodes for refused in node.refused))


def _box(targets: list[Reached]) -> Reached:
    """The smallest box holding these targets: per dimension, the union of their classes (None: every class)."""
    out: list[frozenset[int] | None] = []
    for d in range(3):
        parts = [t[d] for t in targets]
        joined: frozenset[int] = frozenset()
        for part in parts:
            if part is None:
                out.append(None)
                break
            joined |= part
        else:
            out.append(joined)
    return out[0], out[1], out[2]


__all__ = ["BOXED", "touched"]
