"""The markdown report (docs/benchmarks.md) and the machine description."""

from __future__ import annotations

import datetime as _dt
import os
import platform
import statistics
from dataclasses import dataclass, field
from importlib import metadata

from bench.timing import Timing


@dataclass
class Row:
    key: str
    title: str
    base: list[Timing] = field(default_factory=list)  # one Timing per run
    extra: list[Timing] = field(default_factory=list)
    load_s: float | None = None
    extra_load_s: float | None = None

    @property
    def base_median(self) -> float | None:
        return statistics.fmean(t.median_us for t in self.base) if self.base else None

    @property
    def extra_median(self) -> float | None:
        return statistics.fmean(t.median_us for t in self.extra) if self.extra else None

    @property
    def cost_pct(self) -> float | None:
        """Growth of the median (mean over runs) with the extra rules."""
        if not self.base or not self.extra:
            return None
        return (self.extra_median / self.base_median - 1) * 100


@dataclass
class Run:
    command: str
    requests: int
    allows: int
    seed: int
    extra_rules: int
    extra_checked: int
    warmup: int
    calls: int
    budget_s: float | None
    runs: int = 1
    rows: list[Row] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    machine: dict[str, str] = field(default_factory=dict)
    # where the time goes (bench/profiling.py); empty: not profiled
    stages: list = field(default_factory=list)  # [profiling.Stage], pdp's decide taken apart
    hotspots: list = field(default_factory=list)  # [(row title, [profiling.Hotspot])]
    profile_calls: int = 0
    batch: float | None = None  # pdp's `decide_many`: decisions per second of CPU


def fmt_us(us: float | None) -> str:
    if us is None:
        return "-"
    if us < 10:
        return f"{us:.1f}"
    return f"{us:,.0f}"


def fmt_span(values: list[float]) -> str:
    """One figure, or "low-high" when the runs differ once rounded."""
    if not values:
        return "-"
    lo, hi = fmt_us(min(values)), fmt_us(max(values))
    return lo if lo == hi else f"{lo}-{hi}"


def fmt_pct(p: float | None) -> str:
    if p is None:
        return "-"
    if round(p) == 0:  # not "-0 %"
        return "0 %"
    return f"{p:+,.0f} %"


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine_info(packages: list[str]) -> dict[str, str]:
    versions = []
    for name in packages:
        try:
            versions.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            versions.append(f"{name} (not installed)")
    return {
        "date": _dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
        "cpu": cpu_model(),
        "cores": str(os.cpu_count()),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "os": f"{platform.system()} {platform.release()}",
        "packages": ", ".join(versions),
    }


def table(run: Run) -> str:
    n = f"{run.extra_rules:,}"
    out = [
        f"| engine (from Python) | median µs | p99 µs | median µs with {n} extra rules | cost of extra rules |",
        "|---|---:|---:|---:|---:|",
    ]
    for r in run.rows:
        out.append(
            f"| {r.title} | {fmt_span([t.median_us for t in r.base])} "
            f"| {fmt_span([t.p99_us for t in r.base])} "
            f"| {fmt_span([t.median_us for t in r.extra])} | {fmt_pct(r.cost_pct)} |"
        )
    return "\n".join(out)


def _calls(timings: list[Timing]) -> str:
    if not timings:
        return "-"
    shown = [f"{t.warmup:,} / {t.calls:,}" for t in timings]
    return shown[0] if len(set(shown)) == 1 else "; ".join(shown)


def _secs(s: float | None) -> str:
    return "-" if s is None else f"{s:.3f}"


