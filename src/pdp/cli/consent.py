"""`pdp consent init|record|show|history|export|verify|erase`: the consent and rights ledger from the command line.

The ledger is embedded or served. Embedded: `--ledger` (else `PDP_LEDGER_URL`,
else `pdp-ledger.db`), a file path (SQLite) or a `postgresql://` URL, its key
from `--key-file`, else `PDP_LEDGER_KEY_FILE` / `PDP_LEDGER_KEY`, else (SQLite)
`<file>.key` beside it (pdp.ledger.connect). Served: `--url` names a running
`pdp serve --ledger`, the token comes from `--token-file` or `PDP_TOKEN` (never
an option of its own: a command line is visible to every user of the machine).
Both print the same JSON (`pdp.ledger.answers` on one side, the server's
answers, written by the same functions, on the other).

Exit codes: 0 done; 1 `verify` found a broken chain, `show --min-seq` asked
for an event the ledger has not seen, no event is recorded for the subject,
the database failed mid-way, or the server could not answer; 2 bad input (each
bad field named), a ledger that cannot be opened, or a server that refused the
token.
"""

from __future__ import annotations

import json
import os
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

from .common import EXIT_FAIL, EXIT_OK, EXIT_USAGE

DEFAULT_LEDGER = "pdp-ledger.db"
MAX_TOKEN_FILE_BYTES = 4096


def register(subparsers) -> None:
    consent = subparsers.add_parser("consent", help="record and read what data subjects chose (the consent ledger)")
    sub = consent.add_subparsers(dest="consent_command", required=True, metavar="ACTION")

    def add(name: str, help: str, func, creates: bool = False, served: bool = True):
        parser = sub.add_parser(name, help=help)
        where = parser.add_mutually_exclusive_group()
        where.add_argument("--ledger", help="a file (embedded SQLite) or a postgresql:// URL (default: "
                                            f"PDP_LEDGER_URL, else {DEFAULT_LEDGER})")
        parser.add_argument("--key-file", help="the ledger key (default: PDP_LEDGER_KEY_FILE, PDP_LEDGER_KEY, "
                                               "else FILE.key beside a SQLite ledger)")
        if served:
            where.add_argument("--url", help="a running `pdp serve --ledger` (e.g. http://127.0.0.1:8181) instead of "
                                             "the embedded ledger")
            parser.add_argument("--token-file", help="with --url: a file holding the bearer token (default: PDP_TOKEN)")
        parser.set_defaults(func=lambda args: _run(func, args, creates))
        return parser

    add("init", "make a new ledger (SQLite: the file and its key beside it), or bring one's schema up to date",
        _init, creates=True, served=False)
    record = add("record", "record events: one JSON object or a list of them (one transaction)", _record,
                 creates=True)
    record.add_argument("events", nargs="?", default="-", help="a JSON file (default: standard input)")
    show = add("show", "a subject's current state (or as of a time), each fact with its event", _show)
    show.add_argument("subject")
    show.add_argument("--as-of", help="replay the ledger to this time (ISO 8601 with a zone)")
    show.add_argument("--known-at", help="only events recorded by this time (alone: as of that time, as known then)")
    show.add_argument("--min-seq", type=int, help="fail (exit 1) unless the ledger has seen this sequence number")
    history = add("history", "every event of a subject, in the order recorded", _history)
    history.add_argument("subject")
    export = add("export", "everything held on a subject, machine-readable (portability)", _export)
    export.add_argument("subject")
    export.add_argument("-o", "--output", help="write to this file (default: standard output)")
    verify = add("verify", "check every subject's hash chain and state (with --url: the admin token), or one subject's "
                           "(a read token); exit 1 if broken", _verify)
    verify.add_argument("subject", nargs="?")
    erase = add("erase", "crypto-shred a subject: its identifying fields become unreadable, for good (with --url: "
                         "the admin token)", _erase)
    erase.add_argument("subject")
    erase.add_argument("--yes", action="store_true", help="required: erasure cannot be undone")
    erase.add_argument("--log", help="also take the subject out of this decision log (the SQLite file `pdp serve` "
                                     "writes; its key: LOG.key, else PDP_LOG_KEY), keeping what was decided")
    erase.add_argument("--log-url", help="also out of the combined decision log (postgresql://...; PDP_LOG_KEY) and, "
                                         "through their shippers, every replica's own log")


class _Usage(Exception):
    pass


class _Failed(Exception):
    """Exit 1: the answer is known and is a failure (nothing recorded for the subject, an unseen sequence number,
    a database or server that failed)."""


