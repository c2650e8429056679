"""Find the grammar file, whether pdp runs from a checkout or an install.

The build ships `grammar/` inside the package as `pdp/grammar/`; in an
editable install the package directory has no copy, so fall back to the
repository's `grammar/` two levels up.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from pathlib import Path

GRAMMAR_NAME = "pdp.lark"


def grammar_path() -> Path:
    packaged = resources.files("pdp") / "grammar" / GRAMMAR_NAME
    if packaged.is_file():
        return Path(str(packaged))
    checkout = Path(__file__).resolve().parents[2] / "grammar" / GRAMMAR_NAME
    if checkout.is_file():
        return checkout
    raise FileNotFoundError(f"the pdp grammar ({GRAMMAR_NAME}) is missing from the installation")


@lru_cache(maxsize=1)
def grammar_text() -> str:
    return grammar_path().read_text(encoding="utf-8")
