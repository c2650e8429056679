"""The editing core's workspace, check, diagnostics, outline and formatting (pdp.editing)."""

import textwrap

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pdp.analysis.warnings import warnings_of, without_requested
from pdp.base.errors import Diagnostic, Fix, PolicyError, TextEdit
from pdp.base.source import Span
from pdp.editing import Workspace, check, diagnostics, format_file, read_workspace, symbols, warnings_for
from pdp.editing import checking
from pdp.editing.checking import requests_of_tests
from pdp.io.loader import load, read_sources
from pdp.lang.formatter import format_policy
from tests.support.sets import CX_ONE_GO, HEADER, VOCAB

SMALL = {
    "s/p.pdp": HEADER + textwrap.dedent("""\
        # mail, "when" # asked
        allow mail "email # not a comment" cite "§1" # a comment
          # what it allows
          to use
          for marketing.communications.email
          of user.contact.email
          when data_subject.consent.marketing == true

        deny stop "no" cite "§2"
          to use
          for marketing
          when context.legal_request == true
        """),
    "s/vocabulary.yaml": VOCAB,
}


@pytest.fixture(scope="module")
def cx():
    return read_workspace(CX_ONE_GO)


def test_read_workspace_holds_every_file_of_the_set_named_as_the_loader_names_them(cx):
    sources = read_sources(CX_ONE_GO)
    assert cx.root == sources.root and set(sources.texts()) < set(cx.texts)
    kinds = {cx.relative(path): cx.kind(path) for path in cx.texts}
    assert kinds["marketing.pdp"] == "policy"
    assert kinds["vocabulary.yaml"] == "vocabulary"
    assert kinds["data/processors.yaml"] == "data"
    assert kinds["tests/marketing.yaml"] == "tests"
    assert kinds["privacy-policy.txt"] == "text"
    assert kinds["clauses.yaml"] == "clauses"
    assert cx.texts[cx.path_of("marketing.pdp")] == (CX_ONE_GO / "marketing.pdp").read_text()
    assert cx.sources == sources


def test_a_workspace_never_changes_an_edit_makes_a_new_one():
    texts = dict(SMALL)
    ws = Workspace("s", texts)
    texts["s/p.pdp"] = "changed"  # the caller's dict is not the workspace's
    edited = ws.edited("s/p.pdp", "x")
    assert ws.texts["s/p.pdp"] == SMALL["s/p.pdp"] and edited.texts["s/p.pdp"] == "x"
    both = ws.with_texts({"s/p.pdp": "y", "s/data/r.yaml": "a: 1\n"})
    assert both.texts["s/p.pdp"] == "y" and both.sources.data == {"s/data/r.yaml": "a: 1\n"}
    assert ws.sources.data == {}


def test_the_sources_are_what_the_loader_reads_not_tests_versions_or_the_privacy_policy():
    ws = Workspace("s", {**SMALL, "s/tests/t.yaml": "cases: []\n", "s/versions/1/p.pdp": "x",
                         "s/privacy-policy.txt": "words", "s/clauses.yaml": "{}", "s/data/deep/x.yaml": "a: 1"})
    assert set(ws.sources.policies) == {"s/p.pdp"}
    assert ws.sources.vocabulary == ("s/vocabulary.yaml", VOCAB)
    assert ws.sources.data == {}
    assert Workspace(".", {"p.pdp": "x"}).sources.policies == {"p.pdp": "x"}


def test_check_finds_the_error_at_its_place_and_builds_a_set_without_errors():
    ws = Workspace("s", SMALL)
    ok = check(ws)
    assert ok.ok and ok.policy_set is not None and ok.policy_set.name == "t"
    broken = check(ws.edited("s/p.pdp", SMALL["s/p.pdp"].replace("user.contact.email", "user.contact.emial")))
    assert broken.policy_set is None
    (error,) = broken.errors
    assert (error.code, error.file, error.line, error.col) == ("unknown-data-category", "s/p.pdp", 7, 6)
    syntax = check(ws.edited("s/p.pdp", SMALL["s/p.pdp"].replace("to use", "to use use ,")))
    assert syntax.errors and syntax.errors[0].code == "syntax"


def test_a_check_is_kept_by_the_sources_digest_and_the_cache_is_bounded():
    checking.forget()
    ws = Workspace("s", SMALL)
    first = check(ws)
    assert check(Workspace("s", dict(SMALL))) is first  # the same texts: not checked again
    assert check(ws.edited("s/tests/t.yaml", "cases: []\n")) is first  # a test file is not built
    assert check(ws, cached=False) is not first
    for n in range(checking.CHECKS_KEPT):
        check(ws.edited("s/p.pdp", SMALL["s/p.pdp"] + "\n" * (n + 1)))
    assert check(ws) is not first  # pushed out by the newer ones


def test_diagnostics_are_what_pdp_check_reports(cx):
    found = diagnostics(cx)
    policy_set = load(CX_ONE_GO)
    assert not check(cx).errors
    expected = without_requested(warnings_of(policy_set), requests_of_tests(cx))
    assert found == sorted(expected, key=Diagnostic.sort_key)
    assert all(d.severity == "warning" for d in found)
    assert diagnostics(cx, warnings=False) == []


def test_a_set_with_errors_has_its_checker_warnings_beside_them():
    ws = Workspace("s", SMALL).edited("s/p.pdp", SMALL["s/p.pdp"] + '\nallow x "y" cite "§3" to use for mrketing\n')
    checked = check(ws)
    assert checked.errors and warnings_for(checked) == sorted(checked.checker_warnings, key=Diagnostic.sort_key)
    assert [d for d in diagnostics(ws) if d.severity == "error"] == checked.errors


