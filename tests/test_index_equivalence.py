"""The rule index only narrows the candidates: with it on or off, every
decision is the same (OPA's and Cedar's discipline for optimisations)."""

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import pdp
from pdp.engine.compiler import RuleIndex, RuleScan
from tests.support.generate import defined, fewer, generated_rules, named_conditions, uses, with_obligations
from tests.support.sets import build_set

ACTIONS = ["collect", "use", "share", "transfer", "erase"]
PURPOSES = ["essential", "essential.service", "essential.service.payment_processing", "marketing",
            "marketing.communications.email", "marketing.advertising.third_party", "analytics.reporting", "sales"]
CATEGORIES = ["user", "user.contact", "user.contact.email", "user.name", "user.location.precise",
              "user.device.cookie_id", "user.health_and_medical", "system.operations"]
CONDITIONS = [
    "data_subject.age < 18", "data_subject.age >= 18", "data_subject.consent.marketing == false",
    "data_subject.consent.cookies == true", "recipient.dpa == true", 'destination_country == "IN"',
    'recipient.type in ["service_provider", "affiliate"]', "data_subject.consent.location is present",
    "not recipient.dpa", 'destination_country != "IN" or recipient.dpa',
]


@st.composite
def obliging_rules(draw):
    """Generated rules, some allows with obligations: a broad request's candidates include those below it; some
    rules use named conditions."""
    names = draw(named_conditions(CONDITIONS))
    text = generated_rules(draw, ACTIONS, PURPOSES, CATEGORIES, CONDITIONS + uses(names), rules=12, items=1)
    return defined(with_obligations(draw, text, conditions=CONDITIONS), names)


requests = st.fixed_dictionaries(
    {
        "action": st.sampled_from(ACTIONS),
        "purpose": st.sampled_from(PURPOSES),
        "data_categories": st.lists(st.sampled_from(CATEGORIES), min_size=1, max_size=3),
    },
    optional={
        "data_subject": st.fixed_dictionaries({}, optional={
            "age": st.integers(0, 90),
            "consent": st.fixed_dictionaries({}, optional={t: st.booleans() for t in ("marketing", "cookies", "location")}),
        }),
        "recipient": st.fixed_dictionaries({}, optional={
            "dpa": st.booleans(), "type": st.sampled_from(["service_provider", "affiliate", "third_party"])}),
        "destination_country": st.sampled_from(["IN", "US", "DE"]),
    },
)


def _same(a, b, req):
    def outcome(policy_set):
        try:
            x = policy_set.outcome(req)
        except pdp.RequestError as error:  # e.g. an unlisted recipient described as a provider: refused alike
            return ("refused", str(error))
        return (x.decision, x.reasons, x.obligations, x.partial, x.advice)

    assert outcome(a) == outcome(b), req


@settings(fewer(2))
@given(text=obliging_rules(), batch=st.lists(requests, min_size=1, max_size=15))
def test_index_and_scan_decide_alike_on_generated_policies(text, batch):
    """Obligations too: those a broad request carries from the allows below it (Candidates.partial) included."""
    try:
        indexed = build_set(text)
    except pdp.PolicyError:
        return  # a generated rule that can never match is refused by the checker: nothing to compare
    scanned = build_set(text, index=False)
    assert indexed.indexed and not scanned.indexed
    for req in batch:
        _same(indexed, scanned, req)


@settings(fewer(2))
@given(text=obliging_rules())
def test_the_index_gives_the_candidates_the_scan_gives(text):
    """Rule by rule, for every action, purpose and category of the pools: denies, allows and partial allows."""
    try:
        rules = build_set(text).rules
    except pdp.PolicyError:
        return
    index, scan = RuleIndex(rules), RuleScan(rules)
    for action in ACTIONS:
        for purpose in PURPOSES:
            for category in CATEGORIES:
                assert index.candidates(action, purpose, category) == scan.candidates(action, purpose, category), \
                    (text, action, purpose, category)


POLICIES = Path(__file__).resolve().parents[1] / "policies"


@pytest.fixture(scope="module")
def cx_one_go(cx_one_go):  # the shared set, and one built without the index
    return cx_one_go, pdp.load(POLICIES, index=False)


@given(req=requests)
def test_index_and_scan_decide_alike_on_the_cx_one_go_set(cx_one_go, req):
    _same(*cx_one_go, req)
