"""A request that names a key names everything below it (issue 8, finding 1).

A deny whose purposes and categories overlap the request's takes part; an
allow must cover the requested key whole. One semantics for the engine (index
and plain scan), explain, coverage, the decision space (check's analysis,
query, diff); the property tests at the end hold it for generated policies.
"""

import itertools
import textwrap
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import pdp
from pdp.engine.conditions import EvaluationError
from pdp.testing.coverage import measure
from pdp.analysis.diff import diff
from pdp.explain import explain
from pdp.analysis.query import Question, ask
from pdp.analysis.space import Space, SpaceTooLarge
from pdp.engine.duties import situational
from pdp.testing import Case
from tests.support.generate import (CONDITIONS, LISTS, KEY_CONDITIONS, KEY_DATA, drop_none, fewer, generated_rules, ill_typed,
                                    with_obligations)
from tests.support.sets import HEADER, VOCAB, build_set, request

HEALTH = '''
allow ops "Run the Service" cite "§1"
  to collect, use, transfer
  for essential
  of user
deny health.no_consent "Health data only with consent" cite "§2"
  of user.health_and_medical
  when data_subject.consent.health is absent or data_subject.consent.health == false
'''
HEALTH_VOCAB = VOCAB.replace("consent_topics: [marketing, cookies, location]",
                             "consent_topics: [marketing, cookies, location, health]")


def both(rules: str, vocabulary: str = VOCAB):
    """The policy set with the rule index and without it (the plain scan)."""
    return build_set(rules, vocabulary), build_set(rules, vocabulary, index=False)


@pytest.mark.parametrize("indexed", [True, False], ids=["index", "scan"])
def test_a_broad_category_does_not_escape_a_narrow_deny(indexed):
    """The issue's request: `user` was allowed while `user.health_and_medical` was denied."""
    ps = both(HEALTH, HEALTH_VOCAB)[0 if indexed else 1]
    broad = request(action="transfer", purpose="essential.service", data_categories=["user"],
                    data_subject={"consent": {"health": False}})
    d = ps.decide(broad)
    assert d.decision == "deny" and [r.rule for r in d.reasons] == ["health.no_consent"]
    assert ps.decide({**broad, "data_categories": ["user.health_and_medical"]}).decision == "deny"
    # the deny still needs its condition: with consent, and for keys beside health, the allow decides
    assert ps.decide({**broad, "data_subject": {"consent": {"health": True}}}).decision == "allow"
    assert ps.decide({**broad, "data_categories": ["user.contact"]}).decision == "allow"
    # a key below the deny's is inside it, as before
    assert ps.decide({**broad, "data_categories": ["user.health_and_medical.genetic"]}).decision == "deny"


@pytest.mark.parametrize("indexed", [True, False], ids=["index", "scan"])
def test_a_broad_purpose_does_not_escape_a_narrow_deny(indexed):
    rules = '''
        allow mail cite "§1" to use for marketing of user.contact
        deny ads cite "§2" for marketing.advertising.third_party
    '''
    ps = both(rules)[0 if indexed else 1]
    broad = request(purpose="marketing", data_categories=["user.contact.email"])
    d = ps.decide(broad)
    assert d.decision == "deny" and [r.rule for r in d.reasons] == ["ads"]
    assert ps.decide({**broad, "purpose": "marketing.advertising"}).decision == "deny"
    assert ps.decide({**broad, "purpose": "marketing.communications"}).decision == "allow"


@pytest.mark.parametrize("indexed", [True, False], ids=["index", "scan"])
def test_an_allow_on_part_of_a_broad_key_does_not_allow_it(indexed):
    rules = '''
        allow contact cite "§1" to use for essential of user.contact
        allow billing cite "§2" to use for essential.service.payment_processing of user
    '''
    ps = both(rules)[0 if indexed else 1]
    d = ps.decide(request(purpose="essential.service", data_categories=["user"]))
    assert d.decision == "deny" and d.reasons[0].rule == "default.deny" and d.reasons[0].categories == ("user",)
    # `billing` covers `user` for payment processing only: not for all of `essential.service`
    assert ps.decide(request(purpose="essential.service", data_categories=["user.contact"])).decision == "allow"
    assert ps.decide(request(purpose="essential.service.payment_processing",
                             data_categories=["user"])).decision == "allow"


CONDITIONED = '''
allow mail cite "§1" to use for marketing of user.contact
deny ads cite "§2" when purpose under "marketing.advertising.third_party"
deny minors cite "§3" when data_subject.age < 18 unless purpose under "marketing.communications"
allow billing cite "§4" to use for essential of user.contact unless purpose under "essential.service.payment_processing"
'''