def details(run: Run) -> str:
    out = [
        "| engine | warm-up / timed calls | p99 µs with extra rules | warm-up / timed calls with extra rules "
        "| load s | load s with extra rules |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for r in run.rows:
        out.append(
            f"| {r.key} | {_calls(r.base)} | {fmt_span([t.p99_us for t in r.extra])} "
            f"| {_calls(r.extra)} | {_secs(r.load_s)} | {_secs(r.extra_load_s)} |"
        )
    return "\n".join(out)


def summary(run: Run) -> str:
    """pdp against the fastest other engine, in one sentence each."""
    rows = {r.key: r for r in run.rows}
    pdp = rows.get("pdp")
    others = [r for r in run.rows if r.base and not r.key.startswith("pdp") and r.key != "python"]
    if pdp is None or not pdp.base or not others:
        return ""
    best = min(others, key=lambda r: r.base_median)
    ratio = best.base_median / pdp.base_median
    lines = [
        f"pdp's median decision takes {fmt_us(pdp.base_median)} µs, "
        + (f"{ratio:.1f} times less than the fastest other engine measured, {best.title}, at "
           f"{fmt_us(best.base_median)} µs."
           if ratio >= 1 else
           f"{1 / ratio:.1f} times more than the fastest other engine measured, {best.title}, at "
           f"{fmt_us(best.base_median)} µs.")
    ]
    floor = rows.get("python")
    if floor is not None and floor.base:
        lines.append(
            f"Side by side in this run: pdp is {best.base_median / pdp.base_median:.1f} times faster than "
            f"{best.title}, and takes {pdp.base_median / floor.base_median:.1f} times as long as the "
            f"hand-written Python floor ({fmt_us(floor.base_median)} µs)."
        )
    if run.batch is not None:
        lines.append(
            f"`decide_many` over the {run.requests:,} requests decides {run.batch:,.0f} requests a second of CPU "
            "(`time.process_time`, the batch repeated; each decision with its own id, as `decide` makes it)."
        )
    if pdp.cost_pct is not None:
        lines.append(
            f"With {run.extra_rules:,} extra rules its median changes by {fmt_pct(pdp.cost_pct)}: its rule "
            "index hands a request only the rules whose action, purpose and category take part in it (an "
            "allow's cover it, a deny's overlap it), before any condition is evaluated."
        )
    off = rows.get("pdp-noindex")
    if off is not None and off.cost_pct is not None:
        lines.append(
            f"With the index switched off (`pdp.load(dir, index=False)`) every rule is considered on every "
            f"request, and the same extra rules cost {fmt_pct(off.cost_pct)}."
        )
    wide = rows.get("pdp-broad")
    if wide is not None and wide.base:
        change = (wide.base_median / pdp.base_median - 1) * 100
        lines.append(
            f"Asked for all of a person's data (`data_categories: [\"user\"]`) instead of one kind, pdp's "
            f"median is {fmt_us(wide.base_median)} µs ({fmt_pct(change)} against one narrow category). A "
            "broad key also takes in every deny on a key below it (docs/language.md, \"A broad key in a "
            "request\"); the index finds those in the same memo table, once per (action, purpose, category), "
            "so the lookup costs the same. This policy has no deny on a narrow category, so the broad "
            "requests meet the same rules; under a policy with such denies their conditions are evaluated "
            "too."
        )
    return "\n\n" + "\n\n".join(lines)


def where_time_goes(run: Run) -> str:
    """The section on where a decision's time goes, or "" when nothing was profiled."""
    if not run.stages and not run.hotspots:
        return ""
    out = ["## Where the time goes", ""]
    if run.stages:
        whole = run.stages[0]
        parts = [p for p in run.stages[1:] if not getattr(p, "aside", False)]
        aside = [p for p in run.stages[1:] if getattr(p, "aside", False)]
        rest = whole.median_us - sum(p.median_us for p in parts)
        out += [
            "**pdp.** `PolicySet.decide` taken apart (`bench/profiling.py`): each stage timed alone on the",
            "same requests, like the decisions above (median µs, rule index on).",
            "",
            "| stage | median µs | share of the whole call |",
            "|---|---:|---:|",
        ]
        for p in parts:
            out.append(f"| {p.name} | {p.median_us:.1f} | {p.median_us / whole.median_us * 100:.0f} % |")
        out.append(f"| the rest: `Outcome` and `Decision` objects, calls between stages | {max(rest, 0):.1f} "
                   f"| {max(rest, 0) / whole.median_us * 100:.0f} % |")
        out.append(f"| **{whole.name}** | **{whole.median_us:.1f}** | 100 % |")
        for p in aside:
            out.append(f"| *aside:* {p.name} | {p.median_us:.1f} | - |")
        out += [
            "",
            "A request is checked in one pass by a function written once per policy set from the request",
            "model, the declared attributes and the vocabulary (`vocab/admit.py`); it admits only requests",
            "the plain check accepts, and sends anything else (an unknown key, a near miss, a value of",
            "another type) the plain way, which names the bad field as ever. The rule index answers an",
            "(action, purpose, category) from a memo table, and the condition index hands over only the",
            "rules whose guards the request's attributes meet (`engine/narrowing.py`); the outcome of each",
            "combination of applying rules is remembered. With the index off (`index=False`) all of that",
            "is off: the plain check, and every rule's target tested on every request",
            "(`CompiledRule.reaches` in the profile below), which is what the extra rules cost there.",
            "",
        ]
    if run.hotspots:
        out += [
            f"**Every engine.** cProfile over {run.profile_calls:,} calls after as many warm-up calls: the",
            "functions with the most own time, as shares of the profiled time. The profiler slows Python",
            "code much more than native code, so these shares overstate the Python parts; they say where",
            "the time goes, not how long it takes.",
            "",
            "| engine | where the time goes (share of own time under cProfile) |",
            "|---|---|",
        ]
        for title, spots in run.hotspots:
            listed = "; ".join(f"{h.function} {h.share_pct:.0f} %" for h in spots)
            out.append(f"| {title} | {listed} |")
        out += [
            "",
            "- Cedar: the Rust call (`_internal.is_authorized_batch`) reads the request's JSON, builds",
            "  Cedar values and evaluates every policy; the Python wrapper around it turns the context",
            "  into JSON and parses the JSON answer. With the extra rules nearly all the time is in the",
            "  Rust call: each policy is evaluated on each request.",
            "- Rego: setting the input (the Python dict handed to rego-cpp through `ctypes`) and running",
            "  the bundle's plan, which evaluates the module's rules on each query.",
            "- Casbin: pycasbin parses its matcher again on every call (`compile`), and simpleeval walks",
            "  the matcher's syntax tree in Python once per policy row; the row-level `eval` model also",
            "  parses each row's own expression on every request.",
            "",
        ]
    return "\n".join(out) + "\n"


def markdown(run: Run) -> str:
    m = run.machine
    budget = (
        f"Each measurement has a time budget of {run.budget_s:g} s (warm-up stops after a quarter of it, "
        "timing after all of it, never before 200 timed calls), so the slowest configurations are timed "
        "on fewer calls; the calls actually made are listed below."
        if run.budget_s
        else "No time budget: every configuration made every call."
    )
    runs_note = (
        f"; {run.runs} runs, a range where they differ (the cost from the mean of the runs' medians)"
        if run.runs > 1 else ""
    )
    skipped = ""
    if run.skipped:
        skipped = "\n\nNot measured: " + "; ".join(f"{k} ({v})" for k, v in run.skipped.items()) + "."
    return f"""# Benchmarks

How long one decision takes in pdp and in the policy engines a Python
application could use instead, all asked the same questions under the same
policy. This file is written by `bench/compare.py`; run it again rather
than editing the figures.

## Result

{table(run)}{skipped}

µs per decision, one call at a time, from Python: median and 99th
percentile{runs_note}. "Cost of extra rules" is how much the median grows
when {run.extra_rules:,} unrelated rules that never match are added to the
policy.{summary(run)}

## What is measured

**The policy**, written once per engine (pdp: `bench/policy/`; the others
are generated by `bench/engines/`; the oracle is `bench/reference.py`).
Default deny, any deny wins:

- allow `use` of `user*` data for `essential*` purposes;
- allow `use` of `user*` data for `marketing*` purposes when the data
  subject consented to marketing;
- deny anything when the data subject is under 18;
- deny a `transfer` outside IN without a data-protection agreement (DPA);
- allow a `transfer` for `essential*` purposes inside IN or under a DPA.

"Under" means equal to the key or starting with the key and a dot, so the
trap purpose `essentials.billing` is not under `essential` (pdp declares it
in the bench policy's `vocabulary.yaml`).

**The requests**: {run.requests:,} drawn from `random.Random({run.seed})`
(`bench/workload.py`): ages 10-70, 8 purposes (fideslang keys and the trap),
3 data categories, `use` or `transfer`, destination IN/US/DE, DPA yes/no,
marketing consent yes/no. {run.allows:,} of them are allowed. The row
"pdp, every request for `data_categories: [\"user\"]`" asks pdp the same
requests with the broad category `user` in place of each one's narrow
category (`workload.broad`; same decisions under this policy). Every engine
agrees with the oracle on all {run.requests:,} decisions, and, with the
{run.extra_rules:,} extra rules loaded, on the first {run.extra_checked:,};
the script stops before timing anything if one does not.

**The extra rules** (`make_extra_rules`): half allow, half deny, each on an
action or a purpose the requests never name, nor any key above or below one
they name (declared actions such as `archive`, fideslang purposes such as
`sales` or `train_ai_system`, and declared `unused.pNNN` purposes), with
the same kinds of conditions as the real rules; the script checks that none
takes part in any request, pdp's broad-key reading included. They are added
after the policy's own rules.

**The method**: every request is converted to the engine's own Python form
before timing (Cedar: a request dict with a context, against a
`PolicySet` and an `Entities` handle parsed once; Rego: the request as the
input document of a bundle compiled once, run through its entrypoint;
Casbin: `(subject, resource, action)` attribute objects; pdp: the request
JSON as a dict, against `pdp.load(...)` done once). Then
{run.warmup:,} warm-up calls, then {run.calls:,} calls each timed alone
between two `time.perf_counter_ns()` readings, going round the requests in
order. One thread, garbage collector left on. {budget}

{where_time_goes(run)}## Calls made and load times

{details(run)}

"load s" is the time to build the engine's policy object from its source
(pdp: `pdp.load` of the directory; Cedar: parsing the policy set; Rego:
compiling the bundle; Casbin: the enforcer and its rows; with extra rules,
pdp's figure also covers writing the temporary policy directory, about
0.03 s), measured on a second build, so one-time imports are not counted.

## Machine

- CPU: {m.get('cpu')} ({m.get('cores')} cores as seen by Python)
- Python: {m.get('python')} on {m.get('os')}
- Packages: {m.get('packages')}
- Run: {m.get('date')}

## Command

```
{run.command}
```
"""
