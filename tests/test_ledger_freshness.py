"""How a process learns of the ledger's new events without asking before each decision: its own writes at once,
other processes' through PostgreSQL's notifications (polling while the listener is down) or SQLite's
`PRAGMA data_version` every few ms; tokens still force a look. Each shortcut is proved equal to the plain path."""


import psycopg
from hypothesis import given
from hypothesis import strategies as st

from pdp.io.ledger_listen import APPLICATION_NAME
from pdp.io.ledger_reader import LedgerDecider, SubjectStates
from pdp.ledger.store import Ledger
from tests.support.generate import fewer
from tests.support.ledger import event, new_subject
from tests.support.waiting import eventually
from tests.test_ledger_decide import POLICY, ask

def elsewhere(ledger: Ledger) -> Ledger:
    """The same database through another Ledger object, as another process has: its writes are not told here."""
    return Ledger(ledger.engine, ledger.keys)


def test_a_write_through_this_process_is_applied_to_the_next_decision_however_long_states_are_kept(ledger):
    subject = new_subject()
    ledger.record(event("consent.given", subject))
    decider = LedgerDecider(POLICY, SubjectStates(ledger, recheck_s=3600, listen=False))
    assert decider.decide(ask(subject)).decision == "allow"
    ledger.record(event("consent.withdrawn", subject, "2026-03-02T10:00:00Z"))
    assert decider.decide(ask(subject)).decision == "deny"
    ledger.record_many([event("consent.given", subject, "2026-03-03T10:00:00Z")])
    assert decider.decide(ask(subject)).decision == "allow"


def test_sqlite_a_write_by_another_process_is_seen_within_the_recheck_time(tmp_path):
    from pdp.ledger import open_ledger
    from tests.support.ledger import KEY

    now = [0.0]
    with open_ledger(tmp_path / "l.db", key=KEY) as ledger, open_ledger(tmp_path / "l.db", key=KEY) as other:
        subject = new_subject()
        ledger.record(event("consent.given", subject))
        states = SubjectStates(ledger, recheck_s=0.005, monotonic=lambda: now[0])
        decider = LedgerDecider(POLICY, states)
        assert decider.decide(ask(subject)).decision == "allow"
        other.record(event("consent.withdrawn", subject, "2026-03-02T10:00:00Z"))
        now[0] += 0.004
        assert decider.decide(ask(subject)).decision == "allow"  # within the bound: the kept state is used
        now[0] += 0.002
        assert decider.decide(ask(subject)).decision == "deny"  # past it: `PRAGMA data_version` moved, re-read


def test_postgresql_the_listener_hears_another_process_s_write(postgres_url):
    from pdp.ledger import open_ledger
    from tests.support.ledger import KEY

    with open_ledger(postgres_url, key=KEY) as ledger, open_ledger(postgres_url, key=KEY) as other:
        subject = new_subject()
        ledger.record(event("consent.given", subject))
        states = SubjectStates(ledger, recheck_s=3600)  # only the listener can tell it within the test
        decider = LedgerDecider(POLICY, states)
        eventually(lambda: states.listening, "the listener vouches")
        assert decider.decide(ask(subject)).decision == "allow"
        heard = states._listener.heard
        other.record(event("consent.withdrawn", subject, "2026-03-02T10:00:00Z"))
        eventually(lambda: decider.decide(ask(subject)).decision == "deny", "the other process's write applied")
        eventually(lambda: states._listener.heard > heard, "its notification heard")


def test_postgresql_a_lost_listener_is_not_trusted_and_polling_takes_over_until_it_is_back(postgres_cluster,
                                                                                            postgres_url):
    from pdp.ledger import open_ledger
    from tests.support.ledger import KEY

    with open_ledger(postgres_url, key=KEY) as ledger, open_ledger(postgres_url, key=KEY) as other:
        subject = new_subject()
        ledger.record(event("consent.given", subject))
        states = SubjectStates(ledger, recheck_s=0.01, heartbeat_s=0.2)
        decider = LedgerDecider(POLICY, states)
        eventually(lambda: states.listening, "the listener vouches")
        assert decider.decide(ask(subject)).decision == "allow"
        listener = states._listener
        listener._stop.set()  # its thread ends, as a listener whose connection is lost for good
        eventually(lambda: not listener._thread.is_alive(), "the listener stopped")
        assert not states.listening
        other.record(event("consent.withdrawn", subject, "2026-03-02T10:00:00Z"))
        eventually(lambda: decider.decide(ask(subject)).decision == "deny", "the write applied by polling")


def test_postgresql_a_killed_listener_connection_reconnects(postgres_cluster, postgres_url):
    from pdp.ledger import open_ledger
    from tests.support.ledger import KEY

    with open_ledger(postgres_url, key=KEY) as ledger:
        states = SubjectStates(ledger, recheck_s=0.01, heartbeat_s=0.2)
        states._listener.retry_s = 0.05
        eventually(lambda: states.listening, "the listener vouches")
        with psycopg.connect(postgres_cluster.url(), autocommit=True) as admin:
            killed = admin.execute("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                                   "WHERE application_name = %s", (APPLICATION_NAME,)).fetchone()[0]
        assert killed >= 1
        eventually(lambda: states._listener.connections >= 2 and states.listening, "the listener is back")
        subject = new_subject()
        elsewhere(ledger).record(event("consent.withdrawn", subject))
        decider = LedgerDecider(POLICY, states)
        assert decider.decide(ask(subject)).decision == "deny"


def test_a_token_forces_a_look_even_while_the_listener_vouches(ledger):
    subject = new_subject()
    ledger.record(event("consent.given", subject))
    states = SubjectStates(ledger, recheck_s=3600)
    decider = LedgerDecider(POLICY, states)
    assert decider.decide(ask(subject)).decision == "allow"
    receipt = elsewhere(ledger).record(event("consent.withdrawn", subject, "2026-03-02T10:00:00Z"))
    assert decider.decide(ask(subject, ledger_seq=receipt.seq)).decision == "deny"


KINDS = ["consent.given", "consent.withdrawn", "objection.lodged", "objection.resolved"]


@fewer(4)
@given(st.lists(st.tuples(st.integers(0, 2), st.sampled_from(KINDS), st.integers(1, 28), st.booleans()),
                min_size=1, max_size=8))
def test_writes_from_elsewhere_decided_with_their_token_are_decided_as_reading_the_store(shared_ledger, steps):
    """The listener, `PRAGMA data_version` and the hook of this process's writes, all on, with writes by another
    process carrying their token, decide as reading the store every time."""
    subjects = [new_subject() for _ in range(3)]
    other = elsewhere(shared_ledger)
    cached = LedgerDecider(POLICY, SubjectStates(shared_ledger, recheck_s=3600))
    plain = LedgerDecider(POLICY, SubjectStates(shared_ledger, cache=False))
    for who, kind, day, here in steps:
        receipt = (shared_ledger if here else other).record(event(kind, subjects[who], f"2026-03-{day:02d}T10:00:00Z"))
        for subject in subjects:
            request = ask(subject, ledger_seq=receipt.seq)
            a, b = cached.decide(request).to_dict(), plain.decide(request).to_dict()
            assert {**a, "decision_id": None} == {**b, "decision_id": None}
    cached.states.close()
