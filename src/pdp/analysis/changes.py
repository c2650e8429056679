"""The report of `pdp diff` (pdp.analysis.diff) and its words: the kinds of request whose decision an edit
changes, each grouped by the decisions and rules before and after, described as actions, purposes and
categories with a condition, with one example; and the replay of a decision log."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Iterable

from pdp.engine.decision import DEFAULT_DENY, Outcome
from .space import NOT_ACCEPTED, Cell, Space, Stats, key_labels

SHOWN = 8  # keys listed in one line of text


@dataclass
class Case:
    """Requests of one change that read alike: actions, purposes, categories and a condition."""

    actions: tuple[str, ...]
    purposes: tuple[str, ...]
    categories: tuple[str, ...]
    when: str  # "" when the attributes do not matter
    data_use: bool = field(default=True, compare=False)  # False: AuthZEN requests, which name an action alone

    def render(self) -> str:
        text = f"{_list(self.actions)} of {_list(self.categories)} for {_list(self.purposes)}" if self.data_use \
            else _list(self.actions)
        return text + (f" when {self.when}" if self.when else "")

    def to_dict(self) -> dict:
        return {"actions": list(self.actions), "purposes": list(self.purposes), "categories": list(self.categories),
                "when": self.when}


@dataclass
class Change:
    before: str
    after: str
    rules_before: tuple[str, ...]
    rules_after: tuple[str, ...]
    requests: int | None = 0  # requests of the space whose decision changes this way (None: not counted, the solver)
    cases: list[Case] = field(default_factory=list)
    example: dict | None = None
    cites: dict[str, str] = field(default_factory=dict)

    def headline(self) -> str:
        if "decided" in (self.before, self.after):
            allows = self.rules_after if self.after == "decided" else self.rules_before
            text = "newly known to the vocabulary, decided by the rules now (was REFUSED)" \
                if self.after == "decided" else "no longer known to the vocabulary: REFUSED now (was decided by the rules)"
            return text + (f"; rules that can allow them: {self._rules(allows)}" if allows else "; no rule allows them")
        return (f"now {_word(self.after)}, was {_word(self.before)}: by {self._rules(self.rules_after)}; "
                f"before: {self._rules(self.rules_before)}")

    def _rules(self, ids) -> str:
        out = []
        for rule in ids:
            if rule == DEFAULT_DENY:
                out.append("no rule allows it (default deny)")
            elif rule == "request.refused":
                out.append("the vocabulary does not know it")
            elif rule == NOT_ACCEPTED:
                out.append("a value the version does not accept (an attribute's type, or a lookup's `except`)")
            else:
                cite = self.cites.get(rule)
                out.append(f"{rule} ({cite})" if cite else rule)
        return ", ".join(out)

    def to_dict(self) -> dict:
        return {"before": self.before, "after": self.after, "rules_before": list(self.rules_before),
                "rules_after": list(self.rules_after), "requests": self.requests,
                "cases": [c.to_dict() for c in self.cases], "example": self.example}


@dataclass
class Replay:
    path: str
    total: int = 0
    replayed: int = 0
    flips: Counter = field(default_factory=Counter)  # (before, after) -> count
    by_rules: Counter = field(default_factory=Counter)  # (before, after, rules before, rules after) -> count
    refused: int = 0  # requests one version refuses as malformed (masked attributes, unknown keys)
    skipped: int = 0  # rows that are no single decision request (AuthZEN batches)
    stale: int = 0  # logged decisions OLD does not reproduce (logged under yet another version)

    @property
    def flipped(self) -> int:
        return sum(self.flips.values())

    def to_dict(self) -> dict:
        return {"log": self.path, "rows": self.total, "replayed": self.replayed, "flipped": self.flipped,
                "flips": [{"before": b, "after": a, "count": n} for (b, a), n in sorted(self.flips.items())],
                "by_rules": [{"before": b, "after": a, "rules_before": list(rb), "rules_after": list(ra), "count": n}
                             for (b, a, rb, ra), n in self.by_rules.most_common()],
                "refused": self.refused, "skipped": self.skipped, "not_reproduced_by_old": self.stale}

    def render(self) -> str:
        lines = [f"replay of {self.path}: {self.replayed:,} of {self.total:,} logged requests re-decided; "
                 f"{self.flipped:,} would now be decided differently"]
        for (before, after), n in sorted(self.flips.items()):
            lines.append(f"  {n:,} {before} -> {after}")
        for (_before, _after, rb, ra), n in self.by_rules.most_common(SHOWN):
            lines.append(f"    {n:,}: {', '.join(rb) or '-'} -> {', '.join(ra) or '-'}")
        if self.refused:
            lines.append(f"  {self.refused:,} could not be re-decided by one version (malformed there, "
                         f"or masked in the log)")
        if self.skipped:
            lines.append(f"  {self.skipped:,} skipped (batches)")
        if self.stale:
            lines.append(f"  {self.stale:,} were logged with a decision OLD does not give (another version decided them)")
        return "\n".join(lines)


@dataclass
class VersionDiff:
    """One version (by its version string) of two sets that keep earlier versions (§11)."""

    version: str
    status: str  # "compared", "added" (in NEW only) or "removed" (in OLD only)
    effective: tuple[str, str]  # in OLD and in NEW ("" where the version is missing)
    changes: list[Change] = field(default_factory=list)
    complete: bool = True  # False: the search stopped at its budget (there may be more changes, or some)

    @property
    def changed(self) -> bool:
        return self.status != "compared" or self.effective[0] != self.effective[1] or bool(self.changes)

    def to_dict(self) -> dict:
        return {"version": self.version, "status": self.status, "changed": self.changed,
                "effective": {"old": self.effective[0], "new": self.effective[1]},
                "changes": [c.to_dict() for c in self.changes], "complete": self.complete}

    def render(self) -> list[str]:
        old, new = self.effective
        if self.status == "added":
            return [f"version {self.version}: added in NEW (effective {new}): the data collected while it was in "
                    f"force is decided by it"]
        if self.status == "removed":
            return [f"version {self.version}: removed from NEW (was effective {old}): the data collected under it "
                    f"is now decided by another version, or by none (denied)"]
        dates = f"effective {old}" if old == new else f"effective {old} in OLD, {new} in NEW"
        if not self.changes:
            if not self.complete:
                return [f"version {self.version} ({dates}): {UNDECIDED}"]
            return [f"version {self.version} ({dates}): no decision changes"]
        lines = [f"version {self.version} ({dates}): {_changes(self.changes)}{_total(self.changes, 'its space')}"]
        if not self.complete:
            lines.append(f"  {MAYBE_MORE}")
        return lines + ["  " + line if line else line for line in _render_changes(self.changes)]


@dataclass
class Report:
    old: str
    new: str
    changes: list[Change]
    stats: Stats
    notes: tuple[str, ...] = ()
    replay: Replay | None = None
    versions: list[VersionDiff] = field(default_factory=list)  # earlier versions, when either set keeps some
    # False: the search for the current versions' changes stopped at its budget (Undecided): there may be more
    # changes than those listed, or some where none is listed; never read as "no decision changes"
    complete: bool = True

    @property
    def changed(self) -> bool:
        return bool(self.changes) or bool(self.replay and self.replay.flipped) or any(v.changed for v in self.versions)

    @property
    def undecided(self) -> bool:
        """Nothing is known to change, and the search did not end: whether anything changes is not known."""
        return not self.changed and not (self.complete and all(v.complete for v in self.versions))

    def to_dict(self) -> dict:
        return {"old": self.old, "new": self.new, "changed": self.changed,
                "changes": [c.to_dict() for c in self.changes], "space": self.stats.to_dict(),
                "notes": list(self.notes), "replay": self.replay.to_dict() if self.replay else None,
                "versions": [v.to_dict() for v in self.versions], "complete": self.complete,
                "undecided": self.undecided}

    def render(self) -> str:
        current = "the current versions of " if self.versions else ""
        if not self.changes:
            lines = [f"no decision changes from {current}{self.old} to {self.new}" if self.complete else
                     f"{current}{self.old} to {self.new}: {UNDECIDED}"]
        else:
            lines = [f"{_changes(self.changes)} from {current}{self.old} to {self.new}{_total(self.changes, 'the space')}"]
            if not self.complete:
                lines.append(MAYBE_MORE)
        lines += _render_changes(self.changes)
        if self.versions:
            lines.append("")
            lines.append("the versions a request selects with collected_at (§11), compared by version:")
            for version in self.versions:
                lines += ["  " + line if line else line for line in version.render()]
        lines.append("")
        lines.append(f"space: {self.stats.summary()}")
        lines += [f"note: {n}" for n in self.notes]
        if self.replay:
            lines.append("")
            lines.append(self.replay.render())
        return "\n".join(lines)


UNDECIDED = "could not be decided within the budget whether any decision changes (see the notes)"
MAYBE_MORE = "(the search stopped at its budget: there may be more changes than these)"


def _total(changes: list[Change], of: str) -> str:
    """" (N requests of the space)": the enumeration counts them, the solver does not."""
    if any(c.requests is None for c in changes):
        return ""
    return f" ({sum(c.requests or 0 for c in changes):,} requests of {of})"


def _changes(changes: list[Change]) -> str:
    return f"{len(changes)} change{'s' if len(changes) != 1 else ''} of decision"


def _render_changes(changes: list[Change]) -> list[str]:
    lines = []
    for change in changes:
        lines.append("")
        lines.append(change.headline() + (f" ({change.requests:,} requests)" if change.requests is not None else ""))
        for case in change.cases:
            lines.append(f"  - {case.render()}")
        if change.example is not None:
            lines.append("  example: " + json.dumps(change.example, ensure_ascii=False))
    return lines


def _word(decision: str) -> str:
    return {"allow": "ALLOWED", "deny": "DENIED", "refused": "REFUSED"}.get(decision, decision.upper())


def _list(keys) -> str:
    keys = list(keys)
    shown = ", ".join(keys[:SHOWN])
    return shown + (f" and {len(keys) - SHOWN} more" if len(keys) > SHOWN else "")


def ids(outcome: Outcome) -> tuple[str, ...]:
    """The rules an outcome's reasons name, in order: with the decisions, what tells one change from another."""
    return tuple(r.rule for r in outcome.reasons)


