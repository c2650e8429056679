"""Vocabulary key classes: the actions, purposes or categories the rules cannot tell apart, and their labels."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Collection, Iterable, Sequence

from pdp.vocab import taxonomy as tx


@dataclass(frozen=True)
class KeyClass:
    """A set of vocabulary keys (actions, purposes or categories) the rules cannot tell apart.

    A key stands for itself and every key below it (taxonomy.reaches): a
    request for `user` overlaps a deny on `user.health_and_medical`, which a
    request for `user.contact` does not. So the named keys *below* a key
    tell keys apart as much as those above it; a key with named keys below
    it (`broad`) is a class of its own, or shares one only with keys that
    have the same named keys above and below.
    """

    kind: str  # "action" | "purpose" | "category"
    rep: str  # the key requests of this class use
    anchor: str | None  # the most specific named key covering the class; None: no named key covers it
    members: tuple[str, ...]
    excluded: tuple[str, ...] = ()  # keys below the anchor decided as classes of their own: broad keys, then named
    # subtrees
    broad: tuple[str, ...] = ()  # named keys strictly below every member (the members are broad keys)

    @property
    def label(self) -> str:
        if self.broad:  # broad keys are named one by one: `user` here is that key, not `user.*`
            return " or ".join(self.members)
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


def key_classes(kind: str, universe: Iterable[str], covering: set[str], exact: set[str],
                known: Sequence[Collection[str]] = ()) -> list[KeyClass]:
    """Partition `universe` by which `covering` keys cover a key or lie below it, which `exact` key it is, and
    which of the versions' vocabularies (`known`) hold it: a class's representative stands for every member,
    so a key one version refuses (it does not know it) is never in the class of a key that version decides."""
    universe = set(universe)
    covering = {k for k in covering if k}
    named = covering | exact
    buckets: dict[tuple, list[str]] = {}
    for key in sorted(universe):
        sig = (frozenset(k for k in covering if tx.covers(k, key)),
               frozenset(k for k in covering if k != key and tx.covers(key, k)),
               key if key in exact else None,
               tuple(key in keys for keys in known))
        buckets.setdefault(sig, []).append(key)
    out = []
    for (over, under, only, _), members in buckets.items():
        anchor = max(over, key=len) if over else None
        if only is not None:
            anchor = only
        rep = anchor if anchor in members else min(members, key=lambda k: (k.count("."), k))
        excluded: tuple[str, ...] = ()
        if anchor is not None and only is None and not under:
            below = sorted(k for k in named if k != anchor and tx.covers(anchor, k))
            broad = sorted({a for k in below for a in tx.ancestors(k)[1:] if tx.covers(anchor, a)} & universe)
            excluded = tuple(broad) + tuple(k for k in below if not any(o != k and tx.covers(o, k) for o in below))
        out.append(KeyClass(kind, rep, anchor, tuple(members), excluded, tuple(sorted(under))))
    out.sort(key=lambda c: (c.anchor is None, c.anchor or "", bool(c.broad), c.rep))
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
    if kind == "action":
        # a vocabulary's actions are a short, flat list: named one by one, as a lawyer reads them; "any action
        # other than collect, use" would read as open-ended where the set is finite and known
        return sorted(members)
    loose = [c for c in chosen if c.anchor is None and not c.broad]
    keyed = members - {m for c in loose for m in c.members}
    below: dict[str, set[str]] = {}
    for key in universe:
        for a in tx.ancestors(key):
            below.setdefault(a, set()).add(key)
    tops: list[str] = []  # keys chosen with everything below them
    alone: list[str] = []  # broad keys chosen without some key below them: the key itself only
    for key in sorted(keyed, key=lambda k: (k.count("."), k)):
        if any(tx.covers(t, key) for t in tops):
            continue
        for a in reversed(tx.ancestors(key)):
            if a in universe and below[a] <= keyed:
                tops.append(a)
                break
        else:
            alone.append(key)
    labels = sorted([f"{t}.*" if len(below[t]) > 1 else t for t in tops] + alone) + [c.label for c in loose]
    if complement:
        rest = key_labels([c for c in every if not set(c.members) & members], every, complement=False)
        if len(rest) < len(labels):
            return [f"any {kind} other than {', '.join(rest)}"]
    return labels
