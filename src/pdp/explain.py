"""Why a request got its decision, in plain words, and what would change it.

    from pdp.explain import explain
    e = explain(policy_set, request)   # raises RequestError, as decide does
    print(e.render_text())             # `pdp explain`
    e.to_dict()                        # `"explain": true` in POST /v1/decide

For every rule about the request (its action, purpose and at least one of
its categories are covered), whether it applied and, down to the
sub-condition, why: "data_subject.age < 18 is false: data_subject.age is 34".
Rules about something else are listed with the part of their target that
misses. For a deny, the smallest changes of the request that the engine
would allow ("would be allowed if data_subject.consent.marketing were not
false"), or a plain "none found".

Pure: no I/O. Conditions are evaluated again by walking the syntax tree, not
through the compiled closures, so that every sub-condition has a value to
report. The semantics are those of conditions.py (three-valued logic,
`and` / `or` settled left to right); the tests check that both give every
rule the same verdict. The decision, and every candidate change, is decided
by the engine itself.
"""

from __future__ import annotations

import copy
import json
import operator
import textwrap
from dataclasses import dataclass, field
from itertools import combinations
from typing import Any

from . import ast
from .authzen import check_evaluation
from .compiler import CompiledRule, Obligation
from .conditions import MISSING, EvaluationError
from .decision import Reason
from .errors import RequestError
from .request import apply_lookups, check_request

LIMIT = 10  # suggestions reported at most
BUDGET = 2000  # requests decided at most while looking for two-attribute changes


# ---------------------------------------------------------------- values and text


def read(env: Any, parts: tuple[str, ...]) -> Any:
    """The attribute at `parts`, or MISSING when it is absent or null."""
    value = env
    for part in parts:
        if type(value) is not dict:
            return MISSING
        value = value.get(part)
        if value is None:
            return MISSING
    return value


def fmt(value: Any) -> str:
    """A value as the policy language writes it: "text", 34, true, [a, b]."""
    if value is MISSING:
        return "absent"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, (int, float)):
        return json.dumps(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(fmt(v) for v in value) + "]"
    if isinstance(value, (set, frozenset)):
        return "[" + ", ".join(sorted(fmt(v) for v in value)) + "]"
    return json.dumps(value, ensure_ascii=False, default=str, sort_keys=True)


def show(expr: ast.Expr) -> str:
    """A condition as it is written in a policy (spacing and parentheses normalised)."""
    if isinstance(expr, ast.Path):
        return expr.dotted
    if isinstance(expr, ast.Literal):
        return fmt(expr.value)
    if isinstance(expr, ast.ListLiteral):
        return "[" + ", ".join(show(i) for i in expr.items) + "]"
    if isinstance(expr, ast.Compare):
        return f"{show(expr.left)} {expr.op} {show(expr.right)}"
    if isinstance(expr, ast.Member):
        return f"{show(expr.left)} {'not in' if expr.negated else 'in'} {show(expr.right)}"
    if isinstance(expr, ast.Under):
        return f"{show(expr.left)} under {show(expr.right)}"
    if isinstance(expr, ast.Presence):
        return f"{expr.path.dotted} is {'present' if expr.present else 'absent'}"
    if isinstance(expr, ast.Truth):
        return show(expr.operand)
    if isinstance(expr, ast.Not):
        inner = show(expr.operand)
        return f"not {inner}" if isinstance(expr.operand, (ast.Truth, ast.Not)) else f"not ({inner})"
    if isinstance(expr, (ast.And, ast.Or)):
        word, other = (" and ", ast.Or) if isinstance(expr, ast.And) else (" or ", ast.And)
        return word.join(f"({show(i)})" if isinstance(i, other) else show(i) for i in expr.items)
    raise TypeError(f"not an expression: {expr!r}")


def _word(value: bool | None) -> str:
    return "unknown" if value is None else fmt(value)


def _location(span) -> str:
    return f"{span.file}:{span.line}"


# ---------------------------------------------------------------- the evaluator


@dataclass(eq=False)
class Node:
    """A condition, or a part of one, with its value for one request.

    `where` names it inside its rule: ("when", 0) is the first `when`,
    ("when", 0, 1) the second item of that `and` / `or`. `reached` is False
    for the parts the engine never looks at: the items of an `and` after a
    false one, of an `or` after a true one, and the clauses after the first
    that does not hold.
    """

    expr: ast.Expr
    where: tuple
    value: bool | None = None  # None: unknown (or failed, see `error`)
    error: str | None = None
    children: tuple["Node", ...] = ()
    reached: bool = False

    def walk(self):
        yield self
        for child in self.children:
            yield from child.walk()


def _is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _same(a, b) -> bool:
    return a == b and isinstance(a, bool) == isinstance(b, bool)


_ORDER = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}
_COLLECTION = (list, tuple, set, frozenset, dict)


