"""Time in the policy language: dates, durations, `now`, `collected_at`, checked, printed, formatted, decided."""

from datetime import date, timedelta

import pytest
from hypothesis import given, strategies as st

import pdp
from pdp.base.dates import day_of, shifted
from pdp.lang import printer
from pdp.lang.formatter import format_policy
from pdp.lang.parser import parse_policy
from tests.support.sets import HEADER, VOCAB, build_set, errors_of, request

DATED = VOCAB + "  context.retention_until: date\n  context.consent_given_on: date\n"

RETENTION = """
allow run "Run the Service"
  cite "§2.1"
  unless collected_at + 2 years < now
deny old_consent "Cookie consent lapses after 13 months"
  cite "§1.3"
  when context.consent_given_on is older than 13 months
"""


def decide(policy: pdp.PolicySet, **fields) -> pdp.Decision:
    return policy.decide(request(**fields))


def test_durations_are_calendar_exact_month_ends_clamped():
    assert shifted(date(2026, 1, 31), "+", 1, "months") == date(2026, 2, 28)
    assert shifted(date(2024, 2, 29), "+", 1, "years") == date(2025, 2, 28)
    assert shifted(date(2026, 3, 31), "-", 1, "months") == date(2026, 2, 28)
    assert shifted(date(2026, 3, 1), "+", 2, "weeks") == date(2026, 3, 15)
    assert shifted(date(9999, 12, 1), "+", 1, "months") is None


def test_a_date_is_the_iso_text_of_a_calendar_day():
    assert day_of("2026-02-28") == date(2026, 2, 28)
    for bad in ("2026-02-30", "2026-2-28", "20260228", "2026-02-28T00:00:00Z", 20260228, None):
        assert day_of(bad) is None


def test_retention_after_collection_is_decided_from_the_dates():
    policy = build_set(RETENTION, vocabulary=DATED)
    assert decide(policy, collected_at="2026-03-01", now="2028-03-01").allowed  # exactly two years: still in
    assert not decide(policy, collected_at="2026-03-01", now="2028-03-02").allowed
    assert decide(policy, collected_at="2026-03-01", now="2026-03-02").allowed


def test_without_now_a_test_of_now_is_unknown_and_the_allow_fails_closed():
    policy = build_set(RETENTION, vocabulary=DATED)
    assert not decide(policy, collected_at="2026-03-01").allowed
    assert not decide(policy).allowed  # nor without a collection date: the allow requires the dates


def test_older_than_counts_calendar_months():
    policy = build_set(RETENTION, vocabulary=DATED)
    given_on = {"consent_given_on": "2025-01-31"}
    # 2025-01-31 + 13 months is 2026-02-28 (the month ends there): not older on that day
    assert decide(policy, collected_at="2026-01-01", now="2026-02-28", context=given_on).allowed
    denied = decide(policy, collected_at="2026-01-01", now="2026-03-01", context=given_on)
    assert not denied.allowed and [r.rule for r in denied.reasons] == ["old_consent"]


def test_a_date_attribute_holding_no_date_fails_closed_with_a_reason():
    policy = build_set('allow a "x" cite "§1" when context.score + 1 day < now', vocabulary=DATED)
    decision = decide(policy, now="2026-03-01", context={"score": "soon"})
    assert not decision.allowed
    assert "expected a date" in decision.reasons[0].message


def test_dates_compare_and_equal_as_days():
    policy = build_set('allow a "x" cite "§1" when collected_at >= 2026-02-01 and now != 2026-12-25',
                       vocabulary=DATED)
    assert decide(policy, collected_at="2026-02-01", now="2026-03-01").allowed
    assert not decide(policy, collected_at="2026-01-31", now="2026-03-01").allowed
    assert not decide(policy, collected_at="2026-02-01", now="2026-12-25").allowed


def test_a_request_with_a_bad_date_is_refused_naming_the_field():
    policy = build_set(RETENTION, vocabulary=DATED)
    with pytest.raises(pdp.RequestError) as info:
        decide(policy, now="2026-02-30")
    assert info.value.field_errors[0].field == "now"
    with pytest.raises(pdp.RequestError) as info:
        decide(policy, now="2026-03-01", context={"retention_until": "next year"})
    assert info.value.field_errors[0].field == "context.retention_until"


@pytest.mark.parametrize("condition, message, hint", [
    ("data_subject.age + 2 years < now", "`data_subject.age` is a number, not a date", "collected_at + 2 years"),
    ("collected_at < 18", "they cannot be ordered", "compare a date with a date"),
    ('collected_at == "2026-03-01"', "they can never be equal", "without quotes"),
    ('context.note < "2026-03-01"', "only numbers and dates can be compared", "without quotes: `2026-03-01`"),
])
def test_type_errors_say_date_number_or_text(condition, message, hint):
    error = errors_of(f'deny d "x" cite "§1" when {condition}', vocabulary=DATED)[0]
    assert error.code == "type-mismatch" and message in error.message and hint in error.hint
    assert error.span.line == 2 and error.span.col > 1


@pytest.mark.parametrize("condition, code", [
    ("collected_at < 2026-02-30", "bad-date"),
    ("collected_at + 1000 years < now", "bad-duration"),
    ("collected_at + 1.5 years < now", "bad-duration"),
    ("collected_at + 2 fortnights < now", "syntax"),
    ('"x" is older than 2 years', "syntax"),
])
def test_bad_dates_and_durations_are_errors_at_their_place(condition, code):
    errors = errors_of(f'deny d "x" cite "§1" when {condition}', vocabulary=DATED)
    assert errors[0].code == code and errors[0].span.line == 2
    rendered = errors[0].render({"p.pdp": HEADER + f'deny d "x" cite "§1" when {condition}'})
    assert rendered.startswith(f"p.pdp:2:{errors[0].span.col}: {code}") and "^" in rendered and "= hint" in rendered


