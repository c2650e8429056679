"""The ledger's events: what each kind needs, and bad input refused naming every bad field (never a traceback)."""

import pytest

from pdp.ledger.events import KINDS, InvalidEvent, parse_event, parse_events
from tests.support.ledger import NOTICE, event


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_kind_is_accepted_with_the_fields_it_needs(kind):
    parsed = parse_event(event(kind))
    assert parsed.kind == kind
    assert parsed.identifying()["subject"] == "alice@example.com"


def problems(data):
    with pytest.raises(InvalidEvent) as caught:
        parse_events(data)
    return caught.value.problems


def test_a_missing_field_of_the_kind_is_named_with_the_kind():
    data = event("consent.given")
    del data["topic"], data["notice"]
    assert problems(data) == [("notice", "required for `consent.given`"), ("topic", "required for `consent.given`")]


def test_a_field_the_kind_does_not_have_is_named():
    assert problems(event("gpc.signalled", channel="email")) == [("channel", "not a field of `gpc.signalled`")]
    assert problems(event("consent.refused", outcome="upheld")) == [("outcome", "not a field of `consent.refused`")]


def test_an_unknown_kind_lists_the_kinds():
    [(field, message)] = problems(event("consent.maybe"))
    assert field == "kind" and "`consent.given`" in message and "`policy.accepted`" in message


def test_times_must_say_their_zone_and_expiry_follow_the_event():
    assert problems(event("gpc.signalled", occurred_at="2026-03-01T10:00:00"))[0][0] == "occurred_at"
    assert problems(event("consent.given", expires_at="2026-03-01T09:00:00Z")) == [
        ("expires_at", "must be after `occurred_at`")]


def test_nested_and_unknown_fields_are_named_by_their_path():
    found = dict(problems(event("consent.given", actor={"type": "robot"}, notice={**NOTICE, "digest": "md5:x"},
                                colour="blue")))
    assert set(found) == {"actor.type", "notice.digest", "colour"}
    assert found["colour"] == "not a field of an event"


def test_names_that_become_state_keys_cannot_carry_a_separator():
    assert problems(event("consent.given", topic="a:b"))[0][0] == "topic"


def test_a_batch_names_each_event_by_its_index_and_reports_them_all():
    found = problems([event("gpc.signalled"), event("consent.given", topic=None), "text"])
    assert [f for f, _ in found] == ["[1].topic", "[2]"]
    assert problems([]) == [("events", "no events")]


def test_the_error_reads_as_one_line_naming_the_fields():
    with pytest.raises(InvalidEvent, match=r"^`topic`: required for `consent.given`$"):
        parse_event(event("consent.given", topic=None))
