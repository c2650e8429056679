"""Questions about a policy set as a whole, answered exactly from its decision space.

"Can any request with a purpose under marketing ever be allowed to use
user.health_and_medical?" is a `Question`: a decision (allow or deny),
optional actions, purposes and data categories (each "under" the keys
given), and `where` conditions written in the policy language
(`data_subject.age == 17`, `destination_country != "IN"`). The answer is
yes, with a request that proves it and the rules that decided it, or no.

How: the `where` conditions are compiled as probes (rules that take no part
in decisions) and the space (pdp.analysis.space) is enumerated with them, so their
attributes and constants get representative values too. Within each group
of cells the components are independent, so a request with the decision
exists exactly when:

- allow: every component has a class where no deny applies (and the
  probes it holds are true), and one of them has such a class where an
  allow applies;
- deny: some component has a class where a deny applies (or a rule
  cannot be evaluated), or every component has a class where no allow
  applies (default deny).

The witness is re-decided with `PolicySet.outcome`: the answer is the
engine's. In a `where` condition an absent attribute is a value of its own,
not unknown (`conditions.compile_test(absent_is_value=True)`): it equals
nothing, so `data_subject.consent.health != true` holds for a request that
leaves the consent out ("absent is not true"), as a reader means it, and
`== false` does not. A "no" therefore never hides requests that leave an
attribute out. Ask `recipient.dpa is present and recipient.dpa != true` to
leave them out.

Attributes in `where` are checked as a policy's are: an unknown or
misspelt attribute is an error with a suggestion, never read as text. Only
a bare word in the place of a value (`destination_country != IN`, the right
of a comparison, `in` or `under`) is text, and only when it does not look
like a misspelt attribute.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field, replace
from typing import Any, TypeGuard

from pdp.engine.policy_set import PolicySet
from pdp.lang import ast
from pdp.engine.conditions import EvaluationError, compile_rule_test
from pdp.engine.decision import DEFAULT_DENY, Outcome
from pdp.base.errors import PolicyError, did_you_mean, suggest
from pdp.lang.parser import parse_policy
from pdp.engine.build import build
from pdp.engine.sources import Sources
from pdp.vocab.request import apply_lookups, request_schema
from .space import AUTO, DEFAULT_LIMIT, ENUMERATION, ENUMERATION_BUDGET, Cell, Klass, Selections, Space, SpaceTooLarge, Stats
from .space.encoding import Encoding, Formula, f_and, f_not

PROBE_PREFIX = "query.where_"


class QuestionError(ValueError):
    """A question that cannot be asked: unknown keys, a condition that does not parse or check."""


@dataclass(frozen=True)
class Question:
    decision: str = "allow"  # the decision asked about: "allow" or "deny"
    actions: tuple[str, ...] = ()  # any of these actions (empty: any action)
    purposes: tuple[str, ...] = ()  # a purpose under any of these keys (empty: any)
    categories: tuple[str, ...] = ()  # a data category under any of these keys (empty: any)
    where: tuple[str, ...] = ()  # conditions in the policy language, all of which must be true
    # are the requests about data use (a purpose and categories), or AuthZEN requests (an action alone)? `ask`
    # sets it from the set's model
    data_use: bool = field(default=True, compare=False)

    def describe(self) -> str:
        parts = [" or ".join(self.actions) if self.actions else "do anything"]
        if self.categories:
            parts.append(" or ".join(f"{c}.*" for c in self.categories))
        elif self.actions and self.data_use:
            parts.append("any data")
        if self.purposes:
            parts.append("for " + " or ".join(f"{p}.*" for p in self.purposes))
        text = "a request to " + " ".join(parts)
        if self.where:
            text += " where " + " and ".join(self.where)
        return text

    def to_dict(self) -> dict:
        return {"decision": self.decision, "actions": list(self.actions), "purposes": list(self.purposes),
                "categories": list(self.categories), "where": list(self.where)}


@dataclass
class Answer:
    question: Question
    yes: bool
    request: dict | None = None  # the counterexample (a request with the decision asked about)
    outcome: Outcome | None = None  # the engine's decision of that request
    cells: int = 0  # cells that matched the question's actions, purposes and categories
    matching: int = 0  # of those, cells where some request also meets every `where`
    found: int = 0  # of those, cells where some request gets the decision
    stats: Stats = field(default_factory=Stats)
    notes: tuple[str, ...] = ()
    versions: tuple[str, ...] = ()  # the versions asked (the set's history, oldest first)
    policy: dict | None = None  # the version that decided the example, and why (the decision's `policy`)

    def to_dict(self) -> dict:
        out: dict[str, Any] = {"answer": "yes" if self.yes else "no", "question": self.question.to_dict(),
               "cells": {"asked": self.cells, "matching": self.matching, "with_decision": self.found},
               "space": self.stats.to_dict(), "notes": list(self.notes), "versions": list(self.versions)}
        if self.request is not None:
            assert self.outcome is not None  # an example request comes with its decision
            out["request"] = self.request
            out["policy"] = dict(self.policy or {})
            out["decision"] = self.outcome.decision
            out["reasons"] = [r.to_dict() for r in self.outcome.reasons]
        return out

    def render(self) -> str:
        q = self.question
        verb = "allowed" if q.decision == "allow" else "denied"
        lines = []
        if self.yes:
            assert self.outcome is not None  # a yes comes with an example and its decision
            counted = f" ({self.found:,} of {self.cells:,} cells)" if self.stats.method != "solver" else ""
            lines.append(f"yes: {q.describe()} can be {verb}{counted}")
            if len(self.versions) > 1 and self.policy:
                basis = f", {self.policy['basis']}" if self.policy.get("basis") else ""
                lines.append(f"  under: {self.policy['name']} {self.policy['version']}{basis}")
            lines.append("  decided by: " + "; ".join(_reason_text(r) for r in self.outcome.reasons))
            lines.append("  for example:")
            lines += ["    " + line for line in json.dumps(self.request, indent=2, ensure_ascii=False).splitlines()]
        elif self.cells and not self.matching:
            lines.append(f"no: no request is {q.describe()}: the conditions exclude each other "
                         f"or the targets (the question is empty)")
        else:
            under = f", under every version a request can select of {', '.join(self.versions)}" \
                if len(self.versions) > 1 else ""
            checked = f"{self.cells:,} cells checked" if self.stats.method != "solver" else "checked by the solver"
            lines.append(f"no: {q.describe()} is never {verb} ({checked}{under})")
        lines.append(f"  space: {self.stats.summary()}")
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)


def _reason_text(reason) -> str:
    if reason.rule == DEFAULT_DENY:
        return f"default deny ({reason.message})"
    cite = f" ({reason.cite})" if reason.cite else ""
    return f"{reason.effect} {reason.rule}{cite}"


# ---------------------------------------------------------------- asking


def ask(policy_set: PolicySet, question: Question, sources: Sources | None = None, *, limit: int = DEFAULT_LIMIT,
        method: str = AUTO) -> Answer:
    """Answer a question about `policy_set`; `sources` (its texts) are needed when it has `where` conditions.

    A set that keeps earlier versions (§11) is asked under every version a request can select
    (space/selection.py): "never" holds only if no request is decided so by any of them.

    `method`: ENUMERATION walks the space (space.py: it counts the cells and requests found), SOLVER asks
    z3 (space/encoding.py: whatever the number of attributes a rule reads), AUTO enumerates a space that
    fits `space.ENUMERATION_BUDGET` and asks the solver beyond it. Raises Undecided when the solver cannot
    settle the question within its budget (never answered "no").
    """
    started = time.perf_counter()
    question = replace(question, data_use=policy_set.model.names_data_use)
    _check_keys(policy_set.history, question)
    probes = compile_where(question.where, sources, policy_set) if question.where else []
    selections = Selections(policy_set)
    # the person's own requests are decided by the current version only: each such action a class of its own
    actions = tuple(question.actions) + (tuple(sorted(selections.subject_requests)) if selections.versioned else ())
    space = Space(selections.history, probes, actions=actions, purposes=question.purposes,
                  categories=question.categories, limit=limit, budget=ENUMERATION_BUDGET if method == AUTO else None)
    answer = None
    if method == ENUMERATION or (method == AUTO and space.cheap_to_group()):
        try:
            answer = _enumerated(policy_set, question, probes, selections, space)
        except SpaceTooLarge:
            if method == ENUMERATION:
                raise
    if answer is None:
        answer = _solved(policy_set, question, probes, selections, space)
    answer.stats.seconds = time.perf_counter() - started
    return answer


def _enumerated(policy_set: PolicySet, question: Question, probes, selections: Selections, space: Space) -> Answer:
    """The answer from the enumerated space: every group of cells, its components' classes combined."""
    best = None  # (rank, weight, order, cell, group, picks, choice)
    answer = Answer(question, False, versions=tuple(v.version for v in selections.history))
    for order, group in enumerate(space.groups):
        cells = [c for c in group.cells if _asked(question, c)]
        if not cells or all(rules is None for rules in group.rules):
            continue  # no version's vocabulary knows these keys: every version refuses the request
        answer.cells += len(cells)
        components = space.components(group)
        usable = [[k for k in c.classes if all(p is None or p is True for p in k.probes)] for c in components]
        if any(not u for u in usable):
            continue
        answer.matching += len(cells)
        by_choices: dict[tuple, list[Cell]] = {}
        for cell in cells:
            by_choices.setdefault(selections.for_action(cell.action.rep), []).append(cell)
        for choices, some in by_choices.items():
            for rank, choice in enumerate(choices):
                if group.rules[selections.current if choice.version is None else choice.version] is None:
                    continue  # the version that checks the request does not know these keys: it refuses it
                found = _witness(space, components, usable, question.decision, choice.version)
                if found is None:
                    continue
                answer.found += len(some)
                weight, picks = found
                if best is None or (rank, weight) < best[:2]:
                    best = (rank, weight, order, some[0], group, picks, choice)
                break
    answer.stats = space.stats
    answer.notes = tuple(sorted(space.notes))
    if best is not None:
        *_, cell, group, picks, choice = best
        _example(answer, policy_set, probes, selections, choice, space.request(cell, group, picks))
    return answer


