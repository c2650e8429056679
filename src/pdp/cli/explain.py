"""`pdp explain [POLICY_DIR]`: why a request (JSON on standard input) gets its decision.

An AuthZEN set's request is the AuthZEN evaluation itself, and its advice for
a deny is in the model's terms: another subject or resource id of the
register, another action, another value of its attributes.

Exit codes as `pdp decide`: 0 explained (allow and deny alike), 1 the policy
set does not load, 2 a bad request.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from .common import DEFAULT_POLICY_DIR, EXIT_FAIL, EXIT_OK, EXIT_USAGE, load_or_report, print_report
from pdp.base.errors import RequestError

if TYPE_CHECKING:
    from pdp.engine.policy_set import PolicySet


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "explain", help="why a request (JSON on standard input: a decision request, or an AuthZEN evaluation for an "
                        "AuthZEN set) is allowed or denied, rule by rule, and what would allow it")
    parser.add_argument("policy_dir", nargs="?", default=DEFAULT_POLICY_DIR)
    parser.add_argument("--request", "-r",
                        help="read the request (or AuthZEN evaluation) from this file instead of standard input")
    parser.add_argument("--format", choices=("text", "json"), default="text")
    parser.add_argument("--ledger", help="fill the attributes the set declares from this consent ledger first, and "
                        "say which event recorded next would change the decision")
    parser.add_argument("--key-file", help="with --ledger: the ledger key (as `pdp consent`)")
    parser.set_defaults(func=cmd_explain)


def cmd_explain(args) -> int:
    from pdp.explain import explain
    ledger_errors: tuple[type[Exception], ...] = ()
    if args.ledger:  # (the ledger's store loads its database library: only when asked)
        from pdp.ledger import LedgerConfigError
        ledger_errors = (LedgerConfigError,)
    policy_set = load_or_report(args.policy_dir)
    if policy_set is None:
        return EXIT_FAIL
    try:
        text = sys.stdin.read() if args.request in (None, "-") else Path(args.request).read_text(encoding="utf-8")
    except OSError as error:
        return _bad_request(f"cannot read the request: {error.strerror or error}")
    try:
        request = json.loads(text)
    except json.JSONDecodeError as error:
        return _bad_request(f"not valid JSON: {error.msg} at line {error.lineno} column {error.colno}")
    try:
        explanation = explain(policy_set, request) if not args.ledger else _with_ledger(policy_set, request, args)
    except RequestError as error:
        print(json.dumps({"error": "bad_request", "detail": error.errors}, indent=2, ensure_ascii=False),
              file=sys.stderr)
        return EXIT_USAGE
    except ledger_errors as error:
        print(f"pdp explain: {error}", file=sys.stderr)
        return EXIT_USAGE
    print_report(explanation, args.format)
    return EXIT_OK


def _with_ledger(policy_set: PolicySet, request: dict, args: argparse.Namespace):
    """The explanation with the subject's facts filled from the ledger (as `pdp decide --ledger` decides)."""
    from datetime import UTC, datetime

    from pdp.engine.filled import subject_of
    from pdp.explain import explain
    from pdp.explain.ledger import explain_with_ledger
    from pdp.ledger import open_ledger

    subject = subject_of(request)
    if subject is None or not policy_set.ledger_fills:
        return explain(policy_set, request)
    with open_ledger(args.ledger, key_file=args.key_file, create=False) as ledger:
        state = ledger.state(subject)
    return explain_with_ledger(policy_set, request, state, at=datetime.now(UTC))


def _bad_request(message: str) -> int:
    print(json.dumps({"error": "bad_request", "detail": [{"field": "request", "message": message}]}, indent=2),
          file=sys.stderr)
    return EXIT_USAGE
