"""The fast way to parse a file without errors: the syntax tree built while lark parses, on lark_cython.

The plain path (`parser`) has lark build its own tree, working out each node's position from its
children as it goes (lark's PropagatePositions: half of what a parse cost), and then walks that tree
into ast.py's nodes. Here the streaming parser (`grammar.STREAMING_OPTIONS`) keeps every token and
calls back as it reduces each rule: the callback takes the node's extent from its first and last
child, keywords and parentheses included (as lark's positions are taken), leaves out the anonymous
tokens (keywords, punctuation: what the plain tree leaves out) and calls the rule's method of
`builder.Builder`, the same the plain path calls. lark's LALR parser and lexer run as lark_cython
(by lark's author) when it is installed, and as pure lark otherwise.

A file parses this way only when it parses without any error: a syntax error, a node that cannot be
built (a bad escape, a number too long) or a condition nested near the limit gives None, and the caller
parses the file the plain way, which reports every error exactly as before (lark_cython's errors do not
say what was expected: they are never read). `parse_policy(streaming=False)` is the plain path, which a
property test proves this one equal to, spans included, with lark_cython and without.
"""

from __future__ import annotations

import threading
from functools import lru_cache
from typing import Any, Callable, cast

from lark import Lark
from lark.grammar import Terminal
from lark.exceptions import UnexpectedInput

from pdp.base.limits import MAX_NESTING

from .builder import METHODS, BuildError, Builder
from .grammar import new_streaming_parser, new_parser

# A condition this deep is left to the plain path, which reports one too deep (well below its limit:
# the plain path decides, and nothing here recurses)
_DEEP = MAX_NESTING


class _Extent:
    """A node's extent, as the Builder reads lark's `meta`: from its first child's start to its last's end."""

    __slots__ = ("line", "column", "end_line", "end_column")
    empty = False

    def __init__(self, line: int, column: int, end_line: int, end_column: int):
        self.line, self.column, self.end_line, self.end_column = line, column, end_line, end_column


@lru_cache(maxsize=1)
def _anonymous_terminals() -> frozenset[str]:
    """The terminals lark leaves out of its tree (written in quotes in the grammar: keywords, punctuation).

    Read from the plain parser's rules: with every token kept, the streaming parser's mark none."""
    rules = new_parser().rules
    return frozenset(s.name for r in rules for s in r.expansion if isinstance(s, Terminal) and s.filter_out)


class _Callbacks:
    """One callback per grammar rule, named as lark looks them up on a transformer.

    Each returns (value, extent, height): what the rule's Builder method returned, the node's extent
    (`_Extent`), and how many levels of rules it stands on (a condition's nesting)."""

    def __init__(self) -> None:
        self.builder = Builder("")  # set for each file parsed
        anonymous = _anonymous_terminals()
        for name, method in METHODS.items():
            setattr(self, name, self._callback(method, anonymous))

    def _callback(self, method: Callable, anonymous: frozenset[str]) -> Callable[[list], tuple]:
        def reduce(children: list) -> tuple:
            kept = []
            height = 0
            for child in children:
                if child.__class__ is tuple:
                    kept.append(child[0])
                    if child[2] > height:
                        height = child[2]
                elif child.type not in anonymous:
                    kept.append(child)
            first, last = children[0], children[-1]
            start = first[1] if first.__class__ is tuple else first
            end = last[1] if last.__class__ is tuple else last
            extent = _Extent(start.line, start.column, end.end_line, end.end_column)
            return method(self.builder, extent, kept), extent, height + 1

        return reduce

    def test(self, children: list) -> tuple:
        """`( expr )`: the expression as it is, its parentheses counted in the extent of what holds it."""
        value, _, height = children[1]
        extent = _Extent(children[0].line, children[0].column, children[-1].end_line, children[-1].end_column)
        return value, extent, height

    def start(self, children: list) -> list:
        if any(height > _DEEP for _, _, height in children):
            raise _TooDeep
        return [value for value, _, _ in children]


class _TooDeep(Exception):
    pass


_threads = threading.local()  # a parser for each thread: the callbacks hold the file being parsed


def _parser(cython: bool) -> tuple[Lark, _Callbacks]:
    parsers: dict[bool, tuple[Lark, _Callbacks]] | None = getattr(_threads, "parsers", None)
    if parsers is None:
        parsers = _threads.parsers = {}
    if cython not in parsers:
        callbacks = _Callbacks()
        parsers[cython] = (new_streaming_parser(callbacks, cython=cython), callbacks)
    return parsers[cython]


def parse_streaming(text: str, filename: str, cython: bool = True) -> list[Any] | None:
    """The statements of a file that has no error, in the order written; None when it has any.

    `cython=False` parses with pure lark even where lark_cython is installed."""
    lark, callbacks = _parser(cython)
    callbacks.builder = Builder(filename)
    try:
        return cast(list, lark.parse(text))  # what `start` returns
    except (UnexpectedInput, BuildError, _TooDeep):
        return None
    finally:
        callbacks.builder = Builder("")

