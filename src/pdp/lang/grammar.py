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
# The parser's options: LALR, contextual lexer, positions kept (what the tables are built for)
OPTIONS: dict[str, Any] = {"parser": "lalr", "lexer": "contextual", "propagate_positions": True,
                           "maybe_placeholders": False}


def grammar_path() -> Path:
    path = Path(str(resources.files(__package__) / "grammar" / GRAMMAR_NAME))
    if not path.is_file():
        raise FileNotFoundError(f"the pdp grammar ({GRAMMAR_NAME}) is missing from the installation")
    return path


def tables_path() -> Path:
    return grammar_path().with_name(TABLES_NAME)


@lru_cache(maxsize=1)
def grammar_text() -> str:
    return grammar_path().read_text(encoding="utf-8")


def new_parser(tables: bool = True) -> Lark:
    """The grammar's parser: from the shipped tables when they are current (`tables`), else built."""
    shipped = shipped_tables() if tables else None
    if shipped is not None:
        return Lark.load(shipped)  # lark's own loader (a dict is taken as it is, never unpickled)
    return Lark(grammar_text(), **OPTIONS)


def fingerprint() -> str:
    """What the tables depend on: the grammar, the options and the lark version that analysed them."""
    return hashlib.sha256(f"{grammar_text()}\0{sorted(OPTIONS.items())}\0{LARK_VERSION}".encode()).hexdigest()


def tables_of(parser: Lark) -> dict:
    """A parser's analysed tables as plain data (lark's own serialisation), with what they were built from."""
    data, memo = parser.memo_serialize([TerminalDef, Rule])
    return {"fingerprint": fingerprint(), "data": data, "memo": memo}


class _PlainData(pickle.Unpickler):
    """Reads dicts, lists, tuples, strings and numbers; refuses every class (so no code can run)."""

    def find_class(self, module: str, name: str) -> Any:
        raise pickle.UnpicklingError(f"the parser tables may hold plain data only, not `{module}.{name}`")


def shipped_tables() -> dict | None:
    """The shipped tables, if they were built from this grammar by this lark version; else None."""
    try:
        tables = _PlainData(io.BytesIO(tables_path().read_bytes())).load()
    except (OSError, pickle.UnpicklingError, EOFError, ValueError):
        return None
    if not isinstance(tables, dict) or tables.get("fingerprint") != fingerprint():
        return None
    return tables


def write_tables() -> Path:
    """Build the parser from the grammar and ship its tables (run after changing the grammar)."""
    path = tables_path()
    path.write_bytes(pickle.dumps(tables_of(new_parser(tables=False)), protocol=4))
    return path

