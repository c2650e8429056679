"""Warnings a policy accepts: `accept shadowed-rule because "..."` on a rule.

A rule can acknowledge a warning `pdp check` gives about it, with the reason
it is intended, as ESLint's disable directives or Cedar's annotations do. The
warning is still listed, marked accepted with its reason, and no longer fails
`pdp check --strict`. An acceptance that matches no warning is itself a
warning (`unused-accept`), so an acceptance left behind after the rule
changed is found, as ESLint's reportUnusedDisableDirectives finds them.

Only warnings about one rule can be accepted (RULE_WARNINGS); a warning
about the set as a whole (`unused-vocabulary`, `analysis-skipped`) has no
rule to carry the acceptance, and `unused-accept` is fixed by removing the
acceptance.
"""

from __future__ import annotations

from dataclasses import replace

from . import ast
from pdp.base.errors import Diagnostic, did_you_mean
from pdp.base.source import Span

RULE_WARNINGS = ("always-overridden", "no-citation", "permissive-read", "shadowed-rule", "unmarked-overlap")
ANALYSIS_WARNINGS = ("always-overridden", "shadowed-rule", "unmarked-overlap")  # not looked for when it is skipped
SET_WARNINGS = ("analysis-skipped", "unused-accept", "unused-vocabulary")


def acceptance_problems(rule: ast.Rule) -> list[Diagnostic]:
    """Errors in a rule's `accept` clauses: an unknown code, a warning no rule can accept, no reason, twice."""
    out: list[Diagnostic] = []
    seen: set[str] = set()
    for acceptance in rule.accepts:
        code = acceptance.code
        if code in SET_WARNINGS:
            out.append(Diagnostic("bad-accept", f"`{code}` is not a warning about one rule: a rule cannot accept it",
                                  acceptance.span, "a rule accepts " + _listed(RULE_WARNINGS)))
        elif code not in RULE_WARNINGS:
            out.append(Diagnostic("unknown-warning", f"`{code}` is not a warning `pdp check` gives about a rule",
                                  acceptance.span,
                                  did_you_mean(code, RULE_WARNINGS) or "a rule accepts " + _listed(RULE_WARNINGS)))
        elif code in seen:
            out.append(Diagnostic("bad-accept", f"the rule `{rule.id}` accepts `{code}` twice", acceptance.span,
                                  "keep one `accept`, with the whole reason"))
        if not acceptance.reason.strip():
            out.append(Diagnostic("bad-accept", f"accepting `{code}` needs a reason", acceptance.span,
                                  f'say why the warning is intended: `accept {code} because "..."`'))
        seen.add(code)
    return out


def apply_acceptances(rules: list[ast.Rule], warnings: tuple[Diagnostic, ...]) -> tuple[Diagnostic, ...]:
    """The warnings, each a rule accepts marked with its reason, and an `unused-accept` for each acceptance
    that matches no warning about its rule."""
    out = list(warnings)
    # a set too large to analyse was not looked at: its acceptances are not known to be stale (and
    # `analysis-skipped` is a warning of its own)
    unknowable = ANALYSIS_WARNINGS if any(w.code == "analysis-skipped" for w in out) else ()
    by_code: dict[tuple[str, str], list[int]] = {}  # (code, file) -> the warnings' indices, for many rules
    for i, warning in enumerate(out):
        if warning.severity == "warning":
            by_code.setdefault((warning.code, warning.span.file), []).append(i)
    for rule in rules:
        for acceptance in rule.accepts:
            matched = False
            for i in by_code.get((acceptance.code, rule.span.file), ()):
                if _within(out[i].span, rule):
                    out[i] = replace(out[i], accepted=acceptance.reason)
                    matched = True
            if not matched and acceptance.code not in unknowable:
                out.append(Diagnostic("unused-accept", f"the rule `{rule.id}` accepts `{acceptance.code}`, but "
                                      f"`pdp check` gives no such warning about it", acceptance.span,
                                      "remove the `accept`: the rule changed, or the warning was never given",
                                      "warning"))
    return tuple(out)


def unaccepted(warnings) -> list[Diagnostic]:
    """The warnings no rule accepts: what `pdp check --strict` fails on."""
    return [w for w in warnings if w.accepted is None]


def _within(span: Span, rule: ast.Rule) -> bool:
    whole = rule.span
    if span.file != whole.file:
        return False
    end = (whole.end_line, whole.end_col) if whole.end_line else (whole.line, whole.col)
    return (whole.line, whole.col) <= (span.line, span.col) <= end


def _listed(codes) -> str:
    return ", ".join(f"`{c}`" for c in codes)
