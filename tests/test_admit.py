"""The request check's fast path (vocab/admit.py) only skips work: a request it admits is one the plain check
accepts, so every request it does not admit gets the plain check's answer (its errors, word for word), and every
request it admits is decided as the plain path decides it."""

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

import pdp
from pdp.vocab.admit import admission, admission_source
from pdp.vocab.request import DecisionRequest, check_request
from tests.support.generate import fewer
from tests.support.sets import CX_ONE_GO, VOCAB, build_set

BENCH = CX_ONE_GO.parent / "bench" / "policy"
# a set that declares context attributes of every type (`context.score: any`) and has a register
DECLARED = ('allow r0 cite "1" to use when context.note == "a"\n'
            'allow r1 cite "2" to use when context.legal_request\n',
            VOCAB + "  context.level: number\n  context.tags: list\n  context.home: country\n  data_subject.tier: string\n")


def _sets(index: bool) -> dict[str, pdp.PolicySet]:
    return {"cx-one-go": pdp.load(CX_ONE_GO, index=index), "bench": pdp.load(BENCH, index=index),
            "declared": build_set(DECLARED[0], vocabulary=DECLARED[1], index=index)}


SETS, PLAIN = _sets(True), _sets(False)

junk = st.one_of(st.none(), st.booleans(), st.integers(-5, 300), st.sampled_from([10**30, -0.0, 0.5, 200.0, 200.5]),
                 st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=4),
                 st.lists(st.one_of(st.text(max_size=3), st.integers(0, 3)), max_size=3),
                 st.dictionaries(st.text(max_size=3), st.booleans(), max_size=2))


def part(keys: dict):
    return st.fixed_dictionaries({}, optional=keys)


categories = st.sampled_from(["user", "user.contact.email", "user.name", "system.operations", "user.unknown_kind"])
# (each pool has one value the plain check refuses: a word no vocabulary knows, an age out of bounds ...)
good = st.fixed_dictionaries({
    "action": st.sampled_from(["use", "share", "transfer", "collect", "sell"]),
    "purpose": st.sampled_from(["essential", "marketing", "marketing.advertising", "analytics.reporting",
                                "essential.service", "nonsense"]),
    "data_categories": st.lists(categories, min_size=1, max_size=3),
}, optional={
    "data_subject": part({
        "id": st.sampled_from(["u1", "u2"]), "type": st.sampled_from(["customer", "employee", "alien"]),
        "age": st.one_of(st.integers(0, 90), st.floats(0, 200), st.sampled_from([-1, 200.5, 10**30])),
        "country": st.sampled_from(["IN", "US", "XX"]),
        "consent": st.dictionaries(st.sampled_from(["marketing", "cookies", "location", "telepathy"]),
                                   st.one_of(st.booleans(), st.none()), max_size=3),
        "tier": st.sampled_from(["gold", "silver"]), "accepted_policy_version": st.just("2")}),
    "recipient": part({
        "id": st.sampled_from(["acme", "unknown-co"]), "name": st.just("Acme"), "dpa": st.booleans(),
        "type": st.sampled_from(["service_provider", "affiliate", "third_party", "martian"]),
        "country": st.sampled_from(["IN", "SG"])}),
    "destination_country": st.sampled_from(["IN", "US", "ZZ"]),
    "requester": part({"id": st.just("svc")}),
    "context": part({
        "note": st.sampled_from(["a", "b", 3]), "legal_request": st.booleans(), "score": junk,
        "level": st.integers(0, 5), "tags": st.lists(st.text(max_size=2), max_size=2),
        "home": st.sampled_from(["IN", "SG", "XX"]), "identity_verified": st.booleans(), "retention_expired": st.booleans()}),
    "collected_at": st.none(),
})
# keys a request may misspell or invent, and values of the vocabulary no set knows
NAMES = ["agee", "tpye", "purpsoe", "whatever", "legal_requst", "team", "region", "nickname"]
UNKNOWN = ["sell", "us", "nonsense", "user.unknown_kind", "alien", "XX", "telepathy", "martian"]