@pytest.mark.parametrize("indexed", [True, False], ids=["index", "scan"])
def test_a_broad_purpose_does_not_escape_a_deny_that_tests_a_narrower_one_in_a_condition(indexed):
    """`purpose under` in a deny's `when` reads some of a broad purpose; in its `unless`, all of it."""
    ps = both(CONDITIONED)[0 if indexed else 1]
    broad = request(purpose="marketing", data_categories=["user.contact.email"])
    assert [r.rule for r in ps.decide(broad).reasons] == ["ads"]
    assert ps.decide({**broad, "purpose": "marketing.communications.email"}).decision == "allow"
    # the exception of `minors` covers only part of `marketing`: it does not lift the deny for all of it
    child = {**broad, "purpose": "marketing.communications", "data_subject": {"age": 16}}
    assert ps.decide(child).decision == "allow"
    assert "minors" in [r.rule for r in ps.decide({**child, "purpose": "marketing"}).reasons]
    # an allow's `unless` that holds for part of the purpose keeps it from allowing the whole
    assert ps.decide(request(purpose="essential.service.operations")).decision == "allow"
    assert ps.decide(request(purpose="essential.service")).decision == "deny"  # it includes payment processing
    explained = explain(ps, broad, suggest=False)
    assert {r.rule for r in explained.rules if r.applies} == {"ads", "mail"}
    space = Space([ps])
    for purpose in ("marketing", "marketing.communications", "marketing.advertising", "essential",
                    "essential.service", "essential.service.operations", "essential.service.payment_processing"):
        for age in (16, 30):
            req = request(purpose=purpose, data_subject={"age": age})
            assert space.predict(0, req).decision == ps.outcome(req).decision, req


def test_explain_says_what_the_engine_decides_about_a_broad_request():
    ps = build_set(HEALTH + '''
allow contact.only cite "§3" to use for essential of user.contact
''', HEALTH_VOCAB)
    req = request(purpose="essential.service", data_categories=["user"], data_subject={"consent": {}})
    e = explain(ps, req, suggest=False)
    assert e.decision == "deny"
    by_id = {r.rule: r for r in e.rules}
    assert by_id["health.no_consent"].applies and by_id["health.no_consent"].categories == ("user",)
    unrelated = {u.rule: u for u in e.unrelated}
    assert unrelated["contact.only"].why == "about only part of user (of user.contact)"
    text = e.render_text()
    assert "health.no_consent (§2, p.pdp:7): applies" in text
    assert "about only part of user: contact.only" in text


def test_coverage_counts_a_broad_request_for_the_narrow_deny():
    ps = build_set(HEALTH, HEALTH_VOCAB)
    req = request(purpose="essential.service", data_categories=["user"], data_subject={"consent": {}})
    report = measure(ps, [Case(Path("t.yaml"), 1, "broad", "s", req, "deny")])
    by_id = {r.rule: r for r in report.rules}
    assert (by_id["health.no_consent"].about, by_id["health.no_consent"].applied) == (1, 1)


def test_the_decision_space_holds_broad_requests_and_predicts_them():
    ps = build_set(HEALTH, HEALTH_VOCAB)
    space = Space([ps])
    user = next(c for c in space.categories if "user" in c.members)
    assert user.members == ("user",) and user.broad == ("user.health_and_medical",)
    for consent in ({}, {"health": True}, {"health": False}):
        for category in ("user", "user.contact", "user.health_and_medical", "system"):
            req = request(purpose="essential.service", data_categories=[category],
                          data_subject={"consent": consent})
            assert space.predict(0, req).decision == ps.outcome(req).decision, req


def test_query_and_diff_see_the_broad_request():
    old = build_set(HEALTH.split("deny")[0], HEALTH_VOCAB)
    new = build_set(HEALTH, HEALTH_VOCAB)
    report = diff(old, new)
    changed = {c for change in report.changes for case in change.cases for c in case.categories}
    assert "user" in changed and "user.health_and_medical.*" in changed
    assert not any(c.startswith("user.contact") for c in changed)
    # "is a request for all user data ever allowed without health consent?" no: the health deny reaches it
    where = ("data_subject.consent.health != true",)
    sources = pdp.Sources({"p.pdp": HEADER + textwrap.dedent(HEALTH)}, ("vocabulary.yaml", HEALTH_VOCAB), {})
    answer = ask(new, Question("allow", (), (), ("user",), where), sources)
    assert answer.yes and answer.request["data_categories"] != ["user"]
    assert new.outcome({**answer.request, "data_categories": ["user"]}).decision == "deny"


# ---------------------------------------------------------------- ==, !=, in, not in and tests of data_categories

def _decisions(ps, req) -> tuple:
    """The engine's decision and rules, checked against explain's and the decision space's (one category)."""
    got = ps.outcome(req)
    e = explain(ps, req, suggest=False)
    assert (e.decision, e.reasons) == (got.decision, got.reasons), req
    if len(req["data_categories"]) == 1:
        assert Space([ps]).predict(0, req).decision == got.decision, req
    return got.decision, tuple(r.rule for r in got.reasons)