class _Walker:
    """Evaluates conditions node by node, the way conditions.py compiles them."""

    def __init__(self, env: dict, data: dict):
        self.env, self.data = env, data

    def value(self, expr: ast.Expr) -> Any:
        if isinstance(expr, ast.Literal):
            return expr.value
        if isinstance(expr, ast.ListLiteral):
            return [self.value(i) for i in expr.items]
        if isinstance(expr, ast.Path):
            if expr.parts[0] != "data":
                return read(self.env, expr.parts)
            value = read(self.data, expr.parts[1:]) if len(expr.parts) > 1 else self.data
            if isinstance(value, list) and all(isinstance(v, (str, int, float)) for v in value):
                value = frozenset(value)
            return value
        raise TypeError(f"not a value: {expr!r}")

    def test(self, expr: ast.Expr, where: tuple) -> Node:
        if isinstance(expr, (ast.And, ast.Or)):
            children = tuple(self.test(item, where + (i,)) for i, item in enumerate(expr.items))
            settled = isinstance(expr, ast.Or)
            node = Node(expr, where, None if any(c.value is None for c in children) else not settled,
                        children=children)
            for child in children:  # left to right, as the engine: the first settling item wins
                if child.error is not None:
                    node.value, node.error = None, child.error
                    break
                if child.value is settled:
                    node.value = settled
                    break
            return node
        if isinstance(expr, ast.Not):
            child = self.test(expr.operand, where + (0,))
            return Node(expr, where, None if child.value is None else not child.value, child.error, (child,))
        node = Node(expr, where)
        try:
            node.value = self._leaf(expr)
        except EvaluationError as error:
            node.error = str(error)
        except Exception as error:  # as the engine: fail closed and say what happened
            node.error = f"internal error: {error.__class__.__name__}: {error}"
        return node

    def _leaf(self, expr: ast.Expr) -> bool | None:
        if isinstance(expr, ast.Presence):
            return (self.value(expr.path) is not MISSING) == expr.present
        if isinstance(expr, ast.Truth):
            v = self.value(expr.operand)
            if v is MISSING:
                return None
            if not isinstance(v, bool):
                raise EvaluationError(f"expected true or false, got {v!r}")
            return v
        if isinstance(expr, ast.Compare):
            return self._compare(expr)
        if isinstance(expr, ast.Member):
            a = self.value(expr.left)
            if a is MISSING:
                return None
            b = self.value(expr.right)
            if b is MISSING:
                return None
            if isinstance(expr.right, ast.ListLiteral) and all(isinstance(i, ast.Literal) for i in expr.right.items):
                constant = frozenset(i.value for i in expr.right.items if not isinstance(i.value, bool))
                if len(constant) == len(expr.right.items):
                    b = constant
            if not isinstance(b, _COLLECTION):
                raise EvaluationError(f"expected a list after `in`, got {b!r}")
            try:
                found = a in b
            except TypeError:
                found = False
            return found != expr.negated
        if isinstance(expr, ast.Under):
            a = self.value(expr.left)
            if a is MISSING:
                return None
            b = self.value(expr.right)
            if b is MISSING:
                return None
            keys = b if isinstance(b, (list, tuple, set, frozenset)) else (b,)
            if not isinstance(a, str):
                raise EvaluationError(f"`under` needs a taxonomy key, got {a!r}")
            return any(a == k or a.startswith(k + ".") for k in keys)
        raise TypeError(f"not a condition: {expr!r}")

    def _compare(self, expr: ast.Compare) -> bool | None:
        op = expr.op
        a = self.value(expr.left)
        if a is MISSING:
            return None
        b = self.value(expr.right)
        if b is MISSING:
            return None
        if op in ("==", "!="):
            return _same(a, b) == (op == "==")
        if not _is_number(a) or (not isinstance(expr.right, ast.Literal) and not _is_number(b)):
            raise EvaluationError(f"cannot compare {a!r} {op} {b!r}: only numbers can be ordered")
        return _ORDER[op](a, b)


