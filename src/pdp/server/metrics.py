"""Prometheus metrics of one server process (`GET /metrics`).

Each app gets its own registry, so several apps in one process (tests) do
not collide. With `--workers N` every worker counts its own decisions; scrape
each, or run one worker per replica behind the load balancer.

The figures of every decision (the count by result, the latency histogram)
are kept by `DecisionFigures`: plain numbers under one lock, turned into
Prometheus samples only when scraped. prometheus_client's own Counter and
Histogram take a lock per number and walk the buckets in Python on every
decision; the samples are the same (a property test holds them equal), and
`Metrics(fast=False)` uses prometheus_client's own.
"""

from __future__ import annotations

import threading
import time
from bisect import bisect_left

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.metrics_core import CounterMetricFamily, HistogramMetricFamily
from prometheus_client.samples import Sample
from prometheus_client.utils import floatToGoString

from pdp.engine.policy_set import PolicySet

# Decision latency is microseconds to a millisecond or so; the default buckets start at 5 ms.
_BUCKETS = (0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5)


DECISIONS = ("pdp_decisions", "Decisions made, by result")
LATENCY = ("pdp_decision_seconds", "Time to decide one request, in the engine")
RESULTS = ("allow", "deny")


class DecisionFigures:
    """The count of decisions by result and their latency histogram, exported as prometheus_client exports them."""

    def __init__(self, buckets: tuple[float, ...] = _BUCKETS):
        self.bounds = buckets
        self._lock = threading.Lock()
        self._counts = dict.fromkeys(RESULTS, 0)
        self._buckets = [0] * (len(buckets) + 1)  # the last: above every bound (+Inf)
        self._sum = 0.0
        self._created = time.time()

    def decided(self, decision: str, seconds: float) -> None:
        slot = bisect_left(self.bounds, seconds)  # the first bound >= seconds, as Histogram.observe picks it
        with self._lock:
            self._counts["allow" if decision == "allow" else "deny"] += 1
            self._buckets[slot] += 1
            self._sum += seconds

    def collect(self):
        with self._lock:
            counts, buckets, total = dict(self._counts), list(self._buckets), self._sum
        decisions = CounterMetricFamily(*DECISIONS, labels=["decision"])
        for result in RESULTS:
            decisions.add_metric([result], counts[result], created=self._created)
        yield decisions
        latency = HistogramMetricFamily(*LATENCY)
        cumulative, running = [], 0
        for bound, count in zip((*self.bounds, float("inf")), buckets):
            running += count
            cumulative.append((floatToGoString(bound), running))
        latency.add_metric([], cumulative, total)
        latency.samples.append(Sample(LATENCY[0] + "_created", {}, self._created))
        yield latency


class _Standard:
    """prometheus_client's own Counter and Histogram (the plain path `DecisionFigures` is held equal to)."""

    def __init__(self, registry: CollectorRegistry):
        decisions = Counter(*DECISIONS, ["decision"], registry=registry)
        self.results = {result: decisions.labels(result) for result in RESULTS}
        self.latency = Histogram(*LATENCY, buckets=_BUCKETS, registry=registry)

    def decided(self, decision: str, seconds: float) -> None:
        self.results["allow" if decision == "allow" else "deny"].inc()
        self.latency.observe(seconds)


class Metrics:
    content_type = CONTENT_TYPE_LATEST

    def __init__(self, fast: bool = True):
        self.registry = CollectorRegistry()
        if fast:
            figures = DecisionFigures()
            self.registry.register(figures)
        self.figures = figures if fast else _Standard(self.registry)
        self.decided = self.figures.decided  # called on every decision: the figures' own, without a call between
        self.bad_requests = Counter("pdp_bad_requests", "Requests refused as malformed or unknown", registry=self.registry)
        self.reloads = Counter("pdp_policy_reloads", "Policy sets loaded and swapped in", registry=self.registry)
        self.reload_failures = Counter("pdp_policy_reload_failures",
                                       "Policy reloads that failed (errors in the new set, unreadable files, "
                                       "a failed watcher)",
                                       registry=self.registry)
        self.rules = Gauge("pdp_policy_rules", "Rules in the policy set in service", registry=self.registry)
        self.bundle_info = Gauge("pdp_bundle_info", "The policy bundle in service (1, labelled with its revision "
                                 "and content digest)", ["revision", "digest"], registry=self.registry)
        self.bundle_activations = Counter("pdp_bundle_activations", "Policy bundles verified, checked and swapped in",
                                          registry=self.registry)
        self.bundle_failures = Counter("pdp_bundle_failures", "Policy bundles refused (the last good set kept "
                                       "serving), by reason", ["reason"], registry=self.registry)

    def swapped_in(self, policy_set: PolicySet) -> None:
        """A new policy set is in service (from a reload or a bundle)."""
        self.reloads.inc()
        self.rules.set(len(policy_set.rules))

    def bundle_active(self, revision: str, digest: str) -> None:
        self.bundle_activations.inc()
        self.bundle_info.clear()  # one series: the bundle in service
        self.bundle_info.labels(revision, digest).set(1)

    def render(self) -> bytes:
        return generate_latest(self.registry)
