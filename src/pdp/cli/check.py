"""`pdp check [--strict] [DIR]`: parse and check a policy set, and report its warnings."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pdp.engine.policy_set import PolicySet

from .common import DEFAULT_POLICY_DIR, EXIT_FAIL, EXIT_OK, add_method, load_or_report


def register(subparsers) -> None:
    check = subparsers.add_parser("check", help="parse and validate a policy set (data use or AuthZEN); errors as file:line:col, "
                                                   "whole-set warnings (shadowed, overridden, overlapping rules)")
    check.add_argument("policy_dir", nargs="?", default=DEFAULT_POLICY_DIR)
    check.add_argument("--strict", action="store_true",
                       help="fail (exit 1) on any warning too, as on an error (for CI)")
    add_method(check)
    check.set_defaults(func=cmd_check, method="auto")


def cmd_check(args) -> int:
    policy_set = load_or_report(args.policy_dir)
    if policy_set is None:
        return EXIT_FAIL
    from pdp.analysis.warnings import warning_texts_of, warnings_of, without_requested  # here: the analysis is check's
    from pdp.base.errors import render_all

    from pdp.lang.acceptance import unaccepted

    versions = list(reversed(policy_set.history))  # current first
    method = args.method
    requests = _requests_of_tests(args.policy_dir)

    def warnings_of_version(version):  # a key the set's tests request is used (`unused-vocabulary`)
        return without_requested(warnings_of(version, method), requests)

    warnings = [w for version in versions for w in warnings_of_version(version)] + _clause_warnings(args.policy_dir, policy_set)
    if warnings:
        texts = {path: text for version in versions  # as checked
                 for path, text in warning_texts_of(version, method).items()}
        texts.update(policy_set.sources.texts() if policy_set.sources else {})  # the cites' files too
        print(render_all(warnings, texts), file=sys.stderr)
        print(file=sys.stderr)
    failing = unaccepted(warnings)
    if args.strict and failing:
        print(f"failed: {policy_set.name} {policy_set.version}: {len(failing)} "
              f"warning{'s' if len(failing) != 1 else ''}, and --strict fails on any warning no rule accepts",
              file=sys.stderr)
        return EXIT_FAIL
    print(f"ok: {policy_set.name} {policy_set.version}: {len(policy_set.rules)} rules, "
          f"{len(policy_set.files)} files, {_warnings(warnings_of_version(policy_set))} ({policy_set.digest[:19]}…)")
    for older in policy_set.history[:-1]:  # versions/ (§11): checked too
        print(f"ok: {older.name} {older.version} (effective {older.effective}, in {older.directory}): "
              f"{len(older.rules)} rules, {_warnings(warnings_of_version(older))} ({older.digest[:19]}…)")
    return EXIT_OK


def _clause_warnings(policy_dir: str, policy_set: PolicySet) -> list:
    """`unknown-clause`: a cite naming no clause of the set's clauses.yaml (nothing without one), as the editors say."""
    from pdp.editing import read_workspace
    from pdp.editing.clauses import unknown_clauses

    return unknown_clauses(read_workspace(policy_dir), policy_set.files)


def _requests_of_tests(policy_dir: str) -> list:
    """The requests of the set's test cases (`tests/*.yaml`; files with errors are `pdp test`'s to report)."""
    from pdp.testing.discovery import read_test_files

    files, _ = read_test_files(policy_dir)
    return [case.request for test_file in files for case in test_file.cases]


def _warnings(warnings) -> str:
    """`3 warnings (3 accepted)`: how many, and how many of them the policy accepts as intended."""
    accepted = sum(1 for w in warnings if w.accepted is not None)
    return f"{len(warnings)} warnings" + (f" ({accepted} accepted)" if accepted else "")