def _reach(node: Node) -> None:
    node.reached = True
    if isinstance(node.expr, (ast.And, ast.Or)):
        settled = isinstance(node.expr, ast.Or)
        for child in node.children:
            _reach(child)
            if child.error is not None or child.value is settled:
                break
    else:
        for child in node.children:
            _reach(child)


@dataclass(eq=False)
class RuleRun:
    """One rule's conditions evaluated for one request."""

    rule: CompiledRule
    clauses: tuple[tuple[str, Node], ...]  # ("when" | "unless", condition), in the order written
    applies: bool
    error: str | None  # the rule could not be evaluated (the engine fails closed)
    stop: int | None  # index of the clause that does not hold or failed; None when it applies

    def nodes(self):
        for _, node in self.clauses:
            yield from node.walk()


def run_rule(rule: CompiledRule, env: dict, data: dict) -> RuleRun:
    """Every `when` must be true and every `unless` false; the first that is not stops the rule."""
    walker = _Walker(env, data)
    clauses = tuple(("when", walker.test(e, ("when", i))) for i, e in enumerate(rule.source.when)) + tuple(
        ("unless", walker.test(e, ("unless", i))) for i, e in enumerate(rule.source.unless))
    for k, (kind, node) in enumerate(clauses):
        _reach(node)
        if node.error is not None:
            return RuleRun(rule, clauses, False, node.error, k)
        if node.value is not (kind == "when"):
            return RuleRun(rule, clauses, False, None, k)
    return RuleRun(rule, clauses, True, None, None)


# ---------------------------------------------------------------- the request


@dataclass(frozen=True)
class Target:
    """What a request is about, as the rule index sees it."""

    action: str
    purpose: str
    categories: tuple[str, ...]
    authzen: bool = False

    def covered(self, rule: CompiledRule) -> tuple[str, ...]:
        """The requested categories the rule's target covers (empty: the rule is not about this request)."""
        return tuple(c for c in self.categories if rule.covers(self.action, self.purpose, c))

    def near(self, rule: CompiledRule) -> bool:
        """About this action and one of these categories, whatever the purpose."""
        return (rule.actions is None or self.action in rule.actions) and (
            self.authzen or rule.categories is None
            or any(c == k or c.startswith(k + ".") for c in self.categories for k in rule.categories))


def prepare(policy_set, request: Any) -> tuple[Target, dict]:
    """Check a request as the engine does (raises RequestError) -> its target and what conditions read."""
    if policy_set.model == "authzen":
        check_evaluation(request)
        target = Target(request["action"]["name"], "", ("",), authzen=True)
    else:
        check_request(request, policy_set.vocabulary)
        target = Target(request["action"], request["purpose"], tuple(request["data_categories"]))
    lookups = policy_set._lookups
    return target, (apply_lookups(request, lookups) if lookups else request)


# ---------------------------------------------------------------- the explanation


@dataclass(frozen=True)
class Condition:
    """One `when` or `unless` clause and why it holds or not, in plain words."""

    clause: str  # "when" | "unless"
    text: str  # the condition as written
    value: bool | None  # None: unknown or failed
    holds: bool
    error: str | None
    because: tuple[str, ...]  # the first line, then the parts that decided it, indented two spaces a level

    def to_dict(self) -> dict:
        return {"clause": self.clause, "condition": self.text, "value": self.value, "holds": self.holds,
                "error": self.error, "because": list(self.because)}


@dataclass(frozen=True)
class RuleExplanation:
    rule: str
    effect: str
    cite: str | None
    message: str
    location: str
    categories: tuple[str, ...]  # the requested categories its target covers
    applies: bool
    error: str | None
    conditions: tuple[Condition, ...]  # all of them if it applies; otherwise the one that stopped it

    @property
    def verdict(self) -> str:
        if self.error:
            return "could not be evaluated"
        if not self.applies:
            return "does not apply"
        shown = ", ".join(c for c in self.categories if c)  # an AuthZEN request has none
        return "applies to " + shown if self.effect == "allow" and shown else "applies"

    def to_dict(self) -> dict:
        return {"rule": self.rule, "effect": self.effect, "cite": self.cite, "message": self.message,
                "location": self.location, "categories": list(self.categories), "applies": self.applies,
                "error": self.error, "conditions": [c.to_dict() for c in self.conditions]}


