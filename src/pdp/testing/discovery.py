"""Finding and reading a policy set's test files: the only disk I/O of the runner.

A policy set keeps its tests in `<policy dir>/tests/*.yaml`. `run_directory`
is what `pdp test` calls: load the set, read every test file, run them all.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import Diagnostic
from ..source import Span
from .cases import TestFile, TestFileError
from .reader import parse_test_file
from .runner import CaseResult, run

TEST_FOLDER = "tests"
TEST_SUFFIXES = (".yaml", ".yml")


def policy_test_paths(policy_dir: str | Path) -> list[Path]:
    """`<policy_dir>/tests/*.yaml` (and `*.yml`), in name order."""
    folder = Path(policy_dir) / TEST_FOLDER
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.suffix in TEST_SUFFIXES and p.is_file())


def load_test_file(path: str | Path) -> TestFile:
    """Read and validate one test file. Raises TestFileError."""
    shown = shown_path(Path(path))
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        problem = Diagnostic("unreadable-file", f"cannot read the test file: {err}",
                             Span(str(shown), 1, 1), "save it as UTF-8 text")
        raise TestFileError([problem]) from None
    return parse_test_file(text, shown)


def read_test_files(policy_dir: str | Path) -> tuple[list[TestFile], list[TestFileError]]:
    """Every test file of a policy set: the good ones, and the errors of the bad ones."""
    files, errors = [], []
    for path in policy_test_paths(policy_dir):
        try:
            files.append(load_test_file(path))
        except TestFileError as err:
            errors.append(err)
    return files, errors


def discover(policy_dir: str | Path) -> list[TestFile]:
    """Every test file of a policy set. Raises one TestFileError naming every bad file."""
    files, errors = read_test_files(policy_dir)
    if errors:
        sources = {name: text for err in errors for name, text in err.sources.items()}
        raise TestFileError([d for err in errors for d in err.diagnostics], sources)
    return files


def run_directory(policy_dir: str | Path) -> tuple[list[CaseResult], list[TestFileError]]:
    """Load a policy set and run all its tests; bad test files are returned, not raised.

    A policy set that does not load raises pdp.PolicyError: no case can run.
    """
    from ..loader import load

    policy_set = load(policy_dir)
    files, errors = read_test_files(policy_dir)
    return run(policy_set, files), errors


def shown_path(path: Path) -> Path:
    # Name files as the user would type them, relative to where pdp runs,
    # as the policy loader does, so test and policy errors read alike.
    try:
        return path.resolve().relative_to(Path.cwd().resolve())
    except ValueError:
        return path
