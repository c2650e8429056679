"""The change impact of a policy edit: every kind of request whose decision changes.

Both versions span one decision space (pdp.analysis.space): the actions, purposes
and categories either names, and the attribute values either tests. Each
request of it is decided under both; the ones whose decision changes are
grouped by (decision before -> after, the rules that decided before and
after) and described in words a lawyer reads:

    now DENIED, was ALLOWED: by marketing.opted_out (§2.6); before: marketing.promotional_email (§2.5)
      - use of user.contact.email for marketing.communications.email when data_subject.consent.marketing is false

How, within a group of cells: each component's classes carry the rules
that apply under both versions. A class in which a deny applies under
both versions cannot take part in a change (any deny wins), so it is
dropped; the remaining classes are combined across components and each
combination is decided under both versions with `combine`. The conditions
shown are those on the components whose rules behave differently in the
two versions; the others contribute "no rule denies it" (and the allow
named in the group's rules). One example request per change is re-decided
by both engines (`PolicySet.outcome`).

That is the enumeration, exact and counted, but exponential in the
attributes one group of rules reads together. Beyond `ENUMERATION_BUDGET`
(or with `method=SOLVER`) the z3 solver finds the same changes, in the same
words, without counting them (diff_solver.py); a search its budget stops is
reported as such (`Report.complete`), never as "no decision changes".

`replay` re-decides the requests of a decision log (through pdp.io.decision_log.DecisionLog)
under both versions and counts the decisions that flip. The log keeps the
fields that decide and pseudonymised identifiers (pdp.io.log_view); with
the log's key, an identifier that the policy data names (a register's key,
such as a processor's id) is restored, so that lookups decide as they did.
"""

from __future__ import annotations

import itertools
import json
import os
import time
from pathlib import Path

from pdp.engine.build import collector_paused
from pdp.engine.decision import Outcome
from pdp.base.errors import RequestError
from pdp.base.pseudonym import pseudonym
from sqlalchemy.exc import SQLAlchemyError

from pdp.io.combined_log import CombinedLog, is_url
from pdp.io.log_erasure import MARK
from pdp.io.decision_log import DecisionLog, log_key
from .changes import Case, Change, Replay, Report, VersionDiff, cases_of, condition_text, ids as _ids, worded_nodes
from .diff_solver import solve
from .space import AUTO, ENUMERATION, ENUMERATION_BUDGET, Cell, Group, Space, SpaceTooLarge

__all__ = ["Case", "Change", "Replay", "Report", "VersionDiff", "diff", "edited_rules", "replay"]

MAX_COMBINATIONS = 200_000  # per group, after pruning


# ---------------------------------------------------------------- the diff


def diff(old, new, old_name: str = "OLD", new_name: str = "NEW", *, method: str = AUTO,
         budget: int | None = None) -> Report:
    """Every kind of request whose decision differs between two compiled versions of a policy set.

    The current versions are compared as a request without `collected_at` selects them. When either
    set keeps earlier versions (§11), each version that both keep (by version string) is compared too,
    as a request collected in its time selects it, and a version only one of them keeps is reported.

    `method`: ENUMERATION walks the space (it counts the requests of each change), SOLVER asks z3
    (diff_solver.py: whatever the number of attributes a rule reads), AUTO enumerates a space that fits
    `space.ENUMERATION_BUDGET` and asks the solver beyond it (as `pdp query` chooses). A search the
    solver's budget stops is said in the report (`Report.complete`), never reported as no change.
    `budget`: the partial requests the enumeration may take (AUTO: ENUMERATION_BUDGET; beyond it,
    SpaceTooLarge under ENUMERATION)."""
    # the space and the encoding are millions of objects that live until the report is made: the cycle
    # collector's full passes over them (and the two loaded sets) cost more than the search (collector_paused)
    with collector_paused():
        report = _diff(old, new, old_name, new_name, method, budget)
        if len(old.history) > 1 or len(new.history) > 1:
            report.versions = _diff_versions(old, new, method, budget)
    return report


