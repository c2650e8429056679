"""The decision space: classes of keys and values, and its discipline: every request falls in a class
that gets the engine's own decision (the space is an optimisation of "decide every request")."""

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import pdp
from pdp.analysis.space import Space, SpaceTooLarge, key_classes, key_labels
from tests.support.generate import fewer, ill_typed
from tests.support.sets import build_set, request
from tests.support.space import (DATA, REFUSED, VOCAB, assert_agrees, engine_verdict, every_request,
                                 generated_requests, policies, same, verdict_of)

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def cx(cx_one_go):
    return cx_one_go


@pytest.fixture(scope="module")
def cx_space(cx):
    space = Space([cx])
    space.enumerate()
    return space


# ---------------------------------------------------------------- classes of keys


def test_keys_fall_in_classes_by_the_named_keys_that_cover_them_or_lie_below_them():
    universe = ["marketing", "marketing.communications", "marketing.communications.email",
                "marketing.communications.sms", "essential", "essential.service"]
    classes = key_classes("purpose", universe, {"marketing", "marketing.communications.email"}, set())
    by_rep = {c.rep: c for c in classes}
    assert set(by_rep) == {"marketing", "marketing.communications.sms", "marketing.communications.email", "essential"}
    # a request for `marketing` (or `marketing.communications`) names the email purpose too: a class apart
    assert by_rep["marketing"].members == ("marketing", "marketing.communications")
    assert by_rep["marketing"].broad == ("marketing.communications.email",)
    assert by_rep["marketing"].label == "marketing or marketing.communications"
    assert by_rep["marketing.communications.sms"].members == ("marketing.communications.sms",)
    assert by_rep["marketing.communications.sms"].label == (
        "marketing.* (other than marketing, marketing.communications, marketing.communications.email)")
    assert by_rep["marketing.communications.email"].label == "marketing.communications.email"
    assert by_rep["essential"].anchor is None
    assert by_rep["essential"].label == "purposes no rule names (e.g. essential)"


def test_an_exact_key_is_a_class_of_its_own():
    classes = key_classes("purpose", ["marketing", "marketing.promotions"], {"marketing"}, {"marketing"})
    assert sorted(c.members for c in classes) == [("marketing",), ("marketing.promotions",)]


def test_classes_are_named_by_whole_subtrees(cx_space):
    contact = [c for c in cx_space.categories if c.members[0].startswith("user.contact")]
    assert key_labels(contact, cx_space.categories) == ["user.contact.*"]
    everything_but_children = [c for c in cx_space.categories if "user.childrens" not in c.members]
    assert key_labels(everything_but_children, cx_space.categories) == ["any category other than user.childrens"]
    assert key_labels(cx_space.actions, cx_space.actions) == ["any action"]


# ---------------------------------------------------------------- representative values


def test_numbers_get_a_value_below_at_between_and_above_the_boundaries():
    ps = build_set("deny d when data_subject.age < 18\nallow a when data_subject.age >= 65\n")
    age = Space([ps]).domains[("data_subject", "age")]
    assert [c.label for c in age.classes] == ["is absent", "< 18", ">= 18 and < 65", ">= 65"]
    assert [c.rep for c in age.classes[1:]] == [17, 18, 65]
    assert age.describe({0, 1}) == "data_subject.age is absent or < 18"
    assert age.describe({2, 3}) == "data_subject.age >= 18"
    assert age.classify(64.5) == 2 and age.classify(200) == 3 and age.classify(None) == 0


def test_countries_are_partitioned_exactly_by_the_tests():
    ps = build_set('allow a to transfer when destination_country in data.lists.countries\n'
                   'deny d to transfer when destination_country == "IN"\n', vocabulary=VOCAB, data=DATA)
    country = Space([ps]).domains[("destination_country",)]
    assert [c.label for c in country.classes] == ["is absent", 'not in ["IN", "SG"]', '== "IN"', '== "SG"']
    assert country.classes[1].rep == "US"  # a real country, none of those named
    assert country.describe({1, 3}) == 'destination_country != "IN"'


def test_registered_ids_are_grouped_by_what_their_record_decides(cx_space):
    ident = cx_space.domains[("recipient", "id")]
    labels = [c.label for c in ident.classes]
    assert labels[0] == "is absent"
    assert 'in ["quicksurvey"]' in labels  # the one provider without a DPA is a class of its own
    assert any("payments-co" in label and "securaudit" in label for label in labels)
    assert labels[-1] == "is an id data.processors or data.affiliates does not list"


def test_the_registers_values_override_the_requests(cx, cx_space):
    node = cx_space.nodes[cx_space._node_of[("recipient", "type")]]
    at = [d.path for d in node.domains].index(("recipient", "id"))
    register = cx.lookups[0].register
    registered = [i for i, choice in enumerate(node.choices) if node.domains[at].classes[choice[at]].rep in register]
    # a registered id fixes type and dpa: one choice per kind of record, not one per type x dpa
    assert 0 < len(registered) <= 4 and all(node.free[i] for i in registered)
    # the id classes no register lists (absent, an unlisted id) vary the type the request may state, never
    # the dpa (only a register says it), nor a type only a register grants
    ident = cx_space.domains[("recipient", "id")]
    unregistered = [c for c in ident.classes if c.rep not in register]
    assert len(node.choices) <= len(unregistered) * 6 + len(registered)
    dpa = [d.path for d in node.domains].index(("recipient", "dpa"))
    type_ = [d.path for d in node.domains].index(("recipient", "type"))
    for i, choice in enumerate(node.choices):
        if i not in registered:
            assert choice[dpa] == 0 and dpa in node.free[i]
            assert node.domains[type_].classes[choice[type_]].rep not in ("service_provider", "affiliate")


