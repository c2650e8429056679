"""Workbench commands, one module each, added to the `pdp` command line.

Each module defines `register(subparsers)` that adds its sub-command and
sets `func` to a function taking the parsed arguments and returning an exit
code. `pdp.cli` adds every module named in COMMANDS that is present.
"""

COMMANDS = ("fmt", "explain", "query", "diff")