def _diff_versions(old, new, method: str, budget: int | None) -> list[VersionDiff]:
    before = {v.version: v for v in old.history}
    after = {v.version: v for v in new.history}
    out = []
    for version in sorted(before.keys() | after.keys(),
                          key=lambda v: ((before.get(v) or after[v]).effective or "", v)):
        was, now = before.get(version), after.get(version)
        if was is old and now is new:
            continue  # the current versions: compared above
        effective = (was.effective or "" if was else "", now.effective or "" if now else "")
        if was is None or now is None:
            out.append(VersionDiff(version, "added" if was is None else "removed", effective))
            continue
        compared = _diff(was, now, method=method, budget=budget)
        for change in compared.changes:
            _date_example(change, old, new, effective)
        out.append(VersionDiff(version, "compared", effective, compared.changes, compared.complete))
    return out


def _date_example(change: Change, old, new, effective: tuple[str, str]) -> None:
    """Date the example of a change in an earlier version (`collected_at`), if the sets themselves then decide
    it as the change says (a version in between, in one set only, may take that date)."""
    if change.example is None or effective[0] != effective[1] or "decided" in (change.before, change.after):
        return
    dated = {**change.example, "collected_at": effective[0]}
    try:
        if (old.outcome(dated).decision, new.outcome(dated).decision) == (change.before, change.after):
            change.example = dated
    except RequestError:
        pass


def _diff(old, new, old_name: str = "OLD", new_name: str = "NEW", method: str = AUTO,
          budget: int | None = None) -> Report:
    """The changes between two versions as a request without `collected_at` selects them."""
    started = time.perf_counter()
    if old.model is not new.model:
        raise ValueError(f"two sets of one model are compared: {old_name} is {old.model.title}, "
                         f"{new_name} {new.model.title}")
    space = Space([old, new], budget=budget if budget is not None else ENUMERATION_BUDGET if method == AUTO else None)
    report = None
    if method == ENUMERATION or (method == AUTO and space.cheap_to_group()):
        try:
            report = _enumerated(old, new, old_name, new_name, space, whole=method == AUTO)
        except SpaceTooLarge:
            if method == ENUMERATION:
                raise
    if report is None:
        solved = solve(space, edited_rules(old, new))
        solved.changes.sort(key=lambda c: (c.after, c.rules_after, c.before, c.rules_before))
        report = Report(old_name, new_name, solved.changes, solved.stats, tuple(sorted(solved.notes)),
                        complete=solved.complete)
    report.stats.seconds = time.perf_counter() - started
    return report


def _enumerated(old, new, old_name: str, new_name: str, space: Space, whole: bool) -> Report:
    """The changes from the enumerated space. `whole`: a group with more than MAX_COMBINATIONS combinations
    raises SpaceTooLarge (for the solver to answer) rather than being compared in part."""
    found: dict[tuple, dict] = {}  # change key -> {"requests": n, "entries": [(group, picks, cells)]}
    complete = True
    for group in space.groups:
        complete &= _diff_group(space, group, found, whole)
    cites = {r.id: r.cite for v in (old, new) for r in v.rules if r.cite}
    changed_rules = edited_rules(old, new)
    changes = []
    for key, entry in found.items():
        before, after, rules_before, rules_after = key
        change = Change(before, after, rules_before, rules_after, entry["requests"], cites=cites)
        change.cases = _cases(space, entry["entries"], worded_nodes(space, changed_rules, change))
        group, picks, cells = entry["entries"][0]
        request = space.request(cells[0], group, picks)
        got = [space.decide(0, request).decision, space.decide(1, request).decision]
        got = ["decided" if d != "refused" and "decided" in (before, after) else d for d in got]
        if tuple(got) != (before, after):
            raise RuntimeError(f"the decision space and the engine disagree on {json.dumps(request)}")
        change.example = request
        changes.append(change)
    changes.sort(key=lambda c: (-(c.requests or 0), c.after, c.rules_after, c.rules_before))
    # compared in part (MAX_COMBINATIONS, noted): no change found there is not "no change"
    return Report(old_name, new_name, changes, space.stats, tuple(sorted(space.notes)), complete=complete)


def _changed(component) -> bool:
    """Do the component's rules behave differently in the two versions?"""
    return any(k.states[0] != k.states[1] for k in component.classes) or component.rules[0] != component.rules[1]


