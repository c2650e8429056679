"""The ledger memo (pdp.engine.ledger_memo): a ledger decision remembered with the subject's kept readings decides
exactly as the plain ledger path (the state read from the store every time, nothing remembered), on SQLite and a
real PostgreSQL; it is never served across a state change, a policy reload, a token not yet seen or an `as_of`
request; it keeps no evaluation error; it is bounded; and it can be switched off."""

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pdp.engine import ledger_memo
from pdp.io.ledger_reader import LedgerDecider, SubjectStates
from pdp.server.ledger_state import states_of
from pdp.server.settings import Settings
from tests.support.generate import fewer
from tests.support.ledger import NOTICE, event, new_subject
from tests.support.sets import build_set
from tests.support.waiting import eventually

VOCAB = ("consent_topics: [marketing, cookies]\nattributes:\n  context.objection_upheld: bool\n"
         "  context.email_opted_out: bool\n  context.accepted: bool\n  context.cookies_expire_on: date\n"
         "  context.note: string\n  context.score: any\n")
FILLS = '''
ledger fills data_subject.consent.marketing from consent "marketing"
ledger fills context.email_opted_out from marketing_opt_out "email"
ledger fills context.objection_upheld from objection
ledger fills context.accepted from current_version_accepted
ledger fills context.cookies_expire_on from consent_expires_on "cookies"
'''
RULES = FILLS + '''
allow marketing.consented "You agreed to marketing" cite "§2.5" to use for marketing
  when data_subject.consent.marketing == true
  oblige unsubscribe_link "Every message carries an unsubscribe link"
deny marketing.opted_out "You opted out of marketing" cite "§2.6" to use for marketing
  when data_subject.consent.marketing is absent or data_subject.consent.marketing == false
deny email.opted_out "You opted out of email" cite "§2.5" to use for marketing when context.email_opted_out == true
deny rights.objection "You objected" cite "§4" to use for marketing when context.objection_upheld == true
deny version.unaccepted "Accept the current policy first" cite "§11" to use for marketing
  when context.accepted == false
allow analytics.adults "Analytics of adults" cite "§1.3" to use for analytics when data_subject.age >= 18
deny cookies.ending "Cookie consent ends too soon" cite "§1.3" to use for analytics
  when context.cookies_expire_on < 2026-03-03
'''
POLICY = build_set(RULES, vocabulary=VOCAB)

T0 = datetime(2026, 3, 1, tzinfo=UTC)
KINDS = ["consent.given", "consent.withdrawn", "consent.refused", "marketing.opted_out", "marketing.opted_in",
         "objection.lodged", "objection.resolved", "policy.accepted"]


@st.composite
def histories(draw):
    """Events for one subject: consents (marketing or cookies) that may expire, opt-outs, objections, and the
    acceptance of the set's version or of another."""
    out = []
    for _ in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from(KINDS))
        day = draw(st.integers(0, 4))
        fields = {}
        if kind.startswith("consent."):
            fields["topic"] = draw(st.sampled_from(["marketing", "cookies"]))
        if kind in ("consent.given", "marketing.opted_in") and draw(st.booleans()):
            fields["expires_at"] = (T0 + timedelta(days=day + draw(st.integers(1, 3)))).isoformat()
        if kind == "policy.accepted":
            fields["notice"] = {**NOTICE, "version": draw(st.sampled_from(["1", "2"]))}
        out.append((kind, (T0 + timedelta(days=day)).isoformat(), fields))
    return out


# what the caller says of the filled attributes: nothing, the same, stricter or laxer (the ledger decides which),
# or a value the request check refuses; and of what the rules read besides, or nothing reads
SAYINGS = {
    "marketing": st.sampled_from([True, False, None, "yes"]),
    "email_opted_out": st.booleans(), "objection_upheld": st.booleans(), "accepted": st.booleans(),
    "cookies_expire_on": st.sampled_from(["2026-03-02", "2026-04-01", "not a day"]),
    "age": st.sampled_from([17, 34, 34.0]), "note": st.sampled_from(["a", "b"]),
    "purpose": st.sampled_from(["marketing", "analytics"]),
}
SAID = st.fixed_dictionaries({}, optional=SAYINGS)
# then each thing said differently in turn, in a drawn order: each request next to the one before it, which a key
# missing that thing would confuse
CHANGES = st.tuples(st.permutations(sorted(SAYINGS)), st.fixed_dictionaries(SAYINGS)).map(
    lambda drawn: [{name: drawn[1][name]} for name in drawn[0]])


