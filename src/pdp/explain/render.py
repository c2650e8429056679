"""An explanation as text, as `pdp explain` prints it."""

from __future__ import annotations

import textwrap
from typing import TYPE_CHECKING

from pdp.engine.versions import NONE_IN_FORCE
from pdp.lang import printer

if TYPE_CHECKING:
    from .model import Explanation


def render_text(e: Explanation) -> str:
    t = e.target
    about = f"{t.action}" if t.authzen else f"{t.action} {', '.join(t.categories)} for {t.purpose}"
    policy = " ".join(str(e.policy[k]) for k in ("name", "version") if e.policy.get(k))
    if e.policy.get("basis"):  # which version decided, and why (§11)
        policy += f", {e.policy['basis']}"
    out = [f"decision: {e.decision}" + (f" ({policy})" if policy else ""), f"request: {about}"]
    for r in e.reasons:
        cite = f" ({r.cite})" if r.cite else ""
        out.append(f"  {r.effect} {r.rule}{cite}: {r.message}")
    if e.obligations:
        out.append("obligations:")
        for o, source in e.sourced():
            out.append(f"  {o.id}: {o.text}{_parameters(o)}")
            # a broad request carries the duties of the parts it includes (docs/language.md)
            if source is not None and source.part:
                out.append(f"    {source.text}")
            if source is not None and source.due:
                out.append(f"    {source.due}")
    if e.advice:
        out.append("advice:")
        out += [f"  {a.id}: {a.text}{_parameters(a)}" for a in e.advice]
    for effect in ("deny", "allow"):
        rules = [r for r in e.rules if r.effect == effect]
        out += ["", f"{effect.capitalize()} rules about this request:"]
        if not rules:
            out.append("  none")
        for rule in rules:
            where = ", ".join(x for x in (rule.cite, rule.location) if x)
            out.append(f"  {rule.rule} ({where}): {rule.verdict}")
            if rule.message:
                out.append(f"    {rule.message}")
            for c in rule.conditions:
                out.extend("    " + line for line in c.because)
    # no version was in force (§11): no rule was asked, so neither default deny nor a change is the point
    by_rules = not any(r.rule == NONE_IN_FORCE for r in e.reasons)
    if not t.authzen and by_rules:
        out.append("")
        if e.uncovered:
            out += [f"No allow rule applies to {c}: default deny." for c in e.uncovered]
        else:
            out.append("Every category has an allow rule that applies.")
    if e.unrelated:
        out += ["", f"Rules not about this request ({len(e.unrelated)}):"]
        groups: dict[str, list[str]] = {}
        for u in sorted(e.unrelated, key=lambda u: _PARTS.index(u.misses)):
            groups.setdefault(u.why.split(" (")[0], []).append(u.rule)  # `why` without the rule's own keys
        for head, ids in groups.items():
            out.append(textwrap.fill(", ".join(ids), width=100, initial_indent=f"  {head}: ",
                                     subsequent_indent="    ", break_on_hyphens=False))
    if e.decision == "deny" and by_rules:
        out.append("")
        if e.suggestions:
            out.append("Smallest changes that would allow it:")
            out.extend(f"  {s.text}" for s in e.suggestions)
        else:
            out.append("No change of one or two attributes or of the action would allow it." if e.target.authzen
                       else "No change of one or two attributes, the purpose or the categories would allow it.")
    return "\n".join(out)


_PARTS = ("action", "purpose", "data_categories")


def _parameters(duty) -> str:
    """` (days = 30, ...)`: a duty's parameters as the policy writes them; empty when it has none."""
    if not duty.parameters:
        return ""
    return " (" + ", ".join(f"{name} = {printer.value(v)}"
                            for name, v in duty.parameters) + ")"
