"""Static analysis of the set as a whole: warnings with positions, decided exactly on the decision space."""

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import pdp
from pdp.analysis import warnings as analysis
from pdp.cli import main
from pdp.analysis.warnings import reached, warnings_of
from pdp.vocab import taxonomy as tx
from tests.support.sets import HEADER, VOCAB, build_set

ROOT = Path(__file__).resolve().parents[1]
POLICIES = ROOT / "policies"


def findings(policy_set, code=None) -> list[tuple[str, str]]:
    out = []
    for w in warnings_of(policy_set):
        if code is None or w.code == code:
            out.append((w.code, w.message))
    return out


def codes(policy_set) -> list[str]:
    return sorted(w.code for w in warnings_of(policy_set) if w.code != "no-citation")


def test_a_rule_another_always_backs_is_shadowed():
    ps = build_set('''
        deny opted_out cite "§2.6" for marketing when data_subject.consent.marketing == false
        deny email_opt_out cite "§2.5" for marketing.communications.email when data_subject.consent.marketing == false
        allow mail cite "§2.5" to use for marketing overrides opted_out, email_opt_out
    ''')
    (warning,) = [w for w in warnings_of(ps) if w.code == "shadowed-rule"]
    assert warning.severity == "warning" and (warning.line, warning.col) == (4, 6)
    assert warning.message == ("the rule `email_opt_out` is shadowed by `opted_out`: wherever it applies, "
                               "that rule applies too, so it never changes a decision")
    assert "cite its own clause" in warning.hint


def test_conditions_decide_shadowing_not_targets_alone():
    ps = build_set('''
        deny a cite "§1" when data_subject.age < 18
        deny b cite "§1" to use when data_subject.age < 16
        deny c cite "§1" to use when data_subject.age < 21 and recipient.dpa == false
        allow ok cite "§1" overrides a, b, c
    ''')
    assert [m for _, m in findings(ps, "shadowed-rule")] == [
        "the rule `b` is shadowed by `a`: wherever it applies, that rule applies too, so it never changes a decision"]


def test_an_allow_with_its_own_obligation_is_shadowed_but_says_what_it_adds():
    ps = build_set('''
        allow erase cite "§4" to erase
        allow child cite "§10" to erase when data_subject.age < 18 oblige now "Delete at once"
    ''')
    (warning,) = [w for w in warnings_of(ps) if w.code == "shadowed-rule"]
    assert "shadowed by `erase`" in warning.message and "only adds its obligation `now`" in warning.message


def test_an_allow_a_deny_always_beats_is_always_overridden():
    ps = build_set('''
        deny health cite "§1" of user.health_and_medical
        allow research cite "§2" to use of user.health_and_medical when data_subject.consent.marketing == true
          overrides health
    ''')
    assert findings(ps, "always-overridden") == [(
        "always-overridden", "the allow rule `research` never allows anything: a deny rule wins on every request "
                             "it applies to")]
    assert not findings(ps, "shadowed-rule")


def test_overlaps_need_an_overrides_unless_the_conditions_exclude_each_other():
    rules = '''
        allow providers cite "§3.2" to share when recipient.type == "service_provider" and recipient.dpa == true
        deny no_dpa cite "§3.2" to share when recipient.type == "service_provider" and recipient.dpa == false
        deny minors cite "§10" when data_subject.age < 18
    '''
    ps = build_set(rules)
    assert findings(ps, "unmarked-overlap") == [(
        "unmarked-overlap", "the deny rule `minors` overrides 1 allow rule on some requests without naming it: "
                            "`providers`")]
    (warning,) = [w for w in warnings_of(ps) if w.code == "unmarked-overlap"]
    assert warning.hint == "if it is a deliberate exception, say so: `overrides providers`"
    assert (warning.line, warning.col) == (5, 6)
    marked = build_set(rules.replace('when data_subject.age < 18', 'when data_subject.age < 18 overrides providers'))
    assert not findings(marked, "unmarked-overlap")
    # naming it from the other side counts too
    other = build_set(rules.replace('recipient.dpa == true\n', 'recipient.dpa == true overrides minors\n', 1))
    assert not findings(other, "unmarked-overlap")


def test_vocabulary_declared_but_never_used_points_into_the_vocabulary_file():
    vocabulary = VOCAB + "actions: [archive, access]\ndata_uses:\n  - key: essential.research\n  - key: operations\n" \
                         "  - key: operations.merger\n"
    ps = build_set('allow a cite "§1" to access for operations.merger', vocabulary=vocabulary)
    unused = [(w.message, w.line) for w in warnings_of(ps) if w.code == "unused-vocabulary"]
    assert unused == [("the action `archive` is declared but no rule names it", 6),
                      ("the purpose `essential.research` is declared but no rule names it", 8)]
    (first,) = [w for w in warnings_of(ps) if "archive" in w.message]
    assert first.file == "vocabulary.yaml"


def test_warnings_never_stop_a_build_and_never_are_errors():
    ps = build_set('deny a cite "§1"\ndeny b cite "§1"\nallow c to use')
    assert {w.severity for w in warnings_of(ps)} == {"warning"}
    assert codes(ps) == ["always-overridden", "shadowed-rule", "shadowed-rule", "unmarked-overlap", "unmarked-overlap"]
    assert ps.outcome({"action": "use", "purpose": "essential", "data_categories": ["user.name"]}).decision == "deny"


