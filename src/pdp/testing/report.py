"""Reporters: turn test results (data) into a readable text report or JSON.

``render_failure`` is the text of one failing case; the full text report and
the pytest plugin both use it, so a failure reads the same wherever it shows.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from .cases import TestFileError
from .runner import CaseResult

MARKS = {True: "✓", False: "✗"}
ASCII_MARKS = {True: "PASS", False: "FAIL"}


# ---------------------------------------------------------------- text


def render_text(results: Sequence[CaseResult], errors: Iterable[TestFileError] = (),
                *, ascii: bool = False) -> str:
    """The whole report: each file's cases, then the failures, then a summary line."""
    errors = list(errors)
    marks = ASCII_MARKS if ascii else MARKS
    out: list[str] = []
    for path, file_results in _by_file(results).items():
        suite = file_results[0].case.suite
        out.append(str(path) if suite == Path(path).stem else f"{path}: {suite}")
        out.extend(f"  {marks[r.passed]} {r.case.name}" for r in file_results)
        out.append("")
    if errors:
        out.append("Test files with errors:")
        out.append("")
        out.extend(f"{err}\n" for err in errors)
    failed = [r for r in results if not r.passed]
    if failed:
        out.append("Failures:")
        out.append("")
        out.extend(f"{render_failure(r)}\n" for r in failed)
    if not results and not errors:
        out.append("no policy tests found (they live in tests/*.yaml beside the policies)")
    out.append(summary_line(results, errors))
    return "\n".join(out) + "\n"


def render_failure(result: CaseResult) -> str:
    """One case: where it is, what was expected and what happened instead."""
    case = result.case
    lines = [f"{case.file}:{case.line}: {case.name}"]
    if result.passed:
        return lines[0]
    if result.actual is not None and result.actual == result.expected:
        lines.append(f"  decision: {result.actual}, as expected")
    lines.extend(f"  {failure}" for failure in result.failures)
    if result.actual is not None:
        lines.append("  rules that fired:" + ("" if result.fired else " none"))
        width = max((len(f.effect) for f in result.fired), default=0)
        for fired in result.fired:
            cite = f" ({fired.cite})" if fired.cite else ""
            message = f": {fired.message}" if fired.message else ""
            lines.append(f"    {fired.effect:<{width}}  {fired.rule}{cite}{message}")
        if result.obligations or case.obligations is not None:
            lines.append("  obligations: " + (", ".join(result.obligations) or "none"))
    return "\n".join(lines)


def summary_line(results: Sequence[CaseResult], errors: Sequence[TestFileError] = ()) -> str:
    passed = sum(r.passed for r in results)
    failed = len(results) - passed
    files = len(_by_file(results)) + len(errors)
    bad = f", {_count(len(errors), 'test file')} with errors" if errors else ""
    return f"{passed} passed, {failed} failed{bad} in {_count(files, 'file')}"


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _by_file(results: Iterable[CaseResult]) -> dict[str, list[CaseResult]]:
    grouped: dict[str, list[CaseResult]] = {}
    for result in results:
        grouped.setdefault(str(result.case.file), []).append(result)
    return grouped


# ---------------------------------------------------------------- JSON


def render_json(results: Sequence[CaseResult], errors: Iterable[TestFileError] = ()) -> str:
    return json.dumps(report_dict(results, errors), indent=2, ensure_ascii=False) + "\n"


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
        "errors": [
            {"file": str(d.file), "line": d.line, "col": d.col, "code": d.code,
             "message": d.message, "hint": d.hint}
            for err in errors for d in err.diagnostics
        ],
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
        "failures": list(result.failures),
    }
