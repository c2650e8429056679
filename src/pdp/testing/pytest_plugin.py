"""pytest plugin: a plain `pytest` runs the policy tests, each case its own test.

Installed through the `pytest11` entry point `pdp` (switch off: `-p no:pdp`).
It follows pytest's `nonpython` example: `pytest_collect_file` turns a policy
test file into a `PolicyTestFile` node whose items are the file's cases.
Items run through the same runner as `pdp test` and fail with the same text
as its report.

A YAML file is a policy test file when it sits in a `tests/` folder whose
parent holds `.pdp` files (`policies/tests/*.yaml`); other YAML files, such
as fixtures under a project's own `tests/`, are left alone.
"""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace

import pytest

from pdp.base.errors import PolicyError
from pdp.io.loader import load
from pdp.testing import Case, CaseResult, TestFileError, load_test_file, render_failure, run_case
from .discovery import TEST_FOLDER, TEST_SUFFIXES, shown_path

POLICY_SUFFIX = ".pdp"

# One load per policy directory per session: loading parses, checks and
# compiles the whole set, and every case of every file beside it shares it.
_POLICY_SETS = pytest.StashKey[dict]()


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if is_policy_test_file(file_path):
        return PolicyTestFile.from_parent(parent, path=file_path)
    return None


def is_policy_test_file(path: Path) -> bool:
    # only the folder right above tests/ counts: a project's own tests/*.yaml
    # must not become policy tests because a policies/ folder lives below it
    return (
        path.suffix in TEST_SUFFIXES
        and path.parent.name == TEST_FOLDER
        and any(p.is_file() for p in path.parent.parent.glob("*" + POLICY_SUFFIX))
    )


def item_name(case_name: str) -> str:
    """A case name as a node id part: no `::`, `/`, brackets or spaces to quote."""
    return re.sub(r"[^\w.§-]+", "_", case_name).strip("_") or "case"


class PolicyTestFile(pytest.File):
    """A policy test file; collecting it reads and validates the YAML."""

    def collect(self):
        try:
            test_file = load_test_file(self.path)
        except TestFileError as err:
            # pytest shows a CollectError as its message alone: the problems
            # at file:line:col, exactly as `pdp test` prints them
            raise self.CollectError(str(err)) from None
        taken: set[str] = set()
        for case in test_file.cases:
            name = item_name(case.name)
            # distinct case names may look alike once sanitised; node ids must not
            unique, n = name, 1
            while unique in taken:
                n += 1
                unique = f"{name}-{n}"
            taken.add(unique)
            yield PolicyCaseItem.from_parent(self, name=unique, case=case)


class CaseFailed(Exception):
    """Raised by an item whose case failed; carries the result for `repr_failure`."""

    def __init__(self, result: CaseResult):
        super().__init__(result.case.name)
        self.result = result


class PolicyCaseItem(pytest.Item):
    """One case: decide its request with the policy set it sits beside."""

    def __init__(self, *, case: Case, **kwargs):
        super().__init__(**kwargs)
        self.case = case

    @property
    def policy_dir(self) -> Path:
        return self.path.parent.parent

    def runtest(self) -> None:
        result = run_case(policy_set_for(self.config, self.policy_dir), self.case)
        if not result.passed:
            raise CaseFailed(result)

    def repr_failure(self, excinfo, style=None):
        if isinstance(excinfo.value, CaseFailed):
            result = excinfo.value.result
            return FailureText(render_failure(result), result.failures[0], self.case)
        if isinstance(excinfo.value, PolicyError):
            headline = f"the policy set in {shown_path(self.policy_dir)} does not load"
            text = f"{self.case.location}: {self.case.name}\n  {headline}:\n\n{excinfo.value}"
            return FailureText(text, headline, self.case)
        return super().repr_failure(excinfo, style)

    def reportinfo(self):
        # pytest counts lines from 0 and shows them from 1
        return self.path, self.case.line - 1, f"{self.case.suite}: {self.case.name}"


class FailureText:
    """A failure as pytest shows it: our text in full, our headline in summaries.

    pytest takes the one-line summary (`-r`, JUnit XML `message`) from
    `reprcrash.message`; from a plain string it would take the first line,
    which only repeats the node id.
    """

    def __init__(self, text: str, headline: str, case: Case):
        self.text = text
        self.reprcrash = SimpleNamespace(path=str(case.file), lineno=case.line, message=headline)

    def toterminal(self, tw) -> None:
        for line in self.text.splitlines():
            tw.line(line)

    def __str__(self) -> str:
        return self.text


def policy_set_for(config: pytest.Config, policy_dir: Path):
    """The policy set of a directory, loaded once; a set that does not load raises every time."""
    loaded = config.stash.setdefault(_POLICY_SETS, {})
    key = policy_dir.resolve()
    if key not in loaded:
        try:
            loaded[key] = load(policy_dir)
        except PolicyError as err:
            loaded[key] = err
    if isinstance(loaded[key], PolicyError):
        raise loaded[key].with_traceback(None)  # the same error, without a growing traceback
    return loaded[key]
