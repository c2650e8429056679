"""build() is the whole pipeline, versions included: Sources with their earlier versions give the same
PolicySet (history, decisions, errors) as pdp.load of a directory with versions/."""

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import pdp
from pdp.engine.sources import EarlierVersion
from tests.support.generate import fewer

RULES = ('allow analytics cite "§2.2" to use for analytics of user\n',
         'allow marketing cite "§2.5" to use for marketing of user.contact.email\n',
         'deny location cite "§3" to use for marketing of user.location\n')
REQUESTS = [
    {"action": "use", "purpose": "marketing.communications.email", "data_categories": ["user.contact.email"]},
    {"action": "use", "purpose": "analytics.reporting", "data_categories": ["user.name"], "collected_at": "2025-06-30"},
    {"action": "use", "purpose": "marketing", "data_categories": ["user.location"], "collected_at": "2024-01-01"},
    {"action": "use", "purpose": "analytics", "data_categories": ["user"], "collected_at": "2026-01-01",
     "data_subject": {"accepted_policy_version": "v2"}},
]


def header(name: str, version: str, effective: str | None) -> str:
    return f'policy "{name}" version "{version}"' + (f" effective {effective}" if effective else "") + "\n"


versions_of_a_set = st.lists(  # (directory name, policy name, version, effective date or None, rules)
    st.tuples(st.sampled_from(["a", "b", "c", "2025-01-01"]), st.sampled_from(["cx", "cx", "cx", "other"]),
              st.sampled_from(["v1", "v2", "v3", "v9"]),
              st.sampled_from([None, "2024-01-01", "2025-01-01", "2026-01-01", "2027-01-01"]),
              st.lists(st.sampled_from(RULES), min_size=1, max_size=3, unique=True)),
    max_size=3, unique_by=lambda v: v[0])


def written(root: Path, current: str, earlier: list[tuple]) -> None:
    (root / "main.pdp").write_text(current)
    (root / "versions").mkdir()
    for directory, name, version, effective, rules in earlier:
        (root / "versions" / directory).mkdir()
        (root / "versions" / directory / "main.pdp").write_text(header(name, version, effective) + "".join(rules))


def sources_of(root: Path, current: str, earlier: list[tuple]) -> pdp.Sources:
    """The Sources built in memory, as a caller of the pure build() writes them (paths bare, no disk)."""
    return pdp.Sources({"main.pdp": current}, versions=tuple(
        EarlierVersion(root / "versions" / directory, pdp.Sources({"main.pdp": header(name, version, effective)
                                                                   + "".join(rules)}))
        for directory, name, version, effective, rules in sorted(earlier)))


def summary(policy_set: pdp.PolicySet) -> list[tuple]:
    """What a PolicySet's history is: each version's identity, place, rules, and the decisions it gives."""
    versions = [(v.name, v.version, v.effective, v.digest, str(v.directory), [r.id for r in v.rules])
                for v in policy_set.history]
    decisions = []
    for request in REQUESTS:
        try:
            decisions.append(policy_set.select(request).decide().to_dict() | {"decision_id": None})
        except pdp.RequestError as error:
            decisions.append(error.errors)
    return versions + decisions


def built_and_loaded(current: str, earlier: list[tuple]) -> tuple[object, object]:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        written(root, current, earlier)
        results = []
        for make in (lambda: pdp.build(sources_of(root, current, earlier), directory=root), lambda: pdp.load(root)):
            try:
                results.append(summary(make()))
            except pdp.PolicyError as error:
                results.append(str(error))
        return results[0], results[1]


def test_build_of_sources_with_versions_is_load_of_the_directory():
    current = header("cx", "v3", "2026-01-01") + RULES[0]
    earlier = [("2025-01-01", "cx", "v1", "2025-01-01", list(RULES[:2])), ("b", "cx", "v2", "2025-06-01", [RULES[2]])]
    built, loaded = built_and_loaded(current, earlier)
    assert built == loaded
    assert [v[1] for v in built[:3]] == ["v1", "v2", "v3"]  # the history, oldest first
    assert built[4]["policy"]["version"] == "v2"  # collected on 2025-06-30: v2 was in force (from 2025-06-01)


def test_build_refuses_inconsistent_versions_as_load_does():
    current = header("cx", "v3", "2026-01-01") + RULES[0]
    built, loaded = built_and_loaded(current, [("a", "other", "v3", None, [RULES[0]])])
    assert built == loaded
    assert "is not a version of `cx`" in built and "has no effective date" in built and "appears twice" in built


def test_an_empty_versions_directory_still_asks_for_an_effective_date():
    built, loaded = built_and_loaded(header("cx", "v3", None) + RULES[0], [])
    assert built == loaded and "version `v3` has no effective date" in built


@settings(fewer(5), suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from([None, "2025-01-01", "2026-01-01"]), versions_of_a_set)
def test_build_and_load_agree_on_every_history(effective, earlier):
    built, loaded = built_and_loaded(header("cx", "v3", effective) + RULES[0] + RULES[2], earlier)
    assert built == loaded
