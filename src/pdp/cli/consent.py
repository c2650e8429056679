"""`pdp consent record|show|history|export|verify|erase`: the consent and rights ledger from the command line.

The ledger is `--ledger` (else `PDP_LEDGER_URL`, else `pdp-ledger.db`): a file
path (the embedded SQLite store) or a `postgresql://` URL. Its key: `--key-file`,
else `PDP_LEDGER_KEY_FILE` / `PDP_LEDGER_KEY`, else (SQLite) `<file>.key`
beside it (pdp.ledger.connect). Every command prints JSON.

Exit codes: 0 done; 1 `verify` found a broken chain, `show --min-seq` asked
for an event the ledger has not seen, or the database failed mid-way; 2 bad input (each bad field named) or a
ledger that cannot be opened.
"""

from __future__ import annotations

import json
import os
import sys
from datetime import datetime
from pathlib import Path

from .common import EXIT_FAIL, EXIT_OK, EXIT_USAGE

DEFAULT_LEDGER = "pdp-ledger.db"


def register(subparsers) -> None:
    consent = subparsers.add_parser("consent", help="record and read what data subjects chose (the consent ledger)")
    sub = consent.add_subparsers(dest="consent_command", required=True, metavar="ACTION")

    def add(name: str, help: str, func, creates: bool = False):
        parser = sub.add_parser(name, help=help)
        parser.add_argument("--ledger", default=os.environ.get("PDP_LEDGER_URL", DEFAULT_LEDGER),
                            help="a file (embedded SQLite) or a postgresql:// URL (default: PDP_LEDGER_URL, "
                                 f"else {DEFAULT_LEDGER})")
        parser.add_argument("--key-file", help="the ledger key (default: PDP_LEDGER_KEY_FILE, PDP_LEDGER_KEY, "
                                               "else FILE.key beside a SQLite ledger)")
        parser.set_defaults(func=lambda args: _run(func, args, creates))
        return parser

    record = add("record", "record events: one JSON object or a list of them (one transaction)", _record,
                 creates=True)
    record.add_argument("events", nargs="?", default="-", help="a JSON file (default: standard input)")
    show = add("show", "a subject's current state (or as of a time), each fact with its event", _show)
    show.add_argument("subject")
    show.add_argument("--as-of", help="replay the ledger to this time (ISO 8601 with a zone)")
    show.add_argument("--known-at", help="with --as-of: only events recorded by this time")
    show.add_argument("--min-seq", type=int, help="fail (exit 1) unless the ledger has seen this sequence number")
    history = add("history", "every event of a subject, in the order recorded", _history)
    history.add_argument("subject")
    export = add("export", "everything held on a subject, machine-readable (portability)", _export)
    export.add_argument("subject")
    export.add_argument("-o", "--output", help="write to this file (default: standard output)")
    verify = add("verify", "check every subject's hash chain and state (or one subject's); exit 1 if broken", _verify)
    verify.add_argument("subject", nargs="?")
    erase = add("erase", "crypto-shred a subject: its identifying fields become unreadable, for good", _erase)
    erase.add_argument("subject")
    erase.add_argument("--yes", action="store_true", help="required: erasure cannot be undone")


class _Usage(Exception):
    pass


def _run(func, args, creates: bool) -> int:
    """Run an action on the ledger; only `record` makes a new SQLite ledger (a mistyped path read as an empty
    ledger would show no opt-out where one is recorded)."""
    from sqlalchemy.exc import SQLAlchemyError

    from pdp.ledger import InvalidEvent, LedgerConfigError, NotYetVisible, open_ledger

    name = f"pdp consent {args.consent_command}"
    try:
        with open_ledger(args.ledger, key_file=args.key_file, create=creates) as ledger:
            return func(ledger, args)
    except InvalidEvent as error:
        for field, message in error.problems:
            print(f"{name}: invalid event: `{field}`: {message}", file=sys.stderr)
        return EXIT_USAGE
    except (LedgerConfigError, _Usage) as error:
        print(f"{name}: {error}", file=sys.stderr)
        return EXIT_USAGE
    except NotYetVisible as error:
        print(f"{name}: {error}", file=sys.stderr)
        return EXIT_FAIL
    except SQLAlchemyError as error:  # the database failed mid-way: nothing of the transaction was kept
        cause = getattr(error, "orig", None) or error
        print(f"{name}: the ledger's database failed, nothing was changed: {str(cause).strip().splitlines()[0]}",
              file=sys.stderr)
        return EXIT_FAIL


def _print(data) -> None:
    print(json.dumps(data, indent=2, ensure_ascii=False))


def _record(ledger, args) -> int:
    from pdp.ledger.events import MAX_INPUT_BYTES, parse_events

    source = "standard input" if args.events == "-" else f"`{args.events}`"
    try:
        text = sys.stdin.read(MAX_INPUT_BYTES + 1) if args.events == "-" else _read(Path(args.events), MAX_INPUT_BYTES + 1)
    except OSError as error:
        raise _Usage(f"cannot read {source}: {error.strerror}") from None
    if len(text) > MAX_INPUT_BYTES:
        raise _Usage(f"{source} is larger than {MAX_INPUT_BYTES} bytes: record it in smaller batches")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise _Usage(f"{source} is not JSON: line {error.lineno} column {error.colno}: {error.msg}") from None
    receipts = ledger.record_many(parse_events(data))
    _print([r.to_dict() for r in receipts] if isinstance(data, list) else receipts[0].to_dict())
    return EXIT_OK


def _read(path: Path, limit: int) -> str:
    with path.open(encoding="utf-8") as handle:
        return handle.read(limit)


def _time(text: str | None, option: str) -> datetime | None:
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise _Usage(f"{option} `{text}` is not a time (ISO 8601, e.g. 2026-03-01T00:00:00Z)") from None
    if moment.tzinfo is None:
        raise _Usage(f"{option} `{text}` has no time zone (add Z or +01:00)")
    return moment


def _show(ledger, args) -> int:
    at, known_at = _time(args.as_of, "--as-of"), _time(args.known_at, "--known-at")
    if known_at is not None and at is None:
        raise _Usage("--known-at needs --as-of")
    if at is None:
        state = ledger.state(args.subject, min_seq=args.min_seq)
        _print(state.to_dict(ledger.clock()))
    else:
        _print({"as_of": args.as_of, **ledger.state_as_of(args.subject, at, known_at=known_at).to_dict(at)})
    return EXIT_OK


def _history(ledger, args) -> int:
    _print([r.to_dict() for r in ledger.history(args.subject)])
    return EXIT_OK


def _export(ledger, args) -> int:
    text = json.dumps(ledger.export(args.subject), indent=2, ensure_ascii=False)
    if args.output:
        Path(args.output).write_text(text + "\n", encoding="utf-8")
    else:
        print(text)
    return EXIT_OK


def _verify(ledger, args) -> int:
    found = ledger.verify(args.subject)
    _print(found.to_dict())
    return EXIT_OK if found.ok else EXIT_FAIL


def _erase(ledger, args) -> int:
    if not args.yes:
        raise _Usage("erasure cannot be undone: add --yes to erase this subject")
    _print(ledger.erase(args.subject).to_dict())
    return EXIT_OK