def _solved(policy_set: PolicySet, question: Question, probes, selections: Selections, space: Space) -> Answer:
    """The answer from the solver: is (the decision asked, under a version a request selects) and (the
    question's keys and `where`) satisfiable? One question per way of selecting a version, in the order the
    enumeration prefers them (the current version first), and a lighter example sought once one is found."""
    encoding = Encoding(space)
    answer = Answer(question, False, versions=tuple(v.version for v in selections.history),
                    stats=Stats(method="solver", dimensions=len(encoding.dims), cell_words=space.stats.cell_words),
                    notes=tuple(sorted(space.notes)))
    asked = f_and([
        True if not question.actions else encoding.action.among(
            i for i, c in enumerate(space.actions) if c.rep in question.actions),
        True if not question.purposes else encoding.purpose.among(
            i for i, c in enumerate(space.purposes) if any(c.covers_key(k) for k in question.purposes)),
        True if not question.categories else encoding.category.among(
            i for i, c in enumerate(space.categories) if any(c.covers_key(k) for k in question.categories)),
    ])
    where = f_and(encoding.probes)
    answer.cells = 1  # asked: in words, not counted (the solver does not count cells)
    try:
        if encoding.check(asked, where) is None:
            return _counted(answer, encoding)  # the question is empty
        answer.matching = 1
        not_own = encoding.action.among(i for i, c in enumerate(space.actions)
                                        if c.rep not in selections.subject_requests)
        for rank, choice in enumerate(selections.choices):
            checker = selections.current if choice.version is None else choice.version
            if choice.version is None:
                if question.decision != "deny":
                    continue  # no version in force: every such request is denied
                decided: Formula = True
            else:
                verdicts = encoding.verdicts[choice.version]
                decided = verdicts.allow if question.decision == "allow" else verdicts.deny
            # a rule that reads the day of collection: the day itself selects the version (its window)
            collected = encoding.collected(*selections.window(choice))
            if collected is not True:
                choice = replace(choice, fields=())
            wanted = (asked, where, f_not(encoding.verdicts[checker].refused), decided,
                      not_own if rank else True, collected)  # the person's own requests: the current version only
            model = encoding.check(*wanted)
            if model is None:
                continue
            answer.found = 1
            model = encoding.lightest(model, *wanted)
            _example(answer, policy_set, probes, selections, choice, encoding.request(model))
            break
    finally:
        answer.stats.questions = encoding.questions
    return _counted(answer, encoding)


