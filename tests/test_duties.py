"""Obligations with parameters and conditions, and advice (`advise`): the checker's errors, which duties a
decision carries (engine/duties.py: a duty that may be due is never dropped), and the wire (native, AuthZEN)."""

import pytest
from fastapi.testclient import TestClient

from pdp.lang.formatter import format_policy
from pdp.lang.parser import parse_policy
from pdp.server import Settings, create_app
from tests.support.sets import build_set, errors_of, request

RULES = '''
allow share "Share with processors" cite "§3.2"
  to share
  of user.contact
  oblige retention.delete "Delete within 30 days" with days = 30
  oblige notify.dpo "Notify the DPO" with address = "dpo@example.com", regions = ["EU", "EEA"]
    if destination_country not in ["IN", "DE"]
  advise tip "Minimise what you share" if context.score > 2
deny opted_out "Opted out of marketing" cite "§2.5"
  for marketing
  when data_subject.consent.marketing == false
  advise consent.offer_form "Offer the person the consent form" with page = "/consent"
'''


def _ids(duties) -> list[str]:
    return [d.id for d in duties]


@pytest.fixture(scope="module")
def ps():
    return build_set(RULES)


def test_parameters_are_returned_with_the_obligation(ps):
    d = ps.decide(request(action="share", destination_country="IN"))
    assert d.decision == "allow"
    assert [o.to_dict() for o in d.obligations] == [
        {"id": "retention.delete", "text": "Delete within 30 days", "parameters": {"days": 30}}]


def test_a_conditional_obligation_is_due_when_its_condition_holds_or_is_unknown(ps):
    assert _ids(ps.decide(request(action="share", destination_country="US")).obligations) == [
        "retention.delete", "notify.dpo"]
    # no destination given: the condition is unknown, and a duty that may be due is carried
    carried = ps.decide(request(action="share")).obligations
    assert _ids(carried) == ["retention.delete", "notify.dpo"]
    assert carried[1].to_dict()["parameters"] == {"address": "dpo@example.com", "regions": ["EU", "EEA"]}


def test_advice_is_given_only_when_its_condition_is_true_and_never_changes_the_decision(ps):
    assert _ids(ps.decide(request(action="share", context={"score": 3})).advice) == ["tip"]
    assert ps.decide(request(action="share", context={"score": 1})).advice == ()
    assert ps.decide(request(action="share")).advice == ()  # unknown: left out
    failing = ps.decide(request(action="share", context={"score": "high"}))  # cannot be evaluated: left out
    assert failing.decision == "allow" and failing.advice == ()


def test_a_deny_carries_its_advice_and_no_obligation(ps):
    d = ps.decide(request(purpose="marketing.communications.email", data_subject={"consent": {"marketing": False}}))
    assert d.decision == "deny" and d.obligations == ()
    assert d.to_dict()["advice"] == [{"id": "consent.offer_form", "text": "Offer the person the consent form",
                                      "parameters": {"page": "/consent"}}]


def test_an_answer_without_duties_reads_as_before(ps):
    answer = ps.decide(request(purpose="analytics")).to_dict()
    assert "advice" not in answer and answer["obligations"] == []


def test_index_and_scan_and_memo_carry_the_same_duties():
    indexed, scanned = build_set(RULES), build_set(RULES, index=False)
    for req in (request(action="share", destination_country="US", context={"score": 3}),
                request(action="share", destination_country="IN"), request(action="share"),
                request(purpose="marketing", data_subject={"consent": {"marketing": False}})):
        for _ in range(2):  # the second time from the request memo
            a, b = indexed.outcome(req), scanned.outcome(req)
            assert (a.decision, a.reasons, a.obligations, a.advice) == (b.decision, b.reasons, b.obligations,
                                                                         b.advice), req


@pytest.mark.parametrize("rules, code, message", [
    ('allow a cite "§1" oblige x "X" with to = recipient.id', "bad-parameter",
     "the parameter `to` is `recipient.id`, an attribute"),
    ('allow a cite "§1" oblige x "X" with n = 1, n = 2', "duplicate-parameter", "`x` is given `n` twice"),
    ('allow a cite "§1" oblige x "X" with n = [1, "a"]', "type-mismatch", "mixes different kinds"),
    ('allow a cite "§1" to use oblige x "X" with n = 1\nallow b cite "§1" to share oblige x "X" with n = "1"',
     "inconsistent-duty", "takes `n` as a number at p.pdp:2:26, but as text here"),
    ('allow a cite "§1" to use oblige x "X" with n = 1\nallow b cite "§1" to share oblige x "X"',
     "inconsistent-duty", "takes `n` at p.pdp:2:26, but no parameters here"),
    ('deny a cite "§1" oblige offer "X"', "deny-obligation", "obligations come with allow rules"),
    ('allow a cite "§1" oblige x "X" if data_subject.age > "old"', "type-mismatch", "only numbers and dates"),
])
def test_the_checker_names_what_is_wrong(rules, code, message):
    errors = errors_of(rules)
    assert [e.code for e in errors] == [code], errors
    assert message in errors[0].message, errors[0].message
    assert errors[0].hint


def test_the_deny_obligation_hint_suggests_advice():
    (error,) = errors_of('deny a cite "§1" oblige consent.offer_form "X"')
    assert '`advise consent.offer_form "..."`' in error.hint


