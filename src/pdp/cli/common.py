"""What every `pdp` command shares: exit codes, defaults, how a report is printed.

Exit codes: 0 success (allow and deny alike for `decide`), 1 policy errors or
failing tests, 2 a bad request or bad usage.
"""

from __future__ import annotations

import json
import sys

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2
DEFAULT_POLICY_DIR = "policies"
DEFAULT_LOG = "pdp-decisions.db"


def print_report(report, fmt: str) -> None:
    """A command's result on standard output: its JSON (`--format json`) or its text for people."""
    if fmt == "json":
        print(json.dumps(report.to_dict(), indent=2, ensure_ascii=False))
    else:
        print(report.render())


def load_set(directory: str, index: bool = True):
    from pdp.io.loader import load  # here, so that `pdp --help` stays quick

    return load(directory, index=index)


def load_or_report(directory: str, load=load_set):
    """`load(directory)` (the policy set in it), or None after printing its errors (file:line:col) on standard error."""
    from pdp.base.errors import PolicyError

    try:
        return load(directory)
    except PolicyError as error:
        print(error, file=sys.stderr)
        return None


def add_method(parser) -> None:
    """`--method`: how a whole-set question is answered (pdp.analysis.space: AUTO, ENUMERATION, SOLVER)."""
    parser.add_argument("--method", choices=("auto", "enumeration", "solver"), default="auto",
                        help="enumerate the decision space (counts what it finds; small sets), ask the z3 solver "
                             "(any size), or auto: enumerate while that stays cheap, else the solver (the default)")
