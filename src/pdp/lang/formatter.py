"""Policy text -> the same policy in one canonical layout, comments kept (`pdp fmt`).

`format_policy(text, filename)` is a pure function: text in, text out. A file
with syntax errors raises PolicyError carrying them (the same diagnostics
`pdp check` reports); the caller then leaves the file alone. File I/O is in
pdp.cli.fmt.

Layout
------
- Statements: the `policy` header first, then the `lookup`s, then the rules
  in the order written, each separated from the next by one blank line. The
  file ends with one newline.
- The header: `policy "name"`, then one line each, indented two spaces, for
  `version`, `effective`, `title` and `model`, in that order (a field
  written twice keeps both lines, in source order, as a repeated `cite` does).
- A lookup is one line, `lookup recipient in data.processors request wins
  for country`, when its clauses are one `request wins for` that fits;
  otherwise `lookup ROOT in REGISTERS` and then one clause per line,
  indented two spaces: `request wins for`, `if unlisted, request states`,
  each `except`.
- A ledger declaration is one line, `ledger fills ATTRIBUTE from FACT
  "NAME" for "PURPOSE"`, after the lookups.
- A named condition: `condition NAME "text"` on its first line, then its
  `when` on the next, indented two spaces and laid out as a rule's; the
  named conditions come after the ledger declarations, before the rules.
- A rule: `allow|deny ID "message"` on its first line, then one clause per
  line, indented two spaces, in a fixed order: `cite`, `to`, `for`, `of`,
  each `when`, each `unless`, `overrides`, each `oblige`, each `accept`.
  Repeated `to`, `for`, `of` or `overrides` clauses are merged into one (the
  parser joins them anyway); repeated `cite` clauses keep their order.
- A key list that would pass column 100 wraps after a comma; continuation
  lines line up under the first key (5 spaces after `of `, 6 after `for `).
- A condition that would pass column 100 breaks before each `and`/`or` of
  its outermost chain; the operator leads the continuation line, aligned
  under the start of the condition. A parenthesised part that still does not
  fit breaks the same way inside its parentheses:

      when context.policy_version_at_collection is present
           and (context.consented_to_current_version is absent
                or context.consented_to_current_version == false)

- Parentheses: around every `and`/`or` chain inside another chain (the tree
  needs them for an `or` inside an `and`; for an `and` inside an `or` they
  spare the listener the precedence rule), and after `not` unless it negates
  a bare operand or another `not` (`not (purpose under "x")` reads
  unambiguously aloud, `not purpose under "x"` does not). No others: the
  parentheses written in the source are not kept.
- One space around operators and after commas. Text is re-quoted with
  lang.printer (JSON escapes, other characters as they are); numbers,
  dates and names as written.

Comments
--------
Every comment is kept exactly once, its text as written (trailing blanks
dropped). Where it goes depends on the code around it:

1. A trailing comment (code before it on its line) stays at the end of the
   formatted line that holds the code just before it, two spaces after the
   code. Inside a key list or a condition it forces a line break after that
   code, so it never ends up after code it did not follow. If two trailing
   comments would land on one formatted line, all but the last move onto
   their own lines just above it.
2. A comment on its own line inside a statement (the next code belongs to
   the same statement) goes on its own line just above the formatted line
   that holds that next code, at that line's indentation. Inside a key list
   or a condition it forces a line break before that code.
3. Comments on their own lines between statements form blocks (separated by
   blank lines):
   - above the first statement of the file, the block directly above it (no
     blank line between) belongs to it; the blocks before that are the file's
     header comment and stay at the top of the file;
   - a block directly below a statement (no blank line between) that is
     followed by a blank line or the end of the file stays at the end of that
     statement, indented like its clauses (a lookup's at the left margin);
   - every other block belongs to the next statement and moves with it,
     separated from it by a blank line if it was; blocks after the last
     statement stay at the end of the file.

Formatting twice gives the same text, and the formatted text parses to the
same statements (tests/test_formatter.py checks both with hypothesis).
"""

