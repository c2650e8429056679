"""`pdp serve [DIR]` or `pdp serve --bundle URL`: serve the decision API over HTTP (uvicorn; settings from PDP_*
and the options)."""

from __future__ import annotations

import sys
from pathlib import Path


from .common import DEFAULT_LOG, DEFAULT_POLICY_DIR, EXIT_FAIL, EXIT_OK, EXIT_USAGE, load_or_report


def register(subparsers) -> None:
    serve = subparsers.add_parser("serve", help="serve the decision API over HTTP")
    serve.add_argument("policy_dir", nargs="?", help=f"default: $PDP_POLICY_DIR or {DEFAULT_POLICY_DIR}")
    serve.add_argument("--host", help="default: $PDP_HOST or 127.0.0.1")
    serve.add_argument("--port", type=int, help="default: $PDP_PORT or 8181")
    serve.add_argument("--workers", type=int, help="worker processes; default: $PDP_WORKERS or 1")
    serve.add_argument("--log", help=f"the decision log (SQLite file); default: $PDP_LOG_PATH or {DEFAULT_LOG}")
    serve.add_argument("--no-log", action="store_true", help="do not keep a decision log")
    serve.add_argument("--log-url", help="also ship the decision log to the combined log of every replica "
                                         "(postgresql://...; needs PDP_LOG_KEY, the same on every replica); "
                                         "default: $PDP_LOG_URL")
    serve.add_argument("--log-level", default="info", choices=("critical", "error", "warning", "info", "debug"))
    ledger = serve.add_argument_group("the consent ledger", "record and read consents over HTTP, and fill the "
                                      "attributes the served set declares (`ledger fills ...`) before deciding "
                                      "(docs/service.md, \"The consent ledger\"; docs/consent.md)")
    ledger.add_argument("--ledger", metavar="PATH_OR_URL", help="the ledger: a SQLite file (made with `pdp consent "
                        "init`) or a postgresql:// URL; default: $PDP_LEDGER_URL, else none")
    ledger.add_argument("--ledger-key-file", metavar="FILE", help="the ledger key; default: $PDP_LEDGER_KEY_FILE, "
                        "$PDP_LEDGER_KEY, else FILE.key beside a SQLite ledger")
    ledger.add_argument("--ledger-open", action="store_true", help="the ledger's read and write endpoints take no "
                        "token: local development only (anyone who reaches the port can record and read consents)")
    bundle = serve.add_argument_group("policy bundles", "serve a signed bundle polled from a URL instead of a "
                                      "directory (`pdp bundle build`; docs/service.md, \"Policy bundles\")")
    bundle.add_argument("--bundle", metavar="URL", help="the bundle's URL; default: $PDP_BUNDLE_URL")
    bundle.add_argument("--public-key", metavar="KEY", help="the ed25519 public key (PEM) bundles must be signed "
                        "with; default: $PDP_BUNDLE_PUBLIC_KEY")
    bundle.add_argument("--bundle-poll", type=float, metavar="SECONDS",
                        help="how often to ask for a new bundle; default: $PDP_BUNDLE_POLL_S or 30")
    bundle.add_argument("--bundle-insecure-unsigned", action="store_true", help="without --public-key, take "
                        "unsigned bundles: whoever can answer for the URL then decides every request")
    serve.set_defaults(func=cmd_serve)


def _log_path(args) -> str | None:
    """The decision log the command serves with: --no-log, --log, else PDP_LOG_PATH, else the default file."""
    import os

    if args.no_log:
        return None
    if args.log:
        return str(Path(args.log).resolve())
    return os.environ.get("PDP_LOG_PATH") or str(Path(DEFAULT_LOG).resolve())


def cmd_serve(args) -> int:
    return serve(args)


