"""The `pdp` command line: one module per command, each adding itself with `register(subparsers)`."""

from __future__ import annotations

import argparse
import importlib

from .common import EXIT_OK

COMMANDS = ("check", "decide", "test", "serve", "studio", "fmt", "explain", "query", "diff", "bundle", "consent",
            "vocab", "lsp")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pdp", description="Policy decisions for the use of personal data.")
    parser.add_argument("--version", action="version", version=version())
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:  # imported by name so that each command's imports are paid only when it is there
        importlib.import_module(f"{__package__}.{name}").register(sub)
    return parser


def version() -> str:
    """`pdp 0.1.0 (fideslang 3.1.4)`: pdp's version, and the taxonomy's its vocabulary comes from."""
    from importlib import metadata

    from pdp.vocab.taxonomy import installed_fideslang_version

    try:
        own = metadata.version("pdp")
    except metadata.PackageNotFoundError:  # run from a source tree that was never installed
        own = "unknown"
    return f"pdp {own} (fideslang {installed_fideslang_version() or 'not installed'})"


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return EXIT_OK
