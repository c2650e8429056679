"""`pdp explain`: why each rule about a request did or did not apply, and what would allow a deny."""

import io
import json
import sys
import textwrap
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st

import pdp
from pdp.cli import main
from pdp.engine.decision import combine
from pdp.explain import changed, explain, prepare, run_rule, show
from pdp.server import Settings, create_app
from tests.support.generate import CONDITIONS, LISTS, fewer
from tests.support.sets import HEADER, VOCAB, build_set, request

RULES = '''\
allow ops "Operate the service" cite "§2.1"
  to use for essential of user.contact, user.name
allow promo "Promotional email" cite "§2.5"
  to use for marketing.communications.email of user.contact.email
allow providers "Service providers under a DPA" cite "§3.2"
  to share for essential of user.contact.email
  when recipient.type == "service_provider" and recipient.dpa == true
deny minors "Not for children" cite "§10"
  to use, share
  when data_subject.age < 18
deny opted_out "You opted out of marketing" cite "§2.6"
  for marketing
  when data_subject.consent.marketing == false
deny biometrics "We never use biometric data" cite "§1.1"
  of user.biometric
'''
POLICIES = Path(__file__).resolve().parents[1] / "policies"


@pytest.fixture(scope="module")
def tiny():
    return build_set(RULES)


@pytest.fixture(scope="module")
def cx(cx_one_go):
    return cx_one_go


# ---------------------------------------------------------------- the text


def test_an_allow_explained_in_full(tiny):
    assert explain(tiny, request(data_subject={"age": 34})).render_text() == textwrap.dedent("""\
        decision: allow (t 1)
        request: use user.contact.email for essential.service
          allow ops (§2.1): Operate the service

        Deny rules about this request:
          minors (§10, p.pdp:9): does not apply
            Not for children
            when data_subject.age < 18 is false: data_subject.age is 34

        Allow rules about this request:
          ops (§2.1, p.pdp:2): applies to user.contact.email
            Operate the service

        Every category has an allow rule that applies.

        Rules not about this request (4):
          not for action use: providers
          not for purpose essential.service: promo, opted_out
          not about user.contact.email: biometrics""")


def test_a_deny_explained_with_the_change_that_would_allow_it(tiny):
    req = request(purpose="marketing.communications.email", data_subject={"consent": {"marketing": False}})
    text = explain(tiny, req).render_text()
    assert text.startswith("decision: deny (t 1)\nrequest: use user.contact.email for marketing.communications.email\n"
                           "  deny opted_out (§2.6): You opted out of marketing\n")
    assert "\n".join([
        "Deny rules about this request:",
        "  minors (§10, p.pdp:9): does not apply",
        "    Not for children",
        "    when data_subject.age < 18 is unknown: data_subject.age is not in the request",
        "  opted_out (§2.6, p.pdp:12): applies",
        "    You opted out of marketing",
        "    when data_subject.consent.marketing == false is true: data_subject.consent.marketing is false",
        "",
    ]) in text
    assert text.endswith("Smallest changes that would allow it:\n"
                         "  would be allowed if data_subject.consent.marketing were not false\n"
                         "  would be allowed if purpose were essential")


def test_the_failing_part_of_a_compound_condition_is_named(tiny):
    e = explain(tiny, request(action="share", recipient={"type": "service_provider", "dpa": False}))
    (providers,) = [r for r in e.rules if r.rule == "providers"]
    assert not providers.applies and providers.verdict == "does not apply"
    (condition,) = providers.conditions
    assert condition.because == (
        'when recipient.type == "service_provider" and recipient.dpa == true is false',
        "  recipient.dpa == true is false: recipient.dpa is false",
    )
    assert e.uncovered == ("user.contact.email",)
    assert "No allow rule applies to user.contact.email: default deny." in e.render_text()


def test_unknown_parts_and_negations_are_explained():
    ps = build_set('''\
        allow a "A" cite "§1" to use
          when not (data_subject.consent.marketing == false) or context.legal_request
        ''')
    (rule,) = explain(ps, request()).rules
    assert rule.conditions[0].because == (
        "when not (data_subject.consent.marketing == false) or context.legal_request is unknown",
        "  not (data_subject.consent.marketing == false) is unknown",
        "    data_subject.consent.marketing == false is unknown: data_subject.consent.marketing is not in the request",
        "  context.legal_request is unknown: context.legal_request is not in the request",
    )
    (rule,) = explain(ps, request(context={"legal_request": False}, data_subject={"consent": {"marketing": True}})).rules
    assert rule.applies
    assert rule.conditions[0].because == (
        "when not (data_subject.consent.marketing == false) or context.legal_request is true",
        "  not (data_subject.consent.marketing == false) is true",
        "    data_subject.consent.marketing == false is false: data_subject.consent.marketing is true",
    )