def _diff_group(space: Space, group: Group, found: dict, whole: bool) -> bool:
    """Add the group's changes to `found`; False when it was compared only in part (MAX_COMBINATIONS)."""
    if group.rules[0] is None and group.rules[1] is None:
        return True
    components = space.components(group)
    effects = space.effects
    both_known = group.rules[0] is not None and group.rules[1] is not None
    if not both_known:  # a key only one version's vocabulary knows: all or nothing, no conditions to tell
        known = 0 if group.rules[0] is not None else 1
        allows = sorted({r for c in components for k in c.classes for r in k.states[known].applies
                         if effects[known][r] == "allow"})
        key: tuple[str, str, tuple[str, ...], tuple[str, ...]]
        key = ("refused", "decided", ("request.refused",), tuple(allows)) if known else \
            ("decided", "refused", tuple(allows), ("request.refused",))
        entry = found.setdefault(key, {"requests": 0, "entries": []})
        weight = len(group.cells)
        for component in components:
            weight *= component.size
        entry["requests"] += weight
        entry["entries"].append((group, [c.classes[0] for c in components], group.cells))
        return True
    changed = [_changed(c) or not both_known for c in components]
    if both_known and not any(changed) and all(
            effects[0].get(r) == effects[1].get(r) for c in components for k in c.classes for r in k.states[0].applies):
        return True  # the same rules apply alike: nothing here can change
    # a request one version refuses (an `except` of its lookup) and the other decides is a change (refused ->
    # allowed, say, when the `except` is dropped), whatever applies in the other components: where some version
    # refuses, a class a deny applies to in both versions is compared too
    refusing = any(s.refused for c in components for k in c.classes for s in k.states)
    remaining = []
    for component in components:
        keep = [k for k in component.classes if refusing
                or not (k.states[0].denies(effects[0]) and k.states[1].denies(effects[1]))]
        if not keep:
            return True  # a deny applies in both versions whatever the request: no change here
        remaining.append(keep)
    size = 1
    for keep in remaining:
        size *= len(keep)
    if size > MAX_COMBINATIONS:
        if whole:
            raise SpaceTooLarge(f"{size:,} combinations in one group")
        cell = group.rep
        named = f"{cell.action.rep} of {cell.category.rep} for {cell.purpose.rep}" if space.model.names_data_use \
            else cell.action.rep
        space.notes.add(f"{size:,} combinations in one group ({named}): only the first {MAX_COMBINATIONS:,} were "
                        "compared")
    category = group.rep.part
    for picks in itertools.islice(itertools.product(*remaining), MAX_COMBINATIONS):
        before = space.outcome(0, group, picks, category)
        after = space.outcome(1, group, picks, category)
        if before.decision == after.decision:
            continue
        key = (before.decision, after.decision, _ids(before), _ids(after))
        entry = found.setdefault(key, {"requests": 0, "entries": []})
        weight = len(group.cells)
        for klass in picks:
            weight *= len(klass.members)
        entry["requests"] += weight
        entry["entries"].append((group, picks, group.cells))
    return size <= MAX_COMBINATIONS


def edited_rules(old, new) -> set[str]:
    """Ids of the rules added, removed, or changed in effect, target or conditions."""
    def shape(rule):
        s = rule.source
        return (s.effect, s.actions, s.purposes, s.categories, s.when, s.unless)

    before = {r.id: shape(r) for r in old.rules}
    after = {r.id: shape(r) for r in new.rules}
    return {i for i in before.keys() | after.keys() if before.get(i) != after.get(i)}


def _cases(space: Space, entries, nodes: tuple[int, ...]) -> list[Case]:
    """The requests of one change, in words: per group, its cells under the condition its combinations of
    classes meet on the worded attributes (`changes.worded_nodes`, as the solver words its changes)."""
    wanted = set(nodes)
    by_group: dict[int, tuple[Group, list]] = {}
    for group, picks, _cells in entries:
        by_group.setdefault(id(group), (group, []))[1].append(picks)
    by_text: dict[str, list[Cell]] = {}
    for group, combos in by_group.values():
        components = space.components(group)
        if group.rules[0] is None or group.rules[1] is None:  # keys one vocabulary does not know: no condition
            by_text.setdefault("", []).extend(group.cells)
            continue
        where = [(i, [p for p, n in enumerate(c.nodes) if n in wanted]) for i, c in enumerate(components)]
        where = [(i, positions) for i, positions in where if positions]
        # a worded attribute no component of the group holds takes any of its choices here, and is worded so, as
        # the solver words it: the space leaves out the values every version refuses (an `except`), so "any of
        # its choices" can still be a condition (an unlisted affiliate stays refused), never "any value"
        unread = sorted(wanted - {n for c in components for n in c.nodes})
        anything = [{(c,) for c in range(len(space.nodes[n].choices))} for n in unread]
        shown = [components[i].nodes[p] for i, positions in where for p in positions] + unread
        order = sorted(range(len(shown)), key=shown.__getitem__)  # the nodes in one order, whichever the route
        assignments = set()
        for picks in combos:
            projected = [{tuple(m[p] for p in positions) for m in picks[i].members} for i, positions in where]
            projected += anything
            for parts in itertools.product(*projected):
                flat = [x for part in parts for x in part]
                assignments.add(tuple(flat[k] for k in order))
        by_text.setdefault(condition_text(space, tuple(shown[k] for k in order), assignments), []).extend(group.cells)
    return cases_of(space, by_text)


