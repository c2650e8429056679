"""The stricter-wins check (`permissive-read`): a rule reading an attribute the consent ledger fills so that the
stricter value would allow more is warned about, at the test, with a hint; an `accept` silences it; CX-ONE-GO is
clean; and a set without the warning decides every request at least as strictly with the stricter value."""

import pytest
from hypothesis import assume, example, given
from hypothesis import strategies as st

import pdp
from pdp.analysis.warnings import warnings_of
from pdp.cli import main
from pdp.lang.stricter import CODE
from tests.support.generate import fewer, generated_rules
from tests.support.sets import CX_ONE_GO, HEADER, VOCAB, build_set, request, write_versioned

# consent to marketing: `false` is the stricter value; an objection (filled into context.legal_request): `true`
FILLS = '''
ledger fills data_subject.consent.marketing from consent "marketing"
ledger fills context.legal_request from objection
'''


def permissive(rules: str) -> list:
    return [w for w in build_set(FILLS + rules).checker_warnings if w.code == CODE]


@pytest.mark.parametrize("rule", [
    'allow a cite "§1" to use when not data_subject.consent.marketing',
    'allow a cite "§1" to use when data_subject.consent.marketing == false',
    'allow a cite "§1" to use when data_subject.consent.marketing != true',
    'allow a cite "§1" to use when data_subject.consent.marketing in [false]',
    'allow a cite "§1" to use unless data_subject.consent.marketing',
    'allow a cite "§1" to use when data_subject.age > 16 and not (data_subject.consent.marketing or context.score)',
    'deny a cite "§1" to use when data_subject.consent.marketing == true',
    'deny a cite "§1" to use unless data_subject.consent.marketing == false',
    'deny a cite "§1" to use when data_subject.consent.marketing not in [false]',
    'allow a cite "§1" to use when context.legal_request == true',
    'allow a cite "§1" to use unless not context.legal_request',
    'deny a cite "§1" to use when context.legal_request == false',
    'deny a cite "§1" to use when not context.legal_request',
])
def test_a_rule_reading_a_filled_attribute_the_permissive_way_is_warned_about(rule):
    (warning,) = permissive(rule)
    assert warning.severity == "warning" and warning.accepted is None
    assert "`a`" in warning.message and "stricter value" in warning.message
    assert "ledger fills" not in warning.hint and "`accept permissive-read because" in warning.hint


@pytest.mark.parametrize("rule", [
    'allow a cite "§1" to use when data_subject.consent.marketing',
    'allow a cite "§1" to use when data_subject.consent.marketing == true',
    'allow a cite "§1" to use unless data_subject.consent.marketing == false',
    'allow a cite "§1" to use when not (data_subject.consent.marketing == false or data_subject.age < 16)',
    'deny a cite "§1" to use when data_subject.consent.marketing is absent or data_subject.consent.marketing == false',
    'deny a cite "§1" to use when not data_subject.consent.marketing',
    'deny a cite "§1" to use unless data_subject.consent.marketing',
    'allow a cite "§1" to use when data_subject.consent.marketing is present',  # the same at either value
    'allow a cite "§1" to use when context.legal_request == false',
    'allow a cite "§1" to use when not context.legal_request',
    'deny a cite "§1" to use when context.legal_request',
    'allow a cite "§1" to use when data_subject.consent.cookies == false',  # not filled: the caller's own
])
def test_a_rule_reading_it_the_strict_way_is_not(rule):
    assert permissive(rule) == []


def test_a_test_whose_direction_cannot_be_told_is_warned_about():
    (warning,) = permissive('deny a cite "§1" to use when data_subject.consent.marketing == context.legal_request')
    assert "cannot tell" in warning.message


def test_without_fills_nothing_is_warned_about():
    text = 'allow a cite "§1" to use when not data_subject.consent.marketing\n'
    assert [w for w in build_set(text).checker_warnings if w.code == CODE] == []


def test_the_warning_points_at_the_test_with_a_caret_and_names_the_declaration():
    (warning,) = permissive('allow marketing.anyway "m" cite "§2"\n  to use when not data_subject.consent.marketing\n')
    lines = (HEADER + FILLS).count("\n")
    assert (warning.span.file, warning.span.line) == ("p.pdp", lines + 2)
    text = warning.render({"p.pdp": "".join([HEADER, FILLS, 'allow marketing.anyway "m" cite "§2"\n',
                                             "  to use when not data_subject.consent.marketing\n"])})
    assert f"p.pdp:{lines + 2}:" in text and "permissive-read: warning:" in text
    assert "^" in text and "not data_subject.consent.marketing" in text
    assert warning.message == ("the allow `marketing.anyway` can apply when `data_subject.consent.marketing` is "
                               "`false` and not when it is `true`: `false` is the stricter value the consent ledger "
                               "lets a caller always impose, so a caller saying it would be allowed more")
    assert warning.hint.startswith(f"`data_subject.consent.marketing` is filled `from consent` (p.pdp:{lines - 1}:")