def test_an_unless_holds_only_when_false():
    ps = build_set('allow a "A" cite "§1" to use unless data_subject.age < 18\n')
    (rule,) = explain(ps, request()).rules
    assert not rule.applies
    assert rule.conditions[0].because == ("unless data_subject.age < 18 is unknown: data_subject.age is not in the request",)
    assert explain(ps, request(data_subject={"age": 40})).rules[0].applies


def test_a_rule_that_cannot_be_evaluated_is_reported():
    ps = build_set('allow a "A" cite "§1" to use when context.score < 3\n')
    e = explain(ps, request(context={"score": "high"}))
    assert e.decision == "deny" and e.reasons[0].effect == "error"
    (rule,) = e.rules
    assert rule.verdict == "could not be evaluated" and "only numbers can be ordered" in rule.error
    assert rule.conditions[0].because[0].startswith("when context.score < 3 could not be evaluated: cannot compare")


def test_values_from_a_register_say_so():
    ps = build_set(
        'lookup recipient in data.processors\nallow a "A" cite "§1" to share when recipient.dpa == true\n',
        data={"processors": "acme: {type: service_provider, dpa: false}\n"})
    (rule,) = explain(ps, request(action="share", recipient={"id": "acme", "dpa": True})).rules
    assert rule.conditions[0].because == (
        'when recipient.dpa == true is false: recipient.dpa is false (from data.processors for recipient.id "acme")',)


def test_show_writes_conditions_back_as_policy_text():
    ps = build_set('''\
        deny a "A" cite "§1"
          when (data_subject.age >= 18 or recipient.dpa) and not recipient.type in ["affiliate", "acquirer"]
          unless purpose under "essential" and destination_country not in data.countries.ok
        ''', data={"countries": "ok: [IN, SG]\n"})
    rule = ps.rules[0].source
    assert show(rule.when[0]) == ('(data_subject.age >= 18 or recipient.dpa) and '
                                  'not (recipient.type in ["affiliate", "acquirer"])')
    assert show(rule.unless[0]) == 'purpose under "essential" and destination_country not in data.countries.ok'


# ---------------------------------------------------------------- changes that would allow a deny


@pytest.mark.parametrize("req, expected", [
    (request(data_subject={"age": 17}),
     ["would be allowed if data_subject.age were 18", "would be allowed if data_subject.age were not in the request"]),
    (request(action="share", recipient={"type": "service_provider", "dpa": False}),
     ["would be allowed if recipient.dpa were true"]),
    (request(data_categories=["user.contact.email", "user.financial"]),
     ["would be allowed if the request left out user.financial"]),
    (request(purpose="marketing.communications.sms"),
     ["would be allowed if purpose were essential", "would be allowed if purpose were marketing.communications.email"]),
    (request(action="share", recipient={"type": "third_party", "dpa": False}),
     ['would be allowed if recipient.type were "service_provider" and recipient.dpa were true']),
    (request(data_categories=["user.biometric"]), []),
])
def test_smallest_changes_first(tiny, req, expected):
    e = explain(tiny, req)
    assert e.decision == "deny"
    assert [s.text for s in e.suggestions] == expected
    for suggestion in e.suggestions:  # each one, made, is allowed by the engine
        if all(c.kind != "not" for c in suggestion.changes):
            assert tiny.decide(changed(req, suggestion.changes)).allowed


def test_none_found_is_said(tiny):
    text = explain(tiny, request(data_categories=["user.biometric"])).render_text()
    assert text.endswith("No change of one or two attributes, the purpose or the categories would allow it.")


def test_an_allow_has_no_suggestions(tiny):
    e = explain(tiny, request())
    assert e.decision == "allow" and e.suggestions == ()
    assert "would be allowed" not in e.render_text()


def test_cx_one_go_opt_out(cx):
    req = {"action": "use", "purpose": "marketing.communications.email", "data_categories": ["user.contact.email"],
           "data_subject": {"id": "u-1", "age": 30, "consent": {"marketing": False}}}
    e = explain(cx, req)
    assert e.suggestions[0].text == "would be allowed if data_subject.consent.marketing were not false"
    assert {r.rule for r in e.rules if r.applies} == {"marketing.email_opt_out", "marketing.opted_out",
                                                      "marketing.promotional_email"}


