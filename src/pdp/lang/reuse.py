"""Files parsed before, by their text: a second load of a file with the same bytes takes its syntax tree.

`pdp diff OLD NEW` loads two sets that differ by a few files, and a server's hot reload loads a set
that differs from the one it serves by a few: every other file was parsed a moment before, in the same
process, from the very same text. Parsing is pure (the same text and name give the same tree), so the
tree is taken again; under another name (the same file in OLD and in NEW) it is copied with every span
naming the new file, which costs a small part of a parse.

The memo holds a tree only as long as something else does (a weak reference: the set that was loaded
keeps it alive), so it costs no memory of its own and never keeps an old set alive. Only files that
parsed without errors are kept: a file with errors is parsed again and reports them as the first time.
`engine.build.build(reuse=False)` parses every file afresh (the plain path a property test proves this
equal to, spans included).
"""

from __future__ import annotations

import dataclasses
import threading
import weakref
from functools import lru_cache
from typing import Any

from pdp.base.errors import Diagnostic
from pdp.base.source import Span

from . import ast
from .parser import parse_policy


class Parses:
    """Syntax trees of the files parsed so far, by their text, held weakly."""

    def __init__(self) -> None:
        self._by_text: weakref.WeakValueDictionary[str, ast.PolicyFile] = weakref.WeakValueDictionary()
        self._lock = threading.Lock()  # two builds in two threads (a reload while a command loads) share it

    def parse(self, text: str, filename: str) -> tuple[ast.PolicyFile, list[Diagnostic]]:
        """What `parse_policy(text, filename)` returns: taken from a file parsed before when its text is the same."""
        with self._lock:
            known = self._by_text.get(text)
        if known is not None:
            return (known if known.path == filename else relabelled(known, filename)), []
        parsed, errors = parse_policy(text, filename)
        if not errors:
            with self._lock:
                self._by_text[text] = parsed
        return parsed, errors


def relabelled(file: ast.PolicyFile, path: str) -> ast.PolicyFile:
    """The same syntax tree with every span naming `path`.

    Nodes are frozen dataclasses: each is made by object.__new__ and its fields set one by one (what
    its __init__ does, without the call). Never through __dict__: reading an instance's __dict__ makes
    Python keep a dict beside its fields, for this node and the one copied (70 MB more at 20,000 rules)."""
    return _copy(file, path)


_setattr = object.__setattr__


@lru_cache(maxsize=None)
def _fields(kind: type) -> tuple[str, ...] | None:
    """The fields of a syntax tree node's class; None for any other value (str, number, bool, None)."""
    if not dataclasses.is_dataclass(kind):
        return None
    return tuple(f.name for f in dataclasses.fields(kind))


def _copy(value: Any, path: str) -> Any:
    kind = value.__class__
    if kind is tuple:
        return tuple([_copy(item, path) for item in value])
    names = _fields(kind)
    if names is None:
        return value
    node = object.__new__(kind)
    if kind is Span:
        for name in names:
            _setattr(node, name, getattr(value, name))
        _setattr(node, "file", path)
        return node
    for name in names:
        _setattr(node, name, _copy(getattr(value, name), path))
    if kind is ast.PolicyFile:
        _setattr(node, "path", path)
    return node
