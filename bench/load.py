"""What loading a policy set and one `pdp decide` cost (issue 9: at most 0.15 s of CPU, 0.5 s of wall time).

    python bench/load.py [--runs 15] [--policies policies] [--out docs/benchmarks.md]
    python bench/load.py --sets DIR [DIR ...] [--diff OLD NEW] [--before SRC] [--runs 3] [--out ...]

The second form measures large sets (issue 10: at most 20 s of CPU for 20,000 rules): for each DIR,
the CPU seconds of `pdp.load(DIR)` in a fresh process and that process's peak memory (its maximum
resident set, the import included); with --diff, the two loads `pdp diff OLD NEW` makes in one
process, the second timed apart. With --before SRC (an older checkout's `src`, e.g. from
`git archive`), each figure is measured for that code and this one side by side, the runs
interleaved, so that both see the same machine; the minimum CPU time of --runs is given.

Four figures, each the median of --runs:

- import: CPU time of `import pdp` in a fresh process;
- first load: CPU time of `pdp.load(DIR)` in a fresh process, after the
  import (what `pdp decide` and a server's start pay: the grammar's parser,
  the taxonomy and everything built once per process are in it);
- later load: CPU time of a further `pdp.load(DIR)` in the same process (a
  hot reload);
- decide: wall time of `pdp decide DIR --request FILE` from starting the
  process until it exits, one request, and the CPU time that process used.

CPU time is `time.process_time()` (for the decide process: its user and
system time), so other processes on a busy machine count less than in
wall time; the decide figure is also given as wall time, as a user waits
for it. Nothing here is a test: the figures are written to the
`load` section of docs/benchmarks.md when --out is given.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shlex
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script: make `bench` importable

REQUEST = ROOT / "examples" / "requests" / "promotional-email.json"
HEADING = "## Loading and one decision\n\n"

# Run in a fresh interpreter: the CPU seconds of the import, of the first load and of a later one.
_PROBE = """
import json, sys, time
t0 = time.process_time()
import pdp
t1 = time.process_time()
pdp.load(sys.argv[1])
t2 = time.process_time()
pdp.load(sys.argv[1])
t3 = time.process_time()
print(json.dumps({"import": t1 - t0, "first": t2 - t1, "later": t3 - t2}))
"""


# As on a user's machine, Python keeps the bytecode it compiles (some sandboxes turn that off with
# PYTHONDONTWRITEBYTECODE, which makes every process compile every module it imports again).
_ENV = {name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"}


def probe(policies: str) -> dict[str, float]:
    out = subprocess.run([sys.executable, "-c", _PROBE, policies], capture_output=True, text=True, check=True, cwd=ROOT,
                         env=_ENV)
    return json.loads(out.stdout)


def decide(policies: str) -> tuple[float, float]:
    """Wall seconds of one `pdp decide` from process start to exit, and the CPU seconds it used."""
    pdp = Path(sys.executable).parent / "pdp"
    command = [str(pdp), "decide", policies, "--request", str(REQUEST)]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(command, capture_output=True, check=True, cwd=ROOT, env=_ENV)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def measure(policies: str, runs: int) -> dict[str, list[float]]:
    figures: dict[str, list[float]] = {"import": [], "first": [], "later": [], "decide": [], "decide_cpu": []}
    decide(policies)  # once before timing: the OS's file cache, the bytecode cache
    probe(policies)
    for _ in range(runs):
        for name, value in probe(policies).items():
            figures[name].append(value)
        wall, cpu = decide(policies)
        figures["decide"].append(wall)
        figures["decide_cpu"].append(cpu)
    return figures


def report(figures: dict[str, list[float]], runs: int, command: str, load: str) -> str:
    def row(label: str, name: str, kind: str) -> str:
        values = figures[name]
        return (f"| {label} | {kind} | {statistics.median(values):.3f} | {min(values):.3f} | {max(values):.3f} |")

    return "\n".join([
        "What `pdp decide` and a server's start pay before the first decision: importing pdp, loading",
        "the policy set (parse, check, compile; never the whole-set analysis, which only `pdp check`",
        "and the workbench run), and one `pdp decide` from process start to exit. Bounds (issue 9):",
        "a load at most 0.15 s of CPU, `pdp decide` at most 0.5 s of wall time.",
        "",
        "| what | measured as | median s | min s | max s |",
        "|---|---|---:|---:|---:|",
        row("`import pdp`", "import", "CPU, fresh process"),
        row("`pdp.load(\"policies\")`, first in the process", "first", "CPU, after the import"),
        row("`pdp.load(\"policies\")`, again (a hot reload)", "later", "CPU, same process"),
        row("`pdp decide policies --request ...` (one request)", "decide", "wall, process start to exit"),
        row("`pdp decide policies --request ...` (one request)", "decide_cpu", "CPU (user + system) of that process"),
        "",
        f"{runs} runs each, on the machine of the comparison above, while {load}, with Python's bytecode",
        "cache on, as installed. On a busy machine the wall time of `pdp decide` waits for the CPU; its CPU",
        "time is what it would take alone.",
        "",
        "A first load no longer builds the parser's LALR tables (they ship beside the grammar,",
        "`pdp.lang.grammar`) nor imports fideslang's pydantic models (its keys ship beside the taxonomy,",
        "`pdp.vocab.taxonomy`); pycountry and rapidfuzz are imported when first needed, and `pdp decide`",
        "no longer imports the analysis and the formatter that other commands use. Most of what is left",
        "is importing pydantic and building the request's model (about 0.13 s of CPU), lark and PyYAML,",
        "and parsing the policy text (most of a later load). Before these changes (commit f53debd:",
        "`PYTHONPATH=<its checkout>/src python bench/load.py --runs 9`, load average 4.4): a first load",
        "took 0.211 s of CPU, `pdp decide` 1.216 s of wall time and 0.605 s of CPU (medians).",
        "",
        "Command:",
        "",
        "```",
        command,
        "```",
    ])


# Run in a fresh interpreter: the CPU seconds of loading each directory given, in turn, and the peak memory.
_SCALE_PROBE = """
import json, resource, sys, time
import pdp
seconds = []
for directory in sys.argv[1:]:
    t0 = time.process_time()
    pdp.load(directory)
    seconds.append(time.process_time() - t0)
