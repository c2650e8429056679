"""What `pdp diff` of a one-rule edit costs on generated sets, load and diff apart (issue 10).

    python -m bench.diff DIR [DIR ...] [--baseline SRC] [--out docs/benchmarks.md]

For each generated set DIR (bench/generate.py), the edited copy is DIR-edit (bench/edit.py: one threshold of
one rule raised). Each configuration runs alone in a child process, side by side in one run:

- narrowed: as `pdp diff` runs (space/touched.py: only the rules the edit can make a difference through; the
  encoding's memos on);
- whole: every rule of both versions encoded, memos off (diff_solver.NARROW, encoding.MEMO off);
- baseline (with --baseline SRC, a checkout's src/ directory): that code, as `pdp diff` ran there.

Figures: CPU seconds of the two loads and of `diff()` after them (time.process_time in the child), and the
child's peak resident memory (ru_maxrss). Nothing here is a test; with --out the table goes to the
`diff` section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

from bench.edit import edit
from bench.sections import write_section

ROOT = Path(__file__).resolve().parent.parent

_PROBE = """
import json, resource, sys, time
import pdp
from pdp.analysis import diff_solver
from pdp.analysis.diff import diff
from pdp.analysis.space import encoding
if sys.argv[3] == "whole":
    diff_solver.NARROW = False
    encoding.MEMO = False
t0 = time.process_time()
old, new = pdp.load(sys.argv[1]), pdp.load(sys.argv[2])
t1 = time.process_time()
report = diff(old, new)
t2 = time.process_time()
print(json.dumps({"load": t1 - t0, "diff": t2 - t1, "changes": len(report.changes), "complete": report.complete,
                  "method": report.stats.method, "mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def measure(old: Path, new: Path, how: str, src: Path | None = None) -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(src) if src else str(ROOT / "src"), str(ROOT)])
    out = subprocess.run([sys.executable, "-c", _PROBE, str(old), str(new), how], env=env, cwd=ROOT,
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sets", nargs="+", type=Path, help="generated policy directories")
    parser.add_argument("--baseline", type=Path, help="another checkout's src/ directory, measured alongside")
    parser.add_argument("--out", type=Path, help="write the table to this file's `diff` section")
    args = parser.parse_args(argv)
    rows = ["| set | configuration | load (2 sets) | diff | peak memory | changes |", "|---|---|---|---|---|---|"]
    for directory in args.sets:
        edited = directory.with_name(directory.name + "-edit")
        edit(directory, edited)
        configurations = [("narrowed", "narrowed", None), ("whole", "whole", None)]
        if args.baseline:
            configurations.append(("baseline", "narrowed", args.baseline))
        for label, how, src in configurations:
            got = measure(directory, edited, how, src)
            complete = "" if got["complete"] else " (incomplete)"
            rows.append(f"| {directory.name} | {label} | {got['load']:.1f} s | {got['diff']:.1f} s | "
                        f"{got['mb']:.0f} MB | {got['changes']} ({got['method']}){complete} |")
            print(rows[-1], flush=True)
    command = "python -m bench.diff " + " ".join(sys.argv[1:] if argv is None else argv)
    body = "\n".join(["### `pdp diff` of a one-rule edit: load and diff apart", "", *rows, "",
                      "CPU seconds (time.process_time in a child process per row); peak resident memory of the "
                      "child. narrowed: as `pdp diff` runs; whole: every rule encoded, memos off; baseline: the "
                      "code before this change.", "", "Command:", "", "```", command, "```"])
    if args.out:
        write_section(args.out, "diff", body)
    print(body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