@pytest.mark.parametrize("indexed", [True, False], ids=["index", "scan"])
def test_a_broad_purpose_does_not_escape_a_deny_when_purpose_equals_a_narrower_one(indexed):
    """The issue's remaining hole: `when purpose == K` compared the keys exactly."""
    ps = both('''
        allow mail cite "§1" to use for marketing of user.contact
        deny ads cite "§2" when purpose == "marketing.advertising"
        deny listed cite "§3" when purpose in ["marketing.advertising.third_party", "essential.service.payment_processing"]
    ''')[0 if indexed else 1]
    # `==` names one key: a key below it is not it (that is `under`)
    assert _decisions(ps, request(purpose="marketing.advertising.first_party")) == ("allow", ("mail",))
    assert _decisions(ps, request(purpose="marketing.advertising")) == ("deny", ("ads", "listed"))  # it names both
    assert _decisions(ps, request(purpose="marketing")) == ("deny", ("ads", "listed"))
    assert _decisions(ps, request(purpose="marketing.communications")) == ("allow", ("mail",))
    assert _decisions(ps, request(purpose="essential.service"))[1] == ("listed",)


@pytest.mark.parametrize("indexed", [True, False], ids=["index", "scan"])
def test_an_allow_unless_purpose_equals_a_narrower_one_does_not_allow_the_broad_purpose(indexed):
    ps = both('''
        allow ops cite "§1" to use for essential of user.contact unless purpose == "essential.service.payment_processing"
        allow mail cite "§2" to use for marketing of user.contact
          unless purpose not in ["marketing.communications", "marketing.communications.email"]
    ''')[0 if indexed else 1]
    assert _decisions(ps, request(purpose="essential.service.operations")) == ("allow", ("ops",))
    assert _decisions(ps, request(purpose="essential.service"))[0] == "deny"  # it includes payment processing
    assert _decisions(ps, request(purpose="marketing.communications.email")) == ("allow", ("mail",))
    assert _decisions(ps, request(purpose="marketing.communications"))[0] == "deny"  # it includes .sms
    assert _decisions(ps, request(purpose="marketing"))[0] == "deny"


@pytest.mark.parametrize("indexed", [True, False], ids=["index", "scan"])
def test_a_deny_unless_purpose_equals_a_key_lifts_only_for_a_request_that_names_that_key_alone(indexed):
    """On the ALL side `purpose == K` needs the request to name K and nothing below it: read exactly, a request
    for `marketing` escaped a deny that refuses `marketing.advertising`, which it includes."""
    ps = both('''
        allow mail cite "§1" to use for marketing of user.contact
        deny only cite "§2" for marketing unless purpose == "marketing"
        deny email cite "§3" for marketing.communications unless purpose != "marketing.communications.email"
    ''')[0 if indexed else 1]
    assert _decisions(ps, request(purpose="marketing.advertising")) == ("deny", ("only",))
    assert _decisions(ps, request(purpose="marketing")) == ("deny", ("only", "email"))
    # an allow `when purpose == K` does not allow a request for all that lies below K either
    ps = both('''
        allow exact cite "§1" to use when purpose == "marketing.communications"
        allow leaf cite "§2" to use
          when purpose in ["marketing.communications.email", "essential.service.payment_processing"]
    ''')[0 if indexed else 1]
    assert _decisions(ps, request(purpose="marketing.communications"))[0] == "deny"
    assert _decisions(ps, request(purpose="marketing.communications.email")) == ("allow", ("leaf",))


@pytest.mark.parametrize("indexed", [True, False], ids=["index", "scan"])
def test_a_broad_category_does_not_escape_a_test_of_data_categories(indexed):
    ps = both('''
        allow ops cite "§1" to use for essential of user
        deny health cite "§2" when "user.health_and_medical" in data_categories
        deny names cite "§3" when "user.name.first" under data_categories and data_subject.age < 18
    ''')[0 if indexed else 1]
    assert _decisions(ps, request(data_categories=["user.health_and_medical"]))[1] == ("health",)
    assert _decisions(ps, request(data_categories=["user"]))[1] == ("health",)
    assert _decisions(ps, request(data_categories=["user.contact"])) == ("allow", ("ops",))
    assert _decisions(ps, request(data_categories=["user.name"], data_subject={"age": 12}))[1] == ("names",)
    ps = both('''
        allow no_health cite "§1" to use for essential of user when "user.health_and_medical" not in data_categories
        allow just_email cite "§2" to use for essential of user when data_categories == ["user.contact.email"]
    ''')[0 if indexed else 1]
    assert _decisions(ps, request(data_categories=["user.contact"])) == ("allow", ("no_health",))
    assert _decisions(ps, request(data_categories=["user"]))[0] == "deny"  # it includes the health data
    # `in` asks for the key itself, as `==` does: a key below it is not it (`of` reaches those)
    assert _decisions(ps, request(data_categories=["user.health_and_medical.genetic"])) == ("allow", ("no_health",))
    ps = both('''
        allow ops cite "§1" to use for essential of user
        deny unlisted cite "§2" of user unless "user.contact.email" in data_categories
    ''')[0 if indexed else 1]
    assert _decisions(ps, request(data_categories=["user.contact.email"])) == ("allow", ("ops",))
    assert _decisions(ps, request(data_categories=["user.contact"]))[1] == ("unlisted",)  # not only the email


