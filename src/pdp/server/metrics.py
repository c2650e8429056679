"""Prometheus metrics of one server process (`GET /metrics`).

Each app gets its own registry, so several apps in one process (tests) do
not collide. With `--workers N` every worker counts its own decisions; scrape
each, or run one worker per replica behind the load balancer.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from pdp.engine.policy_set import PolicySet

# Decision latency is microseconds to a millisecond or so; the default buckets start at 5 ms.
_BUCKETS = (0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5)


class Metrics:
    content_type = CONTENT_TYPE_LATEST

    def __init__(self):
        self.registry = CollectorRegistry()
        decisions = Counter("pdp_decisions", "Decisions made, by result", ["decision"], registry=self.registry)
        self.allowed, self.denied = decisions.labels("allow"), decisions.labels("deny")
        self.bad_requests = Counter("pdp_bad_requests", "Requests refused as malformed or unknown", registry=self.registry)
        self.latency = Histogram("pdp_decision_seconds", "Time to decide one request, in the engine",
                                 buckets=_BUCKETS, registry=self.registry)
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

    def decided(self, decision: str, seconds: float) -> None:
        (self.allowed if decision == "allow" else self.denied).inc()
        self.latency.observe(seconds)

    def render(self) -> bytes:
        return generate_latest(self.registry)
