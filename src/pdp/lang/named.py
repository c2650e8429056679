"""Named conditions: a set's definitions resolved into its rules, and written out for deciding.

    condition owner_acts "the subject owns the resource"
      when subject.id == resource.properties.ownerID
    allow todos.delete to can_delete_todo when owner_acts or "admin" in subject.roles

The parser reads a use (`owner_acts`, standing alone as a condition) as the truth of an attribute,
since the definition may be in another file. Once the set's files are parsed, `resolve` turns every
use of a defined name into an `ast.Named` node holding the definition's condition (its own uses
resolved too), and finds what would make that impossible or unbounded: a name defined twice, a name
that is a word of the language, a definition that uses itself (through others or directly: every
decision must end), and a condition that grows past the bounds below once written out.

Deciding, the indexes, the request memo and the analysis read rules with every use written out in
place (`inlined`): a named condition means exactly its definition, read on the side of the rule it
is used in (requested.py), so none of them needs to know about names. Explain and policy-test
coverage read the rules as written (with the `Named` nodes), so that a reader sees `owner_acts`,
and under it the parts of its definition.
"""

from __future__ import annotations

from dataclasses import replace
from functools import lru_cache
from typing import Iterable, Mapping

from pdp.base.errors import Diagnostic
from pdp.base.limits import MAX_INLINED_DEPTH, MAX_INLINED_NODES
from pdp.base.source import Span

from . import ast
from .visitor import Transformer


def definitions(files: Iterable[ast.PolicyFile]) -> dict[str, ast.ConditionDef]:
    """The set's named conditions by name (the first definition of a name, in file order)."""
    out: dict[str, ast.ConditionDef] = {}
    for file in files:
        for definition in file.conditions:
            out.setdefault(definition.name, definition)
    return out


def use_of(expr: ast.Expr, names: Mapping[str, object]) -> str | None:
    """The name of a named condition this node uses, as the parser reads a use (`when owner_acts`); else None."""
    if type(expr) is ast.Truth and type(expr.operand) is ast.Path and len(expr.operand.parts) == 1:
        name = expr.operand.parts[0]
        return name if name in names else None
    return None


def uses(expr: ast.Expr, names: Mapping[str, object]) -> list[tuple[str, Span]]:
    """The named conditions an expression (as parsed) uses, each with where, in the order written."""
    out = []
    for node in ast.walk(expr):
        name = use_of(node, names)
        if name is not None:
            out.append((name, node.span))
    return out


@lru_cache(maxsize=1)
def reserved_words() -> frozenset[str]:
    """The language's own words (`when`, `and`, `true`, ...): a condition named so could not be used."""
    from .grammar import new_parser  # (the parser's terminals: the grammar is the one list of its words)

    return frozenset(str(t.pattern.value) for t in new_parser().terminals
                     if t.pattern.type == "str" and str(t.pattern.value).isalpha())


