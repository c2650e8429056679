"""One way in for every feature (§11): decide, explain, coverage, the test runner and the server all
take the version a request selects from `PolicySet.select`, so they never answer under different versions.

The set below keeps an earlier version under versions/ that decides promotional email differently:
under 2025-01-01 an adult's email may be used for marketing; under 2026-11-24 only with consent, and
never a minor's.
"""

import json
import textwrap

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import pdp
from pdp.cli import main
from pdp.testing.coverage import measure
from pdp.explain import changed, explain
from pdp.server import Settings, create_app
from pdp.testing import Case
from tests.support.sets import write_versioned

VOCABULARY = "consent_topics: [marketing]\n"
OLD = '''\
policy "cx" version "2025-01-01" effective 2025-01-01
allow analytics "Analytics" cite "§2.2" to use for analytics of user
allow marketing "Marketing to adults" cite "§2.5" to use for marketing of user.contact.email
  when data_subject.age >= 16
'''
NEW = '''\
policy "cx" version "2026-11-24" effective 2026-11-24
allow analytics "Analytics" cite "§2.2" to use for analytics of user
allow marketing "Marketing with consent" cite "§2.5" to use for marketing of user.contact.email
  when data_subject.consent.marketing == true
deny marketing.minors "Not for minors" cite "§10" to use for marketing
  when data_subject.age < 18
'''
EMAIL = {"action": "use", "purpose": "marketing.communications.email", "data_categories": ["user.contact.email"]}
OLD_DATA = {**EMAIL, "collected_at": "2025-06-30", "data_subject": {"age": 30}}  # allowed by 2025-01-01 only


def write_set(directory, current: str, older: str | None = None):
    return write_versioned(directory, current, {"2025-01-01": older} if older is not None else {}, VOCABULARY)


@pytest.fixture
def versioned(tmp_path):
    return write_set(tmp_path / "cx", NEW, OLD)


@pytest.fixture
def policy(versioned):
    return pdp.load(versioned)


def applying(explanation) -> list[str]:
    return [r.rule for r in explanation.rules if r.applies]


# ---------------------------------------------------------------- Python API


def test_explain_answers_under_the_version_that_decided(policy):
    decision = policy.decide(OLD_DATA)
    assert decision.decision == "allow" and decision.policy["version"] == "2025-01-01"
    e = explain(policy, OLD_DATA)
    assert (e.decision, e.reasons) == (decision.decision, decision.reasons)
    assert e.policy == decision.policy  # version 2025-01-01, basis: in force on 2025-06-30
    assert applying(e) == ["marketing"] and e.rules[0].location.endswith("versions/2025-01-01/main.pdp:3")
    assert "cx 2025-01-01, in force on 2025-06-30, when the data was collected" in e.render_text()


def test_explain_of_a_request_no_version_covers_says_so(policy):
    request = {**OLD_DATA, "collected_at": "2024-12-31"}
    e = explain(policy, request)
    assert e.decision == "deny" and [r.rule for r in e.reasons] == ["version.none_in_force"]
    assert e.rules == () and e.uncovered == ("user.contact.email",)
    assert e.policy == policy.decide(request).policy
    text = e.render_text()  # the version is the reason, not default deny, and no rule change would help
    assert "no version of `cx` was in force on 2024-12-31" in text
    assert "default deny" not in text and "would allow" not in text


def test_explain_suggests_changes_from_the_deciding_version_and_each_is_allowed(policy):
    minor = {**OLD_DATA, "data_subject": {"age": 15}}
    e = explain(policy, minor)
    assert e.decision == "deny" and e.policy["version"] == "2025-01-01"
    texts = [s.text for s in e.suggestions]
    assert "would be allowed if data_subject.age were 16" in texts  # the 2025 rule's boundary
    for suggestion in e.suggestions:
        assert policy.decide(changed(minor, suggestion.changes)).decision == "allow", suggestion.text


def test_coverage_credits_the_rules_of_the_version_that_decided(policy):
    cases = [Case(None, 1, "old data", "t", OLD_DATA, "allow"),
             Case(None, 2, "new data", "t", {**EMAIL, "data_subject": {"age": 30, "consent": {"marketing": True}}},
                  "allow")]
    report = measure(policy, cases)
    by_place = {(r.location.split("/")[-3] if "versions" in r.location else "current", r.rule): r
                for r in report.rules}
    assert len(report.rules) == 5  # both versions' rules are listed: 2 of 2025-01-01, 3 of 2026-11-24
    assert by_place["versions", "marketing"].applied == 1 and by_place["versions", "marketing"].about == 1
    assert by_place["current", "marketing"].applied == 1 and by_place["current", "marketing"].about == 1
    assert by_place["current", "marketing.minors"].about == 1 and by_place["current", "marketing.minors"].applied == 0
    assert by_place["versions", "analytics"].about == by_place["current", "analytics"].about == 0


# ---------------------------------------------------------------- the command line