@st.composite
def requests(draw):
    """A good request, or one with a few things changed: a value (junk, or a word no vocabulary knows) or an
    extra key, at the top or in a part."""
    req = draw(good)
    for _ in range(draw(st.integers(0, 2))):
        holders = [req] + [v for v in req.values() if isinstance(v, dict)]
        holder = draw(st.sampled_from(holders))
        key = draw(st.sampled_from(sorted(holder) + NAMES))
        holder[key] = draw(st.one_of(junk, st.sampled_from(UNKNOWN), st.lists(st.sampled_from(UNKNOWN), max_size=2)))
    return req


def _plain(policy_set, req):
    try:
        check_request(req, policy_set.vocabulary, policy_set.request_shape)
    except pdp.RequestError as error:
        return str(error)
    return None


@pytest.mark.parametrize("name", sorted(SETS))
@given(req=requests())
def test_a_request_admitted_fast_is_one_the_plain_check_accepts(name, req):
    policy_set = SETS[name]
    admit = admission(DecisionRequest, policy_set.vocabulary, policy_set.request_shape)
    assert admit is not None
    if admit(req):
        assert _plain(policy_set, req) is None, req


@pytest.mark.parametrize("name", sorted(SETS))
@fewer(2)
@given(req=requests())
def test_every_request_is_answered_as_the_plain_path_answers_it(name, req):
    """Errors word for word, and decisions, reasons and obligations (`index=False`: no fast path)."""
    fast, plain = SETS[name], PLAIN[name]

    def answer(policy_set):
        try:
            d = policy_set.decide(req)
        except pdp.RequestError as error:
            return str(error)
        return d.decision, d.reasons, d.obligations, d.policy

    assert answer(fast) == answer(plain), req


def test_the_usual_requests_are_admitted_fast():
    """Not vacuous: the benchmark's requests (every attribute the contract names) and the shipped examples."""
    from bench.workload import make_requests

    bench = SETS["bench"]
    assert all(bench._admit(r) for r in make_requests(200))
    assert bench._admit({"action": "use", "purpose": "essential", "data_categories": ["user"]})


@pytest.mark.parametrize("bad", [
    {"action": "use", "purpose": "essential", "data_categories": []},
    {"action": "use", "purpose": "essential", "data_categories": ["user"], "data_subject": {"age": True}},
    {"action": "use", "purpose": "essential", "data_categories": ["user"], "data_subject": {"age": math.nan}},
    {"action": "use", "purpose": "essential", "data_categories": ["user"], "data_subject": {"age": -1}},
    {"action": "use", "purpose": "essential", "data_categories": ["user"], "data_subject": {"age": 200.5}},
    {"action": "use", "purpose": "essential", "data_categories": ["user", "user.unknown_kind"]},
    {"action": "use", "purpose": "essential", "data_categories": ["user"], "destination_country": "XX"},
    {"action": "use", "purpose": "essential", "data_categories": ["user"], "data_subject": {"agee": 3}},
    {"action": "use", "purpose": "essential", "data_categories": ("user",)},
    {"action": "use", "purpose": None, "data_categories": ["user"]},
    {"action": "use", "purpose": "essential", "data_categories": ["user"], "context": {"score": 1}},
    {"action": "use", "purpose": "essential", "data_categories": ["user"], **{f"k{i}": 1 for i in range(300)}},
])
def test_what_the_fast_path_does_not_admit(bad):
    bench = SETS["bench"]
    assert not bench._admit(bad)


def test_the_fast_check_is_written_from_the_model():
    source, names = admission_source(DecisionRequest, SETS["bench"].vocabulary, SETS["bench"].request_shape)
    assert source.startswith("def admit(r):") and "r.get('data_categories')" in source


def test_a_set_with_attributes_declared_deeper_has_no_fast_path():
    deep = build_set('allow r0 cite "1" to use when context.a.b == 1\n',
                     vocabulary="attributes:\n  context.a.b: number\n")
    assert deep.request_shape.deep and deep._admit is None
    assert deep.decide({"action": "use", "purpose": "essential", "data_categories": ["user"],
                        "context": {"a": {"b": 1}}}).decision == "allow"
