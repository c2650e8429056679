"""The whole-set analysis and time: rules that test dates are analysed exactly (space/calendar.py, space/timed.py).

A date attribute is a day of the solver, compared and moved as the engine compares and moves it (calendar
months clamped, leap years, the calendar's ends a failure); so shadowing and overlaps of rules of time are
claimed exactly, `pdp query` answers questions of time with an example, and `pdp diff` of a time edit finds
its changes, every example replayed through the engine. Value classes alone (the enumeration) cannot tell dates
apart: it still leaves such sets to the solver."""

import json
import textwrap
import operator
from datetime import date, timedelta

import pytest
import z3
from dateutil.relativedelta import relativedelta
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import pdp
from pdp.analysis import solved as solved_module
from pdp.analysis.diff import diff
from pdp.analysis.query import Question, ask
from pdp.analysis.space import Space
from pdp.analysis.space.calendar import Day, Moment, compared, shifted
from pdp.analysis.space.encoding import Encoding, Undecided
from pdp.analysis.warnings import analyse
from pdp.base.dates import shifted as engine_shifted
from pdp.cli import main
from tests.support.generate import CONDITIONS, fewer, generated_rules, ill_typed
from tests.support.sets import HEADER, VOCAB, build_set, request, write_versioned
from tests.support.space import assert_agrees, engine_verdict

RULES = """
allow run "Run" cite "§1" to use for essential of user.contact.email
deny late "Late" cite "§7" to use for essential of user.contact.email when collected_at + 2 years < now
deny early "Early" cite "§7" to use for essential of user.contact.email when collected_at > now
"""
NEVER = """
deny never "Never" cite "§7" to use for essential of user.contact.email when now < 2026-01-01 and now > 2026-02-01
deny leap "Leap" cite "§7" to use for essential of user.contact.email
  when collected_at + 1 year == 2025-02-28 and collected_at > 2025-02-28
deny clamp "Clamp" cite "§7" to use for essential of user.contact.email
  when collected_at + 1 month == 2026-03-31 and collected_at < 2026-03-01
"""
SOMETIMES = """
deny leap_day "Leap day" cite "§7" to use for essential of user.contact.email
  when now + 1 year == 2029-02-28 and now > 2028-02-27
deny month_end "Month end" cite "§7" to use for essential of user.contact.email
  when now + 1 month == 2026-02-28 and now > 2026-01-28
"""


def _shadowed(found) -> dict[str, str]:
    return {d.message.split("`")[1]: d.message for d in found if d.code in ("shadowed-rule", "always-overridden")}


@pytest.mark.parametrize("method", ["auto", "solver"])
def test_rules_that_test_time_are_analysed_exactly(method):
    policy = build_set(RULES + NEVER + SOMETIMES)
    found = analyse(policy, method=method)
    shadowed = _shadowed(found)
    # never true: the calendar says so (2026 has no 29 February, no month is 31 days after one of February)
    for rule in ("never", "leap", "clamp"):
        assert "applies to no request" in shadowed[rule], rule
    # true on some days only: found by the solver, and the engine agrees
    assert not {"late", "early", "leap_day", "month_end"} & shadowed.keys()
    assert not policy.decide(request(purpose="essential", now="2028-02-29")).allowed  # + 1 year: 2029-02-28
    assert not policy.decide(request(purpose="essential", now="2026-01-31")).allowed  # + 1 month: 2026-02-28
    assert not [d for d in found if d.code == "analysis-skipped"]
    overlaps = {d.message.split("`")[1] for d in found if d.code == "unmarked-overlap"}
    assert {"late", "early"} <= overlaps


def test_a_test_of_a_date_the_analysis_does_not_read_is_named_never_claimed_of():
    policy = build_set('allow r0 cite "§0" when context.score under "a.b"\n'
                       'allow r1 cite "§1" when context.score < now\n', vocabulary=DATED_VOCAB)
    (skipped,) = [d for d in analyse(policy) if d.code == "analysis-skipped"]
    assert "`r0`" in skipped.message and "`under`" in skipped.message
    assert "r0" not in _shadowed(analyse(policy))
    with pytest.raises(Undecided):
        ask(policy, Question("allow"))


