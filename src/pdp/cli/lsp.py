"""`pdp lsp [--tcp HOST:PORT]`: the language server, for VS Code, Neovim, Helix, Emacs and any LSP editor.

It speaks LSP over standard input and output (the editor starts it), or, with --tcp, listens on HOST:PORT for
one editor at a time (to debug it, or for an editor that connects). docs/editors.md says how each editor starts it.
"""

from __future__ import annotations

import argparse
import logging
import sys

from .common import EXIT_OK, EXIT_USAGE


def register(subparsers) -> None:
    lsp = subparsers.add_parser(
        "lsp", help="the language server for editors (LSP over stdio; --tcp to listen)",
        description="The language server for VS Code, Neovim, Helix, Emacs and any LSP editor: the checker's "
                    "diagnostics as you type, quick fixes, completion, hover, go to definition, formatting and the "
                    "outline of policy files. An editor starts it; docs/editors.md says how.")
    lsp.add_argument("--tcp", metavar="HOST:PORT", type=host_and_port,
                     help="listen on HOST:PORT instead of speaking over standard input and output")
    lsp.add_argument("--stdio", action="store_true", help="speak over standard input and output (the default; "
                                                          "accepted because some editors always pass it)")
    lsp.set_defaults(func=cmd_lsp)


def host_and_port(text: str) -> tuple[str, int]:
    host, colon, port = text.rpartition(":")
    if not colon or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise argparse.ArgumentTypeError(f"`{text}` is not HOST:PORT (e.g. `127.0.0.1:2087`)")
    return host.strip("[]"), int(port)


def cmd_lsp(args) -> int:
    from pdp.lsp.server import create_server  # here: only `pdp lsp` imports pygls

    # standard output carries the protocol: whatever pygls or pdp logs goes to standard error
    logging.basicConfig(stream=sys.stderr, level=logging.WARNING, format="pdp lsp: %(levelname)s: %(message)s")
    if args.tcp is not None and args.stdio:
        print("pdp lsp: give --tcp or --stdio, not both", file=sys.stderr)
        return EXIT_USAGE
    server = create_server()
    if args.tcp is not None:
        server.start_tcp(*args.tcp)
    else:
        server.start_io()
    return EXIT_OK