from __future__ import annotations

import bisect
import json
import re
import threading
from dataclasses import dataclass, field
from functools import lru_cache
from typing import cast

from lark import Lark, Token, Tree
from lark.tree import Meta

from pdp.base.errors import PolicyError
from pdp.base.dates import unit_of

from . import printer
from .grammar import grammar_text
from .parser import parse_policy

WIDTH = 100  # the column a line should not pass
INDENT = 2  # clauses under a rule, fields under the header

# ---------------------------------------------------------------- parsing with comments

_collecting = threading.local()


def _keep_comment(token: Token) -> Token:
    _collecting.comments.append(token)
    return token


@lru_cache(maxsize=1)
def _lark() -> Lark:
    # The parser's own options, plus a lexer callback: COMMENT is %ignored by
    # the grammar, so the callback is the only place the comments are seen.
    return Lark(grammar_text(), parser="lalr", lexer="contextual", propagate_positions=True,
                maybe_placeholders=False, lexer_callbacks={"COMMENT": _keep_comment})


def _parse(text: str) -> tuple[Tree, list[Token]]:
    _collecting.comments = []
    try:
        tree = _lark().parse(text)
        comments = _collecting.comments
    finally:
        del _collecting.comments
    unique = {c.start_pos: c for c in comments}
    return tree, [unique[k] for k in sorted(unique)]


# ---------------------------------------------------------------- the layout of one statement


@dataclass(eq=False)
class _Comment:
    start: int
    end: int
    text: str


@dataclass(eq=False)
class _Line:
    indent: int
    text: str
    owns: list[tuple[int, int]]  # source ranges whose code this line prints
    before: list[_Comment] = field(default_factory=list)
    trailing: list[_Comment] = field(default_factory=list)


@dataclass(eq=False)
class _Statement:
    kind: str  # "header" | "lookup" | "ledger_fill" | "named_condition" | "rule"
    start: int
    lines: list[_Line]
    leading: list[list[_Comment]] = field(default_factory=list)  # comment blocks above it
    detached: bool = False  # a blank line between the leading blocks and the statement
    closing: list[_Comment] = field(default_factory=list)  # comments kept at its end


@dataclass(frozen=True)
class _Span:
    """The extent of a clause the parse tree has no node of (a named condition's `when`), as `_condition` reads it."""

    start_pos: int
    end_pos: int


class _Anchors:
    """Where comments sit, for the line breaks they force.

    `trailing`: the position of the code just before each trailing comment;
    `own_line`: the position of the code just after each comment on its own line.
    """

    def __init__(self, trailing: list[int], own_line: list[int]):
        self.trailing = sorted(trailing)
        self.own_line = sorted(own_line)

    @staticmethod
    def _any(positions: list[int], start: int, end: int) -> bool:
        i = bisect.bisect_left(positions, start)
        return i < len(positions) and positions[i] < end

    def trailing_in(self, start: int, end: int) -> bool:
        return self._any(self.trailing, start, end)

    def own_line_in(self, start: int, end: int) -> bool:
        return self._any(self.own_line, start, end)


def _string(token: Token) -> str:
    return printer.string(json.loads(str(token)))


def _name(tree: Tree) -> str:
    return ".".join(str(t) for t in tree.children)


def _operand(node) -> str:
    kind = node.data
    if kind == "path":
        return _name(node)
    if kind == "string":
        return _string(node.children[0])
    if kind == "number":
        return str(node.children[0])
    if kind in ("true", "false"):
        return kind
    if kind == "date":
        return str(node.children[0])
    if kind == "shifted":
        path, sign, amount, unit = node.children
        return f"{_name(path)} {sign} {printer.duration(int(str(amount)), unit_of(str(unit)))}"
    if kind == "list":
        return "[" + ", ".join(_operand(c) for c in node.children if c is not None) + "]"
    if kind == "indexed":
        table, key, *rest = node.children
        return f"{_name(table)}[{_operand(key)}]" + "".join(f".{part}" for part in rest)
    raise AssertionError(f"not an operand: {kind}")