def serve(args, prog: str = "pdp serve", announce=None) -> int:
    """Check the settings and the set, then serve (uvicorn) until stopped; the exit status.

    `pdp studio` serves through here too (the same server, the studio mounted by its token): `prog` names the
    command in messages, and `announce(host, port)` is called once the settings are good, before serving."""
    import os

    from pydantic import ValidationError
    from pydantic_settings import SettingsError

    from pdp.server.settings import Settings, describe_errors

    problem = _bundle_options(args)  # into PDP_BUNDLE_*, checked with the other settings
    _ledger_options(args)  # into PDP_LEDGER_*, likewise
    if args.log_url:
        os.environ["PDP_LOG_URL"] = args.log_url  # into PDP_LOG_URL, likewise (it needs the log, checked below)
    if problem:
        print(f"{prog}: {problem}", file=sys.stderr)
        return EXIT_USAGE
    try:
        # PDP_* environment variables, for what the command line leaves out
        intended = _log_path(args)
        defaults = Settings(log_path=None if intended is None else Path(intended))
    except ValidationError as error:
        print(f"{prog}: {describe_errors(error)}", file=sys.stderr)
        return EXIT_USAGE
    except SettingsError as error:  # a value pydantic-settings could not even decode
        print(f"{prog}: {error}", file=sys.stderr)
        return EXIT_USAGE
    snapshot = None
    if defaults.bundle_url is not None:
        if args.policy_dir:
            print(f"{prog}: give a policy directory or a bundle URL, not both", file=sys.stderr)
            return EXIT_USAGE
        serving = _bundle_description(defaults)
        if serving is None:
            return EXIT_USAGE
    else:
        args.policy_dir = args.policy_dir or str(defaults.policy_dir)
        snapshot = _load(args.policy_dir)
        if snapshot is None:
            return EXIT_FAIL
        policy_set = snapshot.policy_set
        serving = f"{policy_set.name} {policy_set.version} ({len(policy_set.rules)} rules)"
    ledger = _check_ledger(defaults)
    if ledger is None:
        return EXIT_USAGE
    try:
        import uvicorn
    except ImportError:
        print(f"{prog} needs uvicorn: pip install uvicorn", file=sys.stderr)
        return EXIT_USAGE
    try:
        connections = _connection_options(defaults)
    except ValueError as error:  # PDP_HTTP names a protocol that is not installed
        print(f"{prog}: {error}", file=sys.stderr)
        return EXIT_USAGE
    args.host = args.host or defaults.host
    args.port = args.port or defaults.port
    args.workers = args.workers or defaults.workers
    # Worker processes build their own app from the environment (pydantic-settings).
    if snapshot is not None:
        # Absolute, but not resolved: a symlinked directory stays the link, so that a deployment can swap it.
        os.environ["PDP_POLICY_DIR"] = os.path.abspath(args.policy_dir)
    os.environ["PDP_HOST"], os.environ["PDP_PORT"] = args.host, str(args.port)  # the bound address, for the app
    logged = _log_path(args)
    if logged is None:
        os.environ.pop("PDP_LOG_PATH", None)
    else:
        os.environ["PDP_LOG_PATH"] = logged
    print(f"serving {serving} on http://{args.host}:{args.port}; decision log: {logged or 'off'}; "
          f"consent ledger: {ledger}", file=sys.stderr)
    if announce is not None:
        announce(args.host, args.port)
    # uvicorn's access log writes at info: above it, off, so that no request spends time on a line nobody sees.
    options = dict(host=args.host, port=args.port, log_level=args.log_level, log_config=_log_config(args.log_level),
                   access_log=args.log_level in ("info", "debug"), **connections)
    if args.workers == 1:
        from pdp.server import create_app

        # The set just loaded (and checked) is the one served: loaded once, not again by the server.
        uvicorn.run(create_app(Settings(), preloaded=snapshot), **options)
    else:  # each worker is a process of its own and loads its own copy (processes share no memory)
        uvicorn.run("pdp.server:create_app", factory=True, workers=args.workers, **options)
    return EXIT_OK


