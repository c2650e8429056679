"""The grammar's text: `grammar/pdp.lark` beside this module, shipped inside the package."""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from pathlib import Path

GRAMMAR_NAME = "pdp.lark"


def grammar_path() -> Path:
    path = Path(str(resources.files(__package__) / "grammar" / GRAMMAR_NAME))
    if not path.is_file():
        raise FileNotFoundError(f"the pdp grammar ({GRAMMAR_NAME}) is missing from the installation")
    return path


@lru_cache(maxsize=1)
def grammar_text() -> str:
    return grammar_path().read_text(encoding="utf-8")
