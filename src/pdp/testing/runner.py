"""Run policy test cases against a policy set; results are data.

``run`` is pure: it takes a loaded policy set and cases and returns one
``CaseResult`` per case, never printing and never raising for a failing
case. Reporters (``report.py``) turn results into text or JSON; the CLI
(``pdp test``) and the pytest plugin both call this one runner, so a case
passes or fails the same way in both.

``discover`` and ``run_directory`` are the only functions here that touch
the disk.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .cases import Case, TestFile, TestFileError, load_test_file

TEST_FOLDER = "tests"
TEST_SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True)
class FiredRule:
    """A reason the decision gave: which rule, with what effect, citing what."""

    rule: str
    effect: str  # "allow" | "deny" | "error"
    cite: str | None
    message: str


@dataclass(frozen=True)
class CaseResult:
    """What happened when one case ran, and why it failed if it did."""

    case: Case
    passed: bool
    expected: str  # "allow" | "deny" | "error" (the request must be refused)
    actual: str | None  # "allow" | "deny"; None when no decision was made
    fired: tuple[FiredRule, ...] = ()
    obligations: tuple[str, ...] = ()
    error: str | None = None  # the refusal or exception message, if any
    failures: tuple[str, ...] = ()  # human-readable, one per unmet expectation


# ---------------------------------------------------------------- running


def run(policy_set: Any, cases: Iterable[Case | TestFile]) -> list[CaseResult]:
    """Decide every case's request and compare with what the case expects.

    `cases` may hold Case objects or whole TestFiles (their cases, in order).
    """
    refused = _request_error_type()
    results = []
    for item in cases:
        for case in item.cases if isinstance(item, TestFile) else (item,):
            results.append(run_case(policy_set, case, refused))
    return results


def run_case(policy_set: Any, case: Case, refused: type[BaseException] | tuple = ()) -> CaseResult:
    expected = case.expect or "error"
    try:
        # a copy, so a decide that fills in looked-up attributes cannot change the case
        decision = policy_set.decide(copy.deepcopy(case.request))
    except refused as err:
        return _refused(case, expected, str(err))
    except Exception as err:  # an engine bug must fail this case, not the whole run
        message = f"deciding raised {type(err).__name__}: {err}"
        wanted = case.expect or "a refusal"
        return CaseResult(case, False, expected, None, error=message,
                          failures=(f"expected {wanted}, but the request could not be decided: "
                                    f"{message}",))

    fired = tuple(FiredRule(r.rule, r.effect, r.cite, r.message) for r in decision.reasons)
    obligations = tuple(o.id for o in decision.obligations)
    failures = (_check_refusal_expected(case, decision.decision) if case.error is not None
                else _check_decision(case, decision.decision, fired, obligations))
    return CaseResult(case, not failures, expected, decision.decision, fired, obligations,
                      failures=tuple(failures))


def _refused(case: Case, expected: str, message: str) -> CaseResult:
    if case.error is None:
        failure = f"expected {case.expect}, but the request was refused: {message}"
    elif case.error not in message:
        failure = (f"the request was refused, but the message does not contain "
                   f"`{case.error}`: {message}")
    else:
        return CaseResult(case, True, expected, None, error=message)
    return CaseResult(case, False, expected, None, error=message, failures=(failure,))


def _check_refusal_expected(case: Case, actual: str) -> list[str]:
    return [f"expected the request to be refused with an error containing "
            f"`{case.error}`, but it was decided: {actual}"]


def _check_decision(case: Case, actual: str, fired: tuple[FiredRule, ...],
                    obligations: tuple[str, ...]) -> list[str]:
    # every expectation is checked, so one run shows every way a case is off
    failures = []
    if actual != case.expect:
        failures.append(f"expected {case.expect}, got {actual}")
    if case.rules is not None:
        missing = [r for r in case.rules if r not in {f.rule for f in fired}]
        if missing:
            failures.append("missing rules: " + ", ".join(missing))
    if case.cites is not None:
        missing = [c for c in case.cites if c not in {f.cite for f in fired}]
        if missing:
            failures.append("missing cites: " + ", ".join(missing))
    if case.obligations is not None and set(case.obligations) != set(obligations):
        missing = [o for o in case.obligations if o not in obligations]
        unexpected = [o for o in obligations if o not in case.obligations]
        detail = "; ".join(filter(None, [
            "missing " + ", ".join(missing) if missing else "",
            "unexpected " + ", ".join(unexpected) if unexpected else "",
        ]))
        failures.append(f"obligations: expected {_listing(case.obligations)}, "
                        f"got {_listing(obligations)} ({detail})")
    return failures


def _listing(items: Iterable[str]) -> str:
    return "[" + ", ".join(sorted(set(items))) + "]"


def _request_error_type() -> type[BaseException] | tuple:
    # looked up at run time: the engine is imported only when cases run
    try:
        from pdp import RequestError
    except ImportError:
        return ()
    return RequestError


# ---------------------------------------------------------------- the disk


def policy_test_paths(policy_dir: str | Path) -> list[Path]:
    """`<policy_dir>/tests/*.yaml` (and `*.yml`), in name order."""
    folder = Path(policy_dir) / TEST_FOLDER
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.suffix in TEST_SUFFIXES and p.is_file())


def discover(policy_dir: str | Path) -> list[TestFile]:
    """Every test file of a policy set. Raises TestFileError naming every bad file."""
    files, problems = [], []
    for path in policy_test_paths(policy_dir):
        try:
            files.append(load_test_file(path))
        except TestFileError as err:
            problems.extend(err.diagnostics)
    if problems:
        raise TestFileError(problems)
    return files


def run_directory(policy_dir: str | Path) -> tuple[list[CaseResult], list[TestFileError]]:
    """Load a policy set and run all its tests; bad test files are returned, not raised.

    A policy set that does not load raises pdp.PolicyError: no case can run.
    """
    import pdp

    policy_set = pdp.load(policy_dir)
    files, errors = [], []
    for path in policy_test_paths(policy_dir):
        try:
            files.append(load_test_file(path))
        except TestFileError as err:
            errors.append(err)
    return run(policy_set, files), errors