@dataclass(frozen=True)
class Unrelated:
    """A rule whose target misses the request, and the first part that misses."""

    rule: str
    effect: str
    cite: str | None
    location: str
    misses: str  # "action" | "purpose" | "data_categories"
    why: str

    def to_dict(self) -> dict:
        return {"rule": self.rule, "effect": self.effect, "cite": self.cite, "location": self.location,
                "misses": self.misses, "why": self.why}


@dataclass(frozen=True)
class Change:
    """One change of a request: set or remove an attribute, or leave out a category.

    kind "not" is for a yes/no attribute: any other value, or none, will do.
    """

    attribute: str  # a dotted attribute, `purpose`, or `data_categories`
    kind: str  # "set" | "remove" | "not" | "drop"
    value: Any = None

    @property
    def text(self) -> str:
        if self.kind == "drop":
            return f"the request left out {self.value}"
        if self.kind == "remove":
            return f"{self.attribute} were not in the request"
        shown = self.value if self.attribute == "purpose" else fmt(self.value)
        return f"{self.attribute} were {'not ' if self.kind == 'not' else ''}{shown}"

    def to_dict(self) -> dict:
        out = {"attribute": self.attribute, "change": self.kind}
        if self.kind != "remove":
            out["value"] = self.value
        return out


@dataclass(frozen=True)
class Suggestion:
    changes: tuple[Change, ...]

    @property
    def text(self) -> str:
        return "would be allowed if " + " and ".join(c.text for c in self.changes)

    def to_dict(self) -> dict:
        return {"text": self.text, "changes": [c.to_dict() for c in self.changes]}


@dataclass(frozen=True)
class Explanation:
    decision: str
    reasons: tuple[Reason, ...]
    obligations: tuple[Obligation, ...]
    target: Target
    rules: tuple[RuleExplanation, ...]  # about this request, in policy order
    unrelated: tuple[Unrelated, ...]
    uncovered: tuple[str, ...]  # categories no applying allow rule covers
    suggestions: tuple[Suggestion, ...]  # for a deny: changes that would allow it, smallest first
    policy: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        t = self.target
        request = {"action": t.action} if t.authzen else {
            "action": t.action, "purpose": t.purpose, "data_categories": list(t.categories)}
        return {
            "decision": self.decision,
            "reasons": [r.to_dict() for r in self.reasons],
            "obligations": [o.to_dict() for o in self.obligations],
            "request": request,
            "rules": [r.to_dict() for r in self.rules],
            "not_about_this_request": [u.to_dict() for u in self.unrelated],
            "uncovered_categories": list(self.uncovered),
            "would_allow": [s.to_dict() for s in self.suggestions],
            "policy": dict(self.policy),
        }

    def render_text(self) -> str:
        t = self.target
        about = f"{t.action}" if t.authzen else f"{t.action} {', '.join(t.categories)} for {t.purpose}"
        policy = " ".join(str(self.policy[k]) for k in ("name", "version") if self.policy.get(k))
        out = [f"decision: {self.decision}" + (f" ({policy})" if policy else ""), f"request: {about}"]
        for r in self.reasons:
            cite = f" ({r.cite})" if r.cite else ""
            out.append(f"  {r.effect} {r.rule}{cite}: {r.message}")
        if self.obligations:
            out.append("obligations:")
            out.extend(f"  {o.id}: {o.text}" for o in self.obligations)
        for effect in ("deny", "allow"):
            rules = [r for r in self.rules if r.effect == effect]
            out += ["", f"{effect.capitalize()} rules about this request:"]
            if not rules:
                out.append("  none")
            for r in rules:
                where = ", ".join(x for x in (r.cite, r.location) if x)
                out.append(f"  {r.rule} ({where}): {r.verdict}")
                if r.message:
                    out.append(f"    {r.message}")
                for c in r.conditions:
                    out.extend("    " + line for line in c.because)
        if not t.authzen:
            out.append("")
            if self.uncovered:
                out += [f"No allow rule applies to {c}: default deny." for c in self.uncovered]
            else:
                out.append("Every category has an allow rule that applies.")
        if self.unrelated:
            out += ["", f"Rules not about this request ({len(self.unrelated)}):"]
            groups: dict[str, list[str]] = {}
            for u in sorted(self.unrelated, key=lambda u: _PARTS.index(u.misses)):
                groups.setdefault(_group_line(u.misses, t), []).append(u.rule)
            for head, ids in groups.items():
                out.append(textwrap.fill(", ".join(ids), width=100, initial_indent=f"  {head}: ",
                                         subsequent_indent="    ", break_on_hyphens=False))
        if self.decision == "deny":
            out.append("")
            if self.suggestions:
                out.append("Smallest changes that would allow it:")
                out.extend(f"  {s.text}" for s in self.suggestions)
            else:
                out.append("No change of one or two attributes, the purpose or the categories would allow it.")
        return "\n".join(out)