def _counted(answer: Answer, encoding: Encoding) -> Answer:
    answer.stats.questions = encoding.questions
    return answer


def _example(answer: Answer, policy_set: PolicySet, probes, selections: Selections, choice, found: dict) -> None:
    """Make `found` (under the version choice) the answer's example, as the engine decides it: a request the
    engine decides otherwise, or that does not meet the `where`, is a fault of the analysis, never reported."""
    request = choice.apply(found)
    answer.stats.decided += 1
    selected = policy_set.select(request)  # the engine's answer, under the version the request selects
    if selected.outcome.decision != answer.question.decision or selections.index(selected.version) != choice.version \
            or not _probes_hold(probes, policy_set, request):
        raise RuntimeError(f"the decision space and the engine disagree on {json.dumps(request)}: "
                           f"the engine says {selected.outcome.decision}")
    answer.yes, answer.request, answer.outcome, answer.policy = True, request, selected.outcome, selected.info


def _asked(question: Question, cell: Cell) -> bool:
    if question.actions and cell.action.rep not in question.actions:
        return False
    if question.purposes and not any(cell.purpose.covers_key(k) for k in question.purposes):
        return False
    if question.categories and not any(cell.category.covers_key(k) for k in question.categories):
        return False
    return True


def _witness(space: Space, components, usable: list[list[Klass]], decision: str, version: int | None):
    """The lightest choice of one class per component that gets `decision` under `version`, or None.

    `version` None: no version was in force (selection.py), and every request is denied."""
    checker = len(space.versions) - 1 if version is None else version  # the version that checks the request
    usable = [[k for k in u if not k.states[checker].refused] for u in usable]  # it refuses these: no decision
    if not all(usable):
        return None
    if version is None:
        if decision != "deny":
            return None

        def lightest_class(component, classes: list[Klass]) -> Klass:
            return min(classes, key=lambda k: space.weight_of(component.nodes, k.witness))

        picks = [lightest_class(c, u) for c, u in zip(components, usable)]
        return sum(space.weight_of(c.nodes, k.witness) for c, k in zip(components, picks)), picks
    effects = space.effects[version]

    def weight(component, klass):
        return space.weight_of(component.nodes, klass.witness)

    def lightest(i, keep):
        found = [k for k in usable[i] if keep(k)]
        return min(found, key=lambda k: weight(components[i], k)) if found else None

    options = []
    if decision == "allow":
        free = [lightest(i, lambda k: not k.states[version].denies(effects)) for i in range(len(components))]
        if all(free):
            for i in range(len(components)):
                provider = lightest(i, lambda k: not k.states[version].denies(effects)
                                    and k.states[version].allows(effects))
                if provider is not None:
                    options.append(free[:i] + [provider] + free[i + 1:])
    else:
        anything = [lightest(i, lambda k: True) for i in range(len(components))]
        for i in range(len(components)):
            denier = lightest(i, lambda k: k.states[version].denies(effects))
            if denier is not None:
                options.append(anything[:i] + [denier] + anything[i + 1:])
        bare = [lightest(i, lambda k: not k.states[version].allows(effects)) for i in range(len(components))]
        if all(bare):
            options.append(bare)
    if not options:
        return None
    scored = [(sum(weight(c, k) for c, k in zip(components, picks)), picks) for picks in options]
    return min(scored, key=lambda s: s[0])