def test_a_test_of_the_purpose_against_an_attribute_reads_the_broad_key_alike():
    ps = build_set('''
        allow mail cite "§1" to use for marketing of user.contact
        deny named cite "§2" when purpose == context.note
    ''')
    for note, decision in (("marketing.advertising", "deny"), ("marketing", "deny"), ("essential", "allow")):
        req = request(purpose="marketing", context={"note": note})
        assert ps.outcome(req).decision == decision, note
        assert explain(ps, req, suggest=False).decision == decision, note


def test_the_workbench_compares_keys_as_given():
    """`pdp query --where 'purpose == "marketing"'` describes requests: it is read exactly, not on a side."""
    sources = pdp.Sources({"p.pdp": HEADER + 'allow all cite "§1" to use for marketing of user\n'},
                          ("vocabulary.yaml", VOCAB), {})
    ps = pdp.build(sources)
    for purpose in ("marketing", "marketing.advertising"):
        answer = ask(ps, Question("allow", (), (), (), (f'purpose == "{purpose}"',)), sources)
        assert answer.yes and answer.request["purpose"] == purpose


# ---------------------------------------------------------------- properties, for generated policies and requests

ACTIONS = ["collect", "use", "share"]
PURPOSES = ["essential", "essential.service", "essential.service.payment_processing", "marketing",
            "marketing.advertising", "marketing.advertising.third_party", "marketing.communications.email"]
CATEGORIES = ["user", "user.contact", "user.contact.email", "user.health_and_medical", "user.name",
              "user.device.cookie_id", "system"]
DATA = {"lists": LISTS}


@st.composite
def policies(draw):
    return generated_rules(draw, ACTIONS, PURPOSES, CATEGORIES, CONDITIONS)


maybe = st.one_of(st.none(), st.booleans())
requests = st.builds(
    lambda action, purpose, categories, age, marketing, dpa, rtype, country, score, note: drop_none(request(
        action=action, purpose=purpose, data_categories=categories,
        data_subject={"age": age, "consent": {"marketing": marketing}}, recipient={"dpa": dpa, "type": rtype},
        destination_country=country, context={"score": score, "note": note})),
    st.sampled_from(ACTIONS), st.sampled_from(PURPOSES), st.lists(st.sampled_from(CATEGORIES), min_size=1, max_size=2),
    st.one_of(st.none(), st.integers(15, 20)), maybe, maybe,
    st.sampled_from([None, "service_provider", "affiliate", "third_party"]), st.sampled_from([None, "IN", "US", "SG"]),
    st.one_of(st.none(), st.integers(0, 4)), st.sampled_from([None, "a", "a.b", "x"]))


def _build(text: str, index: bool = True):
    """The generated policy set, or None when the checker refuses it (a rule that can never match)."""
    try:
        return build_set(text, VOCAB, DATA, index=index)
    except pdp.PolicyError:
        return None


def _below(vocabulary: frozenset[str], key: str) -> set[str]:
    """What a key names: itself and every key of the vocabulary under it (spelled out, not taxonomy.py's)."""
    return {k for k in vocabulary if k == key or k[: len(key) + 1] == key + "."}


def _overlaps(rule_keys, key: str, vocabulary) -> bool:
    return rule_keys is None or any(_below(vocabulary, r) & _below(vocabulary, key) for r in rule_keys)


def _covers(rule_keys, key: str, vocabulary) -> bool:
    return rule_keys is None or any(_below(vocabulary, key) <= _below(vocabulary, r) for r in rule_keys)


@settings(fewer(2), suppress_health_check=[HealthCheck.too_slow])
@given(text=policies(), req=requests)
def test_a_deny_that_overlaps_the_request_and_holds_always_denies(text, req):
    ps = _build(text)
    if ps is None:
        return
    outcome = ps.outcome(req)
    voc = ps.vocabulary
    for rule in ps.rules:
        if rule.effect != "deny" or (rule.actions is not None and req["action"] not in rule.actions):
            continue
        if not (_overlaps(rule.purposes, req["purpose"], voc.purposes)
                and any(_overlaps(rule.categories, c, voc.categories) for c in req["data_categories"])):
            continue
        try:
            holds = rule.applies(req)
        except EvaluationError:
            holds = True  # a rule that cannot be evaluated fails closed: a deny all the same
        if holds:
            assert outcome.decision == "deny", (text, req)
            assert rule.id in {r.rule for r in outcome.reasons}, (text, req)