def test_an_accept_silences_it_for_strict_and_a_stale_one_is_reported(tmp_path, capsys):
    rule = 'allow a cite "§1" to use when not data_subject.consent.marketing\n'
    (tmp_path / "vocabulary.yaml").write_text(VOCAB)
    (tmp_path / "p.pdp").write_text(HEADER + FILLS + rule)
    assert main(["check", "--strict", str(tmp_path)]) == 1
    assert "permissive-read: warning:" in capsys.readouterr().err
    reason = "an audit rule: it allows reading who opted out, on purpose"
    (tmp_path / "p.pdp").write_text(HEADER + FILLS + rule + f'  accept permissive-read because "{reason}"\n')
    assert main(["check", "--strict", str(tmp_path)]) == 0
    assert f"= accepted because: {reason}" in "".join(capsys.readouterr())
    stale = 'allow a cite "§1" to use when data_subject.consent.marketing\n'
    warnings = warnings_of(build_set(FILLS + stale + '  accept permissive-read because "x"\n'))
    assert [w.code for w in warnings] == ["unused-accept"]


def test_cx_one_go_reads_every_filled_attribute_the_strict_way(capsys):
    assert main(["check", "--strict", str(CX_ONE_GO)]) == 0
    assert CODE not in "".join(capsys.readouterr())


FILLED = ["data_subject.consent.marketing == false", "data_subject.consent.marketing == true",
          "data_subject.consent.marketing", "not data_subject.consent.marketing",
          "data_subject.consent.marketing != false", "data_subject.consent.marketing in [true]",
          "data_subject.consent.marketing is absent", "context.legal_request", "not context.legal_request",
          "context.legal_request == false", "context.legal_request != true"]
OTHERS = ["data_subject.age < 18", "context.score < 3", "context.score == 2"]


@st.composite
def sets_and_requests(draw):
    rules = generated_rules(draw, ["use"], ["marketing", "essential.service"], ["user.contact.email", "user"],
                            FILLED + OTHERS, rules=4, clauses=1, items=2)
    asked = request(purpose=draw(st.sampled_from(["marketing", "essential.service"])),
                    data_subject={"age": draw(st.integers(10, 30))})
    if draw(st.booleans()):
        asked["context"] = {"score": draw(st.sampled_from([1, 2, 3, "x"]))}
    return rules, asked


def decided(policy_set, asked: dict, consent: bool, objection: bool) -> str:
    """allow, deny, or `failed`: denied because a rule could not be evaluated on another value of the request (the
    caller's `"x"` for a number), which the filled attribute only decides whether the engine reaches."""
    sent = {**asked, "data_subject": {**asked["data_subject"], "consent": {"marketing": consent}},
            "context": {**asked.get("context", {}), "legal_request": objection}}
    decision = policy_set.decide(sent)
    if decision.decision == "deny" and all(r.effect == "error" for r in decision.reasons):
        return "failed"
    return decision.decision


@fewer(4)
@given(sets_and_requests())
@example(('allow r0 cite "§0" when data_subject.consent.marketing == true unless context.score < 3\n'
          'allow r1 cite "§1"\n',
          request(purpose="marketing", data_subject={"age": 10}, context={"score": "x"})))
def test_without_the_warning_the_stricter_value_never_allows_more(drawn):
    """The check's claim: when no rule is warned about, the stricter value of a filled attribute (what a caller may
    always impose) denies at least what the other value denies by its rules, whatever else the request says. A deny
    only because a rule fails on another of the caller's values is not such a deny: the example's consent `true`
    reaches `"x" < 3` and fails, `false` never reaches it; both are what the caller's own values make them."""
    rules, asked = drawn
    try:
        policy_set = build_set(FILLS + rules)
    except pdp.PolicyError:  # (a generated rule that can never apply: refused, nothing to decide)
        assume(False)
    if any(w.code == CODE for w in policy_set.checker_warnings):
        return
    for objection in (False, True):  # consent: false is the stricter value
        if decided(policy_set, asked, True, objection) == "deny":
            assert decided(policy_set, asked, False, objection) in ("deny", "failed")
    for consent in (False, True):  # objection: true is the stricter value
        if decided(policy_set, asked, consent, False) == "deny":
            assert decided(policy_set, asked, consent, True) in ("deny", "failed")


def test_an_earlier_version_is_checked_against_the_current_sets_fills(tmp_path, capsys):
    """As of a past time an earlier version (§11) decides, on a request filled as the current set declares."""
    current = 'policy "t" version "2" effective 2026-06-01\n' + FILLS + \
        'allow a cite "§1" to use when data_subject.consent.marketing\n'
    old = 'policy "t" version "1" effective 2026-01-01\nallow a cite "§1" to use when not data_subject.consent.marketing\n'
    write_versioned(tmp_path, current, {"1": old}, VOCAB)
    policy_set = pdp.load(tmp_path)
    (warning,) = [w for v in policy_set.history for w in v.checker_warnings if w.code == CODE]
    assert warning.span.file.endswith("main.pdp") and "versions" in str(policy_set.history[0].directory)
    assert warning in policy_set.history[0].checker_warnings
    assert main(["check", "--strict", str(tmp_path)]) == 1
    assert "permissive-read: warning:" in capsys.readouterr().err
    (tmp_path / "versions" / "1" / "main.pdp").write_text(old + '  accept permissive-read because "the old text"\n')
    assert main(["check", "--strict", str(tmp_path)]) == 0
