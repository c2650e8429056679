"""The version a request selects (§11) as one more dimension of the decision space.

A policy set may keep its earlier versions (versions.py): a request is then
a point of the space *and* the version it selects. The space of a versioned
set spans every version of its history (oldest first, the current last);
this module lists the ways a request can select one of them, each with
what a request carries to make it so:

- the current version: no `collected_at`;
- each earlier version: a `collected_at` on its effective date (in force
  from then until the next one);
- no version in force: a `collected_at` the day before the first effective
  date; such a request is denied (fail closed), whatever it asks.

`data_subject.accepted_policy_version` selects nothing a collection date
cannot: an accepted version decides only when it is later than the one in
force, and a collection date in its window selects it too. The person's own
requests (`subject_requests`) are always decided by the current version.

Which choice a given request makes is never worked out here: the engine's
`versions.select` says, so the space and the engine cannot disagree on it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Sequence

from pdp.engine.policy_set import PolicySet
from pdp.engine import versions
from pdp.engine.decision import Outcome, Reason
from .cells import Group


@dataclass(frozen=True)
class VersionChoice:
    """One way a request selects a version: `version` indexes the history (None: no version in force)."""

    version: int | None
    fields: tuple[tuple[str, str], ...]  # what the request carries to make this choice, e.g. (("collected_at", day),)

    def apply(self, request: dict) -> dict:
        return {**request, **dict(self.fields)}


class Selections:
    """The version choices of a policy set, and the space's decision of a point under each."""

    def __init__(self, policy_set: PolicySet):
        self.history = tuple(policy_set.history)
        self.current = len(self.history) - 1
        self.subject_requests = frozenset(self.history[-1].vocabulary.subject_requests)
        self.choices = self._choices()

    @property
    def versioned(self) -> bool:
        return len(self.history) > 1

    def _choices(self) -> tuple[VersionChoice, ...]:
        out = [VersionChoice(self.current, ())]  # preferred: an example without a date reads simplest
        if not self.versioned:
            return tuple(out)
        for i in reversed(range(self.current)):
            day = self.history[i].effective
            # a version that shares its date with a later one is never selected: ask the engine which one is
            if day and self.index(self._selected({"collected_at": day})) == i:
                out.append(VersionChoice(i, (("collected_at", day),)))
        first = self.history[0].effective
        if first:
            before = (dt.date.fromisoformat(first) - dt.timedelta(days=1)).isoformat()
            if self._selected({"collected_at": before}) is None:
                out.append(VersionChoice(None, (("collected_at", before),)))
        return tuple(out)

    def window(self, choice: VersionChoice) -> tuple[str | None, str | None, bool]:
        """The `collected_at` days that make the choice, as the engine selects (`versions.select`): [since,
        before), and whether none at all does (the current version's). A query whose rules read the day asks
        for one in the window rather than the choice's own (`fields`)."""
        if choice.version is None:
            return None, self.history[0].effective, False
        since = self.history[choice.version].effective
        if choice.version == self.current:
            return since, None, True
        later = [v.effective for v in self.history[choice.version + 1:] if v.effective and v.effective > (since or "")]
        return since, min(later, default=None), False

    def _selected(self, request: dict):
        return versions.select(self.history, request)[0]

    def index(self, version) -> int | None:
        return next((i for i, v in enumerate(self.history) if v is version), None)

    def for_action(self, action: str) -> tuple[VersionChoice, ...]:
        """The choices a request for `action` has: the current version only for the person's own requests."""
        return self.choices[:1] if action in self.subject_requests else self.choices

    def of(self, request: dict) -> int | None:
        """The version (index) `request` selects, as the engine selects it. Raises RequestError."""
        if not self.versioned and "collected_at" not in request:
            return self.current
        return self.index(self._selected(request))

    def outcome(self, space, version: int | None, group: Group, picks: Sequence, category: str) -> Outcome:
        """The space's decision of a point under a version choice: what queries decide points with."""
        if version is None:
            return NONE_IN_FORCE
        return space.outcome(version, group, picks, category)

    def predict(self, space, request: dict) -> Outcome | None:
        """The space's decision for a single-category request, under the version it selects (None: outside)."""
        version = self.of(request)
        if version is None:
            return NONE_IN_FORCE if space.classify(request) is not None else None
        return space.predict(version, request)


# The outcome of a request no version was in force for (policy_set.Selection gives it a message naming the date).
NONE_IN_FORCE = Outcome("deny", (Reason(versions.NONE_IN_FORCE, "deny", "§11", "no version was in force"),))