_PARTS = ("action", "purpose", "data_categories")


def _group_line(misses: str, t: Target) -> str:
    if misses == "action":
        return f"not for action {t.action}"
    if misses == "purpose":
        return f"not for purpose {t.purpose}"
    return f"not about {', '.join(t.categories)}"


def explain(policy_set, request: Any, suggest: bool = True) -> Explanation:
    """Why `policy_set` decides `request` as it does. Raises RequestError for a malformed request."""
    outcome = policy_set.outcome(request)
    target, env = prepare(policy_set, request)
    notes = _Origins(policy_set, request)
    rules, unrelated, runs = [], [], []
    for rule in policy_set.rules:
        covered = target.covered(rule)
        if not covered:
            unrelated.append(_unrelated(rule, target))
            continue
        run = run_rule(rule, env, policy_set.data)
        runs.append((run, covered))
        rules.append(_rule_explanation(run, covered, env, notes))
    uncovered = () if target.authzen else tuple(
        c for c in target.categories
        if not any(run.applies and run.rule.effect == "allow" and c in covered for run, covered in runs))
    suggestions = suggest_changes(policy_set, request, target, env) if suggest and outcome.decision == "deny" else ()
    return Explanation(outcome.decision, outcome.reasons, outcome.obligations, target, tuple(rules),
                       tuple(unrelated), uncovered, suggestions, policy_set.info)


def _unrelated(rule: CompiledRule, target: Target) -> Unrelated:
    def some(keys, n=3):
        keys = list(keys)
        return ", ".join(keys[:n]) + (f" and {len(keys) - n} more" if len(keys) > n else "")

    if rule.actions is not None and target.action not in rule.actions:
        misses, why = "action", f"not for action {target.action} (to {some(sorted(rule.actions))})"
    elif rule.purposes is not None and not any(target.purpose == p or target.purpose.startswith(p + ".")
                                                for p in rule.purposes):
        misses, why = "purpose", f"not for purpose {target.purpose} (for {some(rule.purposes)})"
    else:
        misses, why = "data_categories", f"not about {', '.join(target.categories)} (of {some(rule.categories or ())})"
    return Unrelated(rule.id, rule.effect, rule.cite, _location(rule.source.span), misses, why)


def _rule_explanation(run: RuleRun, covered, env, notes: "_Origins") -> RuleExplanation:
    rule = run.rule
    shown = run.clauses if run.stop is None else run.clauses[run.stop:run.stop + 1]
    conditions = []
    for kind, node in shown:
        want = kind == "when"
        lines = _because(node, want, env, notes)
        lines[0] = f"{kind} {lines[0]}"
        conditions.append(Condition(kind, show(node.expr), node.value, node.error is None and node.value is want,
                                    node.error, tuple(lines)))
    return RuleExplanation(rule.id, rule.effect, rule.cite, rule.message, _location(rule.source.span), covered,
                           run.applies, run.error, tuple(conditions))


def _because(node: Node, want: bool, env: dict, notes: "_Origins") -> list[str]:
    """Why a condition is what it is: its value, then the parts that made it so."""
    text = show(node.expr)
    if node.error is not None and not node.children:
        return [f"{text} could not be evaluated: {node.error}"]
    if isinstance(node.expr, (ast.And, ast.Or, ast.Not)):
        lines = [f"{text} could not be evaluated" if node.error else f"{text} is {_word(node.value)}"]
        holds = node.error is None and node.value is want
        for child in node.children:
            child_want = (not want) if isinstance(node.expr, ast.Not) else want
            if child.reached and (child.error is None and child.value is child_want) == holds:
                lines += ["  " + line for line in _because(child, child_want, env, notes)]
        return lines
    detail = _detail(node, env, notes)
    return [f"{text} is {_word(node.value)}" + (f": {detail}" if detail else "")]