def _probes_hold(probes, policy_set: PolicySet, request: dict) -> bool:
    env = apply_lookups(request, policy_set.lookups) if policy_set.lookups else request
    try:
        return all(p.applies(env) is True for p in probes)
    except EvaluationError:
        return False


# ---------------------------------------------------------------- the question's parts


def _check_keys(history, question: Question) -> None:
    """The question's keys, known to some version (an earlier version may know a key the current one dropped)."""
    current = history[-1]
    if not current.model.names_data_use and (question.purposes or question.categories):
        raise QuestionError(f"`{current.name}` is an AuthZEN policy set: its requests name an action "
                            "(`action.name`), a subject and a resource, no purpose or data category; ask with "
                            "actions and conditions, e.g. --action ACTION --where 'subject.properties.role == \"admin\"'")
    if question.decision not in ("allow", "deny"):
        raise QuestionError(f"ask about `allow` or `deny`, not `{question.decision}`")
    vocabularies = [v.vocabulary for v in history]
    problems = []
    for keys, known, what in ((question.actions, set().union(*(v.actions for v in vocabularies)), "action"),
                              (question.purposes, set().union(*(v.purposes for v in vocabularies)), "purpose"),
                              (question.categories, set().union(*(v.categories for v in vocabularies)),
                               "data category")):
        for key in keys:
            if key not in known:
                hint = did_you_mean(key, known)
                problems.append(f"unknown {what} `{key}`" + (f"; {hint}" if hint else ""))
    if problems:
        raise QuestionError("; ".join(problems))


