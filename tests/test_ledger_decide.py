"""Decisions that read the consent ledger, on SQLite and a real PostgreSQL: filled before deciding, each reason
naming its events, read-your-writes tokens, the cache of subjects' states, and failing closed."""

import json
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

import pdp
from pdp.cli.app import main
from pdp.explain.ledger import explain_with_ledger
from pdp.engine.filled import LEDGER_NOT_YET, LEDGER_UNAVAILABLE
from pdp.io.ledger_reader import RECHECK_S, LedgerDecider, SubjectStates
from pdp.io.ledger_reader import decide as ledger_decide
from pdp.ledger import open_ledger
from pdp.ledger.store import Ledger
from tests.support.generate import fewer
from tests.support.ledger import KEY, event, marketing_evaluation, new_subject
from tests.support.sets import build_set

VOCAB = "consent_topics: [marketing]\nattributes:\n  context.objection_upheld: bool\n"
RULES = '''
ledger fills data_subject.consent.marketing from consent "marketing"
ledger fills context.objection_upheld from objection
allow marketing.consented "You agreed to marketing" cite "§2.5" to use for marketing
  when data_subject.consent.marketing == true
deny marketing.opted_out "You opted out of marketing" cite "§2.6" to use for marketing
  when data_subject.consent.marketing is absent or data_subject.consent.marketing == false
deny rights.objection "You objected" cite "§4" to use for marketing when context.objection_upheld == true
'''
POLICY = build_set(RULES, vocabulary=VOCAB)


def ask(subject: str | None, **extra) -> dict:
    request = {"action": "use", "purpose": "marketing", "data_categories": ["user.contact.email"], **extra}
    if subject is not None:
        request["data_subject"] = {"id": subject, **request.get("data_subject", {})}
    return request


def test_an_opt_out_recorded_in_the_ledger_denies_and_is_cited(ledger):
    subject = new_subject()
    given_ = ledger.record(event("consent.given", subject))
    decider = pdp.with_ledger(POLICY, ledger)
    assert decider.decide(ask(subject)).decision == "allow"
    withdrawn = ledger.record(event("consent.withdrawn", subject, "2026-03-02T10:00:00Z"))
    decision = decider.decide(ask(subject))  # a new event lets go of the kept state
    assert decision.decision == "deny"
    (reason,) = decision.to_dict()["reasons"]
    assert reason["rule"] == "marketing.opted_out"
    assert reason["ledger"] == [{"attribute": "data_subject.consent.marketing", "value": False, "by": "ledger",
                                 "event_ids": [withdrawn.event_id],
                                 "says": f"consent to marketing withdrawn recorded 2026-03-02, event {withdrawn.event_id}"}]
    answer = decision.to_dict()["ledger"]
    assert answer["seq"] == withdrawn.seq and [e["event_id"] for e in answer["events"]] == [withdrawn.event_id]
    assert given_.event_id not in str(answer)


def test_a_caller_can_only_make_it_stricter(ledger):
    subject = new_subject()
    ledger.record(event("consent.given", subject))
    decider = pdp.with_ledger(POLICY, ledger)
    stricter = decider.decide(ask(subject, data_subject={"consent": {"marketing": False}}))
    assert stricter.decision == "deny"
    assert stricter.to_dict()["reasons"][0]["ledger"][0]["by"] == "caller"
    ledger.record(event("objection.lodged", subject))
    laxer = decider.decide(ask(subject, context={"objection_upheld": False}))
    assert laxer.decision == "deny" and [r.rule for r in laxer.reasons] == ["rights.objection"]


def test_without_a_fact_the_caller_s_value_decides(ledger):
    decider = pdp.with_ledger(POLICY, ledger)
    assert decider.decide(ask(new_subject(), data_subject={"consent": {"marketing": True}})).decision == "allow"
    assert decider.decide(ask(new_subject())).decision == "deny"


def test_a_request_without_a_subject_or_a_set_without_declarations_is_decided_as_today(ledger):
    decider = pdp.with_ledger(POLICY, ledger)
    plain = decider.decide(ask(None))
    assert "ledger" not in plain.to_dict() and plain.to_dict() == {**POLICY.decide(ask(None)).to_dict(),
                                                                   "decision_id": plain.decision_id}
    undeclared = build_set(RULES.split("\n", 3)[3], vocabulary=VOCAB)
    subject = new_subject()
    ledger.record(event("consent.withdrawn", subject))
    request = ask(subject, data_subject={"consent": {"marketing": True}})
    assert pdp.with_ledger(undeclared, ledger).decide(request).decision == "allow"


def test_a_token_the_ledger_has_not_seen_fails_closed_after_a_bounded_wait(ledger):
    subject = new_subject()
    receipt = ledger.record(event("consent.given", subject))
    states = SubjectStates(ledger, wait_s=0.05, poll_s=0.01)
    decider = LedgerDecider(POLICY, states)
    assert decider.decide(ask(subject, ledger_seq=receipt.seq)).decision == "allow"
    decision = decider.decide(ask(subject, ledger_seq=receipt.seq + 1))
    assert decision.decision == "deny" and decision.reasons[0].rule == LEDGER_NOT_YET
    assert f"has not yet seen event {receipt.seq + 1}" in decision.reasons[0].message