def test_the_enumeration_alone_still_leaves_time_to_the_solver():
    (skipped,) = [d for d in analyse(build_set(RULES), method="enumeration") if d.code == "analysis-skipped"]
    assert "time" in skipped.message and "solver" in skipped.message


def test_check_strict_no_longer_warns_analysis_skipped_for_time(tmp_path, capsys):
    (tmp_path / "p.pdp").write_text(HEADER + textwrap.dedent(RULES))
    (tmp_path / "vocabulary.yaml").write_text(VOCAB)
    main(["check", str(tmp_path), "--strict"])
    out = capsys.readouterr()
    assert "analysis-skipped" not in out.out + out.err


@pytest.mark.parametrize("method", ["auto", "solver"])
def test_query_answers_a_question_of_time_with_an_example_the_engine_decides_so(method):
    text = HEADER + textwrap.dedent(RULES)
    sources = pdp.Sources({"p.pdp": text}, ("vocabulary.yaml", VOCAB))
    policy = pdp.build(sources)
    answer = ask(policy, Question("allow", where=("collected_at + 2 years < now",)), sources, method=method)
    assert not answer.yes  # `late` denies every such request
    answer = ask(policy, Question("deny", ("use",), where=("collected_at + 2 years < now",)), sources, method=method)
    assert answer.yes
    example = answer.request
    assert date.fromisoformat(example["collected_at"]) + relativedelta(years=2) < date.fromisoformat(example["now"])
    assert not policy.decide(example).allowed
    allowed = ask(policy, Question("allow", ("use",), where=("collected_at is present",)), sources, method=method)
    assert allowed.yes and policy.decide(allowed.request).allowed  # (without `now`, neither deny applies)
    within = ask(policy, Question("allow", ("use",), where=("collected_at is present", "now is present")), sources,
                 method=method)
    collected, now = (date.fromisoformat(within.request[k]) for k in ("collected_at", "now"))
    assert collected <= now <= collected + relativedelta(years=2) and policy.decide(within.request).allowed