# ---------------------------------------------------------------- conditions


@dataclass(eq=False)
class _Leaf:
    """A test (`a == b`, `a in [..]`, `a is present`, a bare operand): never broken."""

    text: str
    bare: bool  # a bare operand: `not` needs no parentheses around it


@dataclass(eq=False)
class _Not:
    operand: "_Cond"


@dataclass(eq=False)
class _Chain:
    op: str  # "and" | "or"
    items: list["_Cond"]
    start: int
    end: int
    bounds: list[int]  # where the operator before items[1:] is written
    forced: bool = False  # a comment inside needs it broken


_Cond = _Leaf | _Not | _Chain

_LEAF_FORMS = {
    "member": "{} in {}",
    "not_member": "{} not in {}",
    "under": "{} under {}",
    "matches": "{} matches {}",
    "has_any": "{} has any of {}",
    "has_all": "{} has all of {}",
}


def _condition(node, text: str, anchors: _Anchors) -> _Cond:
    kind = node.data
    if kind in ("or_expr", "and_expr"):
        op = "or" if kind == "or_expr" else "and"
        items = [_condition(c, text, anchors) for c in node.children]
        bounds = [_operator_position(text, a.meta.end_pos, b.meta.start_pos, op)
                  for a, b in zip(node.children, node.children[1:])]
        start, end = node.meta.start_pos, node.meta.end_pos
        # Units: item i runs from its operator to the next operator. A trailing
        # comment in any unit but the last, or an own-line comment before any
        # unit but the first, needs the chain broken at its operators.
        forced = anchors.trailing_in(start, bounds[-1]) or anchors.own_line_in(bounds[0], end)
        return _Chain(op, items, start, end, bounds, forced)
    if kind == "negation":
        return _Not(_condition(node.children[0], text, anchors))
    if kind == "compare":
        left, op, right = node.children
        return _Leaf(f"{_operand(left)} {op} {_operand(right)}", False)
    if kind in _LEAF_FORMS:
        return _Leaf(_LEAF_FORMS[kind].format(_operand(node.children[0]), _operand(node.children[1])), False)
    if kind in ("present", "absent"):
        return _Leaf(f"{_operand(node.children[0])} is {kind}", False)
    if kind == "truth":
        return _Leaf(_operand(node.children[0]), True)
    if kind == "older":
        operand, amount, unit = node.children
        return _Leaf(f"{_operand(operand)} is older than {printer.duration(int(str(amount)), unit_of(str(unit)))}",
                     False)
    raise AssertionError(f"not a condition: {kind}")


def _operator_position(text: str, start: int, end: int, op: str) -> int:
    between = re.sub(r"#[^\n]*", lambda m: " " * len(m.group()), text[start:end])
    found = re.search(rf"\b{op}\b", between)
    assert found, f"no `{op}` between two operands"
    return start + found.start()


def _needs_parens(parent: _Cond, child: _Cond) -> bool:
    if isinstance(parent, _Not):
        return isinstance(child, _Chain) or (isinstance(child, _Leaf) and not child.bare)
    assert isinstance(parent, _Chain)
    # A chain inside a chain: needed for `or` in `and` and for a chain in one of
    # the same operator; kept for `and` in `or` too, so nobody has to remember
    # which binds tighter when the rule is read aloud.
    return isinstance(child, _Chain)


def _flat(cond: _Cond) -> str:
    if isinstance(cond, _Leaf):
        return cond.text
    if isinstance(cond, _Not):
        return "not " + _wrapped(cond, cond.operand)
    return f" {cond.op} ".join(_wrapped(cond, item) for item in cond.items)


def _wrapped(parent: _Cond, child: _Cond) -> str:
    return f"({_flat(child)})" if _needs_parens(parent, child) else _flat(child)