class _Embedded:
    """The ledger opened here: each answer from `pdp.ledger.answers`, as the server gives it."""

    def __init__(self, ledger) -> None:
        self.ledger = ledger

    def record(self, data: Any) -> Any:
        from pdp.ledger.events import parse_events

        receipts = [r.to_dict() for r in self.ledger.record_many(parse_events(data))]
        return receipts if isinstance(data, list) else receipts[0]

    def show(self, subject: str, **asked: Any) -> dict[str, Any]:
        from pdp.ledger.answers import state_of

        return state_of(self.ledger, subject, **asked)

    def history(self, subject: str) -> list[dict[str, Any]]:
        from pdp.ledger.answers import history_of

        return history_of(self.ledger, subject)

    def export(self, subject: str) -> dict[str, Any]:
        from pdp.ledger.answers import export_of

        return export_of(self.ledger, subject)

    def verify(self, subject: str | None) -> dict[str, Any]:
        from pdp.ledger.answers import verification_of

        return verification_of(self.ledger, subject)

    def erase(self, subject: str) -> dict[str, Any]:
        from pdp.ledger.answers import erasure_of

        return erasure_of(self.ledger, subject)


class _Served:
    """The ledger of a running `pdp serve`, through `pdp.client.LedgerClient`: the server's own answers."""

    def __init__(self, client) -> None:
        self.client = client

    def record(self, data: Any) -> Any:
        if isinstance(data, list):
            return self.client.record_many(data).raw["receipts"]
        return self.client.record(data).raw

    def show(self, subject: str, **asked: Any) -> dict[str, Any]:
        return self.client.state(subject, **asked).raw

    def history(self, subject: str) -> list[dict[str, Any]]:
        return [event.raw for event in self.client.history(subject)]

    def export(self, subject: str) -> dict[str, Any]:
        return self.client.export(subject)

    def verify(self, subject: str | None) -> dict[str, Any]:
        return self.client.verify(subject).raw

    def erase(self, subject: str) -> dict[str, Any]:
        return self.client.erase(subject).raw


def _run(func, args, creates: bool) -> int:
    """Run an action on the ledger, embedded or served, and turn what went wrong into one line and an exit code."""
    name = f"pdp consent {args.consent_command}"
    try:
        if getattr(args, "url", None):
            return _served(func, args)
        return _embedded(func, args, creates)
    except _Usage as error:
        for line in str(error).splitlines():  # one line a problem, each named
            print(f"{name}: {line}", file=sys.stderr)
        return EXIT_USAGE
    except _Failed as error:
        print(f"{name}: {error}", file=sys.stderr)
        return EXIT_FAIL


def _embedded(func, args, creates: bool) -> int:
    """Only `init` and `record` make a new SQLite ledger (a mistyped path read as an empty ledger would show no
    opt-out where one is recorded)."""
    from sqlalchemy.exc import SQLAlchemyError

    from pdp.ledger import InvalidEvent, LedgerConfigError, NotYetVisible, open_ledger
    from pdp.ledger.answers import UnknownSubject

    target = args.ledger or os.environ.get("PDP_LEDGER_URL") or DEFAULT_LEDGER
    try:
        with open_ledger(target, key_file=args.key_file, create=creates) as ledger:
            return func(_Embedded(ledger), args)
    except InvalidEvent as error:
        raise _Usage("\n".join(f"invalid event: `{field}`: {message}" for field, message in error.problems)) from None
    except LedgerConfigError as error:
        raise _Usage(str(error)) from None
    except (NotYetVisible, UnknownSubject) as error:
        raise _Failed(str(error)) from None
    except SQLAlchemyError as error:  # the database failed mid-way: nothing of the transaction was kept
        cause = getattr(error, "orig", None) or error
        raise _Failed(f"the ledger's database failed, nothing was changed: {str(cause).strip().splitlines()[0]}") \
            from None


def _served(func, args) -> int:
    from pdp.client import LedgerClient, NotYetVisible, PdpRequestError, PdpUnavailable, UnknownSubject

    if args.key_file:
        raise _Usage("--key-file goes with the embedded ledger: a server reads its own key")
    try:
        with LedgerClient(args.url, token=_token(args)) as client:
            return func(_Served(client), args)
    except (UnknownSubject, NotYetVisible) as error:
        raise _Failed("; ".join(d.get("message", "") for d in error.detail)) from None
    except PdpRequestError as error:
        problems = [(_field(d.get("field", "")), d.get("message", "")) for d in error.detail]
        if error.error == "bad_request" and args.consent_command == "record":
            raise _Usage("\n".join(f"invalid event: `{field}`: {message}" for field, message in problems)) from None
        raise _Usage(f"the server refused ({error.status_code}): "
                     + "; ".join(f"`{field}`: {message}" for field, message in problems)) from None
    except PdpUnavailable as error:
        hint = ("; an event may have been recorded all the same: record it again with the same client_event_id "
                "(it is recorded once)") if args.consent_command == "record" else ""
        raise _Failed(f"{error}{hint}") from None