def _detail(node: Node, env: dict, notes: "_Origins") -> str:
    """The attributes a comparison read, and their values."""
    expr = node.expr
    if isinstance(expr, ast.Truth) and node.value is not None:
        return ""
    said, seen = [], set()
    for part in ast.walk(expr):
        if not isinstance(part, ast.Path) or part.dotted in seen:
            continue
        seen.add(part.dotted)
        if part.parts[0] == "data":
            value = _Walker(env, notes.data).value(part)
            if isinstance(value, dict):
                value = list(value)
            if isinstance(value, (list, set, frozenset)) and len(value) > 10:
                said.append(f"{part.dotted} has {len(value)} entries")
            else:
                said.append(f"{part.dotted} is {fmt(value)}")
            continue
        value = read(env, part.parts)
        if value is MISSING:
            said.append(f"{part.dotted} is not in the request")
        else:
            said.append(f"{part.dotted} is {fmt(value)}{notes.origin(part.parts)}")
    return "; ".join(said)


class _Origins:
    """Says when a value came from a register (`lookup ... in data.x`), not from the request."""

    def __init__(self, policy_set, request: dict):
        self.data = policy_set.data
        self.request = request
        names = {lk.root: lk.source.dotted for f in policy_set.files for lk in f.lookups}
        self.lookups = [(root, register, wins, names.get(root, "the register"))
                        for root, register, wins in policy_set._lookups]

    def origin(self, parts: tuple[str, ...]) -> str:
        for root, register, wins, name in self.lookups:
            part = self.request.get(root) if isinstance(self.request, dict) else None
            if parts[0] != root or len(parts) < 2 or not isinstance(part, dict):
                continue
            try:
                record = register.get(part.get("id"))
            except TypeError:
                continue
            if isinstance(record, dict) and parts[1] in record and not (parts[1] in wins and part.get(parts[1]) is not None):
                return f" (from {name} for {root}.id {fmt(part.get('id'))})"
        return ""


# ---------------------------------------------------------------- changes that would allow it

_MIRROR = {"<": ">", ">": "<", "<=": ">=", ">=": "<=", "==": "==", "!=": "!="}


def _compare_values(op: str, literal: Any) -> list:
    """Values of `attribute op literal` on either side of its boundary."""
    if op in ("==", "!="):
        return [literal, not literal] if isinstance(literal, bool) else [literal]
    if not _is_number(literal):
        return []
    below, above = {"<": (literal - 1, literal), "<=": (literal, literal + 1),
                    ">": (literal + 1, literal), ">=": (literal, literal - 1)}[op]
    return [below, above]


def _tested_values(policy_set, target: Target, env: dict) -> dict[tuple[str, ...], list]:
    """Every attribute the conditions of rules near the request read, with the values they test for."""
    found: dict[tuple[str, ...], list] = {}

    def add(path: ast.Path, values=()):
        if path.parts[0] in ("data", "action", "data_categories"):
            return
        found.setdefault(path.parts, []).extend(values)

    walker = _Walker(env, policy_set.data)
    for rule in policy_set.rules:
        if not target.near(rule):
            continue
        for expr in rule.source.when + rule.source.unless:
            for node in ast.walk(expr):
                if isinstance(node, ast.Compare):
                    left, right, op = node.left, node.right, node.op
                    if isinstance(left, ast.Literal):
                        left, right, op = right, left, _MIRROR[op]
                    if isinstance(left, ast.Path) and isinstance(right, ast.Literal):
                        add(left, _compare_values(op, right.value))
                    elif isinstance(left, ast.Path) and isinstance(right, ast.Path):
                        for a, b in ((left, right), (right, left)):
                            other = walker.value(b)
                            add(a, [] if other is MISSING or isinstance(other, _COLLECTION) else [other])
                elif isinstance(node, (ast.Member, ast.Under)) and isinstance(node.left, ast.Path):
                    items = walker.value(node.right)
                    if isinstance(items, str):
                        items = [items]
                    if isinstance(items, _COLLECTION):
                        values = sorted(items, key=fmt) if isinstance(items, (set, frozenset, dict)) else list(items)
                        add(node.left, [v for v in values[:20] if v is not MISSING and not isinstance(v, _COLLECTION)])
                elif isinstance(node, ast.Presence):
                    add(node.path)
                elif isinstance(node, ast.Truth) and isinstance(node.operand, ast.Path):
                    add(node.operand, [True, False])
    return found


