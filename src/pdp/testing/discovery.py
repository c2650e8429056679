"""Finding and reading a policy set's test files: the only disk I/O of the runner.

A policy set keeps its tests in `<policy dir>/tests/*.yaml`. `run_directory`
is what `pdp test` calls: load the set, read every test file, run them all.
"""

from __future__ import annotations

from pathlib import Path

from pdp.base.errors import PolicyError
from pdp.io.loader import read_file
from .cases import TestFile, TestFileError
from .reader import parse_test_file
from .runner import CaseResult, run

TEST_FOLDER = "tests"
TEST_SUFFIXES = (".yaml", ".yml")


def policy_test_paths(policy_dir: str | Path) -> list[Path]:
    """`<policy_dir>/tests/*.yaml` (and `*.yml`), in name order.

    Every entry so named is listed, a FIFO or a directory too: the loader
    refuses what is no plain file, as it does for policy files, instead of
    the tests silently leaving it out.
    """
    folder = Path(policy_dir) / TEST_FOLDER
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.suffix in TEST_SUFFIXES)


def load_test_file(path: str | Path, policy_dir: str | Path | None = None) -> TestFile:
    """Read and validate one test file of the policy set in `policy_dir` (by default the folder above
    `tests/`). Raises TestFileError.

    It is read as the policy files are (pdp.io.loader.read_file): a link out of
    the policy set, a FIFO, a device or a file over the size limit is
    refused before it is read, so no error quotes a file outside the set.
    """
    path = Path(path)
    try:
        text = read_file(path, policy_dir if policy_dir is not None else path.parent.parent)
    except PolicyError as err:
        raise TestFileError(err.diagnostics) from None
    return parse_test_file(text, shown_path(path))


def read_test_files(policy_dir: str | Path) -> tuple[list[TestFile], list[TestFileError]]:
    """Every test file of a policy set: the good ones, and the errors of the bad ones."""
    files, errors = [], []
    for path in policy_test_paths(policy_dir):
        try:
            files.append(load_test_file(path, policy_dir))
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
    from pdp.io.loader import load

    policy_set = load(policy_dir)
    files, errors = read_test_files(policy_dir)
    return run(policy_set, files), errors


def shown_path(path: Path) -> Path:
    # Name files as the user would type them, relative to where pdp runs,
    # as the policy loader does, so test and policy errors read alike.
    try:
        return path.resolve().relative_to(Path.cwd().resolve())
    except (ValueError, OSError):  # elsewhere, or pdp runs from a directory that was deleted: as given
        return path