@settings(fewer(2), suppress_health_check=[HealthCheck.too_slow])
@given(text=policies(), req=requests)
def test_an_allow_is_given_only_by_allows_that_cover_every_requested_key(text, req):
    ps = _build(text)
    if ps is None:
        return
    outcome = ps.outcome(req)
    if outcome.decision != "allow":
        return
    voc = ps.vocabulary
    allows = [r for r in ps.rules if r.id in {x.rule for x in outcome.reasons}]
    assert allows and all(r.effect == "allow" for r in allows)
    for category in req["data_categories"]:
        assert any(_covers(r.purposes, req["purpose"], voc.purposes) and _covers(r.categories, category, voc.categories)
                   for r in allows), (text, req, category)


@settings(fewer(2), suppress_health_check=[HealthCheck.too_slow])
@given(text=policies(), req=requests)
@example(text='allow r0 cite "§0"\n  of user.contact\n  when (context.score)\nallow r1 cite "§1"\n',
         req={"action": "collect", "purpose": "essential.service", "data_categories": ["user"],
              "context": {"score": 2}})
@example(text='allow r0 cite "§0"\n  for essential.service\n  unless (context.score)\nallow r1 cite "§1"\n',
         req={"action": "collect", "purpose": "essential", "data_categories": ["user"], "context": {"score": 0}})
@example(text='allow r0 cite "§0"\n  when (purpose under ["marketing", "essential.service"]) and (context.score)\n'
              'allow r1 cite "§1"\n',
         req={"action": "collect", "purpose": "essential", "data_categories": ["user"], "context": {"score": 0}})
def test_an_allowed_broad_request_allows_everything_it_names(text, req):
    """Allowing `user` for `marketing` allows each key below them: a broad request is never a way around a rule,
    whether the rule names the narrower key in its target or tests it with `purpose under` in a condition."""
    ps = _build(text)
    if ps is None:
        return
    broad = ps.outcome(req)
    if broad.decision != "allow":
        return
    by_id = {r.id: r for r in ps.rules}
    for purpose in _below(frozenset(PURPOSES), req["purpose"]):
        for category in {k for c in req["data_categories"] for k in _below(frozenset(CATEGORIES), c)}:
            narrow = {**req, "purpose": purpose, "data_categories": [category]}
            outcome = ps.outcome(narrow)
            if outcome.decision == "allow":
                continue
            # The one exception: an allow that cannot be evaluated fails the request it is evaluated for closed
            # (decision.py), and the broad request may not evaluate it there: an allow below the broad key does
            # not take part in it, and one that does reads the broad key on its safe side, which may not reach
            # the failing test. That is no way around a rule: no deny refuses this part, and an allow that allowed
            # the broad request allows it too, so the failing allow's verdict, known or not, cannot change it.
            assert outcome.reasons and all(
                r.effect == "error" and by_id[r.rule].effect == "allow" for r in outcome.reasons), (text, req, narrow)
            assert any(_holds(by_id[r.rule], narrow) for r in broad.reasons), (text, req, narrow)


def _holds(rule, req) -> bool:
    try:
        return rule.applies(req)
    except EvaluationError:
        return False


def _same(a, b) -> bool:
    return (a.decision, a.reasons, a.obligations) == (b.decision, b.reasons, b.obligations)


@settings(fewer(5), suppress_health_check=[HealthCheck.too_slow])
@given(text=policies(), batch=st.lists(requests, min_size=1, max_size=6))
def test_index_scan_explanation_and_space_agree_on_broad_keys(text, batch):
    indexed = _build(text)
    if indexed is None:
        return
    scanned = _build(text, index=False)
    space = Space([indexed], limit=20_000)
    for req in batch:
        got = indexed.outcome(req)
        assert _same(got, scanned.outcome(req)), (text, req)
        e = explain(indexed, req, suggest=False)
        assert (e.decision, e.reasons) == (got.decision, got.reasons), (text, req)
        applied = {r.rule for r in e.rules if r.applies}
        assert {r.rule for r in got.reasons if r.effect in ("allow", "deny")} - {"default.deny"} <= applied
        if any(r.rule == "default.deny" for r in got.reasons):  # (a deny that applies is reported instead)
            assert set(e.uncovered) == {c for r in got.reasons if r.rule == "default.deny" for c in r.categories}
        for category in req["data_categories"]:  # the space speaks of one category at a time
            single = {**req, "data_categories": [category]}
            try:
                predicted = space.predict(0, single)
            except SpaceTooLarge:
                return
            if predicted is None:  # the space is well typed: a number tested as yes/no is outside it
                assert ill_typed(space, single), (text, single)
                continue
            assert predicted.decision == indexed.outcome(single).decision, (text, single)


# ---------------------------------------------------------------- properties: every form of test of a requested key

KEY_PURPOSES = PURPOSES + ["marketing.communications", "essential.service.operations"]


@st.composite
def key_policies(draw):
    return generated_rules(draw, ACTIONS, KEY_PURPOSES, CATEGORIES, KEY_CONDITIONS)