_ROOTS = frozenset(request_schema()) | {"data"}  # a data-use request's parts (an AuthZEN set's: its model's)


def quote_bare_words(text: str, roots: frozenset[str] = _ROOTS) -> str:
    """`destination_country != IN` -> `destination_country != "IN"`: a bare word in the place of a value is text.

    Only on the value side of a comparison, `in` or `under` whose other side
    is an attribute (or a bare word, reported by the checker): a bare word
    standing where an attribute belongs (`destinaton_country == US`) stays
    an attribute, for the checker to refuse with a suggestion, and so does a
    value that looks like a misspelt attribute (`recipient.country ==
    destinaton_country`).
    """
    parsed, errors = parse_policy(_probe_text([text]), "<where>")
    if errors or not parsed.rules:
        return text
    offset = len(_probe_prefix(0))
    spans = []
    for condition in parsed.rules[0].when:
        for node in ast.walk(condition):
            for word in _value_words(node, roots):
                spans.append((word.span.col - 1 - offset, word.span.end_col - 1 - offset, word.dotted))
    for start, end, dotted in sorted(set(spans), reverse=True):
        text = text[:start] + json.dumps(dotted) + text[end:]
    return text


def _is_bare(expr: ast.Expr, roots: frozenset[str] = _ROOTS) -> TypeGuard[ast.Path]:
    return isinstance(expr, ast.Path) and expr.parts[0] not in roots


