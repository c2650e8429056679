"""pdp.lsp.positions: pdp's 1-based code-point positions and an LSP client's 0-based code units, both ways."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from pdp.base.source import source_lines
from pdp.lsp.positions import ENCODINGS, UTF8, UTF16, UTF32, Positions, points_in, units_in

# ASCII, two- and three-byte characters, an astral one (a surrogate pair in UTF-16), and every line break
TEXTS = st.text(alphabet=st.sampled_from(["a", "b", " ", "\t", "é", "中", "😀", "𝔘", "\n", "\r"]), max_size=40)


@st.composite
def pdp_positions(draw):
    text = draw(TEXTS)
    lines = text.split("\n")
    line = draw(st.integers(1, len(lines)))
    # a column of pdp's line (its `\r` before `\n` is not part of it), or just past its end
    width = len(source_lines(text)[line - 1]) if line < len(lines) else len(lines[-1])
    col = draw(st.integers(1, width + 1))
    return text, line, col


@given(pdp_positions(), st.sampled_from(ENCODINGS))
def test_a_pdp_position_survives_the_round_trip(case, encoding):
    text, line, col = case
    positions = Positions(text, encoding)
    assert positions.from_lsp(*positions.to_lsp(line, col)) == (line, col)


@given(TEXTS, st.sampled_from(ENCODINGS), st.data())
def test_a_client_position_on_a_character_boundary_survives_the_round_trip(text, encoding, data):
    positions = Positions(text, encoding)
    offset = data.draw(st.integers(0, len(text)))
    if text[offset - 1:offset + 1] == "\r\n":
        offset -= 1  # between `\r` and `\n` is no place a client can name
    line, character = positions.lsp_at(offset)
    assert positions.to_lsp(*positions.from_lsp(line, character)) == (line, character)


def test_astral_characters_take_two_utf16_units_and_one_column():
    text = 'deny a "😀" cite "§1"\n'
    positions = Positions(text)
    col = text.index("cite") + 1
    assert positions.to_lsp(1, col) == (0, col)  # one more unit than code points before it, less the 1-base
    assert Positions(text, UTF32).to_lsp(1, col) == (0, col - 1)
    assert Positions(text, UTF8).to_lsp(1, col) == (0, col - 1 + 3)  # 😀 is 4 bytes (`§` comes after `cite`)


def test_line_breaks_as_the_client_counts_them():
    text = "a\r\nb\rc\nd"
    positions = Positions(text)
    assert positions.to_lsp(2, 1) == (1, 0)  # `b`
    assert positions.to_lsp(2, 3) == (2, 0)  # `c`: pdp's line 2 holds a lone `\r`, the client's does not
    assert positions.to_lsp(3, 1) == (3, 0)
    assert positions.from_lsp(2, 0) == (2, 3)


def test_positions_out_of_range_are_clamped():
    positions = Positions("abc\nde")
    assert positions.to_lsp(0, 0) == (0, 0)  # a span of a whole file
    assert positions.to_lsp(1, 99) == (0, 3)
    assert positions.to_lsp(9, 1) == (1, 2)
    assert positions.from_lsp(0, 99) == (1, 4)
    assert positions.from_lsp(99, 0) == (2, 3)
    assert positions.from_lsp(-1, -5) == (1, 1)


def test_a_position_inside_a_surrogate_pair_counts_as_before_it():
    assert points_in("a😀b", 2, UTF16) == 1
    assert points_in("a😀b", 3, UTF16) == 2
    assert units_in("a😀b", UTF16) == 4 and units_in("a😀b", UTF32) == 3 and units_in("a😀b", UTF8) == 6
