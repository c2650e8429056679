"""Decision semantics: default deny, any deny wins, every category, unknowns, fail closed."""

import pytest

import pdp
from pdp.engine.compiler import CompiledRule
from pdp.engine.decision import DEFAULT_DENY, combine
from tests.support.sets import build_set, request


RULES = '''
allow ops "operate" cite "§2.1" to use for essential of user.contact, user.name
allow mail "promo" cite "§2.5" to use for marketing.communications.email of user.contact.email
  oblige unsubscribe_link "Include an unsubscribe link"
deny opted_out "opted out" cite "§2.6" for marketing when data_subject.consent.marketing == false
deny minors "under 18" cite "§10" to collect, use, share, transfer when data_subject.age < 18
allow abroad "transfer under DPA or to IN" cite "§8" to transfer for essential
  when destination_country == "IN" or recipient.dpa == true
'''


@pytest.fixture(scope="module")
def policy():
    return build_set(RULES)


def test_allow_names_the_rule_and_its_citation(policy):
    d = policy.decide(request())
    assert d.decision == "allow"
    assert [(r.rule, r.cite) for r in d.reasons] == [("ops", "§2.1")]
    assert d.policy == {"name": "t", "version": "1", "digest": policy.digest}
    assert len(d.decision_id) == 32


def test_default_deny_names_the_uncovered_category(policy):
    d = policy.decide(request(data_categories=["user.contact.email", "user.health_and_medical"]))
    assert d.decision == "deny"
    (reason,) = d.reasons
    assert reason.rule == DEFAULT_DENY and reason.categories == ("user.health_and_medical",)


def test_a_key_covers_the_keys_below_it(policy):
    assert policy.decide(request(purpose="essential.service.payment_processing",
                                 data_categories=["user.contact.address.city"])).decision == "allow"
    assert policy.decide(request(purpose="analytics")).decision == "deny"


def test_any_deny_wins_over_allows(policy):
    d = policy.decide(request(data_subject={"age": 16}))
    assert d.decision == "deny" and [r.rule for r in d.reasons] == ["minors"]


def test_deny_lists_every_deny_that_applied(policy):
    d = policy.decide(request(purpose="marketing.communications.email",
                              data_subject={"age": 16, "consent": {"marketing": False}}))
    assert [r.rule for r in d.reasons] == ["opted_out", "minors"]


def test_obligations_come_with_the_allow(policy):
    d = policy.decide(request(purpose="marketing.communications.email"))
    assert d.decision == "allow"
    assert [o.to_dict() for o in d.obligations] == [{"id": "unsubscribe_link", "text": "Include an unsubscribe link"}]
    assert policy.decide(request(purpose="marketing.communications.email",
                                 data_subject={"consent": {"marketing": False}})).obligations == ()


@pytest.mark.parametrize("subject, decision", [
    ({}, "allow"),                                  # age missing: the deny's condition is unknown
    ({"age": None}, "allow"),                       # null is missing
    ({"age": 17}, "deny"),
    ({"age": 18}, "allow"),
])
def test_a_missing_attribute_makes_its_comparison_not_match(policy, subject, decision):
    assert policy.decide(request(data_subject=subject)).decision == decision


@pytest.mark.parametrize("extra, decision", [
    ({"destination_country": "IN"}, "allow"),                                   # true or unknown = true
    ({"destination_country": "US"}, "deny"),                                    # false or unknown = unknown
    ({"destination_country": "US", "recipient": {"dpa": True}}, "allow"),
    ({"destination_country": "US", "recipient": {"dpa": False}}, "deny"),
    ({}, "deny"),
])
def test_or_is_three_valued(policy, extra, decision):
    assert policy.decide(request(action="transfer", **extra)).decision == decision


def test_unless_applies_only_when_its_condition_is_false():
    policy = build_set('allow a cite "§1" unless data_subject.consent.marketing == false')
    assert policy.decide(request(data_subject={"consent": {"marketing": True}})).decision == "allow"
    assert policy.decide(request(data_subject={"consent": {"marketing": False}})).decision == "deny"
    assert policy.decide(request()).decision == "deny"  # unknown: does not apply


def test_presence_tests_are_never_unknown():
    policy = build_set('allow a cite "§1" when data_subject.consent.cookies is absent or data_subject.consent.cookies')
    assert policy.decide(request()).decision == "allow"
    assert policy.decide(request(data_subject={"consent": {"cookies": True}})).decision == "allow"
    assert policy.decide(request(data_subject={"consent": {"cookies": False}})).decision == "deny"


def test_an_evaluation_error_fails_closed_and_is_reported():
    policy = build_set('allow a cite "§1" when context.note == "x"\nallow b cite "§1" when context.score < 3')
    # `context.score` may be anything; a caller sends a word where the policy orders numbers
    d = policy.decide(request(context={"note": "x", "score": "abc"}))
    assert d.decision == "deny"
    assert [(r.rule, r.effect) for r in d.reasons] == [("b", "error")]
    assert "only numbers" in d.reasons[0].message


