"""`pdp test [DIR] [--coverage] [--min-coverage PCT] [--format ...]`: run the policy tests kept beside the policies."""

from __future__ import annotations

import json
import sys

from pdp.base.errors import PolicyError

from .common import DEFAULT_POLICY_DIR, EXIT_FAIL, EXIT_OK, EXIT_USAGE, load_set


def register(subparsers) -> None:
    test = subparsers.add_parser("test", help="run the policy tests kept beside the policies")
    test.add_argument("policy_dir", nargs="?", default=DEFAULT_POLICY_DIR)
    test.add_argument("--format", choices=("text", "json", "junit"), default="text",
                      help="junit: JUnit XML for CI systems (coverage, if asked for, goes to standard error)")
    test.add_argument("--coverage", action="store_true",
                      help="also report the rules and conditions the tests never exercised")
    test.add_argument("--min-coverage", type=float, metavar="PCT",
                      help="fail (exit 1) when fewer than PCT %% of the rules applied in some case (implies --coverage)")
    test.set_defaults(func=cmd_test)


def cmd_test(args) -> int:
    from pdp.testing import (TestFileError, read_test_files, render_json, render_junit, render_text, report_dict, run,
                          run_directory)

    if args.min_coverage is not None and not 0 <= args.min_coverage <= 100:
        print(f"pdp test: --min-coverage takes a percentage from 0 to 100, not {args.min_coverage:g}", file=sys.stderr)
        return EXIT_USAGE
    coverage = None
    try:
        if args.coverage or args.min_coverage is not None:
            from pdp.testing.coverage import Recorder

            policy_set = load_set(args.policy_dir)
            files, errors = read_test_files(args.policy_dir)
            recorder = Recorder(policy_set)
            results = run(policy_set, files, recorder)  # each case decided once, its coverage recorded
            coverage = recorder.report()
        else:
            results, errors = run_directory(args.policy_dir)
    except PolicyError as error:
        print(error, file=sys.stderr)
        return EXIT_FAIL
    except TestFileError as error:
        print(error, file=sys.stderr)
        return EXIT_FAIL
    if args.format == "json" and coverage is not None:
        print(json.dumps({**report_dict(results, errors), "coverage": coverage.to_dict()}, indent=2, ensure_ascii=False))
    elif args.format == "json":
        print(render_json(results, errors))
    elif args.format == "junit":
        print(render_junit(results, errors))
        if coverage is not None:  # JUnit has no place for it; people still see it
            print(coverage.render_text(), file=sys.stderr)
    else:
        print(render_text(results, errors))
        if coverage is not None:
            print()
            print(coverage.render_text())
    failed = errors or any(not r.passed for r in results)
    if coverage is not None and args.min_coverage is not None and coverage.rule_percent < args.min_coverage:
        from pdp.testing.coverage import percent

        print(f"rule coverage {percent(coverage.rule_percent)} is below the minimum of "
              f"{args.min_coverage:g} %", file=sys.stderr)
        failed = True
    return EXIT_FAIL if failed else EXIT_OK