class Resolution:
    """A set's named conditions, resolved (`resolve`): the definitions, and the problems found."""

    def __init__(self, files: list[ast.PolicyFile]):
        self.defined = definitions(files)
        self.problems: list[Diagnostic] = []
        self._check_names(files)
        self.resolved: dict[str, ast.Expr] = {}  # name -> the definition's condition, uses resolved
        self.size: dict[str, tuple[int, int]] = {}  # name -> (nodes, depth) once written out
        # Each name resolved after those it uses (no recursion: a chain of thousands of names is read in a loop);
        # one in a cycle, or too large, is left out: its uses stay as read (its error is given once, here)
        for name in self._in_order():
            if any(n not in self.resolved for n, _ in uses(self.defined[name].body, self.defined)):
                continue  # it uses one too large (whose error says so): it cannot be written out either
            body = self._with_uses(self.defined[name].body)
            nodes, depth = self._measure(body)
            if nodes > MAX_INLINED_NODES or depth > MAX_INLINED_DEPTH:
                self.problems.append(_too_large(f"the condition `{name}`", self.defined[name].name_span, nodes, depth))
                continue
            self.size[name] = (nodes, depth)
            self.resolved[name] = body

    def _check_names(self, files: list[ast.PolicyFile]) -> None:
        for file in files:
            for definition in file.conditions:
                first = self.defined[definition.name]
                if first is not definition:
                    self.problems.append(Diagnostic(
                        "duplicate-condition", f"the condition `{definition.name}` is already defined",
                        definition.name_span, f"first defined at {first.name_span}; each named condition has "
                        "one definition in the set: rename one, or keep one and delete the other"))
                elif definition.name in reserved_words():
                    self.problems.append(Diagnostic(
                        "bad-condition-name", f"`{definition.name}` is a word of the policy language",
                        definition.name_span, f"choose another name, e.g. `{definition.name}_holds`"))

    def _in_order(self) -> list[str]:
        """The names not in a cycle, each after the names it uses; one error for each cycle found."""
        graph = {name: [n for n, _ in uses(d.body, self.defined)] for name, d in self.defined.items()}
        order: list[str] = []
        cyclic: set[str] = set()
        state: dict[str, int] = {}  # 1: being visited, 2: done
        for start in graph:  # depth first, with a stack of its own: no chain of names can overflow Python's
            if start in state:
                continue
            stack: list[tuple[str, int]] = [(start, 0)]
            state[start] = 1
            while stack:
                name, i = stack[-1]
                if i < len(graph[name]):
                    stack[-1] = (name, i + 1)
                    nxt = graph[name][i]
                    if state.get(nxt) == 1:
                        names = [n for n, _ in stack]
                        loop = names[names.index(nxt):]
                        if not cyclic.issuperset(loop):
                            self._cycle_error(loop)
                        cyclic.update(loop)
                    elif nxt not in state:
                        state[nxt] = 1
                        stack.append((nxt, 0))
                else:
                    state[name] = 2
                    order.append(name)
                    stack.pop()
        # a name that uses one in a cycle cannot be written out either (the cycle's error says why); when a name is
        # done, every name it uses is done before it or on the stack (in a cycle with it)
        ok: dict[str, None] = {}  # (ordered)
        for name in order:
            if name not in cyclic and all(n in ok for n in graph[name]):
                ok[name] = None
        return list(ok)

    def _cycle_error(self, loop: list[str]) -> None:
        def place(n: str) -> tuple[str, int, int]:
            span = self.defined[n].name_span
            return span.file, span.line, span.col

        at = loop.index(min(loop, key=place))
        loop = loop[at:] + loop[:at]
        first = loop[0]
        steps = " uses ".join(f"`{n}`" for n in loop + [first])
        where = ", ".join(f"`{n}` at {self.defined[n].name_span}" for n in loop)
        message = (f"the condition `{first}` uses itself" if len(loop) == 1
                   else f"the named conditions form a cycle: {steps}")
        self.problems.append(Diagnostic("condition-cycle", message, self.defined[first].name_span,
                                        f"{where}; a named condition may use others, never itself, so that every "
                                        "decision ends: write the shared part as a condition of its own"))

    def _with_uses(self, expr: ast.Expr) -> ast.Expr:
        if not uses(expr, self.defined):
            return expr
        return _Resolver(self).visit(expr)

    def _measure(self, expr: ast.Expr) -> tuple[int, int]:
        """Nodes and depth of the expression once every use is written out (a definition's, from `size`)."""
        if type(expr) is ast.Named:
            nodes, depth = self.size[expr.name]
            return nodes, depth + 1
        measured = [self._measure(child) for child in ast.children(expr)]
        return 1 + sum(n for n, _ in measured), 1 + max((d for _, d in measured), default=0)

    def rule(self, rule: ast.Rule) -> ast.Rule:
        """The rule with its uses of named conditions resolved, in its `when` and `unless` and its duties' `if`
        (itself when it uses none, or would be too large)."""
        exprs = conditions_of(rule)
        if not any(uses(e, self.defined) for e in exprs):
            return rule
        resolved = _with_conditions(rule, self._with_uses)
        nodes = depth = 0
        for expr in conditions_of(resolved):
            n, d = self._measure(expr)
            nodes, depth = nodes + n, max(depth, d)
        if nodes > MAX_INLINED_NODES or depth > MAX_INLINED_DEPTH:
            self.problems.append(_too_large(f"the rule `{rule.id}`", rule.id_span, nodes, depth))
            return rule
        return resolved

    def file(self, file: ast.PolicyFile) -> ast.PolicyFile:
        conditions = tuple(replace(d, body=self.resolved[d.name]) if self.defined[d.name] is d and d.name in
                           self.resolved else d for d in file.conditions)
        return replace(file, rules=tuple(self.rule(r) for r in file.rules), conditions=conditions)