def test_true_is_not_one():
    # `1` for a declared true/false attribute is refused, neither taken as true nor quietly denied
    policy = build_set('allow a cite "§1" when context.legal_request == true')
    with pytest.raises(pdp.RequestError) as info:
        policy.decide(request(context={"legal_request": 1}))
    assert info.value.errors[0]["field"] == "context.legal_request"


def test_membership_and_under():
    policy = build_set('''
allow a cite "§1" when recipient.country in ["IN", "DE"] and purpose under ["essential", "analytics"]
''')
    assert policy.decide(request(recipient={"country": "DE"})).decision == "allow"
    assert policy.decide(request(recipient={"country": "US"})).decision == "deny"
    assert policy.decide(request(recipient={"country": "DE"}, purpose="marketing")).decision == "deny"


def test_lookup_fills_in_the_recipient_and_the_register_wins():
    policy = build_set(
        'lookup recipient in data.processors request wins for country\n'
        'allow a cite "§3.2" to share when recipient.type == "service_provider" and recipient.dpa '
        'and recipient.country == "US"',
        data={"processors": "pay: {type: service_provider, dpa: true, country: IN}\n"
                            "shady: {type: service_provider, dpa: false}\n"},
    )
    share = dict(action="share")
    assert policy.decide(request(recipient={"id": "pay", "country": "US"}, **share)).decision == "allow"
    assert policy.decide(request(recipient={"id": "pay"}, **share)).decision == "deny"  # register says IN
    # a caller cannot claim a DPA the register says is missing
    assert policy.decide(request(recipient={"id": "shady", "dpa": True, "country": "US"}, **share)).decision == "deny"
    # a recipient the register does not know has none of the attributes the request invents for it
    assert policy.decide(request(recipient={"id": "new", "type": "service_provider", "dpa": True, "country": "US"},
                                 **share)).decision == "deny"


def test_the_callers_request_is_not_changed():
    policy = build_set('lookup recipient in data.processors\nallow a cite "§1"', data={"processors": "pay: {dpa: true}\n"})
    req = request(recipient={"id": "pay"})
    policy.decide(req)
    assert req["recipient"] == {"id": "pay"}


@pytest.mark.parametrize("bad, field", [
    ({"purpose": "marketing.comunications"}, "purpose"),
    ({"data_categories": ["user.contact.emial"]}, "data_categories.0"),
    ({"data_categories": []}, "data_categories"),
    ({"action": "sell"}, "action"),
    ({"data_subject": {"age": "thirty"}}, "data_subject.age"),
    ({"data_subject": {"consent": {"marketting": True}}}, "data_subject.consent.marketting"),
    ({"destination_country": "XX"}, "destination_country"),
    ({"recipient": {"type": "advertiser"}}, "recipient.type"),
])
def test_bad_requests_name_the_field(policy, bad, field):
    with pytest.raises(pdp.RequestError) as info:
        policy.decide(request(**bad))
    assert field in [e["field"] for e in info.value.errors]


def test_unknown_key_suggests_the_closest():
    policy = build_set('allow a cite "§1"')
    with pytest.raises(pdp.RequestError) as info:
        policy.decide(request(purpose="marketing.comunications.email"))
    assert "marketing.communications.email" in info.value.errors[0]["suggestions"]


def test_missing_required_fields():
    policy = build_set('allow a cite "§1"')
    with pytest.raises(pdp.RequestError) as info:
        policy.decide({"action": "use"})
    assert {e["field"] for e in info.value.errors} == {"purpose", "data_categories"}
    with pytest.raises(pdp.RequestError):
        policy.decide(["not", "a", "request"])


def test_decide_many_keeps_the_order(policy):
    decisions = policy.decide_many([request(), request(data_subject={"age": 3}), request()])
    assert [d.decision for d in decisions] == ["allow", "deny", "allow"]


def _rule(order, effect, obligations=()):
    return CompiledRule(order, f"r{order}", effect, "", None, None, None, None, lambda env: True, obligations, None)


def test_combine_is_total():
    allow, deny = _rule(0, "allow"), _rule(1, "deny")
    assert combine([], [allow], [], []).decision == "allow"
    assert combine([deny], [allow], [], []).decision == "deny"
    assert combine([], [allow], ["user.x"], []).decision == "deny"
    assert combine([], [], [], []).decision == "allow"  # nothing asked, nothing refused (no categories)
    errored = combine([], [allow], [], [(allow, "boom")])
    assert errored.decision == "deny" and errored.reasons[0].effect == "error"


def test_the_digest_is_that_of_the_files_wherever_pdp_runs_from(tmp_path, monkeypatch):
    # Replicas started from different directories must report the same digest for the same files.
    for place in ("a", "b/c"):
        root = tmp_path / place / "policies"
        (root / "data").mkdir(parents=True)
        (root / "main.pdp").write_text('policy "t" version "1"\nallow r to use for analytics of user\n')
        (root / "data" / "register.yaml").write_text("x: 1\n")
    digests = set()
    for cwd, target in ((tmp_path, "a/policies"), (tmp_path / "b", "c/policies"), (tmp_path / "a" / "policies", "."),
                        (tmp_path / "b" / "c", str(tmp_path / "b" / "c" / "policies"))):
        monkeypatch.chdir(cwd)
        digests.add(pdp.load(target).digest)
    assert len(digests) == 1
    (tmp_path / "b" / "c" / "policies" / "data" / "register.yaml").write_text("x: 2\n")
    assert pdp.load(tmp_path / "b" / "c" / "policies").digest not in digests  # and a changed file changes it


