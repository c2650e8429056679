"""`pdp decide [DIR] [--request FILE]`: decide one request given as JSON."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from pdp.base.errors import RequestError

from .common import DEFAULT_POLICY_DIR, EXIT_FAIL, EXIT_OK, EXIT_USAGE, load_or_report


def register(subparsers) -> None:
    decide = subparsers.add_parser("decide", help="decide one request (JSON on standard input)")
    decide.add_argument("policy_dir", nargs="?", default=DEFAULT_POLICY_DIR)
    decide.add_argument("--request", "-r", help="read the request from this file instead of standard input")
    decide.set_defaults(func=cmd_decide)


def cmd_decide(args) -> int:
    policy_set = load_or_report(args.policy_dir)
    if policy_set is None:
        return EXIT_FAIL
    try:
        text = sys.stdin.read() if args.request in (None, "-") else Path(args.request).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) and error.strerror else "not UTF-8 text"
        print(f"pdp decide: cannot read the request `{args.request}`: {reason}", file=sys.stderr)
        return EXIT_USAGE
    try:
        request = json.loads(text)
    except json.JSONDecodeError as error:
        print(json.dumps({"error": "bad_request", "detail": [
            {"field": "request", "message": f"not valid JSON: {error.msg} at line {error.lineno} column {error.colno}"}]},
            indent=2), file=sys.stderr)
        return EXIT_USAGE
    try:
        decision = policy_set.decide(request)
    except RequestError as error:
        print(json.dumps({"error": "bad_request", "detail": error.errors}, indent=2, ensure_ascii=False), file=sys.stderr)
        return EXIT_USAGE
    print(json.dumps(decision.to_dict(), indent=2, ensure_ascii=False))
    return EXIT_OK
