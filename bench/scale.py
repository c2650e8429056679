"""What each pdp command costs as a policy set grows: CPU seconds and peak memory, 50 to 20,000 rules (issue 10).

    python bench/scale.py [--sizes 50,1000,5000,20000] [--variants random,clustered,...] [--cap 60]
                          [--registers 100] [--seed 1] [--workdir /tmp/pdp-scale] [--out docs/benchmarks.md]

For every variant and size, bench/generate.py writes a policy set (cached
in --workdir: the same arguments give the same files), then each command
runs alone in a child process:

- load: `pdp.load(DIR)` (parse, check, compile; no whole-set analysis), the
  CPU time of the call itself, measured in the child;
- `pdp check DIR`: the load and the whole-set analysis (shadowed rules,
  overlaps, unused vocabulary);
- `pdp query DIR --where 'data_subject.age == 17'`;
- `pdp diff DIR DIR'` where DIR' differs from DIR by one rule (a condition
  added to the first service's first allow);
- `pdp test DIR --coverage`: the set's 20 generated cases (tests/generated.yaml);
- `pdp fmt --check DIR`;
- decide: the median of single `PolicySet.decide` calls over the set's
  seeded requests (requests.json), in µs of wall time (bench/timing.py),
  after the load in the same child.

CPU time is the child's user + system time (os.wait4's resource usage;
for the CLI commands the whole process, interpreter start and imports
included, about 0.3 s), memory its peak resident set (ru_maxrss). Each
child runs under an RLIMIT_CPU of --cap seconds: a command that would take
longer is stopped by the kernel and reported as "> cap". Nothing here is a
test; the table goes to the `scale` section of docs/benchmarks.md when --out
is given.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # run as a script: make `bench` importable

from bench.generate import VARIANTS, Spec, generate, write  # noqa: E402

SIZES = (50, 1_000, 5_000, 20_000)
WHERE = "data_subject.age == 17"
HEADING = "## Scale: commands across policy-set sizes\n\n"
COMMANDS = ("load", "check", "query", "diff", "test --coverage", "fmt --check", "decide")

# Run in the child: load the set (timed), and with "decide", the median of single decisions over its requests.
_PROBE = """
import json, sys, time
import pdp
t0 = time.process_time()
policies = pdp.load(sys.argv[1])
out = {"load": time.process_time() - t0}
if sys.argv[2] == "decide":
    from bench.timing import measure
    requests = json.load(open(sys.argv[1] + "/requests.json"))
    out["decide_us"] = measure(policies.decide, requests, warmup=300, calls=3000, budget_s=8).median_us