def test_cx_one_go_provider_without_dpa_is_offered_providers_with_one(cx):
    req = {"action": "share", "purpose": "essential.service", "data_categories": ["user.name"],
           "recipient": {"id": "quicksurvey"}}
    texts = [s.text for s in explain(cx, req).suggestions]
    assert 'would be allowed if recipient.id were "payments-co"' in texts
    assert 'would be allowed if recipient.id were "quicksurvey"' not in texts


# ---------------------------------------------------------------- JSON


def test_json_shape(tiny):
    e = explain(tiny, request(data_subject={"age": 17}))
    body = json.loads(json.dumps(e.to_dict()))
    assert set(body) == {"decision", "reasons", "obligations", "request", "rules", "not_about_this_request",
                         "uncovered_categories", "would_allow", "policy"}
    assert body["decision"] == "deny" and body["reasons"][0]["rule"] == "minors"
    assert body["request"] == {"action": "use", "purpose": "essential.service", "data_categories": ["user.contact.email"]}
    minors = next(r for r in body["rules"] if r["rule"] == "minors")
    assert minors == {
        "rule": "minors", "effect": "deny", "cite": "§10", "message": "Not for children", "location": "p.pdp:9",
        "categories": ["user.contact.email"], "applies": True, "error": None,
        "conditions": [{"clause": "when", "condition": "data_subject.age < 18", "value": True, "holds": True,
                        "error": None, "because": ["when data_subject.age < 18 is true: data_subject.age is 17"]}],
    }
    assert {"rule": "biometrics", "effect": "deny", "cite": "§1.1", "location": "p.pdp:15",
            "misses": "data_categories", "why": "not about user.contact.email (of user.biometric)"} \
        in body["not_about_this_request"]
    assert body["would_allow"][0] == {"text": "would be allowed if data_subject.age were 18",
                                      "changes": [{"attribute": "data_subject.age", "change": "set", "value": 18}]}
    assert body["would_allow"][1]["changes"] == [{"attribute": "data_subject.age", "change": "remove"}]


def test_json_of_a_yes_no_change(tiny):
    req = request(purpose="marketing.communications.email", data_subject={"consent": {"marketing": False}})
    first = explain(tiny, req).to_dict()["would_allow"][0]
    assert first["changes"] == [{"attribute": "data_subject.consent.marketing", "change": "not", "value": False}]


def test_a_bad_request_is_refused_as_decide_refuses_it(tiny):
    with pytest.raises(pdp.RequestError):
        explain(tiny, request(purpose="essentail.service"))


# ---------------------------------------------------------------- the command


def run_cli(capsys, monkeypatch, argv, stdin):
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def policy_dir(tmp_path):
    (tmp_path / "p.pdp").write_text(HEADER + RULES)
    (tmp_path / "vocabulary.yaml").write_text(VOCAB)
    return tmp_path


def test_cli_text_and_json(capsys, monkeypatch, policy_dir):
    req = json.dumps(request(data_subject={"age": 17}))
    code, out, _ = run_cli(capsys, monkeypatch, ["explain", str(policy_dir)], req)
    assert code == 0 and out.startswith("decision: deny (t 1)\n")
    assert "would be allowed if data_subject.age were 18" in out
    code, out, _ = run_cli(capsys, monkeypatch, ["explain", str(policy_dir), "--format", "json"], req)
    assert code == 0 and json.loads(out)["would_allow"][0]["changes"][0]["value"] == 18


def test_cli_exit_codes(capsys, monkeypatch, policy_dir, tmp_path):
    code, _, err = run_cli(capsys, monkeypatch, ["explain", str(policy_dir)], "{not json")
    assert code == 2 and "not valid JSON" in err
    code, _, err = run_cli(capsys, monkeypatch, ["explain", str(policy_dir)], json.dumps({"action": "use"}))
    assert code == 2 and json.loads(err)["detail"][0]["field"] == "purpose"
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "p.pdp").write_text('policy "x" version "1" effective 2026-01-01\nallow a to fly\n')
    code, _, err = run_cli(capsys, monkeypatch, ["explain", str(tmp_path / "bad")], json.dumps(request()))
    assert code == 1 and "unknown-action" in err


# ---------------------------------------------------------------- the API


