"""Properties of the ledger's store on both backends, over generated sequences of events.

- the state table equals the fold of the history, and a model of it kept apart, after any records and batches;
- as of any time, the state equals the model over the events that had happened by then;
- verify finds any single row changed or removed, at or before that row;
- recording the same events again (by client event id) changes nothing.

Each example works on subjects of its own in one ledger per backend (`shared_ledger`).
"""

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select, update

from pdp.ledger import schema
from pdp.ledger.state import fold
from tests.support.generate import fewer
from tests.support.ledger import NOTICE, new_subject

T0 = datetime(2026, 1, 1, tzinfo=UTC)
TOPICS = ["marketing", "location"]
PURPOSES = [None, "analytics"]
MANY = settings(fewer(3), suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@st.composite
def events(draw):
    """A valid event of any kind, at one of a few times (ties and events recorded out of order included)."""
    kind = draw(st.sampled_from(["consent.given", "consent.refused", "consent.withdrawn", "marketing.opted_out",
                                 "marketing.opted_in", "gpc.signalled", "objection.lodged", "objection.resolved",
                                 "restriction.applied", "restriction.lifted", "erasure.requested", "policy.accepted"]))
    day = draw(st.integers(0, 6))
    out = {"kind": kind, "occurred_at": (T0 + timedelta(days=day)).isoformat(), "method": "api",
           "actor": {"type": draw(st.sampled_from(["person", "agent", "administrator"]))}}
    family = kind.split(".")[0]
    if family == "consent":
        out["topic"] = draw(st.sampled_from(TOPICS))
        if purpose := draw(st.sampled_from(PURPOSES)):
            out["purpose"] = purpose
    if family == "marketing":
        out["channel"] = draw(st.sampled_from(["email", "sms"]))
    if family == "objection" and draw(st.booleans()):
        out["purpose"] = "profiling"
    if family == "restriction" and draw(st.booleans()):
        out["scope"] = "all_processing"
    if kind == "objection.resolved":
        out["outcome"] = draw(st.sampled_from(["upheld", "dismissed"]))
    if kind in ("consent.given", "policy.accepted"):
        out["notice"] = {**NOTICE, "version": draw(st.sampled_from(["v1", "v2"]))}
    if kind in ("consent.given", "marketing.opted_in") and draw(st.booleans()):
        out["expires_at"] = (T0 + timedelta(days=day + draw(st.integers(1, 5)))).isoformat()
    return out


def with_subjects(items, subjects):
    return [{**item, "subject": subjects[i % len(subjects)], "client_event_id": f"{subjects[0]}/{i}"}
            for i, item in enumerate(items)]


def record_in_batches(ledger, items, sizes):
    """Record `items` one at a time or in batches of the drawn sizes; the receipts in order."""
    receipts, i = [], 0
    for size in sizes:
        if i >= len(items):
            break
        chunk = items[i:i + size]
        receipts += [ledger.record(chunk[0])] if size == 1 else ledger.record_many(chunk)
        i += size
    return receipts + (ledger.record_many(items[i:]) if i < len(items) else [])


def model_key(item):
    family = item["kind"].split(".")[0]
    if family == "consent":
        return f"consent:{item['topic']}" + (f":{item['purpose']}" if "purpose" in item else "")
    if family == "marketing":
        return f"marketing:{item['channel']}"
    if family == "objection":
        return f"objection:{item.get('purpose', '*')}"
    if family == "restriction":
        return f"restriction:{item.get('scope', '*')}"
    return family


def model(items, at=None):
    """What each key's status should be, computed apart from the ledger: the last event by time, then order."""
    latest = {}
    for index, item in enumerate(items):
        occurred = datetime.fromisoformat(item["occurred_at"])
        if at is not None and occurred > at:
            continue
        status = item.get("outcome") or item["kind"].split(".")[1]
        key = model_key(item)
        if key not in latest or (occurred, index) >= latest[key][0]:
            latest[key] = ((occurred, index), status)
    return {key: status for key, (_, status) in latest.items()}


SEQUENCES = st.lists(events(), min_size=1, max_size=10)
SIZES = st.lists(st.integers(1, 4), max_size=6)


@MANY
@given(items=SEQUENCES, sizes=SIZES)
def test_the_state_table_is_the_fold_of_the_history(shared_ledger, items, sizes):
    subjects = [new_subject(), new_subject()]
    items = with_subjects(items, subjects)
    record_in_batches(shared_ledger, items, sizes)
    for subject in subjects:
        mine = [item for item in items if item["subject"] == subject]
        table = shared_ledger.state(subject)
        assert table == fold(shared_ledger.history(subject))
        assert {key: fact.status for key, fact in table.facts.items()} == model(mine)


@MANY
@given(items=SEQUENCES, sizes=SIZES, day=st.integers(-1, 7), hour=st.sampled_from([0, 12]))
def test_as_of_a_time_is_the_fold_of_what_had_happened(shared_ledger, items, sizes, day, hour):
    subject = new_subject()
    items = with_subjects(items, [subject])
    record_in_batches(shared_ledger, items, sizes)
    at = T0 + timedelta(days=day, hours=hour)
    then = shared_ledger.state_as_of(subject, at)
    assert {key: fact.status for key, fact in then.facts.items()} == model(items, at)
    assert all(fact.occurred_at <= at for fact in then.facts.values())


# each column of an event row and a value that differs from any it holds (no unique constraint collides)
CHANGES = {
    "seq": lambda v: v + 1_000_000_000, "event_id": lambda v: v[:-4] + "ffff" if not v.endswith("ffff") else v[:-4] + "0000",
    "subject": lambda v: "hmac:" + uuid.uuid4().hex * 2, "position": lambda v: v + 1000, "kind": lambda v: "consent.refused"
    if v != "consent.refused" else "consent.given", "topic": lambda v: "other", "purpose": lambda v: "other",
    "channel": lambda v: "other", "scope": lambda v: "other", "outcome": lambda v: "other",
    "notice_version": lambda v: "v9", "notice_digest": lambda v: "sha256:" + "0" * 64, "method": lambda v: "forged",
    "actor_type": lambda v: "agent" if v != "agent" else "person", "occurred_us": lambda v: v - 1,
    "recorded_us": lambda v: v + 1, "expires_us": lambda v: (v or 0) + 1, "key_generation": lambda v: v + 1,
    "sealed": lambda v: bytes([v[0] ^ 1]) + v[1:], "link": lambda v: "sha256:" + "1" * 64,
    "client_event_key": lambda v: "hmac:" + uuid.uuid4().hex * 2,
}


@MANY
@given(items=SEQUENCES, target=st.integers(0, 9), column=st.sampled_from([*CHANGES, "(deleted)"]))
def test_verify_finds_any_single_changed_or_removed_row(shared_ledger, items, target, column):
    subject = new_subject()
    receipts = shared_ledger.record_many(with_subjects(items, [subject]))
    assert shared_ledger.verify(subject).ok
    seq = receipts[target % len(receipts)].seq
    where = schema.events.c.seq == seq
    with shared_ledger.engine.begin() as connection:
        if column == "(deleted)":
            connection.execute(delete(schema.events).where(where))
        else:
            old = connection.execute(select(schema.events.c[column]).where(where)).scalar()
            connection.execute(update(schema.events).where(where).values({column: CHANGES[column](old)}))
    found = shared_ledger.verify(subject).breaks
    assert found, f"a change of `{column}` in event {seq} went unnoticed"
    assert found[0].position == target % len(receipts)  # the changed row's own place in the chain


# the subject's head and its facts in the state table: each column and a value it cannot hold
KEPT = {
    "head.events": (schema.subjects, "events", lambda v: v - 1),
    "head.head": (schema.subjects, "head", lambda v: "sha256:" + "2" * 64),
    "state.status": (schema.state, "status", lambda v: "forged"),
    "state.event_id": (schema.state, "event_id", lambda v: "forged"),
    "state.seq": (schema.state, "seq", lambda v: v + 1),
    "state.occurred_us": (schema.state, "occurred_us", lambda v: v + 1),
    "state.expires_us": (schema.state, "expires_us", lambda v: (v or 0) + 1),
    "state.notice_version": (schema.state, "notice_version", lambda v: "v9"),
    "state.(deleted)": (schema.state, None, None),
}


@MANY
@given(items=SEQUENCES, target=st.integers(0, 9), column=st.sampled_from(sorted(KEPT)))
def test_verify_finds_a_changed_head_or_state(shared_ledger, items, target, column):
    subject = new_subject()
    shared_ledger.record_many(with_subjects(items, [subject]))
    table, name, change = KEPT[column]
    pseudonym = shared_ledger.keys.subject(subject)
    with shared_ledger.engine.begin() as connection:
        keys = sorted(connection.execute(select(schema.state.c.key).where(schema.state.c.subject == pseudonym)).scalars())
        where = table.c.subject == pseudonym
        if table is schema.state:
            where = where & (table.c.key == keys[target % len(keys)])
        if name is None:
            connection.execute(delete(table).where(where))
        else:
            old = connection.execute(select(table.c[name]).where(where)).scalar()
            connection.execute(update(table).where(where).values({name: change(old)}))
    assert shared_ledger.verify(subject).breaks, f"a change of {column} went unnoticed"


@MANY
@given(items=SEQUENCES, sizes=SIZES, again_sizes=SIZES)
def test_recording_the_same_events_again_changes_nothing(shared_ledger, items, sizes, again_sizes):
    subject = new_subject()
    items = with_subjects(items, [subject])
    first = record_in_batches(shared_ledger, items, sizes)
    before = (shared_ledger.last_seq(), shared_ledger.history(subject), shared_ledger.state(subject))
    again = record_in_batches(shared_ledger, items, again_sizes)
    assert [(r.seq, r.event_id) for r in again] == [(r.seq, r.event_id) for r in first]
    assert all(r.duplicate for r in again)
    assert (shared_ledger.last_seq(), shared_ledger.history(subject), shared_ledger.state(subject)) == before


@pytest.mark.parametrize("kind", ["consent.given"])
def test_the_model_reads_the_generated_events(kind):
    """The model above agrees with a hand-worked case, so that the properties compare against something true."""
    items = [{"kind": kind, "topic": "marketing", "occurred_at": (T0 + timedelta(days=2)).isoformat()},
             {"kind": "consent.withdrawn", "topic": "marketing", "occurred_at": T0.isoformat()}]
    assert model(items) == {"consent:marketing": "given"}
    assert model(items, T0 + timedelta(days=1)) == {"consent:marketing": "withdrawn"}
