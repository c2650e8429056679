"""Static analysis of a policy set as a whole: warnings `pdp check` reports.

- `shadowed-rule`: wherever the rule applies, another rule of the same
  effect applies too (or, for an allow, a deny wins), so removing it would
  change no decision. Explicit denies that only restate default deny (no
  allow covers what they forbid, as `disclosure.no_sale` does for `sales`)
  are *not* reported: naming the clause in the reason is their point.
  A rule that applies to no request is reported too, saying why when the
  policy data is the reason (pdp.analysis.never_true).
- `always-overridden`: an allow rule that some deny rule beats on every
  request it applies to: it can never allow anything.
- `unmarked-overlap`: a deny rule and allow rules that apply together to
  some request, where neither names the other in `overrides`. One warning
  per deny rule, listing the allows it overlaps.
- `unused-vocabulary`: an action, purpose, data category or data subject
  type declared in `vocabulary.yaml` that no rule names (nor a key below
  it). Consent topics and declared attributes are not reported: a topic or
  attribute is also what a request is allowed to carry.

The first three are decided exactly on the decision space (pdp.analysis.space): a
rule "applies" to a request of the space when its target reaches it (a deny:
overlaps it; an allow: covers it, `taxonomy.reaches`) and its conditions are
true; the space includes requests for broad keys (`user`, `marketing`).
The space is enumerated while that is cheap (`LIMIT` assignments per
component, `BUDGET` in all, `COMPARISONS` rule comparisons); beyond, the
same facts are asked of the z3 solver, a question per rule
(pdp.analysis.solved), so the analysis is never skipped for size. Only a
rule whose question the solver cannot settle within its budget is left
out, and an `analysis-skipped` warning names it (fail safe: no finding is
claimed for it, and --strict fails).
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable
from typing import Any

from dataclasses import replace

from pdp.engine.build import collector_paused
from pdp.engine.policy_set import PolicySet
from pdp.lang import ast
from pdp.vocab import taxonomy as tx
from pdp.base.errors import Diagnostic
from pdp.lang.acceptance import apply_acceptances
from .never_true import why_never_true
from pdp.base.paths import value_at
from pdp.base.source import NO_SPAN, Span
from .solved import RuleFacts, solve_facts
from .space import AUTO, ENUMERATION, SOLVER, Space, SpaceTooLarge, atoms, rule_conditions

LIMIT = 20_000  # assignments per component; CX-ONE-GO's largest has 600
BUDGET = 100_000  # assignments in all; CX-ONE-GO needs about 36,000 (broad keys are cells too)
COMPARISONS = 20_000_000  # rule comparisons; CX-ONE-GO needs well under 1 % of it (8,866 overlapping rules needed 9 GB)
SHOWN = 6  # rules named in one message
# what a component of the enumerated space tells of the rules, in what the rest of its group says, folded into the
# facts once (and each pair of components' overlaps once), not again for every group that holds it; False: for
# every group (a property test holds the two equal)
FOLDED_ONCE = True
PAUSE_GC = True  # the cycle collector held off while the space is enumerated; False: it runs as it will


_found: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # policy set -> method -> (warnings, texts)


def warnings_of(policy_set: PolicySet, method: str = AUTO) -> tuple[Diagnostic, ...]:
    """The set's warnings: the checker's and the whole-set analysis' (shadowed rules, overlaps, unused
    vocabulary), those a rule accepts marked, unused acceptances found. The analysis costs more than a
    build (CX-ONE-GO: about 0.15 s of CPU against 0.04 s, bench/warnings_speed.py), so it runs here on first
    use (`pdp check`, the workbench, an editor's diagnostics), never for deciding or serving."""
    return _analysed(policy_set, method)[0]


def warning_texts_of(policy_set: PolicySet, method: str = AUTO) -> dict[str, str]:
    """The files the warnings point at, as read (for their excerpts)."""
    return _analysed(policy_set, method)[1]


def _analysed(policy_set: PolicySet, method: str) -> tuple[tuple[Diagnostic, ...], dict[str, str]]:
    by_method = _found.setdefault(policy_set, {})
    if method not in by_method:
        sources = policy_set.sources
        vocabulary = sources.vocabulary if sources else None
        found = policy_set.checker_warnings + tuple(
            d for d in analyse(policy_set, vocabulary, method=method) if d.severity == "warning")
        found = apply_acceptances([rule for f in policy_set.files for rule in f.rules], found)
        texts = sources.texts() if sources else {}
        by_method[method] = found, {w.span.file: texts[w.span.file] for w in found if w.span.file in texts}
    return by_method[method]


def analyse(policy_set: PolicySet, vocabulary_source: tuple[str, str] | None = None, *,
            method: str = AUTO) -> list[Diagnostic]:
    """Warnings about the policy set as a whole (severity "warning").

    `method` (space.AUTO, ENUMERATION, SOLVER): the rule warnings from the enumerated space while it stays
    within `LIMIT`, `BUDGET` and `COMPARISONS` (AUTO, ENUMERATION), else from the solver (AUTO, SOLVER), which
    is never skipped; only ENUMERATION alone gives up on a large set (`analysis-skipped`)."""
    out = unused_vocabulary(policy_set, vocabulary_source)
    if not policy_set.rules:
        return out
    first = policy_set.rules[0].source
    if method != SOLVER:
        # the enumeration makes many objects that live until it ends, within its budgets: the cycle collector's
        # passes over every object alive would find nothing to collect (PAUSE_GC; as a build does, engine.build)
        with collector_paused(PAUSE_GC):
            found = _enumerated_warnings(policy_set, method, first)
        if found is not None:  # (always, for ENUMERATION)
            return out + found
    solved = solve_facts(policy_set, lambda deny, allow: not _marked(policy_set, deny, allow))
    out += rule_diagnostics(policy_set, solved.facts, solved.overlaps)
    if solved.timed:
        out.append(Diagnostic(
            "analysis-skipped", f"shadowing and overlaps of {_names(solved.timed)} were not analysed: "
            "a test the analysis does not read (a date tested `under` a key, searched for in a list the "
            "request gives, or read from a register; a `matches` of more templates than it tells apart; a key the "
            "request names compared with another of its attributes, `purpose == context.p`; or a list the request "
            "gives compared with `has any of` or `has all of` that it does not read exactly), in a rule or in the "
            "rules that decide with it; nothing is claimed of them",
            first.id_span,
            "review these rules by their policy tests", "warning"))
    budget = [r for r in solved.undecided if r not in solved.timed]
    if budget:
        solved = replace(solved, undecided=budget)
        out.append(Diagnostic(
            "analysis-skipped", f"shadowing and overlaps of {len(solved.undecided)} rule"
            f"{'s' if len(solved.undecided) != 1 else ''} could not be decided within the solver's budget: "
            f"{_names(solved.undecided)}", first.id_span,
            "split rules that read many attributes at once, or that thousands of other rules overlap", "warning"))
    return out


def _enumerated_warnings(policy_set: PolicySet, method: str, first: ast.Rule) -> list[Diagnostic] | None:
    """The rule warnings from the enumerated space; or, for ENUMERATION alone, why it was not enumerated
    (`analysis-skipped`); None when AUTO leaves it to the solver."""
    # which rules apply together is what is compared: the obligations of a broad allow are not (Space)
    space = Space([policy_set], limit=LIMIT, budget=BUDGET, obligations=False)
    skipped = None
    if method == ENUMERATION or space.cheap_to_group():
        try:
            space.enumerate()
            work = comparisons(space)
            if work <= COMPARISONS:  # rule_warnings compares the rules that apply together: quadratic
                return rule_warnings(policy_set, space)
            skipped = Diagnostic("analysis-skipped", f"shadowing and overlaps were not analysed: {work:,} rule "
                                 f"comparisons (limit {COMPARISONS:,})", first.id_span,
                                 "thousands of rules apply to the same requests; split the set", "warning")
        except SpaceTooLarge as error:
            skipped = Diagnostic("analysis-skipped", f"shadowing and overlaps were not analysed: {error}",
                                 first.id_span, "split rules that read many attributes at once", "warning")
    if method == ENUMERATION:
        return [skipped] if skipped else []
    return None


def _marked(policy_set: PolicySet, deny: str, allow: str) -> bool:
    """Does either rule name the other in `overrides`? (a deliberate exception: its overlap is not reported)"""
    rules = _by_id(policy_set)
    return _names_rule([k.name for k in rules[deny].source.overrides], allow) or \
        _names_rule([k.name for k in rules[allow].source.overrides], deny)


_ids: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _by_id(policy_set: PolicySet) -> dict:
    found = _ids.get(policy_set)
    if found is None:
        found = _ids[policy_set] = {r.id: r for r in policy_set.rules}
    return found


def comparisons(space: Space) -> int:
    """About how many rule-against-rule comparisons rule_warnings would make (counted, not made)."""
    total = 0
    for group in space.groups:
        if group.rules[0] is None:
            continue
        for component in space.components(group):
            total += sum(len(k.states[0].applies) for k in component.classes) * len(group.rules[0])
    return total


def rule_warnings(policy_set: PolicySet, space: Space) -> list[Diagnostic]:
    """The rule warnings from the enumerated space."""
    return rule_diagnostics(policy_set, *enumerated_facts(space))


def enumerated_facts(space: Space) -> tuple[dict[str, RuleFacts], dict[str, set[str]]]:
    """Each rule's facts, and the allows each deny applies together with, from the enumerated space."""
    effects = space.effects[0]
    facts = {rule_id: RuleFacts() for rule_id in effects}
    overlaps: dict[str, set[str]] = {}  # deny id -> allow ids it applies together with
    # FOLDED_ONCE: what was folded into the facts already, (component, what the group's others say) and pairs of
    # components: a fact is folded with `and`, `or` and intersections, so folding the same again changes nothing
    folded: set[tuple] = set()
    summaries: dict[int, tuple] = {}
    for group in space.groups:
        if group.rules[0] is None:
            continue
        components = space.components(group)
        summary = [_summary(c, effects, summaries if FOLDED_ONCE else None) for c in components]
        for i, component in enumerate(components):
            others = [j for j in range(len(components)) if j != i]
            others_always = set().union(*(summary[j][0] for j in others)) if others else set()
            denied_elsewhere = any(summary[j][1] for j in others)
            allowed_elsewhere = any(summary[j][2] for j in others)
            if FOLDED_ONCE:
                context = (id(component), frozenset(others_always), denied_elsewhere, allowed_elsewhere)
                if context in folded:
                    continue
                folded.add(context)
            for klass in component.classes:
                state = klass.states[0]
                denied = state.denies(effects) or denied_elsewhere
                for rule_id in state.applies:
                    fact = facts[rule_id]
                    fact.applies = True
                    effect = effects[rule_id]
                    same = {r for r in (state.applies | others_always) if r != rule_id and effects[r] == effect}
                    if effect == "deny":
                        redundant = bool(same) or bool(state.errors) or denied_elsewhere
                        fact.overridden = False
                    else:
                        redundant = bool(same) or denied or allowed_elsewhere
                        fact.overridden = fact.overridden and denied
                    fact.redundant = fact.redundant and redundant
                    fact.helpers |= same
                    if not (effect == "allow" and denied and not same):
                        fact.companions = same if fact.companions is None else fact.companions & same
                # overlaps within the component
                allows = [r for r in state.applies if effects[r] == "allow"]
                for d in state.applies:
                    if effects[d] == "deny":
                        overlaps.setdefault(d, set()).update(allows)
        # overlaps across components: independent, so any pair that can apply can apply together
        allowing = [j for j in range(len(components)) if summary[j][5]]
        for i in (i for i in range(len(components)) if summary[i][4]):
            for j in allowing:
                if i != j:
                    if FOLDED_ONCE:
                        if (id(components[i]), id(components[j])) in folded:
                            continue
                        folded.add((id(components[i]), id(components[j])))
                    for d in summary[i][4]:
                        overlaps.setdefault(d, set()).update(summary[j][5])
    return facts, overlaps


def _summary(component, effects: dict[str, str], kept: dict[int, tuple] | None) -> tuple:
    """What a component's classes say of the rules: those that apply in every class, whether every class denies,
    whether every class allows, those that apply in some class, and of those the denies and the allows (kept per
    component when `kept` is given)."""
    found = kept.get(id(component)) if kept is not None else None
    if found is None:
        classes = component.classes
        can_apply = set().union(*(k.states[0].applies for k in classes))
        found = (set.intersection(*(set(k.states[0].applies) for k in classes)),
                 all(k.states[0].denies(effects) for k in classes),
                 all(k.states[0].allows(effects) for k in classes),
                 can_apply, sorted(r for r in can_apply if effects[r] == "deny"),
                 sorted(r for r in can_apply if effects[r] == "allow"))
        if kept is not None:
            kept[id(component)] = found
    return found


def rule_diagnostics(policy_set: PolicySet, facts: dict[str, RuleFacts],
                     overlaps: dict[str, set[str]]) -> list[Diagnostic]:
    """The warnings the facts call for, in rule order: rules applying to no request, always overridden,
    shadowed; denies overlapping allows that neither names in `overrides`."""
    rules = _by_id(policy_set)
    out: list[Diagnostic] = []
    for rule in policy_set.rules:
        fact = facts[rule.id]
        source = rule.source
        if not fact.applies:  # what the checker's `never-matches` cannot see (the data, an `or`, ...)
            why = why_never_true(source, policy_set.data) or "its conditions are never true for what its target covers"
            # not "it never changes a decision": a rule that never applies may still fail on a value of the wrong
            # type, and a failure denies (fail closed), so the claim is about applying only
            out.append(Diagnostic("shadowed-rule", f"the rule `{rule.id}` applies to no request: {why}",
                                  source.id_span, "fix its target or conditions, or remove it: it never allows or "
                                  "denies by applying (only by failing, on a value of the wrong type)", "warning"))
            continue
        if rule.effect == "allow" and fact.overridden:
            out.append(Diagnostic(
                "always-overridden",
                f"the allow rule `{rule.id}` never allows anything: a deny rule wins on every request it applies to",
                source.id_span, "narrow the deny rules, or remove this rule", "warning"))
            continue
        if fact.redundant:
            named = sorted(fact.companions or ())
            if named:
                by = _names(named)
                message = f"the rule `{rule.id}` is shadowed by {by}: wherever it applies, " \
                          f"{'that rule applies' if len(named) == 1 else 'they apply'} too, so it never changes a decision"
            else:
                by = _names(sorted(fact.helpers)) if fact.helpers else "deny rules"
                message = f"the rule `{rule.id}` never changes a decision: wherever it applies, {by} decide the same"
            hint = "remove it, or narrow it to what no other rule says"
            if rule.effect == "deny":
                hint = "if it is kept to cite its own clause, that is fine; otherwise remove it"
            for word, words, field in (("obligation", "obligations", "obligations"), ("advice", "advice", "advice")):
                own = [o.id for o in getattr(rule, field)]
                theirs = {o.id for r in named for o in getattr(rules[r], field)}
                extra = [o for o in own if o not in theirs]
                if extra:
                    message += f" (it only adds its {words if len(extra) > 1 else word} " \
                               f"{', '.join(f'`{o}`' for o in extra)})"
                    hint = f"if the {word} is the point, that is fine; otherwise remove the rule"
            out.append(Diagnostic("shadowed-rule", message, source.id_span, hint, "warning"))
    for rule in policy_set.rules:
        if rule.effect != "deny" or rule.id not in overlaps:
            continue
        unmarked = sorted(a for a in overlaps[rule.id] if not _marked(policy_set, rule.id, a))
        if not unmarked:
            continue
        out.append(Diagnostic(
            "unmarked-overlap",
            f"the deny rule `{rule.id}` overrides {len(unmarked)} allow rule{'s' if len(unmarked) != 1 else ''} "
            f"on some requests without naming {'it' if len(unmarked) == 1 else 'them'}: {_names(unmarked)}",
            rule.source.id_span,
            f"if it is a deliberate exception, say so: `overrides {', '.join(unmarked)}`" if len(unmarked) <= SHOWN
            else "if it is a deliberate exception, say so with `overrides` and the rules it is an exception to",
            "warning"))
    return out


def _names(ids: list[str]) -> str:
    shown = ", ".join(f"`{i}`" for i in ids[:SHOWN])
    return shown + (f" and {len(ids) - SHOWN} more" if len(ids) > SHOWN else "")


# ---------------------------------------------------------------- vocabulary


def unused_vocabulary(policy_set: PolicySet, vocabulary_source: tuple[str, str] | None) -> list[Diagnostic]:
    """Keys declared in vocabulary.yaml that no rule names, nor any key below them."""
    declared = [(kind, key) for kind, key in policy_set.vocabulary.declared
                if kind in (tx.ACTION, tx.PURPOSE, tx.CATEGORY, tx.SUBJECT_TYPE)]
    if not declared:
        return []
    named: set[str] = set()
    read: set[tuple[str, ...]] = set()  # the policy data paths the rules read, each walked once below
    for rule in policy_set.rules:
        source: ast.Rule = rule.source
        named |= {k.name for k in source.actions + source.purposes + source.categories}
        for condition in rule_conditions(rule):
            for atom in atoms(condition):
                for node in ast.walk(atom):
                    if isinstance(node, ast.Literal) and isinstance(node.value, str):
                        named.add(node.value)
                    elif isinstance(node, ast.Path) and node.parts[0] == "data":
                        read.add(tuple(node.parts[1:]))
    for path in read:
        named |= _strings(value_at(policy_set.data, path))
    for register in (lk[1] for lk in policy_set.lookups):
        named |= _strings(register)
    out = []
    spans: dict[str, Span] | None = None  # read from vocabulary.yaml once a key is found unused
    used = reached(named)
    for kind, key in sorted(declared):
        if key in used:
            continue
        if spans is None:
            spans = _vocabulary_spans(vocabulary_source)
        span = spans.get(key, Span(vocabulary_source[0], 1, 1) if vocabulary_source else NO_SPAN)
        out.append(Diagnostic("unused-vocabulary", f"the {kind} `{key}` is declared but no rule names it",
                              span, _unused_hint(kind, key), "warning", about=key))
    return out


def without_requested(warnings: Iterable[Diagnostic], requests: Iterable[Any]) -> list[Diagnostic]:
    """The warnings without `unused-vocabulary` for a key some request names (or names a key below): such a key
    is used, by requests (the set's tests, in `pdp check`), and removing it would have them refused."""
    requested = reached(set().union(set(), *(_strings(request) for request in requests)))
    return [w for w in warnings if not (w.code == "unused-vocabulary" and w.about in requested)]


def _unused_hint(kind: str, key: str) -> str:
    """Never "remove it": requests (the set's tests, its callers) may name the key, and a request naming a key the
    vocabulary lacks is refused, so removing it would turn their decisions into errors (issue 12)."""
    parent = key.rsplit(".", 1)[0] if "." in key else None
    decided = (f"a request naming it is decided by the rules on `{parent}` and the keys above it" if parent
               else "a request naming it is decided by the rules that name no " + kind)
    return (f"write the rule it was declared for; {decided}. Remove it from vocabulary.yaml only if no request "
            "names it (a request naming an unknown key is refused; the set's tests name none)")


def reached(names: set[str]) -> set[str]:
    """Every key some name is, or lies below: a declared key is used when it is in here.

    The same as asking `taxonomy.covers(key, name)` of every name for every key, in one pass over
    the names (`ancestors` of each), so it grows with the set, not with keys x names.
    """
    return {key for name in names for key in tx.ancestors(name)}


def _strings(value) -> set[str]:
    if isinstance(value, str):
        return {value}
    if isinstance(value, dict):
        return {str(k) for k in value} | set().union(*(_strings(v) for v in value.values())) if value else set()
    if isinstance(value, (list, tuple, set, frozenset)):
        return set().union(*(_strings(v) for v in value)) if value else set()
    return set()


def _vocabulary_spans(source: tuple[str, str] | None) -> dict[str, Span]:
    """Where each declared key is written in vocabulary.yaml."""
    if not source:
        return {}
    from pdp.base.yamlpos import YamlSyntaxError, load_located

    path, text = source
    try:
        doc = load_located(text, path)
    except YamlSyntaxError:
        return {}
    if not isinstance(doc.value, dict):
        return {}
    spans: dict[str, Span] = {}
    for section in ("actions", "data_uses", "data_categories", "data_subjects"):
        entries = doc.value.get(section)
        if not isinstance(entries, list):
            continue
        for i, entry in enumerate(entries):
            key = entry.get("key") if isinstance(entry, dict) else entry
            if isinstance(key, str):
                spans.setdefault(key, doc.span(section, i, "key") if isinstance(entry, dict) else doc.span(section, i))
    return spans


def _names_rule(names, rule_id: str) -> bool:
    """`overrides marketing` names `marketing.promotional_email`: a name covers the ids below it."""
    return any(rule_id == n or rule_id.startswith(n + ".") for n in names)
