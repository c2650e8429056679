"""Error excerpts: the source line and a caret under the spanned text, bounded for a huge line."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

import pdp
from pdp.base.limits import MAX_FILE_BYTES
from pdp.base.source import Span, caret_excerpt

EXCERPT_CHARS = 100  # of a long line shown (pdp.base.source), and an ellipsis on each side where it is cut
ELLIPSIS = "…"


def caret_columns(excerpt: str) -> tuple[str, int, int]:
    """The shown line, and where the caret starts and how wide it is."""
    shown, carets = excerpt.split("\n")
    text = shown.split(" | ", 1)[1]
    marks = carets.split("| ", 1)[1]
    return text, len(marks) - len(marks.lstrip(" ")), marks.count("^")


def test_a_huge_one_line_file_shows_a_window_around_the_caret():
    line = "allow a " + "x" * (MAX_FILE_BYTES - 200) + " && y"
    error = pdp.PolicyError([pdp.Diagnostic("syntax", "unexpected character `&`", Span("p.pdp", 1, line.index("&&") + 1,
                                                                                      1, line.index("&&") + 3))],
                            {"p.pdp": line})
    shown = str(error)
    assert len(shown) < 400
    text, start, width = caret_columns(caret_excerpt(line, error.diagnostics[0].span))
    assert text.startswith(ELLIPSIS) and text[start:start + width] == "&&"
    assert len(text) <= EXCERPT_CHARS + 2


def test_a_short_line_is_shown_whole():
    assert caret_excerpt('deny a when x = 1\n', Span("p.pdp", 1, 15, 1, 16)) == \
        "   1 | deny a when x = 1\n     |               ^"


ASCII_LINE = st.characters(codec="ascii", blacklist_characters="\r\n\t\x0b\x0c\x1c\x1d\x1e")


@given(data=st.data())
def test_the_caret_stays_under_the_spanned_text_and_the_excerpt_is_bounded(data):
    size = data.draw(st.integers(1, 600))  # long lines as often as short ones
    line = data.draw(st.text(ASCII_LINE, min_size=size, max_size=size))
    col = data.draw(st.integers(1, len(line)))
    end = data.draw(st.integers(col + 1, len(line) + 1))
    text, start, width = caret_columns(caret_excerpt(line, Span("p.pdp", 1, col, 1, end)))
    assert len(text) <= EXCERPT_CHARS + 2
    assert width >= 1 and text[start:start + width] == line[col - 1:col - 1 + width]
    assert (text == line) == (len(line) <= EXCERPT_CHARS)


def test_the_line_shown_is_the_line_the_parser_counts_after_a_line_separator_in_a_comment():
    """The parser breaks lines at `\\n` only; str.splitlines also at NEL, U+2028 and a form feed, and showed every
    later error under a line that is not its own."""
    text = ('policy "p" version "1" effective 2026-01-01\n# a note\x85 NEL \u2028 LS \x0c FF\r\n'
            'allow r cite "§1" when data_subject.agee < 18\n')
    with pytest.raises(pdp.PolicyError) as info:
        pdp.build(pdp.Sources({"p.pdp": text}, None, {}))
    (diagnostic,) = info.value.diagnostics
    shown, start, width = caret_columns(caret_excerpt(text, diagnostic.span))
    assert diagnostic.span.line == 3 and shown == 'allow r cite "§1" when data_subject.agee < 18'
    assert shown[start:start + width] == "data_subject.agee"