def _field(name: str) -> str:
    """A batch's field as the embedded ledger names it (`events[1].topic` -> `[1].topic`)."""
    return name.removeprefix("events") if name.startswith("events[") else name


def _token(args) -> str | None:
    if args.token_file:
        try:
            with open(args.token_file, encoding="utf-8") as handle:
                token = handle.read(MAX_TOKEN_FILE_BYTES).strip()
        except OSError as error:
            raise _Usage(f"cannot read the token file `{args.token_file}`: {error.strerror}") from None
        if not token:
            raise _Usage(f"the token file `{args.token_file}` is empty")
        return token
    return os.environ.get("PDP_TOKEN") or None


def _print(data) -> None:
    print(json.dumps(data, indent=2, ensure_ascii=False))


def _init(ledger: _Embedded, args) -> int:
    from pdp.ledger.connect import display, url_of

    target = args.ledger or os.environ.get("PDP_LEDGER_URL") or DEFAULT_LEDGER
    _print({"ledger": display(url_of(target)), "last_seq": ledger.ledger.last_seq()})
    return EXIT_OK


def _record(ledger: _Embedded | _Served, args) -> int:
    from pdp.ledger.events import MAX_INPUT_BYTES

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
    _print(ledger.record(data))
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


def _show(ledger: _Embedded | _Served, args) -> int:
    _print(ledger.show(args.subject, min_seq=args.min_seq, as_of=_time(args.as_of, "--as-of"),
                       known_at=_time(args.known_at, "--known-at")))
    return EXIT_OK


def _history(ledger: _Embedded | _Served, args) -> int:
    _print(ledger.history(args.subject))
    return EXIT_OK


def _export(ledger: _Embedded | _Served, args) -> int:
    text = json.dumps(ledger.export(args.subject), indent=2, ensure_ascii=False)
    if args.output:
        Path(args.output).write_text(text + "\n", encoding="utf-8")
    else:
        print(text)
    return EXIT_OK


def _verify(ledger: _Embedded | _Served, args) -> int:
    found = ledger.verify(args.subject)
    _print(found)
    return EXIT_OK if found["ok"] else EXIT_FAIL


def _erase(ledger: _Embedded | _Served, args) -> int:
    if not args.yes:
        raise _Usage("erasure cannot be undone: add --yes to erase this subject")
    if isinstance(ledger, _Served) and (args.log or args.log_url):
        raise _Usage("with --url the server erases its own decision logs: --log and --log-url are for the embedded "
                     "ledger")
    logged = _erase_from_logs(args.subject, args.log, args.log_url)  # first: even a subject the ledger never saw
    erased = ledger.erase(args.subject)
    _print(erased if logged is None else {**erased, "decision_log": logged})
    return EXIT_OK


def _erase_from_logs(subject: str, path: str | None, url: str | None) -> dict[str, int] | None:
    """The subject taken out of the decision logs named (`pdp.io.log_shipper.erase_everywhere`)."""
    if path is None and url is None:
        return None
    from sqlalchemy.exc import SQLAlchemyError

    from pdp.io.combined_log import CombinedLog, format_time, utc_now
    from pdp.io.decision_log import DecisionLog, log_key
    from pdp.io.log_shipper import erase_everywhere

    if path is not None and not Path(path).is_file():
        raise _Usage(f"no decision log at `{path}`")
    key = log_key(path) if path is not None else (os.environ.get("PDP_LOG_KEY") or "").encode() or None
    if key is None:
        raise _Usage("the decision log's key is needed to find the subject's rows: LOG.key beside it, or PDP_LOG_KEY")
    try:
        combined = CombinedLog(url, pseudonym_key=key, pool_size=1) if url is not None else None
    except SQLAlchemyError as error:  # the driver's message may hold the URL's password: only its kind
        raise _Failed(f"cannot reach the combined decision log ({type(error).__name__}); nothing was erased") from None
    except ValueError as error:
        raise _Usage(str(error)) from None
    try:
        if path is None:
            assert combined is not None
            return {"combined": combined.erase(subject, format_time(utc_now()))}
        with DecisionLog(path, pseudonym_key=key) as local:
            return erase_everywhere(local, combined, subject)
    except SQLAlchemyError as error:
        raise _Failed(f"the combined decision log failed ({type(error).__name__}); nothing was erased") from None
    finally:
        if combined is not None:
            combined.close()