@pytest.fixture
def client(policy_dir):
    with TestClient(create_app(Settings(policy_dir=policy_dir))) as c:
        yield c


def test_api_explain_true_adds_the_explanation(client, tiny):
    req = request(data_subject={"age": 17})
    plain = client.post("/v1/decide", json=req).json()
    assert "explain" not in plain
    r = client.post("/v1/decide", json={**req, "explain": True})
    assert r.status_code == 200
    body = r.json()
    assert body["decision"] == plain["decision"] == "deny"
    assert body["reasons"] == plain["reasons"]
    why = body["explain"]
    local = explain(tiny, req).to_dict()
    assert why["decision"] == "deny" and why["reasons"] == body["reasons"] and why["policy"] == body["policy"]
    assert why["would_allow"] == local["would_allow"]
    assert [r["rule"] for r in why["rules"]] == [r["rule"] for r in local["rules"]] == ["ops", "minors"]
    minors = why["rules"][1]
    assert minors["applies"] and minors["conditions"][0]["because"] == [
        "when data_subject.age < 18 is true: data_subject.age is 17"]
    assert minors["location"].endswith("p.pdp:9")
    assert "explain" not in client.post("/v1/decide", json={**req, "explain": False}).json()


def test_api_explain_must_be_true_or_false(client):
    r = client.post("/v1/decide", json={**request(), "explain": "yes"})
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "explain"


def test_api_bad_request_with_explain_is_still_422(client):
    r = client.post("/v1/decide", json={**request(purpose="essentail.service"), "explain": True})
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "purpose"


# ---------------------------------------------------------------- the tree walk agrees with the engine


def walked_outcome(policy_set, req):
    """The decision from explain's own rule verdicts, combined as decision.evaluate does."""
    target, env = prepare(policy_set, req)
    runs, errors, denies, allows, uncovered = {}, [], [], [], []
    for category in target.categories:
        candidates = [r for r in policy_set.rules if r.reaches(target.action, target.purpose, category)]
        ordered = [r for r in candidates if r.effect == "deny"] + [r for r in candidates if r.effect == "allow"]
        for rule in ordered:
            if rule.order not in runs:
                run = runs[rule.order] = run_rule(rule, env, policy_set.data)
                if run.error:
                    errors.append((rule, run.error))
                elif run.applies:
                    (denies if rule.effect == "deny" else allows).append(rule)
        if not any(runs[r.order].applies for r in candidates if r.effect == "allow"):
            uncovered.append(category)
    return combine(sorted(denies, key=lambda r: r.order), sorted(allows, key=lambda r: r.order), uncovered, errors)


def assert_agrees(policy_set, req):
    try:
        expected = policy_set.outcome(req)
    except pdp.RequestError:
        return
    _, env = prepare(policy_set, req)
    for rule in policy_set.rules:
        try:
            compiled, failed = rule.applies(env), False
        except Exception:  # noqa: BLE001 - the engine fails closed on any error, as explain reports it
            compiled, failed = False, True
        run = run_rule(rule, env, policy_set.data)
        assert (run.applies, run.error is not None) == (compiled, failed), (rule.id, req)
    walked = walked_outcome(policy_set, req)
    assert (walked.decision, walked.reasons, walked.obligations) == (
        expected.decision, expected.reasons, expected.obligations), req
    e = explain(policy_set, req, suggest=False)
    assert (e.decision, e.reasons) == (expected.decision, expected.reasons)
    named = {r.rule for r in expected.reasons if r.effect in ("allow", "deny") and r.rule != "default.deny"}
    assert named <= {r.rule for r in e.rules if r.applies}  # every rule the decision names applied here too