def _value_words(node: ast.Expr, roots: frozenset[str]) -> list[ast.Path]:
    """The bare words of a test that stand in the place of a value and read as text."""
    if not isinstance(node, (ast.Compare, ast.Member, ast.Under, ast.Has)):
        return []
    subject, value = node.left, node.right
    if isinstance(node, ast.Compare) and isinstance(value, ast.Path) and (
            not isinstance(subject, ast.Path) or (_is_bare(subject, roots) and not _is_bare(value, roots))):
        subject, value = value, subject  # `IN == destination_country`
    if not isinstance(subject, ast.Path):
        return []
    items = value.items if isinstance(value, ast.ListLiteral) else (value,)
    return [i for i in items if _is_bare(i, roots) and not suggest(i.parts[0], roots, cutoff=0.8)]


def _probe_prefix(i: int) -> str:
    return f'allow {PROBE_PREFIX}{i + 1} cite "query" when '


def _probe_text(conditions) -> str:
    return "".join(_probe_prefix(i) + c.replace("\n", " ") + "\n" for i, c in enumerate(conditions))


def compile_where(conditions, sources: Sources | None, policy_set: PolicySet):
    """The `where` conditions, parsed, checked and compiled against the policy set's vocabulary and data.

    Each becomes an allow rule in a copy of the set (so the checker sees the
    same attributes and types); only its compiled test is kept.
    """
    if sources is None:
        raise QuestionError("`where` conditions need the policy set's sources (its directory)")
    roots = frozenset(policy_set.model.schema(policy_set.vocabulary)) | {"data"}  # the parts its requests have
    conditions = [quote_bare_words(c, roots) for c in conditions]
    name = "<where>"
    while name in sources.policies:
        name += "_"
    skeleton = _skeleton(policy_set, sources)
    policies = {"<header>": skeleton} if skeleton is not None else dict(sources.policies)
    augmented = Sources({**policies, name: _probe_text(conditions)}, sources.vocabulary, dict(sources.data))
    try:
        probed = build(augmented)
    except PolicyError as error:
        mine = [d for d in error.diagnostics if d.file == name and d.severity == "error"]
        if not mine:
            raise QuestionError("the policy set has errors; run `pdp check`") from None
        raise QuestionError("; ".join(_where_error(d, conditions) for d in mine)) from None
    probes = [r for r in probed.rules if r.id.startswith(PROBE_PREFIX) and r.source.span.file == name]
    # absent is a value in a question (see above): compiled again, two-valued
    probes = [replace(r, applies=compile_rule_test(r.source.when, (), probed.data, absent_is_value=True))
              for r in probes]
    return sorted(probes, key=lambda r: int(r.id[len(PROBE_PREFIX):]))


def _skeleton(policy_set: PolicySet, sources: Sources) -> str | None:
    """The set's header, lookups and named conditions, as written: all a `where` condition is checked against besides the
    vocabulary and the data (so a question does not parse and check the whole set again). None when they
    cannot be cut out of the texts (a span without its end)."""
    parts = []
    for file in policy_set.files:
        # (its named conditions too: a question may use them by name, `--where is_minor`)
        for span in [h.span for h in file.headers] + [lk.span for lk in file.lookups] + [c.span for c in file.conditions]:
            text = sources.policies.get(span.file)
            if text is None or not span.end_line:
                return None
            lines = text.splitlines()[span.line - 1: span.end_line]
            lines[-1] = lines[-1][: span.end_col - 1] if len(lines) > 1 else lines[-1][span.col - 1: span.end_col - 1]
            if len(lines) > 1:
                lines[0] = lines[0][span.col - 1:]
            parts.append("\n".join(lines))
    return "\n".join(parts) + "\n"


def _where_error(diagnostic, conditions) -> str:
    line = diagnostic.line
    condition = conditions[line - 1] if 0 < line <= len(conditions) else ""
    col = diagnostic.col - len(_probe_prefix(line - 1))
    text = f"--where `{condition}`: {diagnostic.code}: {diagnostic.message}"
    if 0 < col <= len(condition) + 1:
        text += f" (at column {col})"
    if diagnostic.hint:
        text += f"; {re.sub(r'^hint: ', '', diagnostic.hint)}"
    return text
