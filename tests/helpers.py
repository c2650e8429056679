import textwrap

import pytest

import pdp

HEADER = 'policy "t" version "1" effective 2026-01-01\n'
VOCAB = "consent_topics: [marketing, cookies, location]\nattributes:\n  context.legal_request: bool\n  context.note: string\n  context.score: any\n"


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