def test_pdp_explain_matches_pdp_decide(versioned, tmp_path, capsys):
    request = tmp_path / "request.json"
    request.write_text(json.dumps(OLD_DATA))
    assert main(["decide", str(versioned), "-r", str(request)]) == 0
    decided = json.loads(capsys.readouterr().out)
    assert main(["explain", str(versioned), "-r", str(request), "--format", "json"]) == 0
    explained = json.loads(capsys.readouterr().out)
    assert explained["decision"] == decided["decision"] == "allow"
    assert explained["reasons"] == decided["reasons"]
    assert explained["policy"] == decided["policy"]
    assert [r["rule"] for r in explained["rules"] if r["applies"]] == ["marketing"]


def test_pdp_test_coverage_credits_the_old_version(versioned, capsys):
    (versioned / "tests").mkdir()
    (versioned / "tests" / "marketing.yaml").write_text(textwrap.dedent(f"""\
        suite: marketing under the terms the data was collected with
        cases:
          - name: an adult's email collected in 2025 may be used
            request: {json.dumps(OLD_DATA)}
            expect: allow
            rules: [marketing]
        """))
    assert main(["test", str(versioned), "--coverage", "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["coverage"]["cases"] == 1 and out["coverage"]["rules"]["applied"] == 1
    never = {(r["rule"], "versions/" in r["location"]) for r in out["coverage"]["rules"]["never_applied"]}
    assert ("marketing", True) not in never and ("marketing", False) in never


# ---------------------------------------------------------------- HTTP


def test_http_explain_matches_the_decision(versioned):
    with TestClient(create_app(Settings(policy_dir=versioned))) as client:
        body = client.post("/v1/decide", json={**OLD_DATA, "explain": True}).json()
    assert body["decision"] == body["explain"]["decision"] == "allow"
    assert body["explain"]["reasons"] == body["reasons"]
    assert body["explain"]["policy"] == body["policy"] and body["policy"]["version"] == "2025-01-01"
    assert [r["rule"] for r in body["explain"]["rules"] if r["applies"]] == ["marketing"]


class SwappingHolder:
    """A holder whose set is swapped by a reload after every read: the worst timing a reload can have."""

    def __init__(self, holder, other):
        self._holder, self._sets, self.reads = holder, (holder.current, other), 0

    @property
    def current(self):
        self.reads += 1
        return self._sets[(self.reads - 1) % 2]

    def __getattr__(self, name):
        return getattr(self._holder, name)


def test_http_decides_and_explains_with_one_snapshot_of_the_served_set(tmp_path):
    allows = write_set(tmp_path / "allows", OLD.replace("2025-01-01", "2026-11-24"))
    denies = pdp.load(write_set(tmp_path / "denies", NEW))
    request = {**EMAIL, "data_subject": {"age": 30}}
    with TestClient(create_app(Settings(policy_dir=allows))) as client:
        client.app.state.holder = SwappingHolder(client.app.state.holder, denies)
        body = client.post("/v1/decide", json={**request, "explain": True}).json()
    assert body["decision"] == body["explain"]["decision"]
    assert body["explain"]["policy"]["digest"] == body["policy"]["digest"]


# ---------------------------------------------------------------- any request, any version

DATES = ["2024-12-31", "2025-01-01", "2025-06-30", "2026-11-23", "2026-11-24", "2027-03-01"]
SUBJECT = st.fixed_dictionaries({}, optional={
    "age": st.sampled_from([10, 15, 16, 17, 18, 30]),
    "consent": st.fixed_dictionaries({}, optional={"marketing": st.booleans()}),
    "accepted_policy_version": st.sampled_from(["2025-01-01", "2026-11-24"]),
})
REQUESTS = st.fixed_dictionaries(
    {"action": st.sampled_from(["use", "share"]),
     "purpose": st.sampled_from(["marketing.communications.email", "marketing", "analytics.reporting"]),
     "data_categories": st.lists(st.sampled_from(["user.contact.email", "user.behavior"]), min_size=1, max_size=2,
                                 unique=True)},
    optional={"collected_at": st.sampled_from(DATES), "data_subject": SUBJECT})


@pytest.fixture(scope="module")
def module_dir(tmp_path_factory):
    return write_set(tmp_path_factory.mktemp("cx"), NEW, OLD)


@pytest.fixture(scope="module")
def module_policy(module_dir):
    return pdp.load(module_dir)


@pytest.fixture(scope="module")
def plain_policy(module_dir):
    return pdp.load(module_dir, index=False)  # every version without its rule index


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(request=REQUESTS)
def test_explain_always_agrees_with_decide(module_policy, plain_policy, request):
    decision = module_policy.decide(request)
    assert plain_policy.outcome(request) == module_policy.outcome(request)
    e = explain(module_policy, request, suggest=False)
    assert (e.decision, e.reasons, e.obligations, e.policy) == (
        decision.decision, decision.reasons, decision.obligations, decision.policy)
    # the rules explained are those of the version that decided
    version = module_policy.select(request).version
    assert {r.location for r in e.rules} <= {f"{r.source.span.file}:{r.source.span.line}"
                                             for r in (version.rules if version else ())}
    denied_by = {r.rule for r in decision.reasons if r.effect == "deny"} - {"default.deny", "version.none_in_force"}
    assert denied_by == {r.rule for r in e.rules if r.applies and r.effect == "deny"}
    assert (decision.decision == "allow") == (version is not None and not denied_by and not e.uncovered)
