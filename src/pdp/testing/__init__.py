"""Policy tests: YAML cases kept beside the policies, one runner, two reporters.

    from pdp.testing import run_directory, render_text
    results, errors = run_directory("policies")
    print(render_text(results, errors))

The CLI (`pdp test`) and the pytest plugin (`pdp.pytest_plugin`) both run
cases through `run`, so a case passes or fails the same way in both.
"""

from .cases import Case, TestFile, TestFileDiagnostic, TestFileError, load_test_file, parse_test_file
from .report import render_failure, render_json, render_text, report_dict
from .runner import CaseResult, FiredRule, discover, run, run_directory

__all__ = [
    "Case",
    "CaseResult",
    "FiredRule",
    "TestFile",
    "TestFileDiagnostic",
    "TestFileError",
    "discover",
    "load_test_file",
    "parse_test_file",
    "render_failure",
    "render_json",
    "render_text",
    "report_dict",
    "run",
    "run_directory",
]