def ask(subject: str, said: dict) -> dict:
    subject_part: dict = {"id": subject}
    if "marketing" in said:
        subject_part["consent"] = {"marketing": said["marketing"]}
    if "age" in said:
        subject_part["age"] = said["age"]
    context = {k: said[k] for k in ("email_opted_out", "objection_upheld", "accepted", "cookies_expire_on", "note")
               if k in said}
    request = {"action": "use", "purpose": said.get("purpose", "marketing"),
               "data_categories": ["user.contact.email"], "data_subject": subject_part}
    return {**request, "context": context} if context else request


def outcome(decider: LedgerDecider, request: dict):
    try:
        return {**decider.decide(request).to_dict(), "decision_id": None}
    except Exception as error:  # noqa: BLE001 - a refused request must be refused alike
        return type(error).__name__, str(error)


# when decisions are asked: the hour the consents were given, and each expiry's own instant (at it: expired)
MOMENTS = st.lists(st.tuples(st.integers(0, 7), st.sampled_from([0, 1]), st.sampled_from([0, 1])), min_size=1,
                   max_size=6)


@fewer(2)
@given(histories(), SAID, CHANGES, MOMENTS)
def test_the_memo_decides_as_the_plain_ledger_path(shared_ledger, history, base, changes, moments):
    subject = new_subject()
    now = [T0]
    clock = lambda: now[0]  # noqa: E731
    remembered = LedgerDecider(POLICY, SubjectStates(shared_ledger), clock=clock)
    kept_only = LedgerDecider(POLICY, SubjectStates(shared_ledger, memo=False), clock=clock)
    plain = LedgerDecider(POLICY, SubjectStates(shared_ledger, cache=False), clock=clock)
    events = iter(history)
    for day, half, record in moments:
        if record:  # a new event between questions: the memo must not outlive the state it was made for
            step = next(events, None)
            if step is not None:
                kind, at, fields = step
                shared_ledger.record(event(kind, subject, at, **fields))
        now[0] = T0 + timedelta(days=day, hours=12 * half)  # midnight: an expiry's own instant
        said = base
        for change in [{}, *changes]:
            said = {**said, **change}
            for _ in range(2):  # asked again: the second from the memo
                request = ask(subject, said)
                expected = outcome(plain, request)
                assert outcome(remembered, request) == expected
                assert outcome(kept_only, request) == expected


def readings_of(states: SubjectStates, subject: str):
    return states._readings[subject][2]


def consenting(ledger):
    """A person who gave consent to marketing, and a decider keeping states and the memo."""
    subject = new_subject()
    ledger.record(event("consent.given", subject))
    states = SubjectStates(ledger)
    return subject, states, LedgerDecider(POLICY, states)


def test_a_question_asked_again_is_answered_from_the_memo_with_a_new_id(ledger):
    subject, states, decider = consenting(ledger)
    first, second = decider.decide(ask(subject, {})), decider.decide(ask(subject, {"note": "b"}))
    assert len(readings_of(states, subject).decided) == 1  # the note is read by no rule: one key
    assert first.decision == second.decision == "allow" and first.decision_id != second.decision_id
    assert second.reasons is first.reasons and second.ledger == first.ledger


def test_a_new_event_for_the_subject_is_applied_at_once(ledger):
    subject = new_subject()
    ledger.record(event("consent.given", subject))
    decider = LedgerDecider(POLICY, SubjectStates(ledger))
    assert decider.decide(ask(subject, {})).decision == "allow"
    assert decider.decide(ask(subject, {})).decision == "allow"
    withdrawn = ledger.record(event("consent.withdrawn", subject, "2026-03-02T10:00:00Z"))
    denied = decider.decide(ask(subject, {}))
    assert denied.decision == "deny" and denied.ledger["events"][0]["event_id"] == withdrawn.event_id


def test_a_reloaded_set_is_not_answered_from_the_other_s_memo(ledger):
    subject = new_subject()
    ledger.record(event("consent.given", subject))
    states = SubjectStates(ledger)
    assert LedgerDecider(POLICY, states).decide(ask(subject, {})).decision == "allow"
    stricter = build_set(RULES + 'deny all.marketing "No marketing now" cite "§2" to use for marketing\n',
                         vocabulary=VOCAB)
    assert LedgerDecider(stricter, states).decide(ask(subject, {})).decision == "deny"
    # the readings are made again for the new set's declarations; an entry also names the set that made it, so
    # a set sharing the declarations' tuple (kept readings) is not answered from the other's memo either
    sharing = build_set(RULES + 'deny all.marketing "No marketing now" cite "§2" to use for marketing\n',
                        vocabulary=VOCAB)
    sharing.ledger_fills = POLICY.ledger_fills
    assert LedgerDecider(POLICY, states).decide(ask(subject, {})).decision == "allow"
    assert LedgerDecider(sharing, states).decide(ask(subject, {})).decision == "deny"


