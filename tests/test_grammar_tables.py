"""The shipped parser tables (pdp.lang.grammar) are the grammar's: equal to freshly built ones, and a
parser loaded from them parses every text as one built from the grammar does (the plain path)."""

import io
import pickle
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from lark.exceptions import UnexpectedInput

from pdp.lang import grammar

POLICIES = sorted((Path(__file__).resolve().parents[1] / "policies").glob("*.pdp"))
BUILT = grammar.new_parser(tables=False)
LOADED = grammar.new_parser()

# Pieces of policy text, valid and not, for texts the parser must treat alike either way
PIECES = ['policy "t" version "1"', "effective 2026-01-01", "allow", "deny", "a.b", "r1", 'cite "§1"', "to", "use",
          "for", "analytics", "of", "user.name", "when", "unless", "data_subject.age", "<", ">=", "==", "!=", "18",
          "2.5", '"text"', "[", "]", ",", "(", ")", "and", "or", "not", "in", "under", "is present", "true",
          "oblige", "overrides", "accept", "lookup", "recipient", "data.processors", "# a comment", "\n", "\n  "]


def parsed(parser, text: str):
    try:
        return "tree", parser.parse(text)
    except UnexpectedInput as error:
        return "error", type(error).__name__, error.line, error.column


def test_the_shipped_tables_are_the_grammars():
    """Fails after a grammar change until the tables are written again:
    python -c 'from pdp.lang.grammar import write_tables; write_tables()'

    The same terminals and rules; the LALR states are numbered differently from one build to the next
    (lark iterates sets), so the parse table is compared by what it does: the tests below."""
    shipped, fresh = grammar.shipped_tables(), grammar.tables_of(BUILT)
    assert shipped is not None, "the shipped tables are missing or were built from another grammar or lark version"
    assert shipped["memo"] == fresh["memo"] and shipped["data"]["rules"] == fresh["data"]["rules"]


def test_the_shipped_streaming_tables_are_the_grammars():
    """As above, for the streaming parser's tables (every token kept, no positions propagated)."""
    options = grammar.STREAMING_OPTIONS
    shipped = grammar.shipped_tables(options)
    fresh = grammar.tables_of(grammar.Lark(grammar.grammar_text(), **options), options)
    assert shipped is not None, "the shipped streaming tables are missing or were built from another grammar"
    assert shipped["memo"] == fresh["memo"] and shipped["data"]["rules"] == fresh["data"]["rules"]


def test_the_parser_is_loaded_from_the_tables():
    assert grammar.shipped_tables() is not None
    assert LOADED.options.parser == "lalr" and LOADED.options.propagate_positions is True
    assert LOADED.options.maybe_placeholders is False


@pytest.mark.parametrize("path", POLICIES, ids=lambda p: p.name)
def test_the_policies_parse_alike(path):
    text = path.read_text(encoding="utf-8")
    assert parsed(LOADED, text) == parsed(BUILT, text)


@given(st.lists(st.sampled_from(PIECES), max_size=30).map(" ".join))
def test_any_text_parses_alike(text):
    assert parsed(LOADED, text) == parsed(BUILT, text)


def test_tables_that_hold_a_class_are_never_unpickled(tmp_path, monkeypatch):
    """A tables file that would run code (any class in the pickle) is refused; the parser is built instead."""
    evil = tmp_path / grammar.TABLES_NAME
    evil.write_bytes(pickle.dumps({"fingerprint": grammar.fingerprint(), "data": io.BytesIO(b"x"), "memo": {}}))
    monkeypatch.setattr(grammar, "tables_path", lambda options=None: evil)
    assert grammar.shipped_tables() is None
    assert parsed(grammar.new_parser(), 'policy "t" version "1"\n') == parsed(BUILT, 'policy "t" version "1"\n')


def test_stale_tables_are_not_used(tmp_path, monkeypatch):
    stale = tmp_path / grammar.TABLES_NAME
    stale.write_bytes(pickle.dumps({**grammar.tables_of(BUILT), "fingerprint": "another grammar"}))
    monkeypatch.setattr(grammar, "tables_path", lambda options=None: stale)
    assert grammar.shipped_tables() is None
