"""`pdp diff OLD_DIR NEW_DIR [--replay LOG] [--format json]`: what a policy edit changes.

Every kind of request whose decision differs between the two versions,
grouped by the rules that decide it before and after, in words, with one
example request each (pdp.analysis.diff, pdp.analysis.space). `--replay LOG` also re-decides
the requests of a decision log (the SQLite file `pdp serve` writes, or the
combined log's postgresql:// URL: every replica's rows, with PDP_LOG_KEY)
under both versions and counts the decisions that would flip. When either set
keeps earlier versions under `versions/` (§11), each version both keep is
compared too (by its version string), and a version only one keeps is
reported (pdp.analysis.diff.diff).

Two AuthZEN sets (`model authzen`) are compared in their own terms: each
change names actions (`action.name`) and conditions on subject, resource,
action and context, with an AuthZEN request as its example. A data-use set
and an AuthZEN set are not compared (bad usage).

`--method` chooses how the space is searched, as for `pdp query`: the
enumeration (which counts the requests of each change), the z3 solver (any
size; no counts), or `auto` (the default: the enumeration while it stays
cheap, else the solver).

Exit status, so that CI can demand a sign-off: 0 no decision changes, 1
some change, 2 bad usage (a directory that is not a valid policy set, a
log that cannot be read), 3 the solver could not decide within its budget
whether anything changes (never reported as "no decision changes").
"""

from __future__ import annotations

import sys

from .common import EXIT_USAGE, add_method, print_report
from pdp.base.errors import PolicyError

EXIT_SAME, EXIT_CHANGED, EXIT_UNDECIDED = 0, 1, 3


def register(subparsers) -> None:
    diff = subparsers.add_parser(
        "diff", help="which requests a policy edit decides differently, in words (exit 1: some change)",
        description="Compare two versions of a policy set (data use, or AuthZEN: changes then name actions and "
                    "AuthZEN requests) over their whole decision space. Exit 0: no decision changes; 1: some change; "
                    "2: bad usage; 3: not decided within the solver's budget.")
    diff.add_argument("old_dir", metavar="OLD_DIR")
    diff.add_argument("new_dir", metavar="NEW_DIR")
    diff.add_argument("--replay", metavar="LOG", help="also re-decide the requests of this decision log: a SQLite file, or the "
                      "combined log's postgresql:// URL (every replica's rows; its key in PDP_LOG_KEY)")
    diff.add_argument("--format", choices=("text", "json"), default="text")
    add_method(diff)
    diff.set_defaults(func=cmd_diff)


def cmd_diff(args) -> int:
    from pdp.analysis.diff import diff, replay
    from pdp.io.loader import load
    from pdp.analysis.space import SpaceTooLarge

    versions = []
    for directory in (args.old_dir, args.new_dir):
        try:
            versions.append(load(directory))
        except PolicyError as error:
            print(error, file=sys.stderr)
            print(f"pdp diff: `{directory}` is not a valid policy set", file=sys.stderr)
            return EXIT_USAGE
    old, new = versions
    try:
        report = diff(old, new, args.old_dir, args.new_dir, method=args.method)
    except (ValueError, SpaceTooLarge) as error:
        print(f"pdp diff: {error}", file=sys.stderr)
        return EXIT_USAGE
    if args.replay:
        try:
            report.replay = replay(old, new, args.replay)
        except (OSError, ValueError) as error:
            print(f"pdp diff: {error}", file=sys.stderr)
            return EXIT_USAGE
    print_report(report, args.format)
    return EXIT_CHANGED if report.changed else EXIT_UNDECIDED if report.undecided else EXIT_SAME
