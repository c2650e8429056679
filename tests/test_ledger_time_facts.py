"""Ledger facts with time: `ledger fills ... from consent_given_on "TOPIC"` / `consent_expires_on`, read by rules
as dates; a consent whose expiry has passed is no consent (the date is absent), and a caller can only make a
date stricter (earlier)."""

from datetime import UTC, datetime

import pytest
from hypothesis import given, strategies as st

from pdp.ledger.fill import MISSING, SOURCES, Fill, combined, fill
from tests.support.sets import build_set, errors_of
from tests.test_ledger_fill import fact, request, state

AT = datetime(2026, 6, 1, tzinfo=UTC)
GIVEN_ON = Fill(("context", "cookies_given_on"), "consent_given_on", "cookies")
EXPIRES_ON = Fill(("context", "cookies_expire_on"), "consent_expires_on", "cookies")
DATED = ("consent_topics: [marketing, cookies, location]\nattributes:\n  context.cookies_given_on: date\n"
         "  context.cookies_expire_on: date\n")


def given_cookies(**kw):
    return fact("consent:cookies", "given", 3, occurred_at=datetime(2025, 4, 30, 23, 30, tzinfo=UTC), **kw)


def test_the_day_a_consent_in_force_was_given_and_when_it_expires():
    held = state(given_cookies(expires_at=datetime(2026, 6, 2, 1, 0, tzinfo=UTC)))
    filled, (on, until) = fill(request(), held, [GIVEN_ON, EXPIRES_ON], at=AT, version="1")
    assert filled["context"] == {"cookies_given_on": "2025-04-30", "cookies_expire_on": "2026-06-02"}
    assert on.by == until.by == "ledger" and on.facts[0].event_id == "event-3"


@pytest.mark.parametrize("status, expires", [("withdrawn", None), ("refused", None),
                                             ("given", datetime(2026, 6, 1, tzinfo=UTC))])
def test_no_consent_in_force_leaves_the_date_absent_whatever_the_caller_says(status, expires):
    ended = state(fact("consent:cookies", status, 3, expires_at=expires))
    said = {**request(), "context": {"cookies_given_on": "2026-05-01"}}
    filled, (used,) = fill(said, ended, [GIVEN_ON], at=AT, version="1")
    assert filled["context"]["cookies_given_on"] is None and used.by == "ledger"


def test_no_fact_leaves_what_the_caller_said():
    said = {**request(), "context": {"cookies_given_on": "2026-05-01"}}
    filled, (used,) = fill(said, state(), [GIVEN_ON], at=AT, version="1")
    assert filled["context"]["cookies_given_on"] == "2026-05-01" and used.by == "caller"


@given(st.dates().map(lambda d: d.isoformat()) | st.just(MISSING), st.dates().map(lambda d: d.isoformat()))
def test_a_caller_can_only_make_a_date_earlier(caller, ledger):
    value = combined(SOURCES["consent_given_on"], caller, ledger)
    assert value == (ledger if caller is MISSING else min(caller, ledger))


def test_rules_read_the_ledger_date():
    policy = build_set("""
ledger fills context.cookies_given_on from consent_given_on "cookies"
deny cookies.lapsed "Cookie consent lasts 13 months" cite "§1.3" when context.cookies_given_on is older than 13 months
allow all "x" cite "§1"
""", vocabulary=DATED)
    assert policy.ledger_fills[0].source == "consent_given_on"


def test_the_checker_wants_a_date_attribute_for_a_date_fact():
    (error,) = errors_of('ledger fills context.legal_request from consent_given_on "cookies"\nallow a "x" cite "§1"\n',
                         vocabulary=DATED + "  context.legal_request: bool\n")
    assert error.code == "type-mismatch" and "gives a date" in error.message and "`date`" in error.hint


def test_a_date_fill_read_by_a_rule_is_warned_about_in_days_not_true_and_false():
    from pdp.lang.stricter import CODE

    policy = build_set('ledger fills context.cookies_given_on from consent_given_on "cookies"\n'
                       'deny stale "Consent lapses" to use when context.cookies_given_on is older than 13 months\n'
                       "allow ops to use for essential\n", vocabulary=DATED)
    (warning,) = [w for w in policy.checker_warnings if w.code == CODE]
    assert "earlier day" in warning.message and "earlier day" in warning.hint
    assert "`true`" not in warning.message + warning.hint and "`false`" not in warning.message + warning.hint