print(json.dumps(out))
"""


@dataclass(frozen=True)
class Result:
    cpu: float | None  # seconds; None: stopped at the cap
    rss_mb: float
    detail: float | None = None  # the load's own CPU seconds, or the decision median in µs
    exit: int = 0
    why: str = ""  # what a command that failed said
    undecided: int = 0  # rules whose shadowing and overlaps `pdp check` could not decide (not an exact answer)


# As on a user's machine, Python keeps the bytecode it compiles (bench/load.py says why).
_ENV = {name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"}


def run(command: list[str], cap: float) -> tuple[Result, str]:
    """Run `command` under a CPU-time cap; its CPU seconds, peak memory, exit code and standard output."""

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_CPU, (int(cap) + 1, int(cap) + 2))

    errors = tempfile.TemporaryFile()
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=errors, cwd=ROOT, env=_ENV, preexec_fn=limit)
    deadline = time.monotonic() + cap * 6 + 60  # a guard against a child that waits rather than computes
    assert child.stdout is not None
    chunks: list[bytes] = []
    os.set_blocking(child.stdout.fileno(), False)
    while True:
        pid, status, usage = os.wait4(child.pid, os.WNOHANG)
        chunk = child.stdout.read()
        if chunk:
            chunks.append(chunk)
        if pid:
            break
        if time.monotonic() > deadline:
            child.kill()
        time.sleep(0.05)
    child.returncode = 0  # reaped by wait4; keep Popen from waiting again
    cpu = usage.ru_utime + usage.ru_stime
    stopped = os.WIFSIGNALED(status) and os.WTERMSIG(status) in (signal.SIGXCPU, signal.SIGKILL)
    code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else -1
    errors.seek(0)
    said_all = errors.read()
    output = b"".join(chunks)
    said = re.search(rb"^pdp \w+: ([^:\n]+)", said_all, re.M)  # a command's own refusal: "pdp query: ..."
    # check's warning when the solver's budget ran out: "... shadowing and overlaps of 12 rules could not be decided"
    undecided = re.search(rb"analysis-skipped: .*?of ([\d,]+) rules? could not be decided", output + said_all)
    result = Result(None if stopped or cpu > cap + 1 else cpu, usage.ru_maxrss / 1024, exit=code,
                    why=said.group(1).decode(errors="replace") if said else "",
                    undecided=int(undecided.group(1).replace(b",", b"")) if undecided else 0)
    return result, output.decode(errors="replace")


def pdp_command(*args: str) -> list[str]:
    return [str(Path(sys.executable).parent / "pdp"), *args]


def edited_copy(directory: Path) -> Path:
    """The set with one rule changed: a condition added to the first allow of service 1."""
    other = directory.with_name(directory.name + "-edited")
    if not other.exists():
        shutil.copytree(directory, other)
        for path in sorted(other.rglob("*.pdp")):
            text = path.read_text(encoding="utf-8")
            at = text.find('requester.id == "svc-00001"')
            if at >= 0:
                end = at + len('requester.id == "svc-00001"')
                path.write_text(text[:end] + " and context.signal_01 == true" + text[end:], encoding="utf-8")
                break
    return other


def policy_dir(workdir: Path, spec: Spec) -> Path:
    directory = workdir / f"{spec.variant}-{spec.rules}-r{spec.registers}-s{spec.seed}"
    if not (directory / "requests.json").exists():
        write(generate(spec), directory)
    return directory


def measure(directory: Path, cap: float) -> dict[str, Result]:
    d = str(directory)
    results: dict[str, Result] = {}
    for name in ("load", "decide"):  # the load is what every command pays: allowed up to twice the cap
        result, out = run([sys.executable, "-c", _PROBE, d, name], cap * 2)
        detail = None
        if result.cpu is not None and result.exit == 0:
            figures = json.loads(out.strip().splitlines()[-1])
            detail = figures["load"] if name == "load" else figures["decide_us"]
        results[name] = Result(result.cpu, result.rss_mb, detail, result.exit, result.why)
    commands = {
        "check": pdp_command("check", d),
        "query": pdp_command("query", d, "--where", WHERE),
        "diff": pdp_command("diff", d, str(edited_copy(directory))),
        "test --coverage": pdp_command("test", d, "--coverage"),
        "fmt --check": pdp_command("fmt", "--check", d),
    }
    for name, command in commands.items():
        results[name], _ = run(command, cap)
    return results


def cell(name: str, result: Result, cap: float) -> str:
    if result.cpu is None:
        return f"> {cap * 2 if name in ('load', 'decide') else cap:g} s"
    ok = {"check": (0, 1), "query": (0, 1), "diff": (0, 1), "test --coverage": (0, 1), "fmt --check": (0, 1)}
    failed = result.exit not in ok.get(name, (0,))
    memory = f"{result.rss_mb:,.0f} MB"
    if name == "load" and result.detail is not None:
        text = f"{result.detail:.2f} s, {memory}"
    elif name == "decide" and result.detail is not None:
        text = f"{result.detail:,.0f} µs"
    else:
        text = f"{result.cpu:.2f} s, {memory}"
    if result.undecided:
        text += f", {result.undecided:,} rules undecided"
    return text + (f" (exit {result.exit}{': ' + result.why if result.why else ''})" if failed else "")


LABELS = {
    "load": "load (`pdp.load`: parse, check, compile)",
    "check": "`pdp check` (with the analysis)",
    "query": f"`pdp query --where '{WHERE}'`",
    "diff": "`pdp diff` of a one-rule edit",
    "test --coverage": "`pdp test --coverage` (20 cases)",
    "fmt --check": "`pdp fmt --check`",
    "decide": "decide, median of single calls",
}


def table(variant: str, sizes: list[int], found: dict[int, dict[str, Result]], cap: float) -> str:
    lines = [f"**{variant}**", "", "| command | " + " | ".join(f"{n:,} rules" for n in sizes) + " |",
             "|---|" + "---:|" * len(sizes)]
    for name in COMMANDS:
        lines.append(f"| {LABELS[name]} | " + " | ".join(cell(name, found[n][name], cap) for n in sizes) + " |")
    return "\n".join(lines)


def report(tables: list[str], command: str, cap: float, registers: int, load: str) -> str:
    return "\n".join([
        "CPU seconds (user + system of the command's process) and its peak memory, on policy sets that",
        "bench/generate.py makes, modelled on CX-ONE-GO (its areas, citations, registers and vocabulary; see",
        f"its docstring for the variants), with a processors register of {registers:,} entries. The load row",
        "is the CPU time of `pdp.load` alone (no interpreter start); the CLI rows include starting Python and",
        "importing pdp (about 0.3 s). decide is the median wall time of single `PolicySet.decide` calls over",
        f"the set's 1,000 seeded requests. A command stopped at the cap of {cap:g} s of CPU shows `> {cap:g} s`",
        f"(the load and decide children may take {cap * 2:g} s). A `pdp check` whose solver left rules",
        "undecided (an `analysis-skipped` warning: not an exact answer) says how many; a query or diff that",
        "could not decide shows its exit 3.",
        "",
        *[t + "\n" for t in tables],
        f"Measured while {load}.",
        "",
        "Loading grows linearly (issue 10): a build holds Python's cycle collector off until it ends",
        "(`engine.build.collector_paused`), whose full passes walked every object alive, so that a load grew",
        "with the square of the set; a file without errors is parsed by a streaming parser on lark_cython",
        "(`lang.streaming`: no positioned tree built and walked again), and a file parsed before in the",
        "process from the same text is not parsed again (`lang.reuse`: the second load of `pdp diff`).",
        "`pdp check` settles most questions by the rules' boxes before the solver (`analysis/boxes.py`);",
        "`pdp diff` encodes only the rules an edit can make a difference through (`analysis/space/touched.py`).",
        "Each is switchable and held equal to the plain path by a property test.",
        "",
        "Command:",
        "",
        "```",
        command,
        "```",
    ])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default=",".join(str(n) for n in SIZES))
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--registers", type=int, default=100)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--cap", type=float, default=60.0, help="CPU seconds a command may take before it is stopped")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/pdp-scale"), help="where the sets are generated")
    parser.add_argument("--out", type=Path, help="write the table into this markdown file's `scale` section")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    variants = args.variants.split(",")
    unknown = [v for v in variants if v not in VARIANTS]
    if unknown:
        parser.error(f"unknown variant {unknown[0]!r}; one of {', '.join(VARIANTS)}")
    command = "python bench/scale.py " + " ".join(shlex.quote(a) for a in (argv if argv is not None else sys.argv[1:]))
    tables: list[str] = []
    busiest = 0.0
    for variant in variants:
        found = {}
        for size in sizes:
            directory = policy_dir(args.workdir, Spec(size, variant, args.registers, args.seed))
            found[size] = measure(directory, args.cap)
            busiest = max(busiest, os.getloadavg()[0])
            print(f"{variant} {size}: " + "; ".join(f"{k}: {cell(k, r, args.cap)}" for k, r in found[size].items()),
                  flush=True)
        tables.append(table(variant, sizes, found, args.cap))
        load = f"the load average was up to {busiest:.1f} on {os.cpu_count()} cores"
        done = "" if len(tables) == len(variants) else f" (so far: {len(tables)} of {len(variants)} variants)"
        text = report(tables, command.strip() + done, args.cap, args.registers, load)
        if args.out:  # after each variant, so that a run stopped early keeps what it measured
            from bench.sections import write_section

            write_section(args.out, "scale", HEADING + text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