def test_unused_vocabulary_a_test_requests_is_not_reported():
    vocabulary = VOCAB + "data_uses:\n  - {key: marketing.loyalty, name: Loyalty}\n"
    ws = Workspace("s", {**SMALL, "s/vocabulary.yaml": vocabulary})
    assert "unused-vocabulary" in {d.code for d in diagnostics(ws)}
    test = ("cases:\n  - name: loyalty\n    request: {action: use, purpose: marketing.loyalty, "
            "data_categories: [user.contact.email]}\n    expect: deny\n")
    assert "unused-vocabulary" not in {d.code for d in diagnostics(ws.edited("s/tests/t.yaml", test))}


EDITS = st.lists(st.tuples(st.integers(0, 400), st.sampled_from(["", "x", " ", "\n", "e", "r", "#"]),
                           st.integers(0, 3)), max_size=3)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(EDITS)
def test_cached_checks_and_warnings_equal_the_plain_path(edits):
    text = SMALL["s/p.pdp"]
    for at, insert, cut in edits:
        at = min(at, len(text))
        text = text[:at] + insert + text[at + cut:]
    ws = Workspace("s", SMALL).edited("s/p.pdp", text)
    for _ in range(2):  # the second time from the cache
        cached, plain = check(ws), check(ws, cached=False)
        assert cached.errors == plain.errors and cached.checker_warnings == plain.checker_warnings
        assert (cached.policy_set is None) == (plain.policy_set is None)
        assert warnings_for(cached) == warnings_for(plain, cached=False)
        assert diagnostics(ws) == diagnostics(ws, cached=False)


def test_warnings_are_kept_by_what_the_texts_say_comments_left_out():
    checking.forget()
    ws = Workspace("s", SMALL)
    first = warnings_for(check(ws))
    assert first and {d.code for d in first} == {"unmarked-overlap"}
    commented = ws.edited("s/p.pdp", SMALL["s/p.pdp"].replace("# a comment", "# a longer comment, \"quoted\""))
    assert check(commented).meaning == check(ws).meaning and check(commented).key != check(ws).key
    calls = []
    real = checking.warnings_of
    checking.warnings_of = lambda *a: calls.append(a) or real(*a)
    try:
        assert warnings_for(check(commented)) == first and not calls  # not analysed again
        reworded = ws.edited("s/p.pdp", SMALL["s/p.pdp"].replace("not a comment", "not a comment either"))
        assert check(reworded).meaning != check(ws).meaning
        warnings_for(check(reworded))
        assert len(calls) == 1  # a text in quotes is what the set says
    finally:
        checking.warnings_of = real


def test_symbols_outline_a_policy_file_in_order(cx):
    found = symbols(cx, cx.path_of("cx-one-go.pdp"))
    assert found[0].kind == "policy" and found[0].name == "cx-one-go" and found[0].span.line == 32
    assert {"lookup", "condition"} <= {s.kind for s in found}
    marketing = cx.path_of("marketing.pdp")
    rules = symbols(cx, marketing)
    first = rules[0]
    assert (first.name, first.kind, first.span.line, first.detail) == (
        "marketing.promotional_email", "rule", 13, "allow (§2.5)")
    assert first.span.end_line > first.span.line
    # a statement that does not parse is left out, the others kept
    broken = cx.edited(marketing, cx.texts[marketing].replace("to use\n", "to use use\n", 1))
    assert "marketing.promotional_email" not in {s.name for s in symbols(broken, marketing)}
    assert "marketing.sms_opt_in" in {s.name for s in symbols(broken, marketing)}
    with pytest.raises(KeyError, match="`policies/nothing.pdp`"):
        symbols(cx, "policies/nothing.pdp")


def test_format_file_is_pdp_fmt_and_refuses_a_file_that_does_not_parse():
    messy = SMALL["s/p.pdp"].replace("  to use", "      to    use")
    ws = Workspace("s", SMALL).edited("s/p.pdp", messy)
    assert format_file(ws, "s/p.pdp") == format_policy(messy, "s/p.pdp") == format_policy(SMALL["s/p.pdp"], "s/p.pdp")
    with pytest.raises(PolicyError):
        format_file(ws.edited("s/p.pdp", "policy policy"), "s/p.pdp")


def test_a_diagnostic_says_where_it_ends_and_its_fixes_only_when_it_has_some():
    span = Span("p.pdp", 3, 5, 3, 9)
    plain = Diagnostic("unknown-key", "`emal`", span)
    assert plain.to_dict()["end_line"] == 3 and plain.to_dict()["end_col"] == 9 and "fixes" not in plain.to_dict()
    assert Diagnostic("x", "y", Span("p.pdp", 2, 4)).to_dict() | {} == {
        "code": "x", "message": "y", "file": "p.pdp", "line": 2, "col": 4, "end_line": 2, "end_col": 4,
        "hint": None, "severity": "error"}
    fixed = Diagnostic("unknown-key", "`emal`", span, fixes=(Fix("replace with `email`", (TextEdit(span, "email"),)),))
    assert fixed == plain  # fixes are not compared
    assert fixed.to_dict()["fixes"] == [{"title": "replace with `email`", "edits": [
        {"file": "p.pdp", "line": 3, "col": 5, "end_line": 3, "end_col": 9, "new_text": "email"}]}]
