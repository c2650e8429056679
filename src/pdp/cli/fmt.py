"""`pdp fmt [--check] [PATH]`: give policy files the canonical layout (pdp.lang.formatter).

PATH is a .pdp file or a directory (every .pdp below it); default `policies`.
Without --check each file that changes is rewritten and named. With --check
nothing is written: each file that would change is named with a short diff,
and the exit code is 1 if any would. A file with syntax errors is reported
as `pdp check` reports it and left alone (exit 1).
"""

from __future__ import annotations

import difflib
import sys
from pathlib import Path

from .common import DEFAULT_POLICY_DIR, EXIT_FAIL, EXIT_OK, EXIT_USAGE
from pdp.base.errors import PolicyError, render_all
from pdp.io.loader import read_file

DIFF_LINES = 40  # at most this many diff lines per file under --check


def register(subparsers) -> None:
    fmt = subparsers.add_parser("fmt", help="give .pdp files one layout (comments kept); --check changes nothing")
    fmt.add_argument("path", nargs="?", default=DEFAULT_POLICY_DIR,
                     help="a .pdp file or a directory (default: policies)")
    fmt.add_argument("--check", action="store_true",
                     help="change nothing; list the files that would change, with a diff, and exit 1 if any")
    fmt.set_defaults(func=cmd_fmt)


def policy_files(path: Path) -> list[Path]:
    if path.is_dir():
        return sorted(p for p in path.rglob("*.pdp") if p.is_file() or p.is_symlink())
    return [path]


def cmd_fmt(args) -> int:
    from pdp.lang.formatter import format_policy  # here: only `pdp fmt` builds the formatter's parser

    root = Path(args.path)
    if not root.exists():
        print(f"pdp fmt: `{root}` does not exist", file=sys.stderr)
        return EXIT_USAGE
    files = policy_files(root)
    if not files:
        print(f"pdp fmt: no policy files (*.pdp) in `{root}`", file=sys.stderr)
        return EXIT_USAGE
    changed: list[Path] = []
    broken = 0
    for path in files:
        name = str(path)
        try:  # as `pdp check` reads it: a plain file inside the set, within the size limit, \r\n as written
            text = read_file(path, root if root.is_dir() else path.parent)
        except PolicyError as error:
            print(render_all(error.diagnostics), file=sys.stderr)
            broken += 1
            continue
        try:
            formatted = format_policy(text, name)
        except PolicyError as error:
            print(render_all(error.diagnostics, {name: text}), file=sys.stderr)
            print(file=sys.stderr)
            broken += 1
            continue
        if formatted == text:
            continue
        changed.append(path)
        if args.check:
            print(f"would reformat {name}")
            print(_short_diff(text, formatted, name))
        else:
            with path.open("w", encoding="utf-8", newline="") as file:
                file.write(formatted)
            print(f"reformatted {name}")
    verb = "would be reformatted" if args.check else "reformatted"
    summary = f"{len(changed)} of {len(files)} file{'s' if len(files) != 1 else ''} {verb}"
    if broken:
        summary += f", {broken} with errors left unchanged"
    print(summary, file=sys.stderr)
    if broken or (args.check and changed):
        return EXIT_FAIL
    return EXIT_OK


def _short_diff(old: str, new: str, name: str) -> str:
    lines = list(difflib.unified_diff(old.splitlines(), new.splitlines(), name, f"{name} (formatted)",
                                      n=1, lineterm=""))
    if len(lines) > DIFF_LINES:
        rest = len(lines) - DIFF_LINES
        lines = lines[:DIFF_LINES] + [f"... ({rest} more diff line{'s' if rest != 1 else ''})"]
    return "\n".join(lines)
