""""Run the tests": the set's YAML policy tests run against the edited set, with rule and condition coverage.

The cases are read from the workspace's texts (`tests/*.yaml`, edited or
not) by the test reader, run by the one runner (`pdp.testing.run`: a case
passes or fails as under `pdp test`), and coverage is recorded while they run
(`pdp.testing.coverage.Recorder`, as `pdp test --coverage`). Each rule and
condition is given with its span, for the editor's gutter. A test file that
does not read counts as failed, its problems given as diagnostics.
"""

from __future__ import annotations

from typing import Any

from pdp.engine.policy_set import PolicySet
from pdp.editing import Workspace
from pdp.explain import condition_tree
from pdp.lang import ast
from pdp.testing import CaseResult, TestFile, TestFileError, parse_test_file, run
from pdp.testing.coverage import CoverageReport, Recorder
from .workspace import Place, file_kind


def test_files(workspace: Workspace, place: Place) -> tuple[list[TestFile], list[TestFileError]]:
    """The workspace's test files, read (their cases named by API paths), and the errors of those that do not read."""
    files: list[TestFile] = []
    unread: list[TestFileError] = []
    for path in sorted(workspace.texts):
        relative = place.relative(path)
        if file_kind(relative) != "tests":
            continue
        try:
            files.append(parse_test_file(workspace.texts[path], relative))
        except TestFileError as error:
            unread.append(error)
    return files, unread


def examples(workspace: Workspace, place: Place) -> dict[str, Any]:
    """The answer to `/studio/api/examples`: every test case's request (the file's defaults merged in, with its
    ledger events), named by file and case; a test file that does not read is left out."""
    files, _ = test_files(workspace, place)
    return {"requests": [{"name": f"{case.file.as_posix()}: {case.name}", "source": case.location,
                          "request": case.request, **({"events": list(case.ledger)} if case.ledger else {})}
                         for read in files for case in read.cases]}


def run_tests(policy_set: PolicySet, workspace: Workspace, place: Place) -> dict[str, Any]:
    """The answer to `/studio/api/test` (blocking: run it off the event loop)."""
    files, unread = test_files(workspace, place)
    recorder = Recorder(policy_set)
    results = run(policy_set, files, recorder)
    passed = sum(r.passed for r in results)
    return {"passed": passed, "failed": len(results) - passed + len(unread),
            "cases": [_case(r) for r in results],
            "file_errors": [place.diagnostic(d.to_dict()) for error in unread for d in error.diagnostics],
            "coverage": _coverage(recorder.report(), policy_set, place)}


def _case(result: CaseResult) -> dict[str, Any]:
    case = result.case
    message = "; ".join(result.failures) if result.failures else ""
    return {"name": case.name, "suite": case.suite, "file": case.file.as_posix(), "line": case.line,
            "ok": result.passed, "message": message, "expected": result.expected, "actual": result.actual,
            "rules": [fired.rule for fired in result.fired]}


def _coverage(report: CoverageReport, policy_set: PolicySet, place: Place) -> dict[str, Any]:
    rules = [rule for version in policy_set.history for rule in version.rules]  # the report's order (Recorder)
    assert len(rules) == len(report.rules), "coverage lists every rule of every version"
    out_rules, out_conditions = [], []
    for rule, covered in zip(rules, report.rules):
        span = rule.source.span
        out_rules.append({"id": covered.rule, "effect": covered.effect, **place.location(span),
                          "covered": covered.applied > 0, "cases_about": covered.about,
                          "cases_applied": covered.applied})
        spans = _condition_spans(rule)
        for condition in covered.conditions:
            out_conditions.append({"rule": condition.rule, "condition": condition.text,
                                   **place.location(spans[condition.where]),
                                   "seen_true": condition.true > 0, "seen_false": condition.false > 0,
                                   "true": condition.true, "false": condition.false, "unknown": condition.unknown,
                                   "failed": condition.errors})
    return {"rules": out_rules, "conditions": out_conditions, "rule_percent": round(report.rule_percent, 2),
            "condition_percent": round(report.condition_percent, 2)}


def _condition_spans(rule) -> dict[tuple, Any]:
    """Each condition's span by where it is in its rule, as the coverage names it (`("when", 0, 1)`)."""
    written = rule.as_written
    spans = {}
    for kind, exprs in (("when", written.when), ("unless", written.unless)):
        for index, expr in enumerate(exprs):
            for node in condition_tree(expr, (kind, index)).walk():
                if not isinstance(node.expr, ast.Not):
                    spans[node.where] = node.expr.span
    return spans
