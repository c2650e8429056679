"""A subject's state, folded from its events (pure): latest by time, cites its event, as of a past time."""

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from pdp.ledger import chain
from pdp.ledger.events import parse_event
from pdp.ledger.records import Recorded
from pdp.ledger.state import State, as_of, fold
from tests.support.ledger import event

T0 = datetime(2026, 3, 1, tzinfo=UTC)


def recorded(seq, kind, day, **fields):
    occurred = (T0 + timedelta(days=day)).isoformat()
    return Recorded.of(parse_event(event(kind, occurred_at=occurred, **fields)), seq=seq, event_id=f"e{seq}",
                       position=seq - 1, recorded_at=T0 + timedelta(days=30, seconds=seq))


def test_the_latest_event_of_a_key_decides_and_is_cited():
    state = fold([recorded(1, "consent.given", 0), recorded(2, "marketing.opted_out", 1),
                  recorded(3, "consent.withdrawn", 2)])
    assert state.fact("consent:marketing").status == "withdrawn"
    assert state.fact("consent:marketing").event_id == "e3"
    assert state.fact("marketing:email").status == "opted_out"
    assert state.seq == 3


def test_an_event_recorded_late_takes_its_place_in_time():
    """A paper withdrawal dated before a later online consent does not undo that consent."""
    state = fold([recorded(1, "consent.given", 5), recorded(2, "consent.withdrawn", 3)])
    assert state.fact("consent:marketing").event_id == "e1"
    assert state.seq == 2


def test_withdrawing_a_topic_withdraws_every_purpose_given_before():
    state = fold([recorded(1, "consent.given", 0, purpose="analytics"), recorded(2, "consent.withdrawn", 1)])
    assert state.consent("marketing", "analytics").status == "withdrawn"
    later = fold([recorded(2, "consent.withdrawn", 1), recorded(3, "consent.given", 2, purpose="analytics")])
    assert later.consent("marketing", "analytics").status == "given"
    assert later.consent("marketing").status == "withdrawn"
    assert State().consent("marketing") is None


def test_as_of_a_time_withdrawal_is_not_retroactive():
    events = [recorded(1, "consent.given", 0), recorded(2, "consent.withdrawn", 10)]
    assert as_of(events, T0 + timedelta(days=5)).fact("consent:marketing").status == "given"
    assert as_of(events, T0 + timedelta(days=10)).fact("consent:marketing").status == "withdrawn"
    assert as_of(events, T0 - timedelta(days=1)).facts == {}


def test_as_of_what_was_known_leaves_out_what_was_recorded_after():
    events = [recorded(1, "consent.given", 0), recorded(2, "consent.withdrawn", 1)]
    known = T0 + timedelta(days=30, seconds=1)  # event 1 recorded, event 2 not yet
    assert as_of(events, T0 + timedelta(days=20), known_at=known).fact("consent:marketing").status == "given"


def test_expiry_is_judged_at_the_time_asked():
    state = fold([recorded(1, "consent.given", 0, expires_at=(T0 + timedelta(days=395)).isoformat())])
    fact = state.fact("consent:marketing")
    assert not fact.expired(T0 + timedelta(days=394)) and fact.expired(T0 + timedelta(days=395))
    assert state.to_dict(T0 + timedelta(days=400))["facts"]["consent:marketing"]["expired"] is True


def test_each_kind_sets_its_own_fact():
    state = fold([recorded(1, "objection.lodged", 0, purpose="profiling"), recorded(2, "objection.resolved", 1),
                  recorded(3, "restriction.applied", 0), recorded(4, "policy.accepted", 0), recorded(5, "gpc.signalled", 0),
                  recorded(6, "erasure.requested", 0)])
    assert {k: f.status for k, f in state.facts.items()} == {
        "objection:profiling": "lodged", "objection:*": "upheld", "restriction:*": "applied", "policy": "accepted",
        "gpc": "signalled", "erasure": "requested"}
    assert state.fact("policy").notice_version == "2026-11-24"


KINDS = st.sampled_from(["consent.given", "consent.refused", "consent.withdrawn", "marketing.opted_out",
                         "marketing.opted_in"])


@given(st.lists(st.tuples(KINDS, st.integers(0, 5)), max_size=12), st.randoms(use_true_random=False))
def test_the_fold_is_the_same_in_any_order_of_recording(items, random):
    """Last writer by time wins per key: what the store's state table relies on when it replaces one fact."""
    events = [recorded(i + 1, kind, day) for i, (kind, day) in enumerate(items)]
    shuffled = events[:]
    random.shuffle(shuffled)
    assert fold(shuffled) == fold(events)


def row(position, previous):
    content = {name: f"{name}-{position}" for name in chain.CHAINED}
    content.update(position=position, seq=position + 1, sealed=b"\x00\x01")
    content["link"] = chain.link(previous, content)
    return content


def a_chain(length):
    rows, previous = [], chain.GENESIS
    for position in range(length):
        rows.append(row(position, previous))
        previous = rows[-1]["link"]
    return rows, (length, previous)


def test_an_intact_chain_verifies_and_a_changed_row_is_named():
    rows, head = a_chain(4)
    assert chain.first_break("s", rows, head) is None
    rows[2] = {**rows[2], "kind": "consent.given"}
    found = chain.first_break("s", rows, head)
    assert (found.position, found.seq) == (2, 3)


def test_a_removed_row_breaks_the_chain_and_a_removed_last_row_the_head():
    rows, head = a_chain(4)
    assert chain.first_break("s", rows[:1] + rows[2:], head).position == 1
    assert "head" in chain.first_break("s", rows[:3], head).reason
    assert chain.first_break("s", [], None) is None