@st.composite
def obliging_policies(draw):
    """Generated rules that test requested keys among other attributes, some allows with obligations."""
    return with_obligations(draw, generated_rules(draw, ACTIONS, KEY_PURPOSES, CATEGORIES, KEY_CONDITIONS),
                            conditions=KEY_CONDITIONS)


key_requests = st.builds(
    lambda action, purpose, categories, age, dpa, score: drop_none(request(
        action=action, purpose=purpose, data_categories=categories, data_subject={"age": age},
        recipient={"dpa": dpa}, context={"score": score})),
    st.sampled_from(ACTIONS), st.sampled_from(KEY_PURPOSES),
    st.lists(st.sampled_from(CATEGORIES), min_size=1, max_size=2),
    st.one_of(st.none(), st.integers(15, 20)), maybe, st.one_of(st.none(), st.integers(1, 4)))


def _key_build(text: str, index: bool = True):
    try:
        return build_set(text, VOCAB, KEY_DATA, index=index)
    except pdp.PolicyError:
        return None


def _narrowings(req: dict):
    """Every request that puts, in place of each requested key, a key below it (or the key itself)."""
    purposes = sorted(_below(frozenset(KEY_PURPOSES), req["purpose"]))
    per_category = [sorted(_below(frozenset(CATEGORIES), c)) for c in req["data_categories"]]
    for purpose in purposes:
        for categories in itertools.product(*per_category):
            narrow = {**req, "purpose": purpose, "data_categories": list(categories)}
            if narrow != req:
                yield narrow


def _refusing(outcome) -> set[str]:
    """The rules that refuse: deny rules that apply, and rules that could not be evaluated."""
    return {r.rule for r in outcome.reasons if r.effect in ("deny", "error") and r.rule != "default.deny"}


@settings(fewer(2), suppress_health_check=[HealthCheck.too_slow])
@given(text=key_policies(), req=key_requests)
def test_a_broad_request_is_refused_by_every_rule_that_refuses_a_part_of_it(text, req):
    """Monotonicity: whatever a rule refuses of a narrower request it refuses of the broad one, for ==, !=, in,
    not in and `under` on the purpose and the tests of data_categories, in `when` and `unless` of allows and
    denies; and a broad request is allowed only when every narrower one is."""
    ps = _key_build(text)
    if ps is None:
        return
    broad = ps.outcome(req)
    for narrow in _narrowings(req):
        got = ps.outcome(narrow)
        if _refusing(got):
            assert broad.decision == "deny", (text, req, narrow)
            assert {r.rule for r in got.reasons if r.effect == "deny"} <= _refusing(broad), (text, req, narrow)
        if broad.decision == "allow":
            assert got.decision == "allow", (text, req, narrow)


@settings(fewer(2), suppress_health_check=[HealthCheck.too_slow])
@given(text=obliging_policies(), batch=st.lists(key_requests, min_size=1, max_size=5))
def test_index_scan_explanation_and_space_read_tests_of_requested_keys_alike(text, batch):
    """... and carry the same obligations, those of the allows that may apply to part of a broad request too."""
    indexed = _key_build(text)
    if indexed is None:
        return
    scanned = _key_build(text, index=False)
    space = Space([indexed], limit=20_000)
    for req in batch:
        got = indexed.outcome(req)
        assert _same(got, scanned.outcome(req)), (text, req)
        assert got.partial == scanned.outcome(req).partial, (text, req)
        e = explain(indexed, req, suggest=False)
        assert (e.decision, e.reasons) == (got.decision, got.reasons), (text, req)
        assert e.obligations == got.obligations and len(e.sources) == len(got.obligations), (text, req)
        single = {**req, "data_categories": req["data_categories"][:1]}
        try:
            predicted = space.predict(0, single)
        except SpaceTooLarge:
            return
        assert predicted is not None, (text, single)
        engine = indexed.outcome(single)
        assert (predicted.decision, predicted.reasons) == (engine.decision, engine.reasons), (text, single)
        if any(map(situational, indexed.rules)):  # (the space carries an obligation under `if` as possibly due)
            assert {o.id for o in engine.obligations} <= {o.id for o in predicted.obligations}, (text, single)
        else:
            assert predicted.obligations == engine.obligations, (text, single)


def test_check_does_not_call_a_deny_that_a_broad_request_meets_a_rule_that_never_applies():
    """`pdp check` read a deny's purpose constraints as given: it refused these as `never-matches`, though each
    refuses a request for `marketing` (the request names both keys)."""
    for deny in ('deny d cite "§2" for marketing.advertising when purpose == "marketing"',
                 'deny d cite "§2" for marketing.advertising when purpose under "marketing.communications"'):
        ps = build_set('allow m cite "§1" to use for marketing of user\n' + deny + "\n")
        assert [r.rule for r in ps.outcome(request(purpose="marketing")).reasons] == ["d"]
    # an allow reads the whole requested key: a contradiction there is still one
    with pytest.raises(pdp.PolicyError, match="never apply"):
        build_set('allow a cite "§1" for marketing.advertising when purpose == "marketing"\n')


