"""Filling a request from the ledger (pdp.ledger.fill): the ledger wins, except that a caller can only make a
decision stricter; no fact leaves the caller's value. A property: never more permissive than the caller's
request or the ledger's."""

import functools
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from pdp.ledger.fill import MISSING, SOURCES, Fill, fill, read, says
from pdp.ledger.state import Fact, State
from tests.support.sets import build_set

AT = datetime(2026, 6, 1, tzinfo=UTC)
MARKETING = Fill(("data_subject", "consent", "marketing"), "consent", "marketing")
OBJECTION = Fill(("context", "objection_upheld"), "objection")
RESTRICTED = Fill(("context", "processing_restricted"), "restriction", "marketing")
EMAIL = Fill(("context", "email_opt_out"), "marketing_opt_out", "email")
ACCEPTED = Fill(("context", "accepted"), "current_version_accepted")


def fact(key: str, status: str, seq: int = 1, **kw) -> Fact:
    return Fact(key=key, status=status, event_id=f"event-{seq}", seq=seq,
                occurred_at=kw.pop("occurred_at", datetime(2026, 3, 1, tzinfo=UTC)), **kw)


def state(*facts: Fact) -> State:
    return State({f.key: f for f in facts}, seq=max((f.seq for f in facts), default=0))


def request(**subject) -> dict:
    return {"action": "use", "purpose": "marketing", "data_categories": ["user.contact.email"],
            "data_subject": {"id": "u-1", **subject}}


def test_the_ledger_fills_what_the_caller_left_out_and_names_the_event():
    given_ = fact("consent:marketing", "given", 7)
    filled, (used,) = fill(request(), state(given_), [MARKETING], at=AT, version="1")
    assert filled["data_subject"]["consent"] == {"marketing": True}
    assert (used.value, used.caller, used.ledger, used.by, used.facts) == (True, MISSING, True, "ledger", (given_,))
    assert used.to_dict()["events"][0]["says"] == "consent to marketing given recorded 2026-03-01, event event-7"


def test_a_caller_can_only_make_it_stricter():
    withdrawn = state(fact("consent:marketing", "withdrawn"))
    given_ = state(fact("consent:marketing", "given"))
    filled, (used,) = fill(request(consent={"marketing": True}), withdrawn, [MARKETING], at=AT, version="1")
    assert filled["data_subject"]["consent"]["marketing"] is False and used.by == "ledger"
    filled, (used,) = fill(request(consent={"marketing": False}), given_, [MARKETING], at=AT, version="1")
    assert filled["data_subject"]["consent"]["marketing"] is False and used.by == "caller"


def test_true_is_the_stricter_value_of_an_objection_or_restriction():
    dismissed = state(fact("objection:*", "dismissed"))
    filled, (used,) = fill({"context": {"objection_upheld": True}}, dismissed, [OBJECTION], at=AT, version="1")
    assert filled["context"]["objection_upheld"] is True and used.by == "caller"
    lodged = state(fact("objection:*", "lodged"))
    filled, _ = fill({"context": {"objection_upheld": False}}, lodged, [OBJECTION], at=AT, version="1")
    assert filled["context"]["objection_upheld"] is True


def test_no_fact_leaves_the_caller_s_value_or_its_absence():
    filled, (used,) = fill(request(consent={"marketing": True}), State(), [MARKETING], at=AT, version="1")
    assert filled["data_subject"]["consent"]["marketing"] is True and used.by == "caller" and not used.facts
    filled, (used,) = fill(request(), State(), [MARKETING], at=AT, version="1")
    assert "consent" not in filled["data_subject"] and used.by == "none"


def test_the_caller_s_request_is_not_changed():
    original = request(consent={"marketing": True})
    fill(original, state(fact("consent:marketing", "withdrawn")), [MARKETING], at=AT, version="1")
    assert original["data_subject"]["consent"] == {"marketing": True}


