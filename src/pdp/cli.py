"""The `pdp` command: thin wrappers over the library with stable exit codes.

Exit codes: 0 success (allow and deny alike for `decide`), 1 policy errors or
failing tests, 2 a bad request or bad usage.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .errors import PolicyError, RequestError

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2
DEFAULT_POLICY_DIR = "policies"
DEFAULT_LOG = "pdp-decisions.db"


def print_report(report, fmt: str) -> None:
    """A command's result on standard output: its JSON (`--format json`) or its text for people."""
    if fmt == "json":
        print(json.dumps(report.to_dict(), indent=2, ensure_ascii=False))
    else:
        print(report.render())


def _load(directory: str, index: bool = True):
    from .loader import load

    return load(directory, index=index)


def cmd_check(args) -> int:
    try:
        policy_set = _load(args.policy_dir)
    except PolicyError as error:
        print(error, file=sys.stderr)
        return EXIT_FAIL
    from .errors import render_all

    from .acceptance import unaccepted

    versions = list(reversed(policy_set.history))  # current first
    warnings = [w for version in versions for w in version.warnings]
    if warnings:
        texts = {path: text for version in versions for path, text in version.warning_texts.items()}  # as checked
        print(render_all(warnings, texts), file=sys.stderr)
        print(file=sys.stderr)
    failing = unaccepted(warnings)
    if args.strict and failing:
        print(f"failed: {policy_set.name} {policy_set.version}: {len(failing)} "
              f"warning{'s' if len(failing) != 1 else ''}, and --strict fails on any warning no rule accepts",
              file=sys.stderr)
        return EXIT_FAIL
    print(f"ok: {policy_set.name} {policy_set.version}: {len(policy_set.rules)} rules, "
          f"{len(policy_set.files)} files, {_warnings(policy_set.warnings)} ({policy_set.digest[:19]}…)")
    for older in policy_set.history[:-1]:  # versions/ (§11): checked too
        print(f"ok: {older.name} {older.version} (effective {older.effective}, in {older.directory}): "
              f"{len(older.rules)} rules, {_warnings(older.warnings)} ({older.digest[:19]}…)")
    return EXIT_OK


def _warnings(warnings) -> str:
    """`3 warnings (3 accepted)`: how many, and how many of them the policy accepts as intended."""
    accepted = sum(1 for w in warnings if w.accepted is not None)
    return f"{len(warnings)} warnings" + (f" ({accepted} accepted)" if accepted else "")


def cmd_decide(args) -> int:
    try:
        policy_set = _load(args.policy_dir)
    except PolicyError as error:
        print(error, file=sys.stderr)
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


def cmd_test(args) -> int:
    from .testing import (TestFileError, read_test_files, render_json, render_junit, render_text, report_dict, run,
                          run_directory)

    if args.min_coverage is not None and not 0 <= args.min_coverage <= 100:
        print(f"pdp test: --min-coverage takes a percentage from 0 to 100, not {args.min_coverage:g}", file=sys.stderr)
        return EXIT_USAGE
    coverage = None
    try:
        if args.coverage or args.min_coverage is not None:
            from .coverage import Recorder

            policy_set = _load(args.policy_dir)
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
        from .coverage import percent

        print(f"rule coverage {percent(coverage.rule_percent)} is below the minimum of "
              f"{args.min_coverage:g} %", file=sys.stderr)
        failed = True
    return EXIT_FAIL if failed else EXIT_OK


def cmd_serve(args) -> int:
    import os

    from pydantic import ValidationError
    from pydantic_settings import SettingsError

    from .server.settings import Settings, describe_errors

    try:
        defaults = Settings()  # PDP_* environment variables, for what the command line leaves out
    except ValidationError as error:
        print(f"pdp serve: {describe_errors(error)}", file=sys.stderr)
        return EXIT_USAGE
    except SettingsError as error:  # a value pydantic-settings could not even decode
        print(f"pdp serve: {error}", file=sys.stderr)
        return EXIT_USAGE
    args.policy_dir = args.policy_dir or str(defaults.policy_dir)
    try:
        policy_set = _load(args.policy_dir)
    except PolicyError as error:
        print(error, file=sys.stderr)
        return EXIT_FAIL
    try:
        import uvicorn
    except ImportError:
        print("pdp serve needs uvicorn: pip install uvicorn", file=sys.stderr)
        return EXIT_USAGE
    try:
        connections = _connection_options(defaults)
    except ValueError as error:  # PDP_HTTP names a protocol that is not installed
        print(f"pdp serve: {error}", file=sys.stderr)
        return EXIT_USAGE
    args.host = args.host or defaults.host
    args.port = args.port or defaults.port
    args.workers = args.workers or defaults.workers
    # Worker processes build their own app from the environment (pydantic-settings).
    os.environ["PDP_POLICY_DIR"] = str(Path(args.policy_dir).resolve())
    os.environ["PDP_HOST"], os.environ["PDP_PORT"] = args.host, str(args.port)  # the bound address, for the app
    if args.no_log:
        os.environ.pop("PDP_LOG_PATH", None)
    elif args.log:
        os.environ["PDP_LOG_PATH"] = str(Path(args.log).resolve())
    else:
        os.environ.setdefault("PDP_LOG_PATH", str(Path(DEFAULT_LOG).resolve()))
    logged = os.environ.get("PDP_LOG_PATH")
    print(f"serving {policy_set.name} {policy_set.version} ({len(policy_set.rules)} rules) "
          f"on http://{args.host}:{args.port}; decision log: {logged or 'off'}", file=sys.stderr)
    uvicorn.run("pdp.server:create_app", factory=True, host=args.host, port=args.port, workers=args.workers,
                log_level=args.log_level, log_config=_log_config(args.log_level), **connections)
    return EXIT_OK


