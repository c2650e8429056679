"""Warnings moved with their text: a change of layout only (lines, indentation, comments, `pdp fmt`) moves the
warnings found before to their new places instead of analysing the set again (pdp.editing.relocating)."""

import textwrap

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pdp.editing import Workspace, check, diagnostics, format_file, warnings_for
from pdp.editing import checking, relocating
from tests.support.sets import HEADER, VOCAB

VOCABULARY = VOCAB + "data_uses:\n  - {key: marketing.loyalty, name: Loyalty}\n"
RULES = textwrap.dedent("""\
    condition opted_in "the person agreed" when data_subject.consent.marketing == true
    condition never_used "nobody asks" when context.legal_request == true

    allow mail "email" cite "§1"
      to use
      for marketing.communications.email
      of user.contact.email
      when opted_in

    allow mail_again "email, again" cite "§1" to use for marketing.communications.email of user.contact.email
      when opted_in

    deny stop "no"
      to use
      for marketing
      when context.legal_request == true
    """)
SET = {"s/p.pdp": HEADER + RULES, "s/vocabulary.yaml": VOCABULARY}


def codes(found) -> set[str]:
    return {d.code for d in found}


def test_the_set_has_warnings_of_every_kind_of_place():
    found = diagnostics(Workspace("s", SET))
    assert {"shadowed-rule", "unmarked-overlap", "no-citation", "unused-condition", "unused-vocabulary"} <= codes(found)


def analysed(monkeypatch) -> list:
    calls: list = []
    real = checking.warnings_of
    monkeypatch.setattr(checking, "warnings_of", lambda *a: calls.append(a) or real(*a))
    return calls


def test_a_change_of_layout_moves_the_warnings_without_analysing_again(monkeypatch):
    checking.forget()
    ws = Workspace("s", SET)
    before = diagnostics(ws)
    calls = analysed(monkeypatch)
    moved_text = "\n\n" + SET["s/p.pdp"].replace("\n  to use", "\n      to   use").replace(" when opted_in", "\n when opted_in")
    moved = ws.edited("s/p.pdp", moved_text)
    after = diagnostics(moved)
    assert not calls
    assert after == diagnostics(moved, cached=False) and after != before  # the same warnings, at their new places
    assert [d.code for d in after] == [d.code for d in before]


def test_format_on_save_does_not_analyse_the_set_again(monkeypatch):
    checking.forget()
    messy = SET["s/p.pdp"].replace("  to use\n", "  to    use\n")
    ws = Workspace("s", SET).edited("s/p.pdp", messy)
    diagnostics(ws)
    calls = analysed(monkeypatch)
    formatted = ws.edited("s/p.pdp", format_file(ws, "s/p.pdp"))
    assert formatted.texts != ws.texts
    moved = diagnostics(formatted)
    assert not calls
    assert moved == diagnostics(formatted, cached=False)


def test_a_change_of_what_the_set_says_is_analysed(monkeypatch):
    checking.forget()
    ws = Workspace("s", SET)
    diagnostics(ws)
    calls = analysed(monkeypatch)
    diagnostics(ws.edited("s/p.pdp", SET["s/p.pdp"].replace("for marketing\n", "for marketing.communications\n")))
    assert len(calls) == 1


def test_switched_off_a_change_of_layout_is_analysed(monkeypatch):
    checking.forget()
    ws = Workspace("s", SET)
    diagnostics(ws)
    monkeypatch.setattr(relocating, "RELOCATE", False)
    calls = analysed(monkeypatch)
    diagnostics(ws.edited("s/p.pdp", "\n" + SET["s/p.pdp"]))
    assert len(calls) == 1


LAYOUT = st.sampled_from(["\n", " ", "   ", "\n\n", "\t", "\n# a comment\n", " # note\n", "x", '"', ""])


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.integers(0, 10_000), LAYOUT, st.integers(0, 2)), min_size=1, max_size=4))
def test_moved_warnings_equal_the_analysis_of_the_new_text(edits):
    """Edits that change only the layout mostly (spaces and lines where there are spaces), sometimes more."""
    text = SET["s/p.pdp"]
    for at, insert, cut in edits:
        spaces = [i for i, c in enumerate(text) if c in " \n"]
        at = spaces[at % len(spaces)]
        text = text[:at] + insert + text[at + (cut if text[at:at + cut].isspace() else 0):]
    ws = Workspace("s", SET)
    warnings_for(check(ws))  # the layout before, analysed
    edited = ws.edited("s/p.pdp", text)
    assert diagnostics(edited) == diagnostics(edited, cached=False)