def test_an_expired_consent_is_no_consent_and_a_lapsed_opt_in_is_an_opt_out():
    expired = state(fact("consent:marketing", "given", expires_at=AT - timedelta(days=1)))
    assert fill(request(), expired, [MARKETING], at=AT, version="1")[0]["data_subject"]["consent"]["marketing"] is False
    lapsed = state(fact("marketing:email", "opted_in", expires_at=AT))
    assert fill({}, lapsed, [EMAIL], at=AT, version="1")[0]["context"]["email_opt_out"] is True
    assert fill({}, lapsed, [EMAIL], at=AT - timedelta(days=1), version="1")[0]["context"]["email_opt_out"] is False


def test_a_scoped_restriction_or_one_of_everything_is_in_force():
    everything = state(fact("restriction:*", "applied", 1), fact("restriction:marketing", "lifted", 2))
    (used,) = fill({}, everything, [RESTRICTED], at=AT, version="1")[1]
    assert used.value is True and [f.key for f in used.facts] == ["restriction:*"]
    lifted = state(fact("restriction:marketing", "lifted", 2))
    assert fill({}, lifted, [RESTRICTED], at=AT, version="1")[0]["context"]["processing_restricted"] is False


def test_acceptance_is_of_the_version_deciding():
    accepted = state(fact("policy", "accepted", notice_version="2026-11-24"))
    assert fill({}, accepted, [ACCEPTED], at=AT, version="2026-11-24")[0]["context"]["accepted"] is True
    assert fill({}, accepted, [ACCEPTED], at=AT, version="2027-01-01")[0]["context"]["accepted"] is False


def test_a_value_that_is_no_boolean_is_left_for_the_request_check_to_refuse():
    filled, _ = fill(request(consent={"marketing": "yes"}), state(fact("consent:marketing", "given")),
                     [MARKETING], at=AT, version="1")
    assert filled["data_subject"]["consent"]["marketing"] == "yes"


def test_what_callers_said_is_kept_with_the_readings_only_when_small():
    given_ = state(fact("consent:marketing", "given"))
    readings = read(given_, [MARKETING], at=AT, version="1")
    for said in (True, "yes", "x" * 64):
        fill(request(consent={"marketing": said}), given_, [MARKETING], at=AT, version="1", readings=readings)
    long = "x" * 65
    filled, _ = fill(request(consent={"marketing": long}), given_, [MARKETING], at=AT, version="1", readings=readings)
    assert filled["data_subject"]["consent"]["marketing"] == long, "worked out all the same"
    assert set(readings.filled) == {(True,), ("yes",), ("x" * 64,)}, "a long text is never kept per person"


def test_every_fact_reads_aloud():
    assert says(fact("marketing:email", "opted_out", 3)) == "marketing opted-out on email recorded 2026-03-01, event event-3"
    assert says(fact("objection:profiling", "upheld")).startswith("objection to profiling upheld")
    assert set(SOURCES) == {"consent", "marketing_opt_out", "gpc", "objection", "restriction", "erasure_request",
                            "current_version_accepted", "consent_given_on", "consent_expires_on"}


def test_kept_readings_hold_between_the_expiries_around_their_time_only():
    # a consent that expired by the time read was in force before it: a clock set back must not reuse them
    expiring = state(fact("consent:marketing", "given", expires_at=datetime(2026, 3, 2, tzinfo=UTC)))
    later = read(expiring, [MARKETING], at=datetime(2026, 3, 2, tzinfo=UTC), version="1")
    assert later.items[0][2][0] is False  # expired at its own instant
    assert later.hold(datetime(2026, 9, 1, tzinfo=UTC), "1") and not later.hold(datetime(2026, 3, 1, tzinfo=UTC), "1")
    earlier = read(expiring, [MARKETING], at=datetime(2026, 3, 1, tzinfo=UTC), version="1")
    assert earlier.items[0][2][0] is True
    assert earlier.hold(datetime(2026, 3, 1, 23, tzinfo=UTC), "1")
    assert not earlier.hold(datetime(2026, 3, 2, tzinfo=UTC), "1") and not earlier.hold(datetime(2026, 3, 1, 23, tzinfo=UTC), "2")