def _must_break(cond: _Cond) -> bool:
    if isinstance(cond, _Leaf):
        return False
    if isinstance(cond, _Not):
        return _must_break(cond.operand)
    return cond.forced or any(_must_break(item) for item in cond.items)


def _layout(cond: _Cond, col: int, trail: int, cuts: list[int]) -> list[str]:
    """The condition starting at column `col`, `trail` characters to follow it.

    The first line comes without indentation, the others with theirs. Every
    position where a new line begins is added to `cuts`.
    """
    flat = _flat(cond)
    if not _must_break(cond) and col + len(flat) + trail <= WIDTH:
        return [flat]
    if isinstance(cond, _Leaf):
        return [flat]
    if isinstance(cond, _Not):
        parens = _needs_parens(cond, cond.operand)
        prefix = "not (" if parens else "not "
        negated = _layout(cond.operand, col + len(prefix), trail + parens, cuts)
        negated[0] = prefix + negated[0]
        if parens:
            negated[-1] += ")"
        return negated
    lines: list[str] = []
    last = len(cond.items) - 1
    for i, item in enumerate(cond.items):
        parens = _needs_parens(cond, item)
        prefix = ("" if i == 0 else cond.op + " ") + ("(" if parens else "")
        sub = _layout(item, col + len(prefix), parens + (trail if i == last else 0), cuts)
        sub[0] = (" " * col if i else "") + prefix + sub[0]
        if parens:
            sub[-1] += ")"
        lines.extend(sub)
    cuts.extend(cond.bounds)
    return lines


# ---------------------------------------------------------------- statements