def test_explain_says_when_a_broad_key_was_read_on_a_side():
    ps = build_set('''
        allow mail cite "§1" to use for marketing of user
        deny ads cite "§2" when purpose == "marketing.advertising"
        deny only cite "§3" for marketing unless purpose == "marketing"
    ''')
    text = explain(ps, request(purpose="marketing"), suggest=False).render_text()
    assert 'when purpose == "marketing.advertising" is true: purpose is "marketing", read for any key it names' in text
    assert 'unless purpose == "marketing" is false: purpose is "marketing", read for every key it names' in text
    narrow = explain(ps, request(purpose="marketing.advertising"), suggest=False).render_text()
    assert "key it names" not in narrow  # read as given: nothing to say


def test_the_space_says_it_tries_one_category_requests_when_a_condition_tests_the_list():
    """A condition over the whole list holds for a request of several categories and for none of one: the space,
    which tries one-category requests, must not pass for exhaustive there."""
    ps = build_set('''
        allow ops cite "§1" to use for essential of user
        deny both cite "§2" when "user.name" in data_categories and "user.contact" in data_categories
    ''')
    assert ps.outcome(request(data_categories=["user.name", "user.contact"])).decision == "deny"
    assert "`data_categories` is tested as a list: the space tries one-category requests only" in Space([ps]).notes
    assert not Space([build_set(HEALTH, HEALTH_VOCAB)]).notes


# ---------------------------------------------------------------- the obligations of the parts of a broad request

MAIL = '''
allow all "Marketing" cite "§1" for marketing
allow mail "Promotional email" cite "§2" to use for marketing.communications.email
  oblige unsubscribe_link "Every promotional email carries an unsubscribe link"
allow sms "Texts with consent" cite "§3" to use for marketing.communications.sms
  when data_subject.consent.marketing == true
  oblige sms_opt_out "Every text says how to stop them"
'''


def _obligations(outcome) -> list[str]:
    return [o.id for o in outcome.obligations]


@pytest.mark.parametrize("indexed", [True, False], ids=["index", "scan"])
def test_an_allowed_broad_request_carries_the_obligations_of_the_allows_below_it(indexed):
    """An app that asks for `marketing`, then sends an email, meets the duty the policy attaches to email."""
    ps = both(MAIL)[0 if indexed else 1]
    broad = request(purpose="marketing", data_categories=["user.contact.email"])
    got = ps.outcome(broad)
    assert (got.decision, [r.rule for r in got.reasons]) == ("allow", ["all"])  # `mail` does not allow it
    assert _obligations(got) == ["unsubscribe_link"] and [r.rule for r in got.partial] == ["mail"]
    assert _obligations(ps.outcome({**broad, "purpose": "marketing.communications.email"})) == ["unsubscribe_link"]
    assert _obligations(ps.outcome({**broad, "purpose": "marketing.communications"})) == ["unsubscribe_link"]
    # an allow whose condition cannot hold for any part adds nothing: false, or unknown (the consent is not given,
    # for any part); with consent it may apply to the texts the request includes
    assert _obligations(ps.outcome({**broad, "data_subject": {"consent": {"marketing": False}}})) == ["unsubscribe_link"]
    with_consent = {**broad, "data_subject": {"consent": {"marketing": True}}}
    assert _obligations(ps.outcome(with_consent)) == ["unsubscribe_link", "sms_opt_out"]
    # an allow on another part, or another action, takes part in no narrowing: its duty is not added
    assert _obligations(ps.outcome({**with_consent, "purpose": "marketing.advertising"})) == []
    assert _obligations(ps.outcome({**with_consent, "action": "share"})) == []
    # a narrow request is decided as before: the rules that apply, their obligations
    assert _obligations(ps.outcome({**with_consent, "purpose": "marketing.communications.sms"})) == ["sms_opt_out"]
    # a denied broad request carries none
    denied = build_set(MAIL + 'deny ads cite "§4" for marketing.advertising\n', index=indexed)
    assert denied.outcome(broad).decision == "deny" and _obligations(denied.outcome(broad)) == []


@pytest.mark.parametrize("indexed", [True, False], ids=["index", "scan"])
def test_a_covering_allow_that_tests_a_narrower_key_obliges_a_broad_request(indexed):
    """Read for all of `marketing`, `purpose under "marketing.communications.email"` is false, and the allow does
    not apply; read for part of it, it holds: the email the request includes carries the duty."""
    ps = build_set('''
        allow all cite "§1" for marketing
        allow mail cite "§2" for marketing when purpose under "marketing.communications.email"
          oblige unsubscribe_link "Unsubscribe link"
    ''', index=indexed)
    got = ps.outcome(request(purpose="marketing"))
    assert [r.rule for r in got.reasons] == ["all"] and _obligations(got) == ["unsubscribe_link"]
    assert _obligations(ps.outcome(request(purpose="marketing.advertising"))) == []


