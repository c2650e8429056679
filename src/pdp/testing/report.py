"""Reporters: test results (data) -> a text report for people, JSON for tools, JUnit XML for CI.

`render_failure` is the text of one failing case. The text report and the
pytest plugin both use it, so a failure reads the same wherever it shows.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Sequence
from typing import Any

from .cases import TestFileError
from .runner import CaseResult

# ---------------------------------------------------------------- text


def render_text(results: Sequence[CaseResult], errors: Iterable[TestFileError] = ()) -> str:
    """Each file's cases as PASS/FAIL lines, then every failure, then a summary line."""
    errors = list(errors)
    out: list[str] = []
    for path, file_results in _by_file(results).items():
        suite = file_results[0].case.suite
        out.append(path if suite == file_results[0].case.file.stem else f"{path}: {suite}")
        out.extend(f"  {'PASS' if r.passed else 'FAIL'}  {r.case.name}" for r in file_results)
        out.append("")
    if errors:
        out += ["Test files with errors:", ""]
        out.extend(f"{err}\n" for err in errors)
    failed = [r for r in results if not r.passed]
    if failed:
        out += ["Failures:", ""]
        out.extend(f"{render_failure(r)}\n" for r in failed)
    if not results and not errors:
        out += ["no policy test cases ran (they live in tests/*.yaml beside the policies)", ""]
    out.append(summary_line(results, errors))
    return "\n".join(out)


def render_failure(result: CaseResult) -> str:
    """One case: where it is, what was expected, what happened, and which rules fired."""
    case = result.case
    lines = [f"{case.location}: {case.name}"]
    if result.passed:
        return lines[0]
    decided = result.actual in ("allow", "deny")
    if decided and result.actual == result.expected:
        lines.append(f"  decision: {result.actual}, as expected")
    lines.extend(f"  {failure}" for failure in result.failures)
    if decided:
        lines.append("  rules that fired:" + ("" if result.fired else " none"))
        width = max((len(f.effect) for f in result.fired), default=0)
        for fired in result.fired:
            cite = f" ({fired.cite})" if fired.cite else ""
            message = f": {fired.message}" if fired.message else ""
            lines.append(f"    {fired.effect:<{width}}  {fired.rule}{cite}{message}")
        if result.obligations or case.obligations is not None:
            lines.append("  obligations: " + (", ".join(result.obligations) or "none"))
        if result.advice or case.advice is not None:
            lines.append("  advice: " + (", ".join(result.advice) or "none"))
    # what was decided: the case's request with the file's defaults merged under it (issue 12)
    lines.append("  request (defaults merged): " + json.dumps(case.request, ensure_ascii=False, sort_keys=True,
                                                             default=str))
    return "\n".join(lines)


def summary_line(results: Sequence[CaseResult], errors: Sequence[TestFileError] = ()) -> str:
    """`N passed, M failed in K files` (and how many test files could not be read)."""
    passed = sum(r.passed for r in results)
    files = len(_by_file(results)) + len(errors)
    bad = f", {_count(len(errors), 'test file')} with errors" if errors else ""
    return f"{passed} passed, {len(results) - passed} failed{bad} in {_count(files, 'file')}"


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _by_file(results: Iterable[CaseResult]) -> dict[str, list[CaseResult]]:
    grouped: dict[str, list[CaseResult]] = {}
    for result in results:
        grouped.setdefault(str(result.case.file), []).append(result)
    return grouped


# ---------------------------------------------------------------- JSON


def render_json(results: Sequence[CaseResult], errors: Iterable[TestFileError] = ()) -> str:
    return json.dumps(report_dict(results, errors), indent=2, ensure_ascii=False, default=str)  # (YAML dates)


def report_dict(results: Sequence[CaseResult], errors: Iterable[TestFileError] = ()
                ) -> dict[str, Any]:
    errors = list(errors)
    passed = sum(r.passed for r in results)
    return {
        "summary": {
            "passed": passed,
            "failed": len(results) - passed,
            "files": len(_by_file(results)) + len(errors),
            "file_errors": len(errors),
        },
        "results": [result_dict(r) for r in results],
        "errors": [d.to_dict() for err in errors for d in err.diagnostics],
    }


def result_dict(result: CaseResult) -> dict[str, Any]:
    case = result.case
    return {
        "file": str(case.file),
        "line": case.line,
        "suite": case.suite,
        "name": case.name,
        "passed": result.passed,
        "expected": result.expected,
        "actual": result.actual,
        "error": result.error,
        "rules": [
            {"rule": f.rule, "effect": f.effect, "cite": f.cite, "message": f.message}
            for f in result.fired
        ],
        "obligations": list(result.obligations),
        **({"advice": list(result.advice)} if result.advice else {}),
        "failures": list(result.failures),
        "request": case.request,  # as decided: the file's defaults merged under the case's own
    }


# ---------------------------------------------------------------- JUnit XML


def render_junit(results: Sequence[CaseResult], errors: Iterable[TestFileError] = ()) -> str:
    """JUnit XML, which CI systems (GitLab, Jenkins, GitHub reporters) show per case.

    One `<testsuite>` per test file, one `<testcase>` per case; a failing
    case carries the same text `pdp test` prints for it. A test file that
    cannot be read is a case with an `<error>` in a suite of its own.
    """
    errors = list(errors)
    root = ET.Element("testsuites", name="pdp test")
    for path, file_results in _by_file(results).items():
        failed = [r for r in file_results if not r.passed]
        suite = ET.SubElement(root, "testsuite", name=file_results[0].case.suite, file=path,
                              tests=str(len(file_results)), failures=str(len(failed)), errors="0", skipped="0")
        for result in file_results:
            case = ET.SubElement(suite, "testcase", classname=result.case.suite, name=result.case.name,
                                 file=path, line=str(result.case.line))
            if not result.passed:
                message = result.failures[0] if result.failures else f"expected {result.expected}, got {result.actual}"
                ET.SubElement(case, "failure", message=message, type="policy-test").text = render_failure(result)
    if errors:
        suite = ET.SubElement(root, "testsuite", name="test files", tests=str(len(errors)), failures="0",
                              errors=str(len(errors)), skipped="0")
        for error in errors:
            first = error.diagnostics[0] if error.diagnostics else None
            case = ET.SubElement(suite, "testcase", classname="test files",
                                 name=(first.file if first is not None else "") or "test file")
            ET.SubElement(case, "error", message=first.message if first is not None else str(error),
                          type="test-file").text = str(error)
    total = len(results) + len(errors)
    root.set("tests", str(total))
    root.set("failures", str(sum(not r.passed for r in results)))
    root.set("errors", str(len(errors)))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode")