def test_a_space_too_large_to_enumerate_is_analysed_by_the_solver_never_skipped(monkeypatch):
    """(Issue 10: this used to be `analysis-skipped`.) Beyond the enumeration's budget the solver finds the
    same warnings; only the enumeration alone, asked for, still gives up."""
    text = ('allow a cite "§1" when data_subject.age < 18 and recipient.dpa and destination_country == "IN"\n'
            'allow b cite "§2" when data_subject.age < 16 and recipient.dpa and destination_country == "IN"\n')
    expected = [(d.code, d.message) for d in analysis.analyse(build_set(text))]
    assert [code for code, _ in expected] == ["shadowed-rule"]
    monkeypatch.setattr(analysis, "BUDGET", 10)
    ps = build_set(text)
    assert [(d.code, d.message) for d in analysis.analyse(ps)] == expected
    assert [d.code for d in analysis.analyse(ps, method="enumeration")] == ["analysis-skipped"]


def test_a_rule_the_solver_cannot_settle_is_named_never_reported_as_a_finding(monkeypatch):
    from pdp.analysis.space import encoding

    monkeypatch.setattr(encoding, "RLIMIT", 1)  # z3 gives up on every question
    ps = build_set('allow a cite "§1" when data_subject.age < 18\nallow b cite "§2" when data_subject.age < 16\n')
    (skipped,) = analysis.analyse(ps, method="solver")
    assert skipped.code == "analysis-skipped" and "`a`, `b`" in skipped.message
    assert "could not be decided within the solver's budget" in skipped.message


# ---------------------------------------------------------------- CX-ONE-GO


@pytest.fixture(scope="module")
def cx(cx_one_go):
    return cx_one_go


def test_an_unmarked_overlap_is_reported_until_overrides_names_it(tmp_path):
    text = HEADER + ('allow marketing.mail cite "§2.5" for marketing\n'
                     'deny opted_out cite "§2.6" for marketing when data_subject.consent.marketing == false\n')
    ps = pdp.build(pdp.Sources({"p.pdp": text}, ("vocabulary.yaml", VOCAB)))
    assert [w.code for w in warnings_of(ps)] == ["unmarked-overlap"]
    ps = pdp.build(pdp.Sources({"p.pdp": text.rstrip("\n") + " overrides marketing\n"}, ("vocabulary.yaml", VOCAB)))
    assert [w.code for w in warnings_of(ps)] == []


def test_what_the_analysis_finds_in_cx_one_go(cx):
    found = {(w.code, w.message.split("`")[1]) for w in warnings_of(cx)}
    assert {f for f in found if f[0] != "unmarked-overlap"} == {
        ("shadowed-rule", "children.erase"),  # rights.erase allows every erasure; it adds `delete_immediately`
    }
    overlapping = {rule for code, rule in found if code == "unmarked-overlap"}
    assert overlapping == set()  # every deny names the allows it is an exception to (`overrides`)
    assert all(w.severity == "warning" and w.line > 0 for w in warnings_of(cx))


def test_pdp_check_reports_the_warnings_with_positions(capsys, cx):
    where = {r.id: r.source.id_span for r in cx.rules}
    code = main(["check", str(POLICIES)])
    out = capsys.readouterr()
    assert code == 0 and out.out.startswith("ok: cx-one-go")
    span = where["children.erase"]
    assert f"children.pdp:{span.line}:{span.col}: shadowed-rule: accepted warning: the rule `children.erase` " in out.err


def test_the_hook_is_the_analysis():
    text = HEADER + 'deny a cite "§1" when data_subject.age < 18\ndeny b cite "§1" to use when data_subject.age < 16\n'
    ps = pdp.build(pdp.Sources({"p.pdp": text}, ("vocabulary.yaml", VOCAB)))
    assert [w.code for w in warnings_of(ps)] == [d.code for d in analysis.analyse(ps, ("vocabulary.yaml", VOCAB))]


def test_deciding_never_runs_the_whole_set_analysis_and_check_does(monkeypatch):
    """The analysis is most of a load's cost: it runs when warnings are asked for, not to decide or serve."""
    calls = []
    real = pdp.analysis.warnings.analyse
    monkeypatch.setattr(pdp.analysis.warnings, "analyse", lambda *a, **k: calls.append(1) or real(*a, **k))
    policy_set = pdp.load(Path(__file__).resolve().parents[1] / "policies")
    policy_set.decide({"action": "use", "purpose": "analytics.reporting", "data_categories": ["user.behavior"]})
    assert calls == []
    assert [w.code for w in warnings_of(policy_set)].count("shadowed-rule") == 1
    assert warnings_of(policy_set) is warnings_of(policy_set) and calls == [1]  # once, then kept


_KEY = st.lists(st.sampled_from(["a", "b", "ab", ""]), min_size=1, max_size=4).map(".".join)


@given(st.sets(_KEY, max_size=10), _KEY)
def test_a_declared_key_is_used_when_some_name_is_it_or_lies_below_it(names, key):
    """The one pass over the names (reached) answers as asking taxonomy.covers of every name does."""
    assert (key in reached(names)) == any(tx.covers(key, name) for name in names)


@pytest.mark.parametrize("condition", ["when context.note != context.other", "unless context.note == context.other",
                                       "when context.note != context.loose", "unless context.loose == context.note"])
@pytest.mark.parametrize("method", ["enumeration", "solver"])
def test_two_attributes_compared_only_with_each_other_can_differ(condition, method):
    """Nothing but each other fixed their kind, so the space read them for presence alone: one value each, always
    equal, and `a != b` was reported as applying to no request (and `pdp query` answered never) while the engine
    allows by it. Each now holds every kind of value, two of each, so they can be equal or apart."""
    from pdp.analysis.query import Question, ask

    policy = build_set(f'allow differ "x" cite "§1" {condition}\n',
                       vocabulary="attributes:\n  context.note: string\n  context.other: string\n  context.loose: any\n")
    assert not [w for w in warnings_of(policy, method=method) if "applies to no request" in w.message]
    answer = ask(policy, Question("allow"), method=method)
    assert answer.yes and policy.decide(answer.request).decision == "allow"