def test_query_of_time_on_the_command_line(tmp_path, capsys):
    (tmp_path / "p.pdp").write_text(HEADER + textwrap.dedent(RULES))
    (tmp_path / "vocabulary.yaml").write_text(VOCAB)
    code = main(["query", str(tmp_path), "--denied", "--action", "use", "--where", "collected_at + 2 years < now",
                 "--format", "json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 1 and out["answer"] == "yes" and out["decision"] == "deny"
    collected, now = (date.fromisoformat(out["request"][k]) for k in ("collected_at", "now"))
    assert collected + relativedelta(years=2) < now


def test_diff_of_a_time_edit_finds_its_changes_with_examples():
    old, new = build_set(RULES), build_set(RULES.replace("2 years", "3 years"))
    report = diff(old, new)
    assert report.complete and report.changes
    kinds = {(c.before, c.after) for c in report.changes}
    assert ("deny", "allow") in kinds  # collected 2 to 3 years ago: denied before, allowed now
    for change in report.changes:
        assert (old.outcome(change.example).decision, new.outcome(change.example).decision) == \
            (change.before, change.after)
    two_to_three = next(c for c in report.changes if (c.before, c.after) == ("deny", "allow"))
    collected, now = (date.fromisoformat(two_to_three.example[k]) for k in ("collected_at", "now"))
    assert collected + relativedelta(years=2) < now <= collected + relativedelta(years=3)
    assert 1970 <= collected.year <= 2100  # an example of this era, where the change has one


def test_diff_of_an_unchanged_time_rule_finds_no_change():
    report = diff(build_set(RULES), build_set(RULES.replace("collected_at + 2 years < now",
                                                            "collected_at + 24 months < now")))
    assert report.complete and not report.changes


def test_a_versioned_query_whose_rules_read_the_day_of_collection_selects_the_version_by_that_day(tmp_path):
    vocabulary = "consent_topics: [marketing]\n"
    old = ('policy "cx" version "1" effective 2025-01-01\n'
           'allow old "Old" cite "§1" to use for analytics of user.contact\n')
    new = ('policy "cx" version "2" effective 2026-06-01\n'
           'allow fresh "Fresh" cite "§1" to use for analytics of user.contact when collected_at + 1 year > now\n')
    directory = write_versioned(tmp_path / "cx", new, {"1": old}, vocabulary)
    policy = pdp.load(directory)
    for method in ("auto", "solver"):
        answer = ask(policy, Question("allow", ("use",), where=("collected_at >= 2026-06-01",)), policy.sources,
                     method=method)
        assert answer.yes and answer.request["collected_at"] >= "2026-06-01"
        assert policy.select(answer.request).version is policy


# ---------------------------------------------------------------- the calendar against Python's

amounts = st.integers(0, 400)
ORDER_OR_EQUAL = {"==": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le, ">": operator.gt,
                  ">=": operator.ge}
units = st.sampled_from(["days", "weeks", "months", "years"])


@settings(fewer(60), deadline=None)
@given(day=st.dates(), sign=st.sampled_from("+-"), amount=amounts, unit=units)
def test_the_calendar_moves_a_date_as_the_engine_does(day, sign, amount, unit):
    chosen = Day.named("d")
    moved, past = shifted(chosen.moment(), sign, amount, unit)
    solver = z3.Solver()
    solver.add(*chosen.constraints(), chosen.equals(day))
    assert solver.check() == z3.sat
    model = solver.model()
    assert model.eval(chosen.moment().ordinal()).as_long() == day.toordinal()
    expected = engine_shifted(day, sign, amount, unit)
    assert z3.is_true(model.eval(past)) == (expected is None)
    if expected is not None:
        assert model.eval(moved.ordinal()).as_long() == expected.toordinal()
        for op in ("==", "!=", "<", "<=", ">", ">="):  # compared as the engine compares the days
            for other in (expected - timedelta(days=1), expected, expected + timedelta(days=1)):
                if date.min < other < date.max:
                    holds = compared(op, moved, Moment.of(other))
                    assert z3.is_true(model.eval(holds)) == ORDER_OR_EQUAL[op](expected, other), (op, other)


def test_every_day_the_constraints_allow_is_a_day_of_the_calendar():
    chosen = Day.named("d")
    solver = z3.Solver()
    solver.add(*chosen.constraints(), z3.Or(z3.And(chosen.month == 2, chosen.day == 29, chosen.year % 100 == 0,
                                                   chosen.year % 400 != 0), z3.And(chosen.day == 31, chosen.month == 4)))
    assert solver.check() == z3.unsat


# ---------------------------------------------------------------- generated policies that test time

DATED_VOCAB = VOCAB + "  context.since: date\n"
TIME_CONDITIONS = [
    "collected_at + 2 years < now", "context.since is older than 13 months", "now - 30 days > 2026-01-31",
    "collected_at >= 2026-03-01", "context.since < collected_at", "now == 2026-12-25", "context.since is present",
    "context.since + 1 month >= now", "now is present", "collected_at is absent", "now + 1 year == 2029-02-28",
    "context.since - 1 month == 2026-02-28", "context.score + 1 week > now", "context.score == 2026-12-25",
    'context.score == "2026-12-25"', "context.score < now", "context.score != now", "context.score > 17",
    'context.score in ["2026-12-25", "soon"]', "context.since in [2026-12-25, 2028-02-29]",
    "context.since not in [2026-02-28]",
]
T_ACTIONS, T_PURPOSES, T_CATEGORIES = ["use", "share"], ["essential", "marketing"], ["user.contact", "user.name"]
EDGES = ["2025-12-31", "2026-01-31", "2026-02-28", "2026-03-31", "2026-12-25", "2028-02-29", "2029-02-28",
         "9999-12-25", "9999-10-01", "9998-12-31", "9998-02-28", "0001-01-01", "0001-12-31", "0002-01-15"]
days = st.one_of(st.dates(min_value=date(2025, 6, 1), max_value=date(2029, 12, 31)).map(date.isoformat),
                 st.sampled_from(EDGES))
scores = st.one_of(days, st.integers(10, 30), st.sampled_from(["2026-12-25", "soon", True]))
dated_requests = st.fixed_dictionaries(
    {"action": st.sampled_from(T_ACTIONS), "purpose": st.sampled_from(T_PURPOSES),
     "data_categories": st.lists(st.sampled_from(T_CATEGORIES), min_size=1, max_size=2)},
    optional={"now": days, "collected_at": days,
              "context": st.fixed_dictionaries({}, optional={"since": days, "score": scores}),
              "data_subject": st.fixed_dictionaries({}, optional={"age": st.integers(10, 30)})})
one_category = dated_requests.map(lambda r: {**r, "data_categories": r["data_categories"][:1]})


@st.composite
def timed_rules(draw):
    pool = TIME_CONDITIONS + [c for c in CONDITIONS if "age" in c]
    return generated_rules(draw, T_ACTIONS, T_PURPOSES, T_CATEGORIES, pool, rules=5)


def _built(text):
    """The set with its index, and without (None: the generated rules do not check, e.g. `never-matches`)."""
    try:
        return build_set(text, vocabulary=DATED_VOCAB), build_set(text, vocabulary=DATED_VOCAB, index=False)
    except pdp.PolicyError:
        return None


timed_sets = timed_rules().map(_built).filter(lambda built: built is not None)
# The analysis is held to the plain path (index=False): the condition index is an optimisation proved equal to it
# (below, on every day including those a move takes past the calendar's end, and tests/test_index_equivalence.py).
PLAIN = 1
batches = st.lists(dated_requests, min_size=1, max_size=12)


@settings(fewer(8), suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(sets=timed_sets, batch=st.lists(one_category, min_size=1, max_size=12))
def test_the_encoding_decides_every_generated_request_of_time_as_the_engine(sets, batch):
    policy = sets[PLAIN]
    space = Space([policy])
    encoding = Encoding(space)
    encoding.selects_latest()  # collected before the set's effective date: no version in force, not these rules
    for req in batch:
        if req.get("collected_at", "9999") < "2026-01-01":  # selects no version: the space is of this one's
            assert policy.outcome(req).reasons[0].rule == "version.none_in_force"
            continue
        # every day of the calendar is analysed, its ends included (a move past them fails, as in the engine)
        assert_agrees(encoding.predict(0, req), [engine_verdict(policy, req)], 0, ill_typed(space, req), req)


@settings(fewer(6), suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(sets=timed_sets, batch=batches)
def test_the_analysis_never_claims_a_rule_applies_to_no_request_that_the_engine_applies(sets, batch):
    policy = sets[PLAIN]
    found = analyse(policy)
    assert not [d for d in found if d.code == "analysis-skipped"]
    never = {d.message.split("`")[1] for d in found if d.code == "shadowed-rule" and "applies to no request" in d.message}
    for req in batch:
        # applying is what is claimed: a rule that fails (an ordering of a date with a number) is named with the
        # effect "error", and failing is held to the engine by the encoding's own property above
        applied = {r.rule for r in policy.decide(req).reasons if r.effect != "error"}
        assert not (never & applied), req


@settings(fewer(6), suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(sets=timed_sets)
def test_the_boxes_find_the_warnings_of_time_the_solver_alone_finds(sets):
    policy = sets[PLAIN]
    default = solved_module.BOXES
    try:
        solved_module.BOXES = True
        boxed = [(d.code, d.message) for d in analyse(policy, method="solver")]
        solved_module.BOXES = False
        plain = [(d.code, d.message) for d in analyse(policy, method="solver")]
    finally:
        solved_module.BOXES = default
    assert boxed == plain


@settings(fewer(6), suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(sets=timed_sets, batch=batches)
def test_query_answers_time_exactly(sets, batch):
    """Every "yes" carries an example the engine decides so (ask replays it), every "no" no request has."""
    policy = sets[PLAIN]
    for decision in ("allow", "deny"):
        answer = ask(policy, Question(decision))
        if answer.yes:
            assert policy.decide(answer.request).decision == decision
        else:
            assert all(policy.decide(req).decision != decision for req in batch), decision


@settings(fewer(4), suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(old=timed_sets, new=timed_sets, batch=batches)
def test_diff_of_time_finds_every_change_the_engine_shows(old, new, batch):
    old, new = old[PLAIN], new[PLAIN]
    report = diff(old, new)
    assert report.complete
    for change in report.changes:
        assert (old.outcome(change.example).decision, new.outcome(change.example).decision) == \
            (change.before, change.after)
    if not report.changes:
        for req in batch:
            try:
                assert old.outcome(req).decision == new.outcome(req).decision, req
            except pdp.RequestError:
                continue


@settings(fewer(2), deadline=None)
@given(sets=timed_sets, batch=st.lists(dated_requests, min_size=1, max_size=12))
def test_the_index_and_the_scan_decide_time_alike(sets, batch):
    indexed, scanned = sets
    for req in batch:
        a, b = indexed.decide(req), scanned.decide(req)
        assert (a.decision, a.reasons, a.obligations) == (b.decision, b.reasons, b.obligations), req


def test_a_move_past_the_calendar_s_end_fails_closed_with_the_index_as_without():
    """A move of a date can fail (9999-10-01 + 1 year): the index must not skip the rule as one that cannot, or an
    allow beside it would stand where the plain path fails closed (a wrong allow, found by the analysis's tests)."""
    text = """
allow r0 "anything"
  to use

allow r1 "a dated note"
  to use
  when context.score == "a" and now + 1 year == 2029-02-28
"""
    request = {"action": "use", "purpose": "essential", "data_categories": ["user.contact"], "now": "9999-10-01"}
    for index in (True, False):
        decision = build_set(text, vocabulary=DATED_VOCAB, index=index).decide(request)
        assert decision.decision == "deny", index
        assert [reason.rule for reason in decision.reasons] == ["r1"]


def test_a_date_tested_only_for_presence_takes_a_date_and_a_rule_in_the_way_is_claimed_exactly():
    """`now is present` made no present class (no date among the values tried), so `run` was claimed to apply
    to no request; `d` (on `collected_at`, which also chooses the version) is in its way only where
    `collected_at` is absent, so `run` still decides requests alone."""
    policy = build_set("""
allow run "Run" cite "§1" to use for essential of user.contact.email when now is present
deny d "D" cite "§1" to use for essential of user.contact.email when collected_at is absent
""")
    assert policy.decide(request(now="2026-03-01", collected_at="2026-03-01")).allowed
    for method in ("auto", "enumeration", "solver"):
        found = analyse(policy, method=method)
        assert not [d for d in found if d.code in ("shadowed-rule", "always-overridden")], method


def test_a_declared_date_tested_for_presence_is_present_in_the_space():
    """`context.since` (declared `date`) refuses every value but a date: its present class needs one."""
    policy = build_set('allow r0 cite "§0" when context.since is present\nallow r1 cite "§1"\n', vocabulary=DATED_VOCAB)
    (shadowed,) = [d for d in analyse(policy) if d.code == "shadowed-rule"]
    assert "applies to no request" not in shadowed.message and "shadowed by `r1`" in shadowed.message


@settings(fewer(3), deadline=None)
@given(text=timed_rules(), batch=st.lists(dated_requests, min_size=1, max_size=8))
def test_the_request_memo_decides_time_as_the_plain_path(text, batch):
    """`now` is a path of the request like any other: the memo keys on it, and on the paths a shift moves."""
    from pdp.engine import request_memo

    try:
        remembering = build_set(text, vocabulary=DATED_VOCAB)
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(request_memo, "ENABLED", False)
            plain = build_set(text, vocabulary=DATED_VOCAB)
    except pdp.PolicyError:
        return
    assert remembering.request_memo is not None and plain.request_memo is None
    for req in batch + batch[::-1]:  # each asked again: answered from the memo
        a, b = remembering.decide(req), plain.decide(req)
        assert (a.decision, a.reasons, a.obligations) == (b.decision, b.reasons, b.obligations), req