def test_a_token_not_yet_seen_or_as_of_is_decided_in_full(ledger):
    subject, states, decider = consenting(ledger)
    decider.decide(ask(subject, {}))
    readings_of(states, subject).decided.clear()
    receipt = ledger.record(event("consent.withdrawn", subject, "2026-03-02T10:00:00Z"), )
    states.seen = receipt.seq - 1  # as if this process had not yet heard of the write
    assert decider.decide({**ask(subject, {}), "ledger_seq": receipt.seq}).decision == "deny"
    assert not readings_of(states, subject).decided  # the token's decision made in full, not remembered
    assert decider.decide({**ask(subject, {}), "as_of": "2026-03-01T12:00:00Z"}).decision == "allow"
    assert not readings_of(states, subject).decided


def test_an_evaluation_error_is_not_remembered(ledger):
    subject = new_subject()
    ledger.record(event("consent.given", subject))
    failing = build_set(FILLS + 'deny broken "x" cite "§1" to use for marketing when context.score < 5\n',
                        vocabulary=VOCAB)
    states = SubjectStates(ledger)
    for _ in range(2):
        decision = LedgerDecider(failing, states).decide({**ask(subject, {}), "context": {"score": "high"}})
        assert decision.decision == "deny" and decision.reasons[0].effect == "error"
    assert not readings_of(states, subject).decided


def test_the_memo_is_bounded(ledger, monkeypatch):
    monkeypatch.setattr(ledger_memo, "LIMIT", 3)
    subject, states, decider = consenting(ledger)
    for age in range(20, 30):
        decider.decide(ask(subject, {"age": age, "purpose": "analytics"}))
        assert len(readings_of(states, subject).decided) <= 3


@pytest.mark.parametrize("off", ["module", "states", "request memo"])
def test_the_memo_can_be_switched_off(ledger, monkeypatch, off):
    subject = new_subject()
    ledger.record(event("consent.given", subject))
    policy = build_set(RULES, vocabulary=VOCAB)
    if off == "module":
        monkeypatch.setattr(ledger_memo, "ENABLED", False)
    if off == "request memo":
        policy.forget_requests()  # PDP_REQUEST_MEMO=false: the key's machinery is gone, so is this memo
    states = SubjectStates(ledger, memo=off != "states")
    decider = LedgerDecider(policy, states)
    assert decider.decide(ask(subject, {})).decision == decider.decide(ask(subject, {})).decision == "allow"
    assert not readings_of(states, subject).decided


@pytest.mark.parametrize("value, on", [("false", False), ("true", True)])
def test_pdp_ledger_memo_switches_the_server_s(ledger, monkeypatch, value, on):
    monkeypatch.setenv("PDP_LEDGER_MEMO", value)
    states = states_of(Settings(), ledger)
    assert states is not None and states.memo is on
    states.close()


def test_the_memo_is_bounded_in_all(ledger, monkeypatch):
    monkeypatch.setattr(ledger_memo, "TOTAL", 5)
    subjects = [new_subject() for _ in range(8)]
    ledger.record_many([event("consent.given", s) for s in subjects])
    states = SubjectStates(ledger)
    decider = LedgerDecider(POLICY, states)
    for subject in subjects:
        for age in (20, 30):
            assert decider.decide(ask(subject, {"age": age, "purpose": "analytics"})).decision == "allow"
            assert sum(len(readings_of(states, s).decided) for s in subjects if s in states._readings) <= 5


# ---------------------------------------------------------------- per-subject: a write lets go of its subjects only

def kept_state(states: SubjectStates, subject: str):
    return states._states[subject][3]


def two_people(ledger):
    a, b = new_subject(), new_subject()
    ledger.record_many([event("consent.given", a), event("consent.given", b)])
    return a, b


def test_a_write_through_this_process_lets_go_of_its_subject_s_state_and_memo_only(ledger):
    a, b = two_people(ledger)
    states = SubjectStates(ledger, recheck_s=3600, listen=False)
    decider = LedgerDecider(POLICY, states)
    for subject in (a, b):
        assert decider.decide(ask(subject, {})).decision == "allow"
    b_state, b_readings = kept_state(states, b), readings_of(states, b)
    ledger.record(event("consent.withdrawn", a, "2026-03-02T10:00:00Z"))
    assert decider.decide(ask(a, {})).decision == "deny"
    assert decider.decide(ask(b, {})).decision == "allow"
    assert kept_state(states, b) is b_state and readings_of(states, b) is b_readings and b_readings.decided


