"""Small policy sets built from text in memory, the requests they are asked, and sets on disk with versions."""

import textwrap
from pathlib import Path

import pytest

import pdp

ROOT = Path(__file__).resolve().parents[2]
CX_ONE_GO = ROOT / "policies"  # the shipped policy set
HEADER = 'policy "t" version "1" effective 2026-01-01\n'
VOCAB = ("consent_topics: [marketing, cookies, location]\nattributes:\n  context.legal_request: bool\n"
         "  context.note: string\n  context.score: any\n")


def build_set(rules: str, vocabulary: str = VOCAB, data: dict | None = None, index: bool = True) -> pdp.PolicySet:
    sources = pdp.Sources(
        {"p.pdp": HEADER + textwrap.dedent(rules)},
        ("vocabulary.yaml", vocabulary),
        {f"data/{k}.yaml": textwrap.dedent(v) for k, v in (data or {}).items()},
    )
    return pdp.build(sources, index=index)


def errors_of(rules: str, **kw) -> list:
    with pytest.raises(pdp.PolicyError) as info:
        build_set(rules, **kw)
    return info.value.diagnostics


def request(**overrides) -> dict:
    base = {"action": "use", "purpose": "essential.service", "data_categories": ["user.contact.email"]}
    base.update(overrides)
    return base


def write_versioned(directory, current: str, older: dict[str, str], vocabulary: str):
    """A policy set directory whose earlier versions (version -> policy text) are kept under versions/ (§11)."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "main.pdp").write_text(current)
    (directory / "vocabulary.yaml").write_text(vocabulary)
    for version, text in older.items():
        old = directory / "versions" / version
        old.mkdir(parents=True)
        (old / "main.pdp").write_text(text)
        (old / "vocabulary.yaml").write_text(vocabulary)
    return directory