def test_formatting_keeps_every_part_and_is_stable():
    text = ('policy "t"\nallow a "A" to use oblige retention.delete "Delete" with days = 30, until = 2026-01-01, '
            'to = ["a", "b"] if recipient.country not in data.eea and (x == 1 or y == 2) when x == 1\n'
            'deny m "M" advise consent.offer_form "Offer" if recipient.dpa\n')
    formatted = format_policy(text, "a.pdp")
    assert "  oblige retention.delete \"Delete\" with days = 30, until = 2026-01-01, to = [\"a\", \"b\"]\n" \
           "    if recipient.country not in data.eea and (x == 1 or y == 2)\n" in formatted
    assert format_policy(formatted, "a.pdp") == formatted
    assert parse_policy(text, "a.pdp")[0] == parse_policy(formatted, "a.pdp")[0]


def test_authzen_context_carries_parameters_and_advice(tmp_path):
    (tmp_path / "set.pdp").write_text(
        'policy "docs"\n  version "1"\n  effective 2025-01-01\n  model authzen\n\n'
        'allow read "Anyone may read"\n  cite "§1"\n  to read\n'
        '  oblige audit.log "Log the read" with keep_days = 90\n'
        'deny write "Writing is closed"\n  cite "§2"\n  to write\n'
        '  advise ask.owner "Ask the owner for access" with channel = "email"\n')
    (tmp_path / "vocabulary.yaml").write_text("actions: [read, write]\n")
    body = {"subject": {"type": "user", "id": "ann"}, "resource": {"type": "doc", "id": "1"}}
    with TestClient(create_app(Settings(policy_dir=tmp_path, reload=False))) as c:
        read = c.post("/access/v1/evaluation", json={**body, "action": {"name": "read"}}).json()
        write = c.post("/access/v1/evaluation", json={**body, "action": {"name": "write"}}).json()
    assert read["decision"] is True
    assert read["context"]["obligations"] == [{"id": "audit.log", "text": "Log the read",
                                              "parameters": {"keep_days": 90}}]
    assert "advice" not in read["context"]
    assert write["decision"] is False
    assert write["context"]["advice"] == [{"id": "ask.owner", "text": "Ask the owner for access",
                                          "parameters": {"channel": "email"}}]


def test_policy_tests_check_advice_as_they_check_obligations(ps):
    from pdp.testing.reader import parse_test_file
    from pdp.testing.runner import run

    opted_out = "{action: use, purpose: marketing, data_categories: [user.contact], " \
                "data_subject: {consent: {marketing: false}}}"
    text = f"""
cases:
  - name: advised
    request: {opted_out}
    expect: deny
    obligations: []
    advice: [consent.offer_form]
  - name: wrongly expected
    request: {opted_out}
    expect: deny
    advice: [tip]
"""
    good, bad = run(ps, [parse_test_file(text, "t.yaml")])
    assert good.passed and good.advice == ("consent.offer_form",)
    assert not bad.passed
    assert bad.failures == ("advice: expected [tip], got [consent.offer_form] (missing tip; unexpected "
                            "consent.offer_form)",)


def test_explain_says_why_a_conditional_obligation_is_carried(ps):
    from pdp.explain import explain

    unknown = explain(ps, request(action="share"), suggest=False)
    assert [o["id"] for o in unknown.to_dict()["obligations"]] == ["retention.delete", "notify.dpo"]
    assert unknown.to_dict()["obligations"][1]["due"] == (
        'due: `destination_country not in ["IN", "DE"]` is unknown (a duty that may be due is carried)')
    text = explain(ps, request(action="share", destination_country="US", context={"score": 3}),
                   suggest=False).render_text()
    assert '  notify.dpo: Notify the DPO (address = "dpo@example.com", regions = ["EU", "EEA"])\n' \
           '    due: `destination_country not in ["IN", "DE"]` is true\n' in text
    assert "advice:\n  tip: Minimise what you share\n" in text


def test_a_duty_under_a_condition_of_time_reads_the_moment_of_the_request():
    """`now` is stamped at the edges for a set whose only reader of it is an obligation's condition."""
    from pdp.engine.timing import reads_now

    timed = build_set('allow a cite "§7" to use\n'
                      '  oblige review "Review whether the data is still needed" if collected_at is older than 1 year\n')
    assert reads_now(timed)
    old = timed.decide(request(collected_at="2026-01-15", now="2027-06-01"))
    recent = timed.decide(request(collected_at="2027-05-01", now="2027-06-01"))
    assert _ids(old.obligations) == ["review"] and recent.obligations == ()


def test_a_shadowed_rule_that_adds_advice_is_told_so():
    from pdp.analysis.warnings import warnings_of

    shadowed = build_set('deny a cite "§1" to use for marketing\n'
                         'deny b cite "§2" to use for marketing.communications\n'
                         '  advise consent.offer_form "Offer the form"\n')
    (warning,) = [w for w in warnings_of(shadowed) if w.code == "shadowed-rule"]
    assert warning.message.endswith("(it only adds its advice `consent.offer_form`)")
    assert warning.hint == "if the advice is the point, that is fine; otherwise remove the rule"
