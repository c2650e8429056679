"""Policy test cases as data: what a test file holds once it has been read.

A case is a request and what the policy set must answer to it. It keeps the
file and line it came from, so a failure points at the case, not at Python.
Reading and validating the YAML is `reader.py`; running cases is `runner.py`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pdp.base.errors import Diagnostic, render_all


@dataclass(frozen=True)
class Case:
    """One policy test: a request and what the policy set must answer."""

    __test__ = False  # a data class, not a pytest test class, whatever imports it

    file: Path
    line: int  # 1-based line where the case starts in its file
    name: str
    suite: str
    request: dict[str, Any]  # already merged with the file's defaults
    expect: str | None = None  # "allow" | "deny"; None when `error` is given
    rules: tuple[str, ...] | None = None  # each must be among the reasons' rule ids
    cites: tuple[str, ...] | None = None  # each must be among the reasons' cites
    obligations: tuple[str, ...] | None = None  # exactly this set of obligation ids
    advice: tuple[str, ...] | None = None  # exactly this set of advice ids
    error: str | None = None  # the request must be refused with a message containing this
    # events of a consent ledger the case is decided against (complete, valid); None: decided without a ledger
    ledger: tuple[dict[str, Any], ...] | None = None

    @property
    def location(self) -> str:
        return f"{self.file}:{self.line}"


@dataclass(frozen=True)
class TestFile:
    """A test file that has been read and validated: its title and its cases, in order."""

    __test__ = False

    path: Path
    suite: str
    cases: tuple[Case, ...]


class TestFileError(Exception):
    """A test file that cannot be used, with every problem found in it.

    The problems are the engine's own `Diagnostic`s, so a mistake in a test
    file reads exactly like a mistake in a policy file under `pdp check`:
    `file:line:col: code: message`, the line, a caret, and a hint.
    """

    __test__ = False

    def __init__(self, diagnostics: list[Diagnostic], sources: dict[str, str] | None = None):
        self.diagnostics = sorted(diagnostics, key=Diagnostic.sort_key)
        self.sources = dict(sources or {})
        super().__init__(render_all(self.diagnostics, self.sources))

    @property
    def file(self) -> str:
        return self.diagnostics[0].file

    @property
    def line(self) -> int:
        return self.diagnostics[0].line
