"""Policy tests: YAML cases kept beside the policies, one runner, two reporters.

    cases.py      what a test file holds (Case, TestFile, TestFileError)
    reader.py     test file text -> validated cases, errors at file:line
    runner.py     cases + a policy set -> CaseResults (pure)
    discovery.py  `<policy dir>/tests/*.yaml` from disk; run_directory
    report.py     results -> text, JSON or JUnit XML

    from pdp.testing import run_directory, render_text
    results, errors = run_directory("policies")
    print(render_text(results, errors))

`pdp test` and the pytest plugin (`pdp.testing.pytest_plugin`) both run cases
through `runner.run_case`, so a case passes or fails the same way in both.
"""

from .cases import Case, TestFile, TestFileError
from .discovery import discover, load_test_file, policy_test_paths, read_test_files, run_directory
from .reader import parse_test_file
from .report import render_failure, render_json, render_junit, render_text, report_dict, summary_line
from .runner import CaseResult, FiredRule, run, run_case

__all__ = [
    "Case",
    "CaseResult",
    "FiredRule",
    "TestFile",
    "TestFileError",
    "discover",
    "load_test_file",
    "parse_test_file",
    "policy_test_paths",
    "read_test_files",
    "render_failure",
    "render_json",
    "render_junit",
    "render_text",
    "report_dict",
    "run",
    "run_case",
    "run_directory",
    "summary_line",
]