def test_a_token_refreshes_a_state_kept_for_a_while(ledger):
    subject = new_subject()
    ledger.record(event("consent.given", subject))
    decider = LedgerDecider(POLICY, SubjectStates(ledger, recheck_s=3600, listen=False))
    assert decider.decide(ask(subject)).decision == "allow"
    elsewhere = Ledger(ledger.engine, ledger.keys)  # another process's ledger: its writes are not told to this one
    receipt = elsewhere.record(event("consent.withdrawn", subject, "2026-03-02T10:00:00Z"))
    assert decider.decide(ask(subject)).decision == "allow"  # kept for an hour: the token is how to see at once
    assert decider.decide(ask(subject, ledger_seq=receipt.seq)).decision == "deny"


def test_a_malformed_token_is_a_bad_request(ledger):
    decider = pdp.with_ledger(POLICY, ledger)
    with pytest.raises(pdp.RequestError) as info:
        decider.decide(ask(new_subject(), ledger_seq="12"))
    assert info.value.errors[0]["field"] == "ledger_seq"


def test_a_ledger_that_cannot_be_read_fails_closed(tmp_path):
    path = tmp_path / "ledger.db"
    subject = new_subject()
    now = [0.0]
    with open_ledger(path, key=KEY) as ledger:
        ledger.record(event("consent.given", subject))
        decider = pdp.with_ledger(POLICY, ledger, monotonic=lambda: now[0])
        assert decider.decide(ask(subject)).decision == "allow"
        ledger.engine.dispose()
        for side in tmp_path.glob("ledger.db*"):
            side.unlink()
        path.write_bytes(b"this is not a database" * 100)
        now[0] += RECHECK_S  # a kept state is used for RECHECK_S without a look (the documented bound), not longer
        decision = decider.decide(ask(subject))
        assert decision.decision == "deny" and decision.reasons[0].rule == LEDGER_UNAVAILABLE
        assert "cannot be read" in decision.to_dict()["ledger"]["error"]
        with pytest.raises(pdp.RequestError):  # a malformed request is still refused as such
            decider.decide(ask(subject, action="usee"))


def test_authzen_evaluations_read_the_ledger_too(ledger):
    subject = new_subject()
    ledger.record(event("consent.withdrawn", subject))
    evaluation = marketing_evaluation(subject)
    assert POLICY.decide_authzen(evaluation).decision == "allow"
    decision = pdp.with_ledger(POLICY, ledger).decide_authzen(evaluation)
    assert decision.decision == "deny" and decision.reasons[0].rule == "marketing.opted_out"


KINDS = ["consent.given", "consent.withdrawn", "consent.refused", "objection.lodged", "objection.resolved"]


@fewer(4)
@given(st.lists(st.tuples(st.integers(0, 2), st.sampled_from(KINDS), st.integers(1, 28)), min_size=1, max_size=8),
       st.lists(st.sampled_from([None, True, False]), min_size=3, max_size=3))
def test_the_cache_decides_as_reading_the_store_every_time(shared_ledger, steps, said):
    subjects = [new_subject() for _ in range(3)]
    cached = LedgerDecider(POLICY, SubjectStates(shared_ledger))
    plain = LedgerDecider(POLICY, SubjectStates(shared_ledger, cache=False))
    for who, kind, day in steps:
        shared_ledger.record(event(kind, subjects[who], f"2026-03-{day:02d}T10:00:00Z"))
        for n, subject in enumerate(subjects):
            request = ask(subject, data_subject={} if said[n] is None else {"consent": {"marketing": said[n]}})
            a, b = cached.decide(request).to_dict(), plain.decide(request).to_dict()
            assert {**a, "decision_id": None} == {**b, "decision_id": None}


def test_expiry_is_judged_at_the_time_of_the_decision(ledger):
    subject = new_subject()
    ledger.record(event("consent.given", subject, expires_at="2026-04-01T00:00:00Z"))
    before = LedgerDecider(POLICY, SubjectStates(ledger), clock=lambda: datetime(2026, 3, 15, tzinfo=UTC))
    after = LedgerDecider(POLICY, SubjectStates(ledger), clock=lambda: datetime(2026, 4, 2, tzinfo=UTC))
    assert before.decide(ask(subject)).decision == "allow"
    assert after.decide(ask(subject)).decision == "deny"