def _single_changes(policy_set, request: dict, target: Target, env: dict) -> list[tuple[int, Change]]:
    """Candidate changes with their size: 0 a fact about the request, 1 a category left out, 2 another purpose."""
    out: list[tuple[int, Change]] = []
    purposes: list[Any] = []
    tested = _tested_values(policy_set, target, env)
    for root, register, _ in policy_set._lookups:
        # Another entry of the register (a provider with a DPA): who receives the data is the
        # caller's choice; who the data is about, or who asks, is not.
        if root == "recipient" and isinstance(request.get(root), dict) and request[root].get("id") is not None:
            tested.setdefault((root, "id"), []).extend(sorted(register, key=str)[:20])
    for parts, values in tested.items():
        dotted = ".".join(parts)
        current = read(request, parts)
        if dotted == "purpose":
            purposes += values
            continue
        unique: dict[tuple, Any] = {}
        for v in values:
            if not (current is not MISSING and _same(v, current)):
                unique.setdefault((isinstance(v, bool), v), v)
        chosen = list(unique.values())
        if _is_number(current):
            chosen.sort(key=lambda v: abs(v - current) if _is_number(v) else float("inf"))
        out += [(0, Change(dotted, "set", v)) for v in chosen]
        if current is not MISSING:
            out.append((0, Change(dotted, "remove")))
    if target.authzen:
        return out
    if len(target.categories) > 1:
        out += [(1, Change("data_categories", "drop", c)) for c in dict.fromkeys(target.categories)]
    for rule in policy_set.rules:
        if rule.effect == "allow" and rule.purposes is not None and target.near(rule):
            purposes += rule.purposes
    out += [(2, Change("purpose", "set", p)) for p in dict.fromkeys(p for p in purposes if isinstance(p, str))
            if p != target.purpose]
    return out


def changed(request: dict, changes) -> dict | None:
    """A copy of the request with the changes made (None if one cannot be made)."""
    out = copy.deepcopy(request)
    for change in changes:
        if change.kind == "drop":
            out["data_categories"] = [c for c in out["data_categories"] if c != change.value]
            continue
        *parents, last = change.attribute.split(".")
        holder = out
        for part in parents:
            if holder.get(part) is None and change.kind == "set":
                holder[part] = {}
            holder = holder.get(part)
            if type(holder) is not dict:
                if change.kind == "set":
                    return None
                break
        else:
            if change.kind == "set":
                holder[last] = change.value
            else:
                holder.pop(last, None)
    return out


def _allows(policy_set, request: dict | None) -> bool:
    if request is None:
        return False
    try:
        return policy_set.outcome(request).decision == "allow"
    except RequestError:
        return False


def suggest_changes(policy_set, request: dict, target: Target, env: dict) -> tuple[Suggestion, ...]:
    """The smallest changes of a denied request that the engine would allow: one attribute if any will do, else two."""
    candidates = _single_changes(policy_set, request, target, env)
    flips = [(size, c) for size, c in candidates if _allows(policy_set, changed(request, (c,)))]
    if flips:
        flips = _merge_yes_no(flips, request)
        flips.sort(key=lambda sc: sc[0])
        return tuple(Suggestion((c,)) for _, c in flips[:LIMIT])
    pairs = sorted((sa + sb, i, j, (a, b)) for (i, (sa, a)), (j, (sb, b)) in combinations(enumerate(candidates), 2)
                   if a.attribute != b.attribute or a.kind == "drop")
    found: list[Suggestion] = []
    for *_, changes in pairs[:BUDGET]:
        if _allows(policy_set, changed(request, changes)):
            found.append(Suggestion(changes))
            if len(found) == LIMIT:
                break
    return tuple(found)


def _merge_yes_no(flips: list[tuple[int, Change]], request: dict) -> list[tuple[int, Change]]:
    """`x were true` and `x were not in the request`, for x now false: `x were not false`."""
    out = list(flips)
    for size, change in flips:
        current = read(request, tuple(change.attribute.split(".")))
        if change.kind != "remove" or not isinstance(current, bool):
            continue
        other = Change(change.attribute, "set", not current)
        if (size, other) in out:
            at = out.index((size, other))
            out[at] = (size, Change(change.attribute, "not", current))
            out.remove((size, change))
    return out
