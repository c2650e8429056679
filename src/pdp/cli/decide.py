"""`pdp decide [DIR] [--request FILE] [--ledger PATH_OR_URL]`: decide one request given as JSON (with a ledger:
its declared attributes filled from the data subject's recorded choices first)."""

from __future__ import annotations

import json
import sys
from datetime import datetime, timezone
from pathlib import Path

from pdp.base.errors import RequestError
from pdp.engine.filled import without_ledger
from pdp.engine.timing import stamped

from .common import DEFAULT_POLICY_DIR, EXIT_FAIL, EXIT_OK, EXIT_USAGE, load_or_report


def register(subparsers) -> None:
    decide = subparsers.add_parser("decide", help="decide one request (JSON on standard input)")
    decide.add_argument("policy_dir", nargs="?", default=DEFAULT_POLICY_DIR)
    decide.add_argument("--request", "-r", help="read the request from this file instead of standard input")
    decide.add_argument("--ledger", help="fill the attributes the set declares (`ledger fills ...`) from this "
                        "consent ledger (a SQLite file or a postgresql:// URL; default: none, as the request says)")
    decide.add_argument("--key-file", help="with --ledger: the ledger key (default: PDP_LEDGER_KEY_FILE, "
                        "PDP_LEDGER_KEY, else FILE.key beside a SQLite ledger)")
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
    request = stamped(request, datetime.now(timezone.utc))  # `now` in conditions: the request's, else today
    decide = without_ledger(policy_set.decide)
    if args.ledger:
        from pdp.ledger import LedgerConfigError, open_ledger
        from pdp.io.ledger_reader import LedgerDecider, SubjectStates

        try:
            ledger = open_ledger(args.ledger, key_file=args.key_file, create=False)
        except LedgerConfigError as error:
            print(f"pdp decide: {error}", file=sys.stderr)
            return EXIT_USAGE
        decide = LedgerDecider(policy_set, SubjectStates(ledger, cache=False)).decide
    try:
        decision = decide(request)
    except RequestError as error:
        print(json.dumps({"error": "bad_request", "detail": error.errors}, indent=2, ensure_ascii=False), file=sys.stderr)
        return EXIT_USAGE
    print(json.dumps(decision.to_dict(), indent=2, ensure_ascii=False))
    return EXIT_OK
