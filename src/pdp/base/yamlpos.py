"""YAML with positions: load a document and remember where each value is.

pyyaml's `compose` keeps marks on nodes; we turn nodes into plain Python
values and keep a side table from (id of the value's container, key) to the
line and column, so errors in data, vocabulary and test files can point at
`file:line:col` like errors in policy files do.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

from .limits import MAX_YAML_DEPTH, MAX_YAML_NODES
from .source import Span


YAML_HINT = "check the indentation, and put quotes around a value that holds `: ` or starts with [ { * & ! % @ or `"


class YamlSyntaxError(Exception):
    def __init__(self, span: Span, message: str, hint: str = YAML_HINT):
        super().__init__(message)
        self.span = span
        self.message = message
        self.hint = hint


@dataclass
class Located:
    """A YAML document as plain values, with the span of every node by path."""

    value: Any  # a YAML document: whatever it holds
    spans: dict[tuple[Any, ...], Span] = field(default_factory=dict)

    def span(self, *path: Any) -> Span:
        """The span of the node at `path` (keys and list indexes), or of its nearest parent."""
        path = tuple(path)
        while path not in self.spans and path:
            path = path[:-1]
        return self.spans.get(path, Span("<unknown>", 1, 1))


_CLOSERS = {"flow sequence": ("[", "]"), "flow mapping": ("{", "}"), "quoted scalar": ("quote", "closing quote")}


def _syntax_error(error: yaml.MarkedYAMLError, text: str, filename: str) -> YamlSyntaxError:
    """Where the YAML goes wrong, in words; at the end of the file, point at what was left open."""
    mark = error.problem_mark or error.context_mark
    problem = error.problem or str(error)
    at_end = mark is not None and not text[mark.index:].strip()
    if at_end and error.context_mark is not None:
        opened = next((pair for kind, pair in _CLOSERS.items() if kind in (error.context or "")), None)
        mark = error.context_mark
        if opened is not None:
            return YamlSyntaxError(Span(filename, mark.line + 1, mark.column + 1),
                                   f"this YAML cannot be read: the {opened[0]} here is never closed",
                                   f"add the {opened[1]} where the list or value ends")
        problem = f"{error.context} that starts here, the file ends first"
    line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
    return YamlSyntaxError(Span(filename, line, col), f"this YAML cannot be read: {problem}")


class _BoundedLoader(yaml.SafeLoader):
    """pyyaml's safe loader, refusing what can make a small file cost a lot.

    No aliases (`*name`): they repeat a part of the document, and a few
    lines of them ("billion laughs") expand to gigabytes. Nesting and the
    number of values are capped (pdp.base.limits): the composer recurses once
    per level, and every value costs memory with its position.
    """

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0
        self._nodes = 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        event = self.peek_event()  # type: ignore[no-untyped-call]  # unannotated in types-PyYAML
        if isinstance(event, yaml.AliasEvent):
            raise yaml.composer.ComposerError(None, None, "an alias (`*name`) repeats another part of the file, and "
                                              "pdp does not read aliases: write the value out",
                                              event.start_mark)  # type: ignore[arg-type]  # the stubs' two Mark classes
        self._nodes += 1
        if self._nodes > MAX_YAML_NODES:
            raise yaml.composer.ComposerError(None, None, f"more than {MAX_YAML_NODES:,} values in one file",
                                              event.start_mark)
        self._depth += 1
        try:
            if self._depth > MAX_YAML_DEPTH:
                raise yaml.composer.ComposerError(None, None, f"lists and mappings nested more than {MAX_YAML_DEPTH} "
                                                  "levels deep", event.start_mark)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def load_located(text: str, filename: str) -> Located:
    try:
        node = yaml.compose(text, Loader=_BoundedLoader)
    except yaml.reader.ReaderError as error:
        line = text.count("\n", 0, error.position) + 1
        raise YamlSyntaxError(Span(filename, line, 1),
                              f"this file holds a character YAML does not allow ({error.character!r})") from None
    except yaml.MarkedYAMLError as error:
        raise _syntax_error(error, text, filename) from None
    spans: dict[tuple[Any, ...], Span] = {}
    if node is None:
        return Located(None, spans)
    constructor = yaml.SafeLoader("")

    def build(n: yaml.Node, path: tuple[Any, ...]) -> Any:
        spans[path] = Span(filename, n.start_mark.line + 1, n.start_mark.column + 1, n.end_mark.line + 1, n.end_mark.column + 1)
        if isinstance(n, yaml.MappingNode):
            out = {}
            for key_node, value_node in n.value:
                key = construct(key_node)
                out[key] = build(value_node, path + (key,))
                # the key's own position is more useful for "unknown key" errors
                spans[path + (key, "<key>")] = Span(filename, key_node.start_mark.line + 1, key_node.start_mark.column + 1,
                                                      key_node.end_mark.line + 1, key_node.end_mark.column + 1)
            return out
        if isinstance(n, yaml.SequenceNode):
            return [build(item, path + (i,)) for i, item in enumerate(n.value)]
        return construct(n)

    def construct(n: yaml.Node) -> Any:
        try:
            return constructor.construct_object(n, deep=True)
        except ValueError as error:  # 2026-13-45, a number of 5,000 digits: say where, in words
            problem = ("a number of more than 4,300 digits" if "integer string conversion" in str(error)
                       else f"a value that cannot be read ({str(error).split(';')[0]})")
            raise YamlSyntaxError(Span(filename, n.start_mark.line + 1, n.start_mark.column + 1),
                                  f"this YAML cannot be read: {problem}",
                                  "put it in quotes if it is text") from None

    try:
        return Located(build(node, ()), spans)
    except (yaml.YAMLError, TypeError, ValueError) as error:  # e.g. a list used as a mapping key
        mark = getattr(error, "problem_mark", None)
        line = mark.line + 1 if mark else 1
        problem = getattr(error, "problem", None) or str(error)
        raise YamlSyntaxError(Span(filename, line, 1), f"this YAML cannot be read: {problem}") from None