def worded_nodes(space: Space, edited: set[str], change: Change) -> tuple[int, ...]:
    """The attributes (space nodes) the condition of a change is worded on, whichever route found it (the
    enumeration, diff.py, or the solver, diff_solver.py: one change, one wording): those the edited rules read
    (an edit of the data alone: those the rules the change names read), and those some version refuses a
    value of (a lookup's `except`, an attribute's type), which no rule may read. The condition is the change's
    requests projected on them: values of other attributes are not said, and an attribute the projection does
    not constrain drops out of the words."""
    rules = edited or set(change.rules_before) | set(change.rules_after)
    read = {n for v in space.versions for r in v.rules if r.id in rules for n in space.slot_nodes_of(r)[0]}
    return tuple(sorted(read | set(space.refusing)))


def condition_text(space: Space, nodes: tuple[int, ...], assignments: Iterable[tuple[int, ...]]) -> str:
    """The condition, in the policy language's words, that holds exactly for these choices of these nodes
    ("" when there are no nodes to tell apart)."""
    conditions = [c for c in space.describe(nodes, assignments) if c] if nodes else []
    if len(conditions) > 1:
        return " or ".join(f"({c})" for c in conditions)
    return conditions[0] if conditions else ""


def cases_of(space: Space, by_text: dict[str, list[Cell]]) -> list[Case]:
    """The requests of one change, in words: the cells under each condition, as few products as are found."""
    cases = []
    for text, cells in by_text.items():
        for actions, purposes, categories in _arrange(space, cells):
            if space.model.names_data_use:
                cases.append(Case(actions, purposes, categories, text))
            else:  # an AuthZEN request names no purpose or category (one class each: nothing to say)
                cases.append(Case(actions, (), (), text, data_use=False))
    cases.sort(key=lambda c: (c.actions, c.categories, c.purposes, c.when))
    return cases


def _arrange(space: Space, cells: list[Cell]) -> list[tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]]:
    """Cells as few (actions, purposes, categories) products as a greedy merge finds, named by keys."""
    by_pair: dict[tuple, set] = {}
    for cell in cells:
        by_pair.setdefault((cell.action, cell.purpose), set()).add(cell.category)
    by_categories: dict[tuple, list] = {}
    for (action, purpose), categories in by_pair.items():
        by_categories.setdefault((action, frozenset(categories)), []).append(purpose)
    by_rest: dict[tuple, list] = {}
    for (action, categories), purposes in by_categories.items():
        by_rest.setdefault((frozenset(purposes), categories), []).append(action)
    return [(tuple(key_labels(actions, space.actions)), tuple(key_labels(purposes, space.purposes)),
             tuple(key_labels(categories, space.categories)))
            for (purposes, categories), actions in by_rest.items()]