@pytest.mark.parametrize("context, field, message", [
    ({"legal_request": "true"}, "context.legal_request", 'expected true or false, got "true"'),
    ({"legal_request": 1}, "context.legal_request", "expected true or false, got 1"),
    ({"score": "high"}, "context.score", 'expected a number, got "high"'),
    ({"score": True}, "context.score", "expected a number, got true"),
    ({"origin": "India"}, "context.origin", "unknown country `India`"),
])
def test_a_declared_attribute_of_the_wrong_type_is_refused(tmp_path, context, field, message):
    (tmp_path / "main.pdp").write_text('policy "t" version "1"\n'
                                       'allow r to use for analytics of user unless context.legal_request == false\n')
    (tmp_path / "vocabulary.yaml").write_text(
        "attributes:\n  context.legal_request: bool\n  context.score: number\n  context.origin: country\n")
    policy = pdp.load(tmp_path)
    with pytest.raises(pdp.RequestError) as info:
        policy.decide({"action": "use", "purpose": "analytics", "data_categories": ["user.name"], "context": context})
    [error] = info.value.errors
    assert error["field"] == field and message in error["message"]
    ok = policy.decide({"action": "use", "purpose": "analytics", "data_categories": ["user.name"],
                        "context": {"legal_request": False, "score": 2.5, "origin": "IN"}})
    assert ok.decision == "deny"  # well-typed values are decided, here by the `unless`


def test_a_rule_that_fails_to_evaluate_denies_and_is_logged(caplog):
    policy = build_set('allow a cite "§1" when context.n < 3', vocabulary="attributes:\n  context.n: any\n")
    with caplog.at_level("WARNING", logger="pdp"):
        d = policy.decide(request(context={"n": "abc"}))
        assert policy.decide(request(context={"n": 1})).decision == "allow"
    assert d.decision == "deny" and d.reasons[0].effect == "error"
    [record] = caplog.records
    assert "rule a failed closed" in record.getMessage() and "cannot compare 'abc' < 3" in record.getMessage()


@pytest.mark.parametrize("field, value, expected", [
    ("data_categories", ["USER.NAME"], ["user.name"]),          # case is forgiven in the suggestion
    ("purpose", "Analytics.Reporting", ["analytics.reporting"]),
    ("purpose", "foo", None),                                    # nothing close: still the closest keys
])
def test_unknown_keys_always_come_with_suggestions(field, value, expected):
    policy = build_set('allow a cite "§1" to use for analytics of user')
    with pytest.raises(pdp.RequestError) as info:
        policy.decide(request(**{field: value}))
    [error] = info.value.errors
    assert error["suggestions"] and (expected is None or error["suggestions"] == expected)


@pytest.mark.parametrize("extra, field, suggestion", [
    ({"data_subjct": {"age": 17}}, "data_subjct", "data_subject"),
    ({"data_subject": {"agee": 17}}, "data_subject.agee", "age"),
    ({"data_subject": {"Age": 17}}, "data_subject.Age", "age"),
    ({"recipient": {"tpye": "third_party"}}, "recipient.tpye", "type"),
    ({"context": {"legal_requst": True}}, "context.legal_requst", "legal_request"),  # a declared attribute
])
def test_a_misspelt_key_is_refused_with_the_right_spelling(extra, field, suggestion):
    # A typo must not quietly drop what the caller meant, and with it perhaps a deny.
    policy = build_set('allow a cite "§1" to use for analytics of user unless context.legal_request == true\n'
                       'deny minors cite "§10" when data_subject.age < 18')
    with pytest.raises(pdp.RequestError) as info:
        policy.decide(request(**extra))
    [error] = info.value.errors
    assert error["field"] == field and error["suggestions"] == [suggestion]


def test_other_unknown_keys_pass():
    policy = build_set('allow a cite "§1" to use for analytics of user')
    d = policy.decide(request(purpose="analytics", data_subject={"nickname": "x"}, context={"trace": "t-1"},
                              client_version="3"))
    assert d.decision == "allow"


def test_decision_of_makes_the_decision_its_constructor_makes(policy):
    """`decision_of` sets Decision's fields itself (no __init__, on every decision): every field, as the constructor
    would, and the object behaves as one made by the constructor (equality, `allowed`, `to_dict`)."""
    from dataclasses import fields

    from pdp.engine.decision import Decision, decision_of

    outcome = policy.outcome(request())
    made = decision_of(outcome, policy.policy_info)
    built = Decision(outcome.decision, outcome.reasons, outcome.obligations, policy.policy_info, made.decision_id)
    assert made == built and made.allowed == built.allowed and made.to_dict() == built.to_dict()
    assert vars(made).keys() == {f.name for f in fields(Decision)}
    with pytest.raises(AttributeError):  # frozen as the constructor's
        made.decision = "deny"  # type: ignore[misc]
