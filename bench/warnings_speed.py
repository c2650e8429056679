"""The whole-set warnings (`warnings_of`) on a fresh build after a one-line edit, with the analysis' switches.

    python bench/warnings_speed.py [--rounds 7] [--out docs/benchmarks.md]

For CX-ONE-GO (`policies/`) and each example set: each round edits one line of the set's first rule (its message
gets a word more, a different one each round, so that no build and no analysis is ever taken from a cache),
builds the set (not timed), then times `warnings_of` on it in CPU time (`time.process_time`), once per setting:
every switch on (the default), each switch off alone, every switch off (the plain path). The settings are
interleaved round by round; the figure is the median and the range over `--rounds` rounds. The switches are
`pdp.analysis.space.space.SHARED_TABLES`, `FACTORED_CELLS`, `KEPT_TIME_TESTS`, `CLASSES_BY_ANSWERS`,
`pdp.engine.compiler.KEY_PARTS`, `pdp.analysis.warnings.FOLDED_ONCE` and `PAUSE_GC`; tests/test_analysis_speed.py holds each
equal to the plain path. With --out, the table is written to the `warnings_speed` section of that markdown file.
Nothing here is a test.
"""

from __future__ import annotations

import argparse
import gc
import os
import re
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SWITCHES = (("space", "SHARED_TABLES"), ("space", "FACTORED_CELLS"), ("space", "KEPT_TIME_TESTS"),
            ("space", "CLASSES_BY_ANSWERS"), ("compiler", "KEY_PARTS"), ("warnings", "FOLDED_ONCE"),
            ("warnings", "PAUSE_GC"))
RULE_LINE = re.compile(r'^((?:allow|deny) \S+ ")([^"]*)"', re.M)


def settings() -> list[tuple[str, tuple[tuple[str, str], ...]]]:
    """(name, the switches it turns off): every one on, each off alone, every one off."""
    return ([("every switch on", ())] + [(f"`{name}` off", ((module, name),)) for module, name in SWITCHES]
            + [("every switch off (plain)", SWITCHES)])


def edited(sources, round_no: int):
    """The sources with the first rule's message one word longer (a one-line edit; a new text every round)."""
    for path in sorted(sources.policies):
        text = sources.policies[path]
        found = RULE_LINE.search(text)
        if found:
            text = text[:found.end(2)] + f" (edit {round_no})" + text[found.end(2):]
            return replace(sources, policies={**sources.policies, path: text})
    raise ValueError("no rule to edit")


def timed(policy_set, off) -> float:
    """CPU milliseconds of `warnings_of` on a set analysed by no one before, with the switches `off` off."""
    from pdp.analysis.space import space
    from pdp.analysis import warnings
    from pdp.engine import compiler

    modules = {"space": space, "compiler": compiler, "warnings": warnings}
    saved = [(modules[m], name, getattr(modules[m], name)) for m, name in off]
    for module, name, _ in saved:
        setattr(module, name, False)
    try:
        gc.collect()
        started = time.process_time()
        warnings.warnings_of(policy_set)
        return (time.process_time() - started) * 1000
    finally:
        for module, name, value in saved:
            setattr(module, name, value)


def sets() -> list[Path]:
    return [ROOT / "policies"] + sorted(p for p in (ROOT / "examples").iterdir() if (p / "vocabulary.yaml").exists())


def main(argv: list[str] | None = None) -> int:
    from pdp.engine.build import build
    from pdp.io.loader import read_sources

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--out", type=Path, help="write the table into this markdown file's `warnings_speed` section")
    args = parser.parse_args(argv)
    rows = settings()
    figures: dict[tuple[str, str], list[float]] = {}
    edits = 0
    for directory in sets():
        sources = read_sources(str(directory.relative_to(ROOT)) if directory.is_relative_to(ROOT) else str(directory))
        for _round in range(args.rounds):
            for name, off in rows:
                edits += 1
                policy_set = build(edited(sources, edits))
                figures.setdefault((directory.name, name), []).append(timed(policy_set, off))
    load = os.getloadavg()[0]
    lines = ["## Whole-set warnings after a one-line edit (issue 13)", "",
             "`warnings_of` on a fresh build of each set after a one-line edit (a rule's message), CPU time, "
             f"median and range of {args.rounds} interleaved rounds; load average {load:.1f} when written. "
             "Each switch off alone, then every one off (the plain path, which the property tests compare them "
             "with).", "",
             "| set | setting | median | range |", "|---|---|---:|---:|"]
    for (set_name, name), values in figures.items():
        lines.append(f"| {set_name} | {name} | {statistics.median(values):.0f} ms | "
                     f"{min(values):.0f}-{max(values):.0f} ms |")
    lines += ["", f"Command: `python bench/warnings_speed.py --rounds {args.rounds} --out docs/benchmarks.md`"]
    from bench.sections import publish

    publish(lines, "bench/warnings_speed.py", args.out, "warnings_speed")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
