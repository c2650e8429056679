"""The grammar: `grammar/pdp.lark` beside this module, shipped inside the package, and its LALR parser.

Building the parser analyses the grammar into LALR tables, which is most of
what it costs (about 45 ms, once in every process that parses: each `pdp
decide`, each server start). The tables are shipped beside the grammar
(`grammar/pdp.tables.pickle`, written by `write_tables()`; see ARCHITECTURE.md) and
loaded instead when they were built from this very grammar by this lark
version; otherwise the parser is built from the grammar, as `tables=False`
always does. The file holds plain data only (dicts, lists, strings,
numbers): it is read by an unpickler that refuses every class, so it can
never run code. A test proves the shipped tables equal to freshly built ones.

Two parsers are made from the grammar. The plain one (OPTIONS) builds lark's tree with every node's
position, which `parser` turns into the syntax tree and reads syntax errors from. The streaming one
(STREAMING_OPTIONS: every token kept, no positions propagated) hands each rule to callbacks as it is
reduced, which build the syntax tree then (`lang.streaming`), and runs on lark_cython (lark's own
Cython LALR parser and lexer, `_plugins`) when it is installed. Each has its tables shipped.
"""

from __future__ import annotations

import hashlib
import io
import pickle
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from lark import Lark
from lark import __version__ as LARK_VERSION
from lark.grammar import Rule
from lark.lexer import TerminalDef

GRAMMAR_NAME = "pdp.lark"
TABLES_NAME = "pdp.tables.pickle"
STREAMING_TABLES_NAME = "pdp.streaming-tables.pickle"
# The parser's options: LALR, contextual lexer, positions kept (what the tables are built for)
OPTIONS: dict[str, Any] = {"parser": "lalr", "lexer": "contextual", "propagate_positions": True,
                           "maybe_placeholders": False}
# The streaming parser's: the same grammar and lexer, every token kept (the callbacks read each node's
# extent from its first and last token, keywords included), no positions propagated (lark's
# PropagatePositions was half of a parse's cost)
STREAMING_OPTIONS: dict[str, Any] = {**OPTIONS, "propagate_positions": False, "keep_all_tokens": True}


def grammar_path() -> Path:
    path = Path(str(resources.files(__package__) / "grammar" / GRAMMAR_NAME))
    if not path.is_file():
        raise FileNotFoundError(f"the pdp grammar ({GRAMMAR_NAME}) is missing from the installation")
    return path


def tables_path(options: dict[str, Any] = OPTIONS) -> Path:
    return grammar_path().with_name(STREAMING_TABLES_NAME if options is STREAMING_OPTIONS else TABLES_NAME)


@lru_cache(maxsize=1)
def grammar_text() -> str:
    return grammar_path().read_text(encoding="utf-8")


def new_parser(tables: bool = True) -> Lark:
    """The grammar's parser: from the shipped tables when they are current (`tables`), else built."""
    shipped = shipped_tables() if tables else None
    if shipped is not None:
        return Lark.load(shipped)  # lark's own loader (a dict is taken as it is, never unpickled)
    return Lark(grammar_text(), **OPTIONS)


def fingerprint(options: dict[str, Any] = OPTIONS) -> str:
    """What the tables depend on: the grammar, the options and the lark version that analysed them."""
    return hashlib.sha256(f"{grammar_text()}\0{sorted(options.items())}\0{LARK_VERSION}".encode()).hexdigest()


def tables_of(parser: Lark, options: dict[str, Any] = OPTIONS) -> dict:
    """A parser's analysed tables as plain data (lark's own serialisation), with what they were built from."""
    data, memo = parser.memo_serialize([TerminalDef, Rule])
    return {"fingerprint": fingerprint(options), "data": data, "memo": memo}


class _PlainData(pickle.Unpickler):
    """Reads dicts, lists, tuples, strings and numbers; refuses every class (so no code can run)."""

    def find_class(self, module: str, name: str) -> Any:
        raise pickle.UnpicklingError(f"the parser tables may hold plain data only, not `{module}.{name}`")


def shipped_tables(options: dict[str, Any] = OPTIONS) -> dict | None:
    """The shipped tables, if they were built from this grammar by this lark version; else None."""
    try:
        tables = _PlainData(io.BytesIO(tables_path(options).read_bytes())).load()
    except (OSError, pickle.UnpicklingError, EOFError, ValueError):
        return None
    if not isinstance(tables, dict) or tables.get("fingerprint") != fingerprint(options):
        return None
    return tables


def cython_plugins() -> dict[str, Any]:
    """lark_cython's parser and lexer for lark's `_plugins`, or none (pure lark) when it is not installed."""
    try:
        import lark_cython
    except ImportError:  # no wheel for this platform: pure lark parses the same, slower
        return {}
    return dict(lark_cython.plugins)


def new_streaming_parser(callbacks: object, tables: bool = True, cython: bool = True) -> Lark:
    """The streaming parser: lark calls `callbacks`' methods (one per rule) as it reduces each rule.

    `cython=False` runs pure lark even where lark_cython is installed (the plain path it is proved equal to)."""
    extra: dict[str, Any] = {"transformer": callbacks, "_plugins": cython_plugins() if cython else {}}
    shipped = shipped_tables(STREAMING_OPTIONS) if tables else None
    if shipped is not None:
        # lark's loader takes the options a parser is made with from the tables' own; those that do not
        # change the tables (`transformer`, `_plugins`) may be added there
        data = {**shipped["data"], "options": {**shipped["data"]["options"], **extra}}
        return Lark.load({"data": data, "memo": shipped["memo"]})
    return Lark(grammar_text(), **STREAMING_OPTIONS, **extra)


def write_tables() -> list[Path]:
    """Build both parsers from the grammar and ship their tables (run after changing the grammar)."""
    written = []
    for options in (OPTIONS, STREAMING_OPTIONS):
        path = tables_path(options)
        path.write_bytes(pickle.dumps(tables_of(Lark(grammar_text(), **options), options), protocol=4))
        written.append(path)
    return written