# ---------------------------------------------------------------- replaying a decision log


def _named_in_data(data, out: set[str]) -> set[str]:
    """Every string the policy data names (keys and values), the ids a register can be looked up by."""
    if isinstance(data, dict):
        for name, value in data.items():
            if isinstance(name, str):
                out.add(name)
            _named_in_data(value, out)
    elif isinstance(data, list):
        for item in data:
            _named_in_data(item, out)
    elif isinstance(data, str):
        out.add(data)
    return out


def _restorer(versions, key: bytes | None):
    """Put back, in a logged request, the identifiers that the policy data names (pseudonym -> id)."""
    if key is None:
        return lambda request: request
    names: set[str] = set()
    for version in versions:
        for each in getattr(version, "history", (version,)):
            _named_in_data(each.data, names)
    known = {pseudonym(key, name): name for name in names}

    def restore(value):
        if isinstance(value, str):
            return known.get(value, value)
        if isinstance(value, dict):
            return {name: restore(item) for name, item in value.items()}
        if isinstance(value, list):
            return [restore(item) for item in value]
        return value

    return restore


def replay(old, new, log_path: str | Path, limit: int | None = None, key: bytes | None = None) -> Replay:
    """Re-decide the requests of a decision log under both versions and count the flips.

    `log_path`: a replica's SQLite log, or the combined log's postgresql://
    URL (every replica's rows; its key, `key` or PDP_LOG_KEY, is required).
    `key` (default: `log_key(log_path)`) restores the identifiers the policy
    data names; without it, lookups by id find nothing.
    """
    if is_url(str(log_path)):
        if key is None and os.environ.get("PDP_LOG_KEY"):
            key = os.environ["PDP_LOG_KEY"].encode()
        if key is None:
            raise ValueError("replaying the combined decision log needs its key: set PDP_LOG_KEY")
        try:
            combined = CombinedLog(str(log_path), pseudonym_key=key, pool_size=1, read_only=True)
            try:
                return _replay(old, new, combined.display(), combined.read_oldest_first(limit), key)
            finally:
                combined.close()
        except SQLAlchemyError as error:  # the driver's message may hold the URL's password: only its kind
            raise ValueError(f"cannot read the combined decision log ({type(error).__name__})") from None
    path = Path(log_path)
    if not path.is_file():
        raise FileNotFoundError(f"no decision log at `{path}`")
    key = key if key is not None else log_key(path)
    return _replay(old, new, str(path), DecisionLog.read_oldest_first(path, limit), key)


def _replay(old, new, name: str, rows, key: bytes | None) -> Replay:
    result = Replay(name)
    restore = _restorer((old, new), key)
    for logged, text, _endpoint in rows:
        result.total += 1
        try:
            request = json.loads(text)
        except json.JSONDecodeError:
            result.refused += 1
            continue
        if not isinstance(request, dict) or "evaluations" in request or request.get(MARK) is True:
            result.skipped += 1  # a batch's row, or one a person was erased from (only what was decided is left)
            continue
        request.pop("ledger", None)  # the consent ledger's events a decision relied on: its filled values are here
        request = restore(request)
        outcomes: list[Outcome | None] = []
        for version in (old, new):  # as the server decided: `decide` (earlier versions under versions/ too)
            try:
                authzen = "subject" in request or "resource" in request
                d = version.decide_authzen(request) if authzen else version.decide(request)
                outcomes.append(Outcome(d.decision, d.reasons, d.obligations))
            except RequestError:
                outcomes.append(None)
        before, after = outcomes
        if before is None or after is None:
            result.refused += 1
            continue
        result.replayed += 1
        if before.decision != logged:
            result.stale += 1
        if before.decision != after.decision:
            result.flips[(before.decision, after.decision)] += 1
            result.by_rules[(before.decision, after.decision, _ids(before), _ids(after))] += 1
    return result
