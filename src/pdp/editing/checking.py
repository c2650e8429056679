"""Diagnostics of a workspace: its errors (parse, check, build), fast, and its whole-set warnings, on demand.

An editor asks again at every pause in typing, mostly about texts it asked about before (an undo, a
file switched to and back, a warning asked for after the errors): a check is kept by what it checked, the
digest of the sources with the directory they are named by, in a bounded LRU, and the warnings with it.
`CACHE = False` (or `cached=False`) checks afresh every time: the plain path a property test holds it equal to.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, Hashable, Iterable, TypeVar

from pdp.analysis.warnings import warnings_of, without_requested
from pdp.base.errors import Diagnostic, PolicyError
from pdp.engine.build import build_version
from pdp.engine.policy_set import PolicySet
from pdp.testing.cases import TestFileError
from pdp.testing.reader import parse_test_file
from .workspace import TESTS, Workspace

CACHE = True  # False: every check and every warning computed afresh (the plain path)
CHECKS_KEPT = 8  # checks kept: the texts under edit and a few before them (an undo, another file's view)


@dataclass(frozen=True)
class Checked:
    """What checking a workspace found: its errors, sorted, and the built set when there are none."""

    errors: list[Diagnostic]
    policy_set: PolicySet | None
    # the checker's warnings of a set that did not build (with errors, there is no set to ask): shown beside them
    checker_warnings: tuple[Diagnostic, ...] = ()
    key: tuple[str, str] = field(default=("", ""), compare=False, repr=False)  # (root, digest): the cache's key

    @property
    def ok(self) -> bool:
        return not self.errors


K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class Kept(Generic[K, V]):
    """A bounded LRU of values, safe to share between threads (the language server's, the studio's)."""

    def __init__(self, size: int):
        self.size = size
        self._items: OrderedDict[K, V] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        with self._lock:
            if key not in self._items:
                return None
            self._items.move_to_end(key)
            return self._items[key]

    def put(self, key: K, value: V) -> V:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return value

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


_checks: Kept[tuple[str, str], Checked] = Kept(CHECKS_KEPT)
_warnings: Kept[tuple[str, str, str], tuple[Diagnostic, ...]] = Kept(CHECKS_KEPT)
_requests: Kept[tuple[tuple[str, str], ...], tuple[Any, ...]] = Kept(CHECKS_KEPT)


def check(ws: Workspace, cached: bool | None = None) -> Checked:
    """The workspace's errors (parse, checker, build), and its set when it builds. Kept by the sources' digest
    unless `cached=False` (default: `CACHE`)."""
    sources = ws.sources
    key = (ws.root, sources.digest())
    use_cache = CACHE if cached is None else cached
    if use_cache and (found := _checks.get(key)) is not None:
        return found
    try:
        policy_set = build_version(sources, directory=Path(ws.root) if ws.root else None)
    except PolicyError as error:
        errors = [d for d in error.diagnostics if d.severity == "error"]
        warnings = tuple(d for d in error.diagnostics if d.severity == "warning")
        checked = Checked(errors, None, warnings, key)
    else:
        checked = Checked([], policy_set, (), key)
    return _checks.put(key, checked) if use_cache else checked


def warnings_for(checked: Checked, requests: Iterable[Any] = (), cached: bool | None = None,
                 method: str = "auto") -> list[Diagnostic]:
    """The whole-set warnings of a checked workspace (pdp.analysis.warnings: shadowed and overlapping rules,
    unused vocabulary, the checker's), sorted; without `unused-vocabulary` for a key one of `requests` names (the
    set's tests', as `pdp check` leaves them out). A set with errors has only its checker's warnings."""
    if checked.policy_set is None:
        found: tuple[Diagnostic, ...] = checked.checker_warnings
    else:
        use_cache = CACHE if cached is None else cached
        key = (*checked.key, method)
        kept = _warnings.get(key) if use_cache else None
        if kept is None:
            kept = tuple(warnings_of(checked.policy_set, method))
            if use_cache:
                _warnings.put(key, kept)
        found = kept
    return sorted(without_requested(found, requests), key=Diagnostic.sort_key)


def diagnostics(ws: Workspace, cached: bool | None = None, warnings: bool = True) -> list[Diagnostic]:
    """What `pdp check` reports of the workspace: its errors, then (`warnings`) its warnings, sorted together."""
    checked = check(ws, cached)
    found = list(checked.errors)
    if warnings:
        found += warnings_for(checked, requests_of_tests(ws, cached), cached)
    return sorted(found, key=Diagnostic.sort_key)


def requests_of_tests(ws: Workspace, cached: bool | None = None) -> tuple[Any, ...]:
    """The requests of the workspace's test cases (tests/*.yaml); a file with errors is `pdp test`'s to report."""
    texts = tuple((path, ws.texts[path]) for path in ws.paths_of(TESTS))
    use_cache = CACHE if cached is None else cached
    if use_cache and (found := _requests.get(texts)) is not None:
        return found
    requests = []
    for path, text in texts:
        try:
            requests += [case.request for case in parse_test_file(text, path).cases]
        except TestFileError:
            continue
    out = tuple(requests)
    return _requests.put(texts, out) if use_cache else out


def forget() -> None:
    """Drop every kept check and warning (tests; a process that must give the memory back)."""
    for kept in (_checks, _warnings, _requests):
        kept.clear()