class _Resolver(Transformer):
    def __init__(self, resolution: Resolution):
        self.resolution = resolution

    def visit_Truth(self, expr: ast.Truth) -> ast.Expr:
        name = use_of(expr, self.resolution.defined)
        if name is None:
            return expr
        body = self.resolution.resolved.get(name)
        # (a name in a cycle, or too large, is left as read: its error is given at its definition)
        return expr if body is None else ast.Named(name, body, expr.span)


def _too_large(what: str, span: Span, nodes: int, depth: int) -> Diagnostic:
    return Diagnostic("too-large", f"{what} is too large once its named conditions are written out "
                      f"({nodes:,} parts, {depth} deep)", span,
                      f"at most {MAX_INLINED_NODES:,} parts, {MAX_INLINED_DEPTH} deep: a named condition used twice "
                      "in each of a chain of others doubles at each step; name fewer layers")


def resolve(files: list[ast.PolicyFile]) -> tuple[list[ast.PolicyFile], list[Diagnostic]]:
    """The files with every use of a named condition resolved (`ast.Named`), and what is wrong with the names.
    A set that defines none is returned as it is, at no cost."""
    if not any(f.conditions for f in files):
        return files, []
    resolution = Resolution(files)
    return [resolution.file(f) for f in files], resolution.problems


class _Inliner(Transformer):
    """Every `Named` node replaced by its condition: what the name means, written out in place."""

    def __init__(self) -> None:
        self.done: dict[int, ast.Expr] = {}  # a definition's body written out once, shared by its uses

    def visit_Named(self, expr: ast.Named) -> ast.Expr:
        found = self.done.get(id(expr.body))
        if found is None:
            found = self.done[id(expr.body)] = self.visit(expr.body)
        return found


def _has_named(expr: ast.Expr) -> bool:
    return any(type(node) is ast.Named for node in ast.walk(expr))


def inlined(expr: ast.Expr) -> ast.Expr:
    """The condition with every named condition written out (itself when it uses none)."""
    return _Inliner().visit(expr) if _has_named(expr) else expr


def conditions_of(rule: ast.Rule) -> tuple[ast.Expr, ...]:
    """A rule's conditions: its `when`s and `unless`es, and its obligations' and advice's `if`s."""
    duties = tuple(d.condition for d in rule.obligations + rule.advice if d.condition is not None)
    return rule.when + rule.unless + duties


def _with_conditions(rule: ast.Rule, rebuild) -> ast.Rule:
    """The rule with each of its conditions (`conditions_of`) replaced by `rebuild(condition)`."""
    def duty(d):
        return d if d.condition is None else replace(d, condition=rebuild(d.condition))

    return replace(rule, when=tuple(rebuild(e) for e in rule.when), unless=tuple(rebuild(e) for e in rule.unless),
                   obligations=tuple(duty(d) for d in rule.obligations), advice=tuple(duty(d) for d in rule.advice))


def inlined_rule(rule: ast.Rule, inliner: _Inliner | None = None) -> ast.Rule:
    """The rule as deciding reads it: every named condition written out (itself when it uses none)."""
    inliner = inliner or _Inliner()
    if not any(_has_named(e) for e in conditions_of(rule)):
        return rule
    return _with_conditions(rule, lambda e: inliner.visit(e) if _has_named(e) else e)


def inlined_files(files: list[ast.PolicyFile]) -> list[ast.PolicyFile]:
    """The files as deciding reads them (`inlined_rule`); the files themselves when the set defines no condition."""
    if not any(f.conditions for f in files):
        return files
    inliner = _Inliner()
    return [replace(f, rules=tuple(inlined_rule(r, inliner) for r in f.rules),
                    conditions=tuple(replace(d, body=inliner.visit(d.body)) if _has_named(d.body) else d
                                     for d in f.conditions)) for f in files]