class _Printer:
    def __init__(self, text: str, anchors: _Anchors):
        self.text = text
        self.anchors = anchors

    def statement(self, node: Tree) -> _Statement:
        return getattr(self, node.data)(node)

    def header(self, node: Tree) -> _Statement:
        name = cast(Token, node.children[0])  # the grammar: `policy STRING`
        lines = [_Line(0, f"policy {_string(name)}", [(node.meta.start_pos, _bounds(name)[1])])]
        fields = node.children[1:]
        for kind in ("version", "effective", "title", "model"):
            for f in fields:
                if f.data == kind:
                    value = cast(Token, f.children[0])  # a header field's value is one token
                    shown = _string(value) if value.type == "STRING" else str(value)
                    lines.append(_Line(INDENT, f"{kind} {shown}", [(f.meta.start_pos, f.meta.end_pos)]))
        return _Statement("header", node.meta.start_pos, lines)

    def lookup(self, node: Tree) -> _Statement:
        root, *rest = node.children
        sources = [c for c in rest if isinstance(c, Tree) and c.data == "path"]
        clauses = [c for c in rest if isinstance(c, Tree) and c.data != "path"]
        line = f"lookup {root} in {', '.join(_name(s) for s in sources)}"
        head_end = sources[-1].meta.end_pos
        lines = [_Line(0, line, [(node.meta.start_pos, head_end)])]
        if [c.data for c in clauses] == ["overridable"] and len(line) + len(self._clause(clauses[0])) < WIDTH:
            # the one clause of old fits on the line: `lookup recipient in data.processors request wins for country`
            lines[0].text += " " + self._clause(clauses[0])
            lines[0].owns = [(node.meta.start_pos, node.meta.end_pos)]
            return _Statement("lookup", node.meta.start_pos, lines)
        order = {"overridable": 0, "described": 1, "excluded": 2}
        for clause in sorted(clauses, key=lambda c: order[c.data]):
            lines.append(self._whole(clause, self._clause(clause)))
        return _Statement("lookup", node.meta.start_pos, lines)

    def ledger_fill(self, node: Tree) -> _Statement:
        attribute, source, *names = node.children
        line = f"ledger fills {_name(cast(Tree, attribute))} from {source}"
        if names:
            line += " " + _string(cast(Token, names[0]))
        if len(names) > 1:
            line += " for " + _string(cast(Token, names[1]))
        return _Statement("ledger_fill", node.meta.start_pos, [_Line(0, line, [(node.meta.start_pos, node.meta.end_pos)])])

    def named_condition(self, node: Tree) -> _Statement:
        name, *rest = node.children
        expr = cast(Tree, rest[-1])
        first = f"condition {name}"
        head_end = _bounds(cast(Token, name))[1]
        if len(rest) > 1:
            first += f" {_string(cast(Token, rest[0]))}"
            head_end = _bounds(cast(Token, rest[0]))[1]
        lines = [_Line(0, first, [(node.meta.start_pos, head_end)])]
        # the `when` clause: from its keyword (the grammar drops it from the tree) to the statement's end (the
        # condition's own extent leaves out parentheses around it)
        when_start = _next_code(self.text, head_end)
        extent = _Span(when_start if when_start is not None else expr.meta.start_pos, node.meta.end_pos)
        clause = Tree("when", [expr], meta=cast(Meta, extent))
        lines.extend(self._condition("when", clause))
        return _Statement("named_condition", node.meta.start_pos, lines)

    @staticmethod
    def _clause(clause: Tree) -> str:
        names = [str(c) for c in clause.children if isinstance(c, Token)]
        if clause.data == "overridable":
            return "request wins for " + ", ".join(names)
        if clause.data == "described":
            return "if unlisted, request states " + ", ".join(names)
        name, *values = clause.children
        return f"except {name} " + ", ".join(_operand(v) for v in values)

    def rule(self, node: Tree) -> _Statement:
        effect, rule_id, *rest = node.children
        first = f"{effect} {_name(rule_id)}"
        head_end = rule_id.meta.end_pos
        clauses = list(rest)
        if clauses and isinstance(message := clauses[0], Token):
            clauses.pop(0)
            first += f" {_string(message)}"
            head_end = _bounds(message)[1]
        lines = [_Line(0, first, [(node.meta.start_pos, head_end)])]

        def of_kind(kind):
            return [c for c in clauses if c.data == kind]

        for c in of_kind("cite"):
            lines.append(self._whole(c, f"cite {_string(c.children[0])}"))
        for kind, word in (("actions", "to"), ("purposes", "for"), ("categories", "of")):
            lines.extend(self._keys(word, of_kind(kind)))
        for kind in ("when", "unless"):
            for c in of_kind(kind):
                lines.extend(self._condition(kind, c))
        lines.extend(self._keys("overrides", of_kind("overrides")))
        for kind, word in (("obligation", "oblige"), ("advice", "advise")):
            for c in of_kind(kind):
                lines.extend(self._duty(word, c))
        for c in of_kind("accept"):
            code, reason = c.children
            lines.append(self._whole(c, f"accept {code} because {_string(reason)}"))
        return _Statement("rule", node.meta.start_pos, lines)

    @staticmethod
    def _whole(clause: Tree, line: str) -> _Line:
        return _Line(INDENT, line, [(clause.meta.start_pos, clause.meta.end_pos)])

    def _keys(self, word: str, clauses: list[Tree]) -> list[_Line]:
        """`word k1, k2, ...` for every key of `clauses`, wrapped; [] if none."""
        keys: list[tuple[str, int, int]] = []  # name, and the source range it stands for
        for clause in clauses:
            key_nodes = clause.children[0].children
            for i, key in enumerate(key_nodes):
                start = clause.meta.start_pos if i == 0 else key.meta.start_pos
                end = key_nodes[i + 1].meta.start_pos if i + 1 < len(key_nodes) else clause.meta.end_pos
                keys.append((_name(key), start, end))
        if not keys:
            return []
        col = INDENT + len(word) + 1
        lines: list[_Line] = []
        names: list[str] = []
        owns: list[tuple[int, int]] = []
        for i, (name, start, end) in enumerate(keys):
            if names:
                more = i + 1 < len(keys)
                too_long = col + len(", ".join(names + [name])) + more > WIDTH
                forced = (self.anchors.trailing_in(*keys[i - 1][1:]) or self.anchors.own_line_in(start, end))
                if too_long or forced:
                    lines.append(_Line(col, ", ".join(names) + ",", owns))
                    names, owns = [], []
            names.append(name)
            owns.append((start, end))
        lines.append(_Line(col, ", ".join(names), owns))
        lines[0].indent = INDENT
        lines[0].text = f"{word} {lines[0].text}"
        return lines

    def _duty(self, word: str, clause: Tree) -> list[_Line]:
        """`oblige id "text" with name = value, ...` on one line, and its condition below it: `if ...`."""
        duty_id, *rest = clause.children
        line = f"{word} {_name(duty_id)}"
        condition = None
        for part in rest:
            if isinstance(part, Token):
                line += f" {_string(part)}"
            elif part.data == "duty_parameters":
                line += " with " + ", ".join(f"{p.children[0]} = {_operand(p.children[1])}" for p in part.children)
            else:
                condition = part
        if condition is None:
            return [self._whole(clause, line)]
        head = _Line(INDENT, line, [(clause.meta.start_pos, condition.meta.start_pos)])
        return [head] + self._condition("if", condition, INDENT + 2)

    def _condition(self, word: str, clause: Tree, indent: int = INDENT) -> list[_Line]:
        cond = _condition(clause.children[0], self.text, self.anchors)
        col = indent + len(word) + 1
        cuts: list[int] = []
        texts = _layout(cond, col, 0, cuts)
        bounds = [clause.meta.start_pos] + sorted(cuts) + [clause.meta.end_pos]
        assert len(bounds) == len(texts) + 1
        lines = []
        for i, line in enumerate(texts):
            if i == 0:
                at, line = indent, f"{word} {line}"
            else:
                at = len(line) - len(line.lstrip(" "))
                line = line.lstrip(" ")
            lines.append(_Line(at, line, [(bounds[i], bounds[i + 1])]))
        return lines