def _connection_options(settings) -> dict:
    """uvicorn's options for the connection limits and timeouts (docs/service.md, "Connections")."""
    import functools

    from .server.connections import ConnectionLimits, guarded_protocol

    limits = ConnectionLimits(settings.header_timeout_s, settings.body_timeout_s, settings.max_connections,
                              settings.max_header_bytes)
    return {"http": functools.partial(guarded_protocol(settings.http), limits=limits),
            "timeout_keep_alive": settings.keep_alive_timeout_s,
            "limit_concurrency": settings.max_connections,
            # h11's own cap stays a backstop above the guard's (which answers 431), by one socket read (256 KiB).
            "h11_max_incomplete_event_size": settings.max_header_bytes + 262_144}


def _log_config(level: str) -> dict:
    """uvicorn's logging, with pdp's own loggers (reloads, connections) on the same handler and level."""
    import copy

    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config["loggers"]["pdp"] = {"handlers": ["default"], "level": level.upper(), "propagate": False}
    return config


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pdp", description="Policy decisions for the use of personal data.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    check = sub.add_parser("check", help="parse and validate a policy set; errors as file:line:col")
    check.add_argument("policy_dir", nargs="?", default=DEFAULT_POLICY_DIR)
    check.add_argument("--strict", action="store_true",
                       help="fail (exit 1) on any warning too, as on an error (for CI)")
    check.set_defaults(func=cmd_check)

    decide = sub.add_parser("decide", help="decide one request (JSON on standard input)")
    decide.add_argument("policy_dir", nargs="?", default=DEFAULT_POLICY_DIR)
    decide.add_argument("--request", "-r", help="read the request from this file instead of standard input")
    decide.set_defaults(func=cmd_decide)

    test = sub.add_parser("test", help="run the policy tests kept beside the policies")
    test.add_argument("policy_dir", nargs="?", default=DEFAULT_POLICY_DIR)
    test.add_argument("--format", choices=("text", "json", "junit"), default="text",
                      help="junit: JUnit XML for CI systems (coverage, if asked for, goes to standard error)")
    test.add_argument("--coverage", action="store_true",
                      help="also report the rules and conditions the tests never exercised")
    test.add_argument("--min-coverage", type=float, metavar="PCT",
                      help="fail (exit 1) when fewer than PCT %% of the rules applied in some case (implies --coverage)")
    test.set_defaults(func=cmd_test)
    serve = sub.add_parser("serve", help="serve the decision API over HTTP")
    serve.add_argument("policy_dir", nargs="?", help=f"default: $PDP_POLICY_DIR or {DEFAULT_POLICY_DIR}")
    serve.add_argument("--host", help="default: $PDP_HOST or 127.0.0.1")
    serve.add_argument("--port", type=int, help="default: $PDP_PORT or 8181")
    serve.add_argument("--workers", type=int, help="worker processes; default: $PDP_WORKERS or 1")
    serve.add_argument("--log", help=f"the decision log (SQLite file); default: $PDP_LOG_PATH or {DEFAULT_LOG}")
    serve.add_argument("--no-log", action="store_true", help="do not keep a decision log")
    serve.add_argument("--log-level", default="info", choices=("critical", "error", "warning", "info", "debug"))
    serve.set_defaults(func=cmd_serve)

    import importlib

    from .commands import COMMANDS

    for name in COMMANDS:
        try:
            module = importlib.import_module(f".commands.{name}", __package__)
        except ModuleNotFoundError as error:
            if error.name != f"{__package__}.commands.{name}":
                raise
            continue
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