print(json.dumps({"seconds": seconds, "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def scale_probe(directories: list[str], src: str | None) -> dict:
    env = dict(_ENV)
    if src:  # an older checkout's code ahead of the installed one
        env["PYTHONPATH"] = os.pathsep.join(p for p in (src, env.get("PYTHONPATH", "")) if p)
    out = subprocess.run([sys.executable, "-c", _SCALE_PROBE, *directories], capture_output=True, text=True,
                         check=True, cwd=ROOT, env=env)
    return json.loads(out.stdout)


def scale(sets: list[str], diff: list[str] | None, before: str | None, runs: int) -> list[tuple[str, dict]]:
    """(what, {code: (min CPU s, peak MB)}) for each set, and for the diff's second load; runs interleaved."""
    probes = [(f"`{d}`", [d]) for d in sets] + ([(f"`pdp diff {diff[0]} {diff[1]}`", diff)] if diff else [])
    codes = {"before": before, "after": None} if before else {"after": None}
    seen: dict[tuple[str, str], list[dict]] = {}
    for _ in range(runs):
        for what, directories in probes:
            for code, src in codes.items():
                seen.setdefault((what, code), []).append(scale_probe(directories, src))
    rows = []
    for what, directories in probes:
        figures = {}
        for code in codes:
            found = seen[(what, code)]
            figures[code] = {"seconds": [min(f["seconds"][i] for f in found) for i in range(len(directories))],
                             "peak_mb": max(f["peak_mb"] for f in found)}
        rows.append((what, figures))
    return rows


def scale_report(rows: list[tuple[str, dict]], runs: int, command: str, load: str, before_label: str = "") -> str:
    def cell(figures: dict, i: int) -> str:
        return f"{figures['seconds'][i]:.2f} s, {figures['peak_mb']:.0f} MB"

    both = "before" in rows[0][1]
    lines = ["| load of | " + ("before | after | after / before |" if both else "CPU, peak memory |"),
             "|---|" + ("---:|---:|---:|" if both else "---:|")]
    for what, figures in rows:
        parts = [(what, 0)] if len(figures["after"]["seconds"]) == 1 else [(what + ", first load", 0),
                                                                            (what + ", second load", 1)]
        for label, i in parts:
            after = figures["after"]
            if both:
                before = figures["before"]
                ratio = after["seconds"][i] / before["seconds"][i] if before["seconds"][i] else float("nan")
                lines.append(f"| {label} | {cell(before, i)} | {cell(after, i)} | {ratio:.2f} |")
            else:
                lines.append(f"| {label} | {cell(after, i)} |")
    return "\n".join([
        "CPU seconds of `pdp.load` (parse, check, compile) in a fresh process, the least of "
        f"{runs} runs, and that process's peak memory (maximum resident set, the import included; for",
        "`pdp diff`, of the process that made both loads, the second timed apart). Bounds (issue 10):",
        "20,000 rules in at most 20 s of CPU, CX-ONE-GO (`policies`) in at most 0.15 s."
        + (f" Before ({before_label}) and after, in one run, interleaved." if both else ""),
        "",
        *lines,
        "",
        f"Measured while {load}, with `{command}`. The generated sets: `python -m bench.generate --rules N",
        "--variant random|clustered --registers 100 --seed 1 --out DIR`; the one-rule edit: `python -m bench.edit",
        "OLD NEW`.",
        "",
        "A file without errors is parsed by the streaming parser (`pdp.lang.streaming`): lark calls back",
        "as it reduces each rule and the syntax tree is built then, with no positioned lark tree in between",
        "(lark's position propagation was half of a parse), on lark_cython, lark's own parser and lexer in",
        "Cython. The second load of `pdp diff` takes the parse of every file whose text the first parsed",
        "(`pdp.lang.reuse`), copied with its spans naming the new file. Both are switchable and held equal",
        "to the plain path by property tests. What a load costs now is about half the parse (most of it",
        "lark_cython's LALR parse and the callbacks that build the tree), and half checking and compiling",
        "(most of that the condition index's guards, `engine/guards.py`). In the second load of `pdp diff`",
        "Python's cycle collector also makes its first pass over the first set's objects (a build holds it",
        "off: `engine.build.collector_paused`).",
    ])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--policies", default="policies")
    parser.add_argument("--out", help="write the figures into this markdown file's `load` section")
    parser.add_argument("--sets", nargs="+", metavar="DIR", help="measure the load of these (large) sets instead")
    parser.add_argument("--diff", nargs=2, metavar=("OLD", "NEW"), help="with --sets: also the two loads of pdp diff")
    parser.add_argument("--before", metavar="SRC", help="with --sets: also measure this older checkout's src")
    parser.add_argument("--before-label", default="", help="what --before is, as the report names it (a commit)")
    args = parser.parse_args(argv)
    command = "python bench/load.py " + " ".join(shlex.quote(a) for a in (argv if argv is not None else sys.argv[1:]))
    if args.sets:
        rows = scale(args.sets, args.diff, args.before, args.runs)
    else:
        figures = measure(args.policies, args.runs)
    load = f"the load average was {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    if args.sets:
        label = args.before_label or str(args.before)
        text, section = SCALE_HEADING + scale_report(rows, args.runs, command.strip(), load, label), "load_scale"
    else:
        text, section = HEADING + report(figures, args.runs, command.strip(), load), "load"
    print(text)
    if args.out:
        from bench.sections import write_section

        write_section(Path(args.out), section, text)
    return 0


SCALE_HEADING = "## Loading large policy sets\n\n"


if __name__ == "__main__":
    sys.exit(main())