# ---------------------------------------------------------------- cost


def test_the_cx_one_go_space_is_enumerated_with_bounded_work(cx):
    """Work is counted, not timed (timings are in bench/)."""
    space = Space([cx])
    space.enumerate()
    stats = space.stats
    assert stats.cells == stats.examined > 1000
    assert stats.groups < stats.cells / 10  # cells covered by the same rules are decided once
    assert stats.represented > 10**8  # the naive product: what "all requests" would cost
    assert stats.enumerated < 50_000  # what the decomposition into independent attributes costs
    assert not space.notes  # CX-ONE-GO compares attributes with constants only: the space is exact


# ---------------------------------------------------------------- the space against the engine


def test_every_request_of_a_small_space_gets_the_engines_decision():
    ps = build_set('''
        lookup recipient in data.reg
        allow share to share for essential of user.contact when recipient.type == "service_provider" and recipient.dpa
        deny no_dpa to share when recipient.dpa == false
        deny minors when data_subject.age < 18 unless data_subject.consent.marketing == true
        allow use to use for essential.service, marketing
        deny opt_out for marketing when data_subject.consent.marketing == false
        deny far to transfer when destination_country not in data.lists.countries or recipient.dpa != true
        allow home to transfer when destination_country == "IN"
    ''', vocabulary=VOCAB, data=DATA)
    space = Space([ps])
    count = 0
    for group in space.groups:
        for req in every_request(space, group):
            count += 1
            assert same(space.predict(0, req), ps.outcome(req)), req
    assert count == space.stats.represented > 1000


def test_random_cx_one_go_requests_fall_in_classes_with_the_engines_decision(cx, cx_space):
    import random

    rnd = random.Random(7)
    vocabulary = cx.vocabulary
    actions, purposes, categories = sorted(vocabulary.actions), sorted(vocabulary.purposes), sorted(vocabulary.categories)
    for _ in range(3000):
        req = request(action=rnd.choice(actions), purpose=rnd.choice(purposes), data_categories=[rnd.choice(categories)])
        if rnd.random() < 0.6:
            req["data_subject"] = {"age": rnd.choice([5, 17, 17.9, 18, 40]),
                                   "consent": {t: rnd.choice([True, False]) for t in ("marketing", "cookies", "location")
                                               if rnd.random() < 0.5}}
        if rnd.random() < 0.6:
            req["recipient"] = {k: v for k, v in (("type", rnd.choice(["service_provider", "affiliate", "acquirer",
                                                                        "advertising_partner", "other_user"])),
                                                  ("dpa", rnd.choice([True, False])),
                                                  ("id", rnd.choice(["quicksurvey", "payments-co", "nobody"])))
                                if rnd.random() < 0.5}
        if rnd.random() < 0.5:
            req["destination_country"] = rnd.choice(["IN", "SG", "US", "FR"])
        req["context"] = {name: rnd.choice([True, False]) for name in (
            "legal_request", "user_initiated", "linked_account", "from_other_source", "identity_verified",
            "processing_restricted", "objection_upheld", "breach_notification", "retention_expired",
            "consented_to_current_version") if rnd.random() < 0.2}
        if rnd.random() < 0.3:
            req["context"]["policy_version_at_collection"] = rnd.choice(["2026-11-24", "2025-01-01"])
        try:
            decided = cx.outcome(req)
        except pdp.RequestError:  # an unlisted recipient described as a provider or an affiliate
            continue
        assert same(cx_space.predict(0, req), decided), req




@settings(fewer(5), suppress_health_check=[HealthCheck.too_slow])
@given(text=policies(), batch=st.lists(generated_requests, min_size=1, max_size=10))
def test_generated_policies_the_space_predicts_the_engine(text, batch):
    try:
        ps = build_set(text, vocabulary=VOCAB, data=DATA)
    except pdp.PolicyError:
        return
    space = Space([ps], limit=20_000)  # one rule reading ten attributes is a product the space cannot split
    for req in batch:  # refusals too: a request the engine refuses is one the space decides nothing for
        verdict = engine_verdict(ps, req)
        try:
            predicted = space.predict(0, req)
        except SpaceTooLarge:
            return
        assert_agrees(None if predicted is None else verdict_of(predicted), [verdict], 0, ill_typed(space, req),
                      (text, req))
        if predicted is not None and verdict[0] != REFUSED:
            assert same(predicted, ps.outcome(req)), (text, req)  # the reasons in the engine's order too


# ---------------------------------------------------------------- descriptions


def test_sets_of_requests_are_described_as_conditions(cx_space):
    n = cx_space._node_of[("data_subject", "consent", "marketing")]
    assert cx_space.describe((n,), [(0,), (1,)]) == ["data_subject.consent.marketing is absent or true"]
    assert cx_space.describe((n,), [(0,), (1,), (2,)]) == [""]
    age = cx_space._node_of[("data_subject", "age")]
    described = cx_space.describe((n, age), [(2, 1), (0, 1), (0, 2)])
    assert sorted(described) == ["data_subject.consent.marketing is absent and data_subject.age is present",
                                 "data_subject.consent.marketing is false and data_subject.age < 18"]


def test_two_versions_span_one_space():
    old = build_set("allow a to use for marketing when data_subject.age >= 18\n")
    new = build_set("allow a to use for marketing.communications when data_subject.age >= 21\n")
    space = Space([old, new])
    assert [c.label for c in space.domains[("data_subject", "age")].classes] == \
        ["is absent", "< 18", ">= 18 and < 21", ">= 21"]
    assert {c.anchor for c in space.purposes} >= {"marketing", "marketing.communications"}