# ---------------------------------------------------------------- the property

VOCAB = ("consent_topics: [marketing]\nattributes:\n  context.objection_upheld: bool\n"
         "  context.processing_restricted: bool\n")
FILLS = [MARKETING, OBJECTION, RESTRICTED]
PERMITS = {MARKETING: "data_subject.consent.marketing == true", OBJECTION: "context.objection_upheld == false",
           RESTRICTED: "context.processing_restricted == false"}
FORBIDS = {MARKETING: "(data_subject.consent.marketing is absent or data_subject.consent.marketing == false)",
           OBJECTION: "context.objection_upheld == true", RESTRICTED: "context.processing_restricted == true"}
STATUSES = {MARKETING: ("consent:marketing", ["given", "withdrawn", "refused"]),
            OBJECTION: ("objection:*", ["lodged", "upheld", "dismissed"]),
            RESTRICTED: ("restriction:marketing", ["applied", "lifted"])}

rules = st.lists(st.tuples(st.sampled_from(["allow", "deny"]), st.frozensets(st.sampled_from(range(3)), min_size=1)),
                 min_size=1, max_size=4).map(tuple)
sides = st.tuples(*[st.sampled_from([MISSING, True, False]) for _ in FILLS])
ledgers = st.tuples(*[st.one_of(st.none(), st.sampled_from(STATUSES[f][1])) for f in FILLS])


@functools.lru_cache(maxsize=None)  # a few shapes come back often: each is built once
def _policy(shape):
    text = ['allow base cite "§1" to use for marketing']
    for n, (effect, attrs) in enumerate(shape):
        tests = PERMITS if effect == "allow" else FORBIDS
        text.append(f'{effect} r{n} cite "§1" to use for marketing when '
                    + " and ".join(tests[FILLS[a]] for a in sorted(attrs)))
    return build_set("\n".join(text), vocabulary=VOCAB)


def _with(values) -> dict:
    out = request()
    for item, value in zip(FILLS, values):
        if value is not MISSING:
            out = fill(out, state(), [], at=AT, version="1")[0]  # a copy, as fill makes
            holder = out.setdefault(item.attribute[0], {})
            for part in item.attribute[1:-1]:
                holder = holder.setdefault(part, {})
            holder[item.attribute[-1]] = value
    return out


RANK = {"deny": 0, "allow": 1}


@settings(max_examples=settings.default.max_examples * 8)  # cheap (each shape built once): look wider
@given(rules, sides, ledgers)
def test_a_filled_decision_is_never_more_permissive_than_the_caller_s_or_the_ledger_s(shape, caller, statuses):
    policy_set = _policy(shape)
    facts = state(*[fact(STATUSES[f][0], status, n + 1) for n, (f, status) in enumerate(zip(FILLS, statuses))
                    if status is not None])
    ledger_says = [SOURCES[f.source].read(facts, f, AT, "1") for f in FILLS]
    ledger_values = [MISSING if r is None else r[0] for r in ledger_says]
    filled, _ = fill(_with(caller), facts, FILLS, at=AT, version="1")
    decided = RANK[policy_set.decide(filled).decision]
    # the caller's request (the ledger filling only what it left out), and the ledger's (the caller filling only
    # what the ledger has no fact of): when each side says everything, exactly the caller's and the ledger's
    callers = [c if c is not MISSING else v for c, v in zip(caller, ledger_values)]
    ledgers_ = [v if v is not MISSING else c for c, v in zip(caller, ledger_values)]
    assert decided <= RANK[policy_set.decide(_with(callers)).decision]
    assert decided <= RANK[policy_set.decide(_with(ledgers_)).decision]
