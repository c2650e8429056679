"""The per-decision figures (metrics.DecisionFigures) export what prometheus_client's own Counter and Histogram export."""

from hypothesis import given
from hypothesis import strategies as st

from pdp.server.metrics import _BUCKETS, Metrics

SECONDS = st.sampled_from(_BUCKETS) | st.floats(0, 5, allow_nan=False) | st.sampled_from([0.0, 1e-9, 0.5000001, 1e9])
DECISIONS = st.lists(st.tuples(st.sampled_from(["allow", "deny", "other"]), SECONDS), max_size=40)


def samples(metrics: Metrics) -> tuple[list, set]:
    """(every sample but the creation times, as (name, labels, value); the names and labels of the creation times)."""
    values, created = [], set()
    for family in metrics.registry.collect():
        for sample in family.samples:
            key = (sample.name, tuple(sorted(sample.labels.items())))
            if sample.name.endswith("_created"):
                created.add(key)
            else:
                values.append((*key, sample.value))
    return sorted(values), created


@given(DECISIONS)
def test_the_fast_figures_export_what_prometheus_client_exports(decisions):
    fast, standard = Metrics(), Metrics(fast=False)
    for decision, seconds in decisions:
        fast.decided(decision, seconds)
        standard.decided(decision, seconds)
    assert samples(fast) == samples(standard)
    text = [line for line in fast.render().decode().splitlines() if "_created" not in line]
    assert sorted(text) == sorted(line for line in standard.render().decode().splitlines() if "_created" not in line)