WRITTEN = [
    "collected_at + 2 years < now",
    "now - 30 days > 2026-01-31",
    "context.consent_given_on is older than 1 month",
    "collected_at in [2026-01-01, 2026-02-01] and not (now == 2026-12-25)",
]


@pytest.mark.parametrize("condition", WRITTEN)
def test_printer_and_formatter_round_trip(condition):
    text = HEADER + f'deny d "x"\n  cite "§1"\n  when {condition}\n'
    (parsed, errors) = parse_policy(text, "p.pdp")
    assert not errors
    printed = printer.expression(parsed.rules[0].when[0])
    again, _ = parse_policy(HEADER + f'deny d "x" cite "§1" when {printed}', "p.pdp")
    assert again.rules[0].when == parsed.rules[0].when
    formatted = format_policy(text, "p.pdp")
    assert parse_policy(formatted, "p.pdp")[0].rules == parsed.rules
    assert format_policy(formatted, "p.pdp") == formatted


def test_every_parse_path_builds_the_same_tree():
    text = HEADER + 'deny d "x" cite "§1" when ' + " or ".join(WRITTEN) + "\n"
    trees = [parse_policy(text, "p.pdp", **kw)[0] for kw in ({}, {"streaming": False}, {"cython": False})]
    assert trees[0] == trees[1] == trees[2]


@given(st.dates(min_value=date(1900, 1, 1), max_value=date(2200, 12, 31)), st.integers(0, 400),
       st.sampled_from(["days", "weeks", "months", "years"]))
def test_a_shift_forward_then_back_never_lands_later(day, amount, unit):
    forward = shifted(day, "+", amount, unit)
    assert forward is not None and forward >= day
    back = shifted(forward, "-", amount, unit)
    assert back is not None and back <= day  # month ends clamp: Jan 31 + 1 month - 1 month = Jan 28


def test_the_edge_stamps_now_from_as_of_or_its_clock_and_keeps_a_given_one():
    from datetime import datetime, timezone

    from pdp.engine.timing import stamped

    moment = datetime(2026, 3, 1, 23, 30, tzinfo=timezone(timedelta(hours=-5)))  # 2026-03-02 in UTC
    assert stamped(request(), moment)["now"] == "2026-03-02"
    assert stamped(request(as_of="2025-06-30T23:00:00-02:00"), moment)["now"] == "2025-07-01"
    assert stamped(request(now="2024-01-01"), moment)["now"] == "2024-01-01"
    assert "now" not in stamped(request(as_of="yesterday"), moment)  # refused by the request check instead
    plain = request()
    stamped(plain, moment)
    assert "now" not in plain  # the caller's request is not changed


def test_pdp_decide_stamps_today_when_the_request_has_no_now(tmp_path, capsys):
    import json

    from pdp.cli import main

    (tmp_path / "p.pdp").write_text(HEADER + 'allow a "x" cite "§1" when now >= 2026-01-01\n', encoding="utf-8")
    (tmp_path / "r.json").write_text(json.dumps(request()), encoding="utf-8")
    assert main(["decide", str(tmp_path), "--request", str(tmp_path / "r.json")]) == 0
    assert json.loads(capsys.readouterr().out)["decision"] == "allow"
    (tmp_path / "r.json").write_text(json.dumps(request(now="2025-12-31")), encoding="utf-8")
    assert main(["decide", str(tmp_path), "--request", str(tmp_path / "r.json")]) == 0
    assert json.loads(capsys.readouterr().out)["decision"] == "deny"


def test_explain_names_the_day_a_test_of_time_turns_on(tmp_path, capsys):
    import json

    from pdp.cli import main

    (tmp_path / "p.pdp").write_text(HEADER + RETENTION, encoding="utf-8")
    (tmp_path / "vocabulary.yaml").write_text(DATED, encoding="utf-8")
    (tmp_path / "r.json").write_text(json.dumps(request(collected_at="2026-02-01", now="2028-03-01")), encoding="utf-8")
    main(["explain", str(tmp_path), "--request", str(tmp_path / "r.json")])
    out = capsys.readouterr().out
    assert "collected_at + 2 years < now" in out or "collected_at is older than 2 years" in out
    assert 'would be allowed if now were "2028-02-01"' in out  # two years on, to the day: not yet older


POLICY_TESTS = """suite: Retention by dates
defaults:
  request: {action: use, purpose: essential.service, data_categories: [user.contact.email]}
cases:
  - name: within two years of collection the data runs the Service
    request: {collected_at: "2026-03-01", now: "2028-03-01"}
    expect: allow
    rules: [run]
  - name: a day later it does not
    request: {collected_at: "2026-03-01", now: "2028-03-02"}
    expect: deny
  - name: a consent given 13 months and a day ago has lapsed
    request: {collected_at: "2026-03-01", now: "2027-04-02", context: {consent_given_on: "2026-03-01"}}
    expect: deny
    rules: [old_consent]
  - name: a date that is none is refused
    request: {now: "2026-02-30"}
    error: "now"
"""


def test_policy_tests_decide_with_dates_and_cover_both_sides(tmp_path, capsys):
    from pdp.cli import main

    (tmp_path / "p.pdp").write_text(HEADER + RETENTION, encoding="utf-8")
    (tmp_path / "vocabulary.yaml").write_text(DATED, encoding="utf-8")
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "time.yaml").write_text(POLICY_TESTS, encoding="utf-8")
    assert main(["test", str(tmp_path), "--coverage", "--min-coverage", "100"]) == 0, capsys.readouterr().out
