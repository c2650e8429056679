"""The `pdp` command line: one module per command, each adding itself with `register(subparsers)`."""

from __future__ import annotations

import argparse
import importlib

from .common import EXIT_OK

COMMANDS = ("check", "decide", "test", "serve", "fmt", "explain", "query", "diff", "bundle", "consent")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pdp", description="Policy decisions for the use of personal data.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:  # imported by name so that each command's imports are paid only when it is there
        importlib.import_module(f"{__package__}.{name}").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return EXIT_OK
