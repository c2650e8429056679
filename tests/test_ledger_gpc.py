"""`Sec-GPC: 1` on a recording (pdp.server.ledger_gpc): which GPC signals are added to the events, and where."""

from hypothesis import given
from hypothesis import strategies as st

from pdp.ledger import parse_event
from pdp.server.ledger_gpc import derived_id, signalled, with_signals
from tests.support.ledger import event

KINDS = ["consent.given", "marketing.opted_out", "gpc.signalled", "objection.lodged"]
requests = st.lists(st.tuples(st.sampled_from(["a", "b", "c"]), st.sampled_from(KINDS),
                              st.one_of(st.none(), st.text(min_size=1, max_size=300))), min_size=1, max_size=8)


@given(requests)
def test_one_signal_before_each_subjects_first_event_unless_it_signals_itself(items):
    events = [parse_event(event(kind, subject, client_event_id=client_id)) for subject, kind, client_id in items]
    result = with_signals(events)
    assert [e for e, _, signal in result if not signal] == events  # every given event, once, in order
    signals = [(e, index) for e, index, signal in result if signal]
    self_signalling = {e.subject for e in events if e.kind == "gpc.signalled"}
    assert sorted(e.subject for e, _ in signals) == sorted({e.subject for e in events} - self_signalling)
    for position, (item, index, signal) in enumerate(result):
        if signal:
            anchor = events[index]
            assert result[position + 1][0] is anchor and events.index(anchor) == index  # just before its first event
            assert not any(e.subject == anchor.subject for e in events[:index])
            assert (item.kind, item.method, item.actor.type, item.occurred_at, item.client_event_id) == (
                "gpc.signalled", "gpc_header", "person", anchor.occurred_at, derived_id(anchor.client_event_id))


def test_only_the_value_1_is_a_signal():
    assert signalled("1") and signalled(" 1 ")
    assert not any(signalled(value) for value in (None, "", "0", "true", "yes", "11"))


def test_a_derived_client_event_id_fits_and_depends_only_on_the_events():
    long = "x" * 256
    assert derived_id(None) is None and derived_id(long) == derived_id(long) != derived_id(long[:-1])
    assert len(derived_id(long)) <= 256