# ---------------------------------------------------------------- comments


def _own_line(text: str, comment: Token) -> bool:
    line_start = text.rfind("\n", 0, comment.start_pos) + 1
    return text[line_start:comment.start_pos].strip() == ""


def _next_code(text: str, pos: int) -> int | None:
    """Where the next code after `pos` starts, skipping blanks and comments."""
    n = len(text)
    while pos < n:
        if text[pos].isspace():
            pos += 1
        elif text[pos] == "#":
            nl = text.find("\n", pos)
            pos = n if nl < 0 else nl
        else:
            return pos
    return None


def _blank_between(text: str, start: int, end: int) -> bool:
    return text.count("\n", start, end) >= 2


def _blocks(text: str, run: list[_Comment]) -> list[list[_Comment]]:
    blocks = [[run[0]]]
    for before, comment in zip(run, run[1:]):
        if _blank_between(text, before.end, comment.start):
            blocks.append([])
        blocks[-1].append(comment)
    return blocks


def format_policy(text: str, filename: str) -> str:
    """The policy `text` in the canonical layout. Raises PolicyError on syntax errors."""
    _, diagnostics = parse_policy(text, filename)
    if diagnostics:
        raise PolicyError(diagnostics, {filename: text})
    tree, comment_tokens = _parse(text)

    trailing: list[tuple[_Comment, int]] = []  # comment, where the code before it ends
    runs: dict[int | None, list[_Comment]] = {}  # own-line comments by the code after them
    for token in comment_tokens:
        start, end = _bounds(token)
        comment = _Comment(start, end, str(token).rstrip())
        if _own_line(text, token):
            runs.setdefault(_next_code(text, end), []).append(comment)
        else:
            before = _code_end(text, start) - 1
            trailing.append((comment, before))
    anchors = _Anchors([pos for _, pos in trailing], [pos for pos in runs if pos is not None])
    comment_spans = _CommentSpans(comment_tokens)

    printer = _Printer(text, anchors)
    statements = [printer.statement(node) for node in tree.children]
    # Which formatted line prints the code at a position.
    owners = sorted(((start, end, line, s) for s in statements for line in s.lines for start, end in line.owns
                     if end > start), key=lambda o: o[0])
    owner_starts = [o[0] for o in owners]

    def owner(pos: int) -> tuple[_Line, _Statement]:
        i = bisect.bisect_right(owner_starts, pos) - 1
        assert i >= 0 and owners[i][0] <= pos < owners[i][1], "code outside every formatted line"
        return owners[i][2], owners[i][3]

    starts = {s.start: s for s in statements}
    file_header: list[list[_Comment]] = []
    file_end: list[list[_Comment]] = []

    for comment, pos in trailing:
        owner(pos)[0].trailing.append(comment)
    for after, run in runs.items():
        if after is not None and after not in starts:
            owner(after)[0].before.extend(run)  # inside a statement
            continue
        blocks = _blocks(text, run)
        code_before = _code_end(text, run[0].start)
        # A trailing comment on the line above is not code: step over it.
        while code_before and (inside := comment_spans.start_of(code_before - 1)) is not None:
            code_before = _code_end(text, inside)
        gap_after = after is not None and _blank_between(text, run[-1].end, after)
        if code_before == 0:  # top of the file
            if after is not None and not gap_after:
                starts[after].leading.append(blocks.pop())
            file_header.extend(blocks)
            continue
        gap_before = _blank_between(text, code_before, run[0].start)
        if not gap_before and (len(blocks) > 1 or gap_after or after is None):
            owner(code_before - 1)[1].closing.extend(blocks.pop(0))
        if after is None:
            file_end.extend(blocks)
        elif blocks:
            starts[after].leading.extend(blocks)
            starts[after].detached = gap_after

    order = {"header": 0, "lookup": 1, "ledger_fill": 2, "named_condition": 3, "rule": 4}
    statements.sort(key=lambda s: (order[s.kind], s.start))
    out: list[str] = []

    def blank():
        if out and out[-1] != "":
            out.append("")

    for block in file_header:
        blank()
        out.extend(c.text for c in block)
    for statement in statements:
        blank()
        for block in statement.leading:
            blank()
            out.extend(c.text for c in block)
        if statement.leading and statement.detached:
            blank()
        for line in statement.lines:
            if len(line.trailing) > 1:
                line.trailing.sort(key=lambda c: c.start)
                line.before.extend(line.trailing[:-1])
                del line.trailing[:-1]
            pad = " " * line.indent
            out.extend(pad + c.text for c in sorted(line.before, key=lambda c: c.start))
            out.append(pad + line.text + (f"  {line.trailing[0].text}" if line.trailing else ""))
        pad = " " * (0 if statement.kind in ("lookup", "ledger_fill") else INDENT)
        out.extend(pad + c.text for c in statement.closing)
    for block in file_end:
        blank()
        out.extend(c.text for c in block)
    return "\n".join(out) + "\n" if out else ""


class _CommentSpans:
    """Where the comments are, found by bisection (their starts listed once, not per question)."""

    def __init__(self, comments: list[Token]):
        self.bounds = [_bounds(c) for c in comments]
        self.starts = [start for start, _ in self.bounds]

    def start_of(self, pos: int) -> int | None:
        """The start of the comment that holds `pos`, or None when `pos` is not in a comment."""
        i = bisect.bisect_right(self.starts, pos) - 1
        if i >= 0:
            start, end = self.bounds[i]
            if start <= pos < end:
                return start
        return None


def _code_end(text: str, pos: int) -> int:
    """Where the text before `pos` ends without its trailing blanks: `len(text[:pos].rstrip())`, without
    copying the text before `pos` (once per comment, that copy made formatting quadratic in comments)."""
    while pos > 0 and text[pos - 1].isspace():
        pos -= 1
    return pos


def _bounds(token: Token) -> tuple[int, int]:
    """Where a token starts and ends in the text: lark types both optional, a lexed token always has them."""
    return token.start_pos, token.end_pos  # type: ignore[return-value]
