"""What an editor waits for after a keystroke in CX-ONE-GO (issue 13: diagnostics within 300 ms of a pause).

    python bench/diagnostics.py [--rounds 15] [--policies policies] [--out docs/benchmarks.md]

Each round makes a new one-character edit in a policy file (a letter added to a comment or to a rule's message, so that the set
still checks and the analysis has the whole set to read; each round's text is new, so nothing is taken from
the editing core's cache), then measures, in this process, after a first round that warms it:

- errors: `pdp.editing.check` of the edited workspace (parse, check, build: what an editor shows first);
- errors + warnings: `pdp.editing.diagnostics` of another new edit in a comment, and of one in a rule's
  message (the check, then the whole-set analysis, `pdp.analysis.warnings`: what `pdp check` reports; an edit
  in a comment changes no warning, and they are taken from the cache), and of a line added before a rule (the
  warnings moved to their new places);
- again: `diagnostics` of texts already checked (an undo, a file switched back to: taken from the cache);
- completion and hover at a position in the edited file.

Wall time (`time.perf_counter`) and CPU time (`time.process_time`), median and range over the rounds. Nothing
here is a test: the figures go to the `diagnostics` section of docs/benchmarks.md with --out.
"""

from __future__ import annotations

import argparse
import os
import shlex
import statistics
import sys
import time
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script: make `bench` importable

HEADING = "## Diagnostics as you type (the editing core)\n\n"
EDITED = "marketing.pdp"
TARGET_MS = 300


def timed(action: Callable[..., object], *args: object) -> tuple[float, float]:
    """Wall and CPU seconds of one call."""
    wall, cpu = time.perf_counter(), time.process_time()
    action(*args)
    return time.perf_counter() - wall, time.process_time() - cpu


def measure(policies: str, rounds: int) -> dict[str, list[tuple[float, float]]]:
    from pdp.editing import check, complete, diagnostics, hover, read_workspace

    ws = read_workspace(policies)
    path = ws.path_of(EDITED)
    base = ws.texts[path]
    comment = base.index("#") + 1  # inside the file's first comment
    message = base.index('"', base.index("\nallow ")) + 1  # inside the first rule's message

    def edit(at: int, n: int, added: str = "x"):  # `added` at `at`, at a place no other round used
        return ws.edited(path, base[:at + n] + added + base[at + n:])

    rule = base.index("\nallow ")  # before the first rule: its lines, and every line after, move down

    lines = base.split("\n")
    where = next(i for i, line in enumerate(lines) if line.startswith("  for ")) + 1
    figures: dict[str, list[tuple[float, float]]] = {name: [] for name, _ in ROWS}
    for n in range(rounds + 1):
        first, second, third = edit(comment, 2 * n), edit(comment, 2 * n + 1), edit(message, n)
        fourth = edit(rule, 0, "\n" * (n + 2))
        found = {
            "errors": timed(check, first),
            "comment": timed(diagnostics, second),
            "code": timed(diagnostics, third),
            "layout": timed(diagnostics, fourth),
            "again": timed(diagnostics, third),
            "complete": timed(complete, first, path, where, 9),
            "hover": timed(hover, first, path, where, 9),
        }
        assert not check(first).errors and not check(third).errors, "the edits must leave the set checking"
        if n:  # the first round warms the process (the parser, the taxonomy, the solver's import)
            for name, value in found.items():
                figures[name].append(value)
    return figures


ROWS = (("errors", "errors (`check`) after a one-character edit"),
        ("comment", "errors + warnings (`diagnostics`) after a one-character edit in a comment"),
        ("code", "errors + warnings (`diagnostics`) after a one-character edit in a rule's text"),
        ("layout", "errors + warnings (`diagnostics`) after a line added before a rule (every rule below moves)"),
        ("again", "errors + warnings of texts checked before (an undo: the cache)"),
        ("complete", "completion at a position of the edited file"),
        ("hover", "hover at a position of the edited file"))


def report(figures: dict[str, list[tuple[float, float]]], rounds: int, command: str, load: str) -> str:
    lines = [
        f"What an editor waits for after a keystroke in CX-ONE-GO: the target (issue 13) is diagnostics within "
        f"{TARGET_MS} ms",
        "of a pause in typing. Each round edits `policies/marketing.pdp` by one character, in a comment and in",
        "the first rule's message (the set still checks, and every rule is analysed), with texts no round used",
        "before; the first round warms the process and is not counted.",
        "",
        "| what | wall ms median | min | max | CPU ms median |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, label in ROWS:
        walls = [w * 1000 for w, _ in figures[name]]
        cpus = [c * 1000 for _, c in figures[name]]
        lines.append(f"| {label} | {statistics.median(walls):.1f} | {min(walls):.1f} | {max(walls):.1f} | "
                     f"{statistics.median(cpus):.1f} |")
    lines += [
        "",
        f"{rounds} rounds, in one process, while {load}. The editing core checks a workspace once for its",
        "texts (`pdp.editing.checking`: a bounded LRU by the sources' digest, `CACHE = False` the plain path a",
        "property test holds it equal to); its warnings are kept by what the texts say with their comments left",
        "out (`checking.meaning`: a comment runs to the end of its line, so writing in one moves no token and",
        "changes no warning); after a change of layout only (lines, indentation, `pdp fmt`), the warnings of",
        "the same tokens and syntax trees are moved to their new places (`pdp.editing.relocating`, switched off",
        "by `RELOCATE = False`). What a new text costs is the set's build (parse, check, compile) for the errors,",
        "and, when a rule changed, the whole-set analysis (`pdp.analysis.warnings`) for the warnings; an editor",
        "shows the errors first and the warnings when they come (the language server and the studio ask for",
        "them apart).",
        "",
        "Command:",
        "",
        "```",
        command,
        "```",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--policies", default="policies")
    parser.add_argument("--out", help="write the figures into this markdown file's `diagnostics` section")
    args = parser.parse_args(argv)
    command = "python bench/diagnostics.py " + " ".join(
        shlex.quote(a) for a in (argv if argv is not None else sys.argv[1:]))
    os.chdir(ROOT)
    figures = measure(args.policies, args.rounds)
    load = f"the load average was {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    text = HEADING + report(figures, args.rounds, command.strip(), load)
    print(text)
    if args.out:
        from bench.sections import write_section

        write_section(Path(args.out), "diagnostics", text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