def test_explain_says_where_a_broad_requests_obligation_comes_from():
    ps = build_set(MAIL)
    e = explain(ps, request(purpose="marketing"), suggest=False)
    text = e.render_text()
    assert ("obligations:\n  unsubscribe_link: Every promotional email carries an unsubscribe link\n"
            "    from rule mail (§2), which may apply to part of the request\n") in text
    assert e.to_dict()["obligations"] == [{"id": "unsubscribe_link", "text": "Every promotional email carries an "
                                           "unsubscribe link", "rule": "mail", "part": True}]
    narrow = explain(ps, request(purpose="marketing.communications.email"), suggest=False)
    assert "part of the request" not in narrow.render_text()
    assert narrow.to_dict()["obligations"][0]["rule"] == "mail" and not narrow.to_dict()["obligations"][0]["part"]


def test_coverage_counts_an_allow_whose_duty_a_broad_request_carries_as_not_applied():
    """Coverage counts what applied: an allow below the broad key does not apply to it (its tests still need a
    request about it)."""
    ps = build_set(MAIL)
    report = measure(ps, [Case(Path("t.yaml"), 1, "broad", "s", request(purpose="marketing"), "allow")])
    by_id = {r.rule: r for r in report.rules}
    assert (by_id["all"].applied, by_id["mail"].about, by_id["mail"].applied) == (1, 0, 0)


def test_the_decision_space_predicts_the_obligations_of_a_broad_request():
    ps = build_set(MAIL)
    space = Space([ps])
    for purpose in ("marketing", "marketing.communications", "marketing.communications.email",
                    "marketing.communications.sms", "marketing.advertising"):
        for consent in ({}, {"marketing": True}, {"marketing": False}):
            req = request(purpose=purpose, data_subject={"consent": consent})
            assert _same(space.predict(0, req), ps.outcome(req)), req


@settings(fewer(2), suppress_health_check=[HealthCheck.too_slow])
@given(text=obliging_policies(), req=key_requests)
@example(text='allow r0 cite "§0"\n  for marketing\nallow r1 cite "§1"\n  for marketing.advertising\n'
              '  oblige o1 "duty o1"\n',
         req={"action": "use", "purpose": "marketing", "data_categories": ["user"]})
def test_an_allowed_broad_request_carries_the_obligations_of_every_allowed_part(text, req):
    """For every narrowing of an allowed broad request that is allowed, its obligations are among the broad
    request's: asking broadly never drops a duty the policy attaches to a part of the request. And the duties
    added come only from allows that take part in some part of it (their keys overlap the request's)."""
    ps = _key_build(text)
    if ps is None:
        return
    broad = ps.outcome(req)
    if broad.decision != "allow":
        return
    carried = set(_obligations(broad))
    for narrow in _narrowings(req):
        got = ps.outcome(narrow)
        if got.decision == "allow":
            assert set(_obligations(got)) <= carried, (text, req, narrow)
    by_id = {r.id: r for r in ps.rules}
    for reason in broad.partial:
        rule = by_id[reason.rule]
        assert rule.effect == "allow" and rule.obligations and not any(r.rule == rule.id for r in broad.reasons)
        assert any(rule.overlaps(req["action"], req["purpose"], c) for c in req["data_categories"]), (text, req)
    attaching = [by_id[r.rule] for r in list(broad.reasons) + list(broad.partial)]
    every = {o.id for rule in attaching for o in rule.obligations}
    # an obligation under `if` is carried unless its condition is false (engine/duties.py); every other one is
    unconditional = {o.id for rule in attaching
                     for o, test in zip(rule.obligations, rule.obligation_tests or [None] * len(rule.obligations))
                     if test is None}
    assert unconditional <= carried <= every, (text, req)


def test_the_server_answers_a_broad_request_with_the_obligations_of_its_parts(tmp_path):
    from fastapi.testclient import TestClient

    from pdp.server import Settings, create_app

    (tmp_path / "main.pdp").write_text(HEADER + textwrap.dedent(MAIL))
    (tmp_path / "vocabulary.yaml").write_text(VOCAB)
    broad = request(purpose="marketing")
    with TestClient(create_app(Settings(policy_dir=tmp_path))) as client:
        body = client.post("/v1/decide", json={**broad, "explain": True}).json()
    assert body["decision"] == "allow" and [r["rule"] for r in body["reasons"]] == ["all"]
    assert body["obligations"] == [{"id": "unsubscribe_link",
                                    "text": "Every promotional email carries an unsubscribe link"}]
    explained = body["explain"]["obligations"]
    assert [(o["id"], o["rule"], o["part"]) for o in explained] == [("unsubscribe_link", "mail", True)]