def test_postgresql_another_process_s_write_lets_go_of_its_subject_only(postgres_url):
    from pdp.ledger import open_ledger
    from tests.support.ledger import KEY

    with open_ledger(postgres_url, key=KEY) as ledger, open_ledger(postgres_url, key=KEY) as other:
        a, b = two_people(ledger)
        # only the listener's notification can tell it within the test (no heartbeat meanwhile: its news names
        # nobody, and would let go of every state)
        states = SubjectStates(ledger, recheck_s=3600, heartbeat_s=60)
        decider = LedgerDecider(POLICY, states)
        eventually(lambda: states.listening, "the listener vouches")
        for subject in (a, b):
            assert decider.decide(ask(subject, {})).decision == "allow"
        b_state = kept_state(states, b)
        other.record(event("consent.withdrawn", a, "2026-03-02T10:00:00Z"))
        eventually(lambda: decider.decide(ask(a, {})).decision == "deny", "the other process's write applied")
        assert decider.decide(ask(b, {})).decision == "allow" and kept_state(states, b) is b_state


def test_sqlite_another_process_s_write_lets_go_of_every_state(tmp_path):
    # `PRAGMA data_version` says that something was committed, not for whom
    from pdp.ledger import open_ledger
    from tests.support.ledger import KEY

    now = [0.0]
    with open_ledger(tmp_path / "l.db", key=KEY) as ledger, open_ledger(tmp_path / "l.db", key=KEY) as other:
        a, b = two_people(ledger)
        states = SubjectStates(ledger, recheck_s=0.005, monotonic=lambda: now[0])
        decider = LedgerDecider(POLICY, states)
        for subject in (a, b):
            assert decider.decide(ask(subject, {})).decision == "allow"
        b_state = kept_state(states, b)
        other.record(event("consent.withdrawn", a, "2026-03-02T10:00:00Z"))
        now[0] += 0.01
        assert decider.decide(ask(a, {})).decision == "deny"
        assert decider.decide(ask(b, {})).decision == "allow" and kept_state(states, b) is not b_state


def test_news_that_does_not_follow_the_last_seen_lets_go_of_every_state(ledger):
    a, b = two_people(ledger)
    states = SubjectStates(ledger, recheck_s=3600, listen=False)
    decider = LedgerDecider(POLICY, states)
    for subject in (a, b):
        decider.decide(ask(subject, {}))
    generation = states.generation
    states.advance(states.seen + 3, states.seen + 1, frozenset({ledger.keys.subject(a)}))  # a write came between
    assert states.generation == generation + 1 and not states._states
    decider.decide(ask(b, {}))
    states.advance(states.seen + 1)  # a heartbeat's or a poll's news: whose, not known
    assert states.generation == generation + 2 and not states._states


def test_a_state_whose_read_began_before_its_subject_was_let_go_of_is_not_kept(ledger):
    a, _ = two_people(ledger)
    states = SubjectStates(ledger, recheck_s=3600, listen=False)
    reads = []

    def reading(subject_id, **kw):  # a write for the subject is heard while its state is being read
        state = type(ledger).state(ledger, subject_id, **kw)
        if not reads:
            states.advance(states.seen + 1, states.seen, frozenset({ledger.keys.subject(a)}))
        reads.append(subject_id)
        return state

    ledger.state = reading
    try:
        states.state(a)
        states.state(a)
    finally:
        del ledger.state
    assert reads == [a, a]  # read again: the first may have missed the write


def test_after_an_erasure_the_memo_decides_as_the_plain_path(ledger):
    subject = new_subject()
    ledger.record(event("consent.given", subject))
    remembered = LedgerDecider(POLICY, SubjectStates(ledger))
    plain = LedgerDecider(POLICY, SubjectStates(ledger, cache=False))
    assert outcome(remembered, ask(subject, {})) == outcome(plain, ask(subject, {}))
    ledger.erase(subject)
    assert outcome(remembered, ask(subject, {})) == outcome(plain, ask(subject, {}))
    ledger.record(event("erasure.requested", subject, "2026-03-02T10:00:00Z"))
    assert outcome(remembered, ask(subject, {})) == outcome(plain, ask(subject, {}))


def test_a_memo_that_does_not_pay_is_given_up_on_until_the_state_changes(ledger, monkeypatch):
    monkeypatch.setattr(ledger_memo, "TRIES", 4)
    subject, states, decider = consenting(ledger)
    plain = LedgerDecider(POLICY, SubjectStates(ledger, cache=False))
    for age in range(20, 40):  # every question new
        request = ask(subject, {"age": age, "purpose": "analytics"})
        assert outcome(decider, request) == outcome(plain, request)
    assert readings_of(states, subject).tally == [0, 4]  # given up on after 4 misses: no key made since
    ledger.record(event("consent.given", subject, "2026-03-02T10:00:00Z"))
    for _ in range(3):
        decider.decide(ask(subject, {}))
    assert readings_of(states, subject).tally == [2, 1]  # the new state's memo is tried again, and pays