maybe = st.one_of(st.none(), st.booleans())
cx_requests = st.fixed_dictionaries(
    {
        "action": st.sampled_from(["collect", "use", "share", "transfer", "erase", "access", "correct"]),
        "purpose": st.sampled_from([
            "essential", "essential.service", "essential.legal_obligation", "essential.fraud_detection",
            "essential.service.security", "functional", "analytics.reporting", "personalize.content",
            "marketing.communications.email", "marketing.communications.sms", "marketing.advertising.first_party",
            "marketing.advertising.third_party", "marketing.promotions", "operations.business_transfer", "sales",
            "third_party_sharing.legal_obligation"]),
        "data_categories": st.lists(st.sampled_from([
            "user.name", "user.contact.email", "user.contact.phone_number", "user.behavior", "user.location.precise",
            "user.device.cookie_id", "user.health_and_medical", "user.childrens", "user.content.public",
            "user.social", "user.authorization.credentials"]), min_size=1, max_size=3),
    },
    optional={
        "data_subject": st.fixed_dictionaries({}, optional={
            "age": st.integers(10, 40),
            "consent": st.fixed_dictionaries({}, optional=dict.fromkeys(("marketing", "cookies", "location"), maybe)),
        }),
        "recipient": st.fixed_dictionaries({}, optional={
            "id": st.sampled_from(["quicksurvey", "payments-co", "cx-sg", "u-2"]),
            "type": st.sampled_from(["service_provider", "affiliate", "advertising_partner", "other_user",
                                     "public_authority", "acquirer", "third_party"]),
            "dpa": maybe,
        }),
        "destination_country": st.sampled_from(["IN", "SG", "US"]),
        "context": st.fixed_dictionaries({}, optional=dict.fromkeys((
            "legal_request", "user_initiated", "linked_account", "from_other_source", "identity_verified",
            "processing_restricted", "objection_upheld", "breach_notification", "retention_expired",
            "consented_to_current_version"), maybe)
            | {"policy_version_at_collection": st.sampled_from(["2026-11-24", "2025-01-01"])}),
    },
)


@given(req=cx_requests)
def test_tree_walk_agrees_with_the_engine_on_cx_one_go(cx, req):
    assert_agrees(cx, req)


VALUES = st.one_of(st.none(), st.booleans(), st.integers(0, 4), st.sampled_from(["a", "a.b", "x", "IN"]),
                   st.lists(st.sampled_from(["a", "x"]), max_size=2))


@st.composite
def policies(draw):
    out = []
    for i in range(draw(st.integers(1, 6))):
        parts = [f'{draw(st.sampled_from(["allow", "deny"]))} r{i} cite "§{i}"']
        if draw(st.booleans()):
            parts.append(f"to {draw(st.sampled_from(['use', 'share']))}")
        for keyword in ("when", "unless"):
            for _ in range(draw(st.integers(0, 2))):
                items = draw(st.lists(st.sampled_from(CONDITIONS), min_size=1, max_size=3))
                joiner = draw(st.sampled_from([" and ", " or "]))
                parts.append(f"{keyword} " + joiner.join(f"({c})" for c in items))
        out.append("\n  ".join(parts))
    return "\n".join(out) + "\n"


generated_requests = st.builds(
    lambda score, note, age, dpa, action, purpose, country: request(
        action=action, purpose=purpose, data_subject={"age": age}, recipient={"dpa": dpa},
        context={"score": score, "note": note}, **({"destination_country": country} if country else {})),
    VALUES, VALUES, st.one_of(st.none(), st.integers(15, 20)), st.one_of(st.none(), st.booleans()),
    st.sampled_from(["use", "share"]), st.sampled_from(["essential.service", "marketing.communications.email", "analytics"]),
    st.sampled_from([None, "IN", "US"]))


@settings(fewer(5))
@given(text=policies(), batch=st.lists(generated_requests, min_size=1, max_size=8))
def test_tree_walk_agrees_with_the_engine_on_generated_policies(text, batch):
    vocabulary = ("consent_topics: [marketing, cookies, location]\nattributes:\n  context.legal_request: bool\n"
                  "  context.note: any\n  context.score: any\n")
    try:
        ps = build_set(text, vocabulary=vocabulary, data={"lists": LISTS})
    except pdp.PolicyError:
        return
    for req in batch:
        assert_agrees(ps, req)


def test_an_authzen_request_is_explained_by_its_action_alone():
    """An AuthZEN request names no purpose or category: explain invents none (no `""` category)."""
    todo = pdp.load(Path(__file__).resolve().parents[1] / "examples" / "authzen-todo")
    request = {"subject": {"type": "user", "id": "rick@the-citadel.com"}, "action": {"name": "can_read_user"},
               "resource": {"type": "user", "id": "beth@the-smiths.com"}}
    e = explain(todo, request)
    assert (e.target.purpose, e.target.categories) == (None, ())
    (rule,) = e.to_dict()["rules"]
    assert rule["rule"] == "todo.read_user" and rule["applies"] and rule["categories"] == []
    assert {u["misses"] for u in e.to_dict()["not_about_this_request"]} == {"action"}
    assert e.to_dict()["uncovered_categories"] == []
