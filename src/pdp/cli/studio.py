"""`pdp studio [POLICY_DIR] [--host 127.0.0.1] [--port 8181] [--no-browser]`: edit, check, test and try the set in a
browser (docs/studio.md).

The same server as `pdp serve` (reloading on change; no decision log, no
ledger), with the studio mounted. Its token is made up at start
(`secrets.token_urlsafe(32)`) unless PDP_STUDIO_TOKEN is set, and handed to
the browser in the URL's fragment (`/studio/#token=...`), which browsers
never send to a server, so it stays out of access logs. Serving the studio
beyond this machine (a host that is not a loopback address) needs a token
set on purpose: the studio reads and saves the policy files.
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import sys

from .common import DEFAULT_POLICY_DIR, EXIT_USAGE

LOOPBACK_NAMES = ("localhost", "ip6-localhost")
BROWSER_WAIT_S = 30.0


def register(subparsers) -> None:
    studio = subparsers.add_parser("studio", help="edit, check, test and try the policy set in a browser",
                                   description="Serve the policy set with the studio: an editor with the checker's "
                                               "diagnostics, requests to try, the tests with coverage, the impact of "
                                               "an edit, and saving (docs/studio.md).")
    studio.add_argument("policy_dir", nargs="?", help=f"default: $PDP_POLICY_DIR or {DEFAULT_POLICY_DIR}")
    studio.add_argument("--host", default="127.0.0.1", help="default: 127.0.0.1 (this machine only)")
    studio.add_argument("--port", type=int, default=8181, help="default: 8181")
    studio.add_argument("--no-browser", action="store_true", help="do not open a browser; the URL is printed")
    studio.add_argument("--log-level", default="warning", choices=("critical", "error", "warning", "info", "debug"))
    studio.set_defaults(func=cmd_studio)


def is_loopback(host: str) -> bool:
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def cmd_studio(args) -> int:
    import secrets

    from .serve import serve

    given = os.environ.get("PDP_STUDIO_TOKEN")
    if not is_loopback(args.host) and not given:
        print(f"pdp studio: --host {args.host} would let other machines reach the studio, which reads and saves the "
              "policy files; set PDP_STUDIO_TOKEN to a long random secret of your own (e.g. `openssl rand -hex 32`) "
              "to serve it beyond this machine", file=sys.stderr)
        return EXIT_USAGE
    token = given or secrets.token_urlsafe(32)
    os.environ["PDP_STUDIO_TOKEN"] = token
    os.environ["PDP_RELOAD"] = "true"  # a save (or any change on disk) is served at once
    options = argparse.Namespace(
        policy_dir=args.policy_dir, host=args.host, port=args.port, workers=1, log=None, no_log=True, log_url=None,
        log_level=args.log_level, ledger=None, ledger_key_file=None, ledger_open=False, bundle=None, public_key=None,
        bundle_poll=None, bundle_insecure_unsigned=False)
    os.environ.pop("PDP_BUNDLE_URL", None)  # the studio edits a directory

    def announce(host: str, port: int) -> None:
        shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
        url = f"http://{shown}:{port}/studio/#token={token}"
        print(f"studio: {url}" if not given else f"studio: http://{shown}:{port}/studio/ (the token: PDP_STUDIO_TOKEN)",
              flush=True)
        if not args.no_browser:
            _open_when_up(shown, port, url)

    return serve(options, prog="pdp studio", announce=announce)


def _open_when_up(host: str, port: int, url: str) -> None:
    """Open `url` in a browser once the server accepts connections (a daemon thread: it never holds the command)."""
    import socket
    import threading
    import time
    import webbrowser

    def wait_then_open() -> None:
        deadline = time.monotonic() + BROWSER_WAIT_S
        while time.monotonic() < deadline:
            try:
                with socket.create_connection((host, port), timeout=1):
                    webbrowser.open(url)
                    return
            except OSError:
                time.sleep(0.2)

    threading.Thread(target=wait_then_open, name="pdp-studio-browser", daemon=True).start()