def test_explain_names_the_event_that_would_change_the_decision(ledger):
    subject = new_subject()
    withdrawn = ledger.record(event("consent.withdrawn", subject))
    at = datetime(2026, 6, 1, tzinfo=UTC)
    explained = explain_with_ledger(POLICY, ask(subject), ledger.state(subject), at=at)
    assert explained.explanation.decision == "deny"
    (change,) = explained.changes
    assert change.sentence == (f"a consent.given for marketing recorded after event {withdrawn.event_id} would allow "
                               "this (data_subject.consent.marketing would be true)")
    assert f"event {withdrawn.event_id}" in explained.render()
    assert explained.to_dict()["ledger"]["would_change"][0]["decision"] == "allow"
    # a caller's stricter value stays: no event would lift it
    stricter = explain_with_ledger(POLICY, ask(subject, data_subject={"consent": {"marketing": False}}),
                                   ledger.state(subject), at=at)
    assert stricter.changes == ()
    ledger.record(event("consent.given", subject, "2026-03-02T10:00:00Z"))
    allowed = explain_with_ledger(POLICY, ask(subject), ledger.state(subject), at=at)
    assert [c.event for c in allowed.changes] == ["consent.withdrawn for marketing", "objection.lodged"]


def test_pdp_explain_and_decide_read_the_ledger(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("PDP_LEDGER_KEY", KEY)
    (tmp_path / "p").mkdir()
    (tmp_path / "p" / "main.pdp").write_text('policy "t" version "1" effective 2026-01-01\n' + RULES)
    (tmp_path / "p" / "vocabulary.yaml").write_text(VOCAB)
    subject = new_subject()
    with open_ledger(tmp_path / "l.db", key=KEY) as ledger:
        withdrawn = ledger.record(event("consent.withdrawn", subject))
    (tmp_path / "r.json").write_text(json.dumps(ask(subject, data_subject={"consent": {"marketing": True}})))
    common = [str(tmp_path / "p"), "-r", str(tmp_path / "r.json"), "--ledger", str(tmp_path / "l.db")]
    assert main(["decide", *common]) == 0
    assert json.loads(capsys.readouterr().out)["ledger"]["events"][0]["event_id"] == withdrawn.event_id
    assert main(["explain", *common]) == 0
    assert f"a consent.given for marketing recorded after event {withdrawn.event_id}" in capsys.readouterr().out
    assert main(["decide", *common[:3], "--ledger", str(tmp_path / "none.db")]) == 2
    assert "no ledger at" in capsys.readouterr().err


def test_as_of_a_past_time_the_state_then_decides(ledger):
    subject = new_subject()
    ledger.record(event("consent.given", subject, "2026-03-01T10:00:00Z"))
    ledger.record(event("consent.withdrawn", subject, "2026-06-01T10:00:00Z"))
    decider = pdp.with_ledger(POLICY, ledger)
    assert decider.decide(ask(subject)).decision == "deny"
    april = decider.decide(ask(subject, as_of="2026-04-01T00:00:00Z"))  # withdrawal is not retroactive
    assert april.decision == "allow"
    assert decider.decide(ask(subject, as_of="2026-02-01T00:00:00+00:00")).decision == "deny"  # not yet given
    for bad in ("2026-04-01", "yesterday", 12):
        with pytest.raises(pdp.RequestError) as info:
            decider.decide(ask(subject, as_of=bad))
        assert info.value.errors[0]["field"] == "as_of"
    with pytest.raises(pdp.RequestError):  # no subject: nothing to replay
        decider.decide(ask(None, as_of="2026-04-01T00:00:00Z"))


def test_as_of_a_past_time_the_version_in_force_then_decides(ledger, tmp_path):
    from tests.support.sets import write_versioned

    older = 'policy "t" version "1" effective 2026-01-01\n' + RULES.replace(  # version 1 allowed no marketing
        'allow marketing.consented "You agreed to marketing" cite "§2.5" to use for marketing\n'
        '  when data_subject.consent.marketing == true\n', "")
    current = 'policy "t" version "2" effective 2026-05-01\n' + RULES
    write_versioned(tmp_path, current, {"v1": older}, VOCAB)
    versioned = pdp.load(tmp_path)
    subject = new_subject()
    ledger.record(event("consent.given", subject))
    decider = pdp.with_ledger(versioned, ledger)
    now = decider.decide(ask(subject))
    assert (now.decision, now.policy["version"]) == ("allow", "2")
    april = decider.decide(ask(subject, as_of="2026-04-01T00:00:00Z"))
    assert (april.decision, april.policy["version"]) == ("deny", "1")
    before = decider.decide(ask(subject, as_of="2025-04-01T00:00:00Z"))
    assert before.decision == "deny" and before.reasons[0].rule == "version.none_in_force"
    # a caller's own way of deciding (the server's explain keeps the selection) asks the current set: as of April
    # the version in force then still decides (it was version 2, an allow, before)
    states = SubjectStates(ledger)
    asked = ledger_decide(versioned, ask(subject, as_of="2026-04-01T00:00:00Z"), states,
                          decide=lambda request: versioned.select(request).decide())
    assert (asked.decision, asked.policy["version"]) == ("deny", "1")