def _bundle_options(args) -> str | None:
    """Hand the bundle options to the settings (and to worker processes) as PDP_BUNDLE_*; a problem, or None."""
    import os

    if args.bundle is None and (args.public_key or args.bundle_poll is not None or args.bundle_insecure_unsigned):
        return "--public-key, --bundle-poll and --bundle-insecure-unsigned go with --bundle URL"
    if args.bundle is not None:
        os.environ["PDP_BUNDLE_URL"] = args.bundle
    if args.public_key:
        os.environ["PDP_BUNDLE_PUBLIC_KEY"] = os.path.abspath(args.public_key)
    if args.bundle_poll is not None:
        os.environ["PDP_BUNDLE_POLL_S"] = str(args.bundle_poll)
    if args.bundle_insecure_unsigned:
        os.environ["PDP_BUNDLE_INSECURE_UNSIGNED"] = "true"
    return None


def _ledger_options(args) -> None:
    """Hand the ledger options to the settings (and to worker processes) as PDP_LEDGER_*."""
    import os

    if args.ledger is not None:
        os.environ["PDP_LEDGER_URL"] = args.ledger if "://" in args.ledger else os.path.abspath(args.ledger)
    if args.ledger_key_file is not None:
        os.environ["PDP_LEDGER_KEY_FILE"] = os.path.abspath(args.ledger_key_file)
    if args.ledger_open:
        os.environ["PDP_LEDGER_OPEN"] = "true"


def _check_ledger(settings) -> str | None:
    """The ledger as `pdp serve` announces it, once it opened (schema migrated, key checked) and was closed
    again (each worker opens its own); None after saying why it cannot be opened."""
    from pdp.ledger import LedgerConfigError
    from pdp.server.ledger_state import describe, open_ledger

    try:
        opened = open_ledger(settings)
    except LedgerConfigError as error:
        hint = "; make a new SQLite ledger with `pdp consent init --ledger FILE`" if "no ledger at" in str(error) else ""
        print(f"pdp serve: the consent ledger: {error}{hint}", file=sys.stderr)
        return None
    if opened is None:
        return "off"
    opened.close()
    if settings.ledger_open:
        print("pdp serve: WARNING: the ledger's endpoints take no token (--ledger-open): anyone who can reach "
              "the service can record and read consents; for local development only",
              file=sys.stderr)
    elif not (settings.ledger_read_tokens or settings.ledger_write_tokens):
        print("pdp serve: the ledger's read and write endpoints refuse every request until tokens are configured "
              "(PDP_LEDGER_WRITE_TOKENS, PDP_LEDGER_READ_TOKENS or PDP_LEDGER_TOKENS_FILE)", file=sys.stderr)
    return describe(settings)


def _bundle_description(settings) -> str | None:
    """What `pdp serve --bundle` serves, in words; None after saying why the public key cannot be used."""
    from pdp.io.bundle import KeyProblem, key_id, load_public_key

    if settings.bundle_public_key is None:
        print("pdp serve: WARNING: bundles are taken unsigned (--bundle-insecure-unsigned): whoever can answer "
              f"for {settings.bundle_url} decides every request", file=sys.stderr)
        trust = "unsigned bundles accepted"
    else:
        try:
            trust = f"signed by {key_id(load_public_key(settings.bundle_public_key))}"
        except KeyProblem as error:
            print(f"pdp serve: {error}", file=sys.stderr)
            return None
    return (f"the policy bundle at {settings.bundle_url} (polled every {settings.bundle_poll_s:g} s, {trust}; "
            "decisions are refused (503) until a good bundle is activated)")


def _load(directory: str):
    """The set in `directory`, read as the server's reloads read it (one state of the directory), or None after
    printing why not."""
    from pdp.server.snapshot import ReloadFault, take_snapshot

    try:
        return load_or_report(directory, load=take_snapshot)
    except ReloadFault as error:  # the directory changed while it was read
        print(f"pdp serve: {error.message}; {error.hint}", file=sys.stderr)
        return None


def _connection_options(settings) -> dict:
    """uvicorn's options for the connection limits and timeouts (docs/service.md, "Connections")."""
    import functools

    from pdp.server.connections import ConnectionLimits, guarded_protocol

    limits = ConnectionLimits(settings.header_timeout_s, settings.body_timeout_s, settings.max_connections,
                              settings.max_header_bytes)
    return {"http": functools.partial(guarded_protocol(settings.http, settings.direct), limits=limits),
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
