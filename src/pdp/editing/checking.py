"""Diagnostics of a workspace: its errors (parse, check, build), fast, and its whole-set warnings, on demand.

An editor asks again at every pause in typing, mostly about texts it asked about before (an undo, a
file switched to and back, a warning asked for after the errors): a check is kept by what it checked, the
digest of the sources with the directory they are named by, in a bounded LRU, and the warnings by what the
texts say, comments left out (`meaning`).
`CACHE = False` (or `cached=False`) checks afresh every time: the plain path a property test holds it equal to.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Generic, Hashable, Iterable, TypeVar

from pdp.analysis.warnings import warnings_of, without_requested
from pdp.base.errors import Diagnostic, PolicyError
from pdp.engine.build import build_version
from pdp.engine.policy_set import PolicySet
from pdp.engine.sources import Sources
from pdp.testing.cases import TestFileError
from pdp.testing.reader import parse_test_file
from .clauses import unknown_clauses
from . import relocating
from .located import located
from .relocating import Layout, layout_of, relocated
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

    @cached_property
    def meaning(self) -> str:
        """What the checked texts say, comments left out (`meaning`): the key of the set's warnings."""
        return meaning(self.policy_set.sources if self.policy_set is not None else None)


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
_beside_tests: Kept[tuple[Any, ...], tuple[Diagnostic, ...]] = Kept(CHECKS_KEPT)
_by_tokens: Kept[tuple[str, str, str], tuple[Any, Layout, tuple[Diagnostic, ...]]] = Kept(CHECKS_KEPT)


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
        errors = located([d for d in error.diagnostics if d.severity == "error"], sources.texts())
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
        if CACHE if cached is None else cached:
            key = (checked.key[0], checked.meaning, method)
            kept = _warnings.get(key)
            if kept is None:
                kept = _warnings.put(key, _moved_or_found(checked, method))
            found = kept
        else:
            found = tuple(warnings_of(checked.policy_set, method))
    return sorted(without_requested(found, requests), key=Diagnostic.sort_key)


def _moved_or_found(checked: Checked, method: str) -> tuple[Diagnostic, ...]:
    """The set's warnings: those of a set of the same tokens and syntax trees, moved to this layout's places
    (`relocating`), else found by the analysis."""
    policy_set = checked.policy_set
    if policy_set is None:
        return checked.checker_warnings
    if not relocating.RELOCATE or policy_set.sources is None:
        return tuple(warnings_of(policy_set, method))
    layout = layout_of(policy_set.sources)
    key = (checked.key[0], layout.key, method)
    earlier = _by_tokens.get(key)
    if earlier is not None and earlier[0] == policy_set.files:  # the same syntax trees, spans aside
        moved = relocated(earlier[2], earlier[1], layout)
        if moved is not None:
            return moved
    found = tuple(warnings_of(policy_set, method))
    _by_tokens.put(key, (policy_set.files, layout, found))
    return found


# A text in quotes, or a comment: in a set that builds, the parser read them so (pdp.lang.grammar: STRING, COMMENT)
_STRING_OR_COMMENT = re.compile(r'"(?:[^"\\\n]|\\.)*"|#[^\n]*')


def meaning(sources: Sources | None) -> str:
    """A digest of what the sources say, their comments left out: the same for two sets whose policy files differ
    only in what their comments say. A comment runs to the end of its line, so no token moves when one changes,
    and the warnings of the one set are the other's, spans and all (the analysis reads the syntax tree, which
    holds no comment). A set's warnings are kept by it: writing in a comment does not analyse the set again."""
    if sources is None:
        return ""
    h = hashlib.sha256()
    for path, text in sorted(sources.texts().items()):
        if path in sources.policies:
            text = _STRING_OR_COMMENT.sub(lambda m: m.group() if m.group().startswith('"') else "#", text)
        h.update(path.encode() + b"\0" + text.encode() + b"\0")
    return "sha256:" + h.hexdigest()


def diagnostics(ws: Workspace, cached: bool | None = None, warnings: bool = True) -> list[Diagnostic]:
    """What `pdp check` reports of the workspace: its errors, then (`warnings`) its warnings, sorted together; with
    a clauses.yaml beside the set, a cite that names none of its clauses is an `unknown-clause` warning."""
    checked = check(ws, cached)
    found = list(checked.errors)
    if warnings:
        found += _warnings_beside_tests(ws, checked, cached)
        if checked.policy_set is not None:  # (a set with errors: those first)
            found += unknown_clauses(ws, checked.policy_set.files)
    return sorted(found, key=Diagnostic.sort_key)


def _warnings_beside_tests(ws: Workspace, checked: Checked, cached: bool | None) -> list[Diagnostic]:
    """`warnings_for` the set with its tests' requests, kept by both (leaving out what the tests request reads
    every request)."""
    tests = _tests_of(ws)
    if not (CACHE if cached is None else cached) or checked.policy_set is None:
        return warnings_for(checked, requests_of_tests(ws, cached), cached)
    key = (checked.key[0], checked.meaning, tests)
    kept = _beside_tests.get(key)
    return list(kept if kept is not None else _beside_tests.put(
        key, tuple(warnings_for(checked, requests_of_tests(ws, cached), cached))))


def _tests_of(ws: Workspace) -> tuple[tuple[str, str], ...]:
    return tuple((path, ws.texts[path]) for path in ws.paths_of(TESTS))


def requests_of_tests(ws: Workspace, cached: bool | None = None) -> tuple[Any, ...]:
    """The requests of the workspace's test cases (tests/*.yaml); a file with errors is `pdp test`'s to report."""
    texts = _tests_of(ws)
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
    for kept in (_checks, _warnings, _requests, _beside_tests, _by_tokens):
        kept.clear()
