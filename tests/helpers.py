import textwrap

import pytest
from hypothesis import settings
from hypothesis import strategies as st

import pdp

HEADER = 'policy "t" version "1" effective 2026-01-01\n'
VOCAB = "consent_topics: [marketing, cookies, location]\nattributes:\n  context.legal_request: bool\n  context.note: string\n  context.score: any\n"


def costly() -> settings:
    """Settings for a property whose every example builds and analyses a policy set or goes through a server:
    a fifth of the examples the profile gives a test (tests/conftest.py)."""
    return settings(max_examples=max(1, settings.default.max_examples // 5))


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


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@__import__("contextlib").contextmanager
def served(policy_dir, *extra_args: str, output=None):
    """`pdp serve` in a subprocess (decision log off unless asked); yields its base URL once it is ready.

    `output`: a file path that receives the server's log (standard output and error).
    """
    import os
    import subprocess
    import sys
    import time

    import httpx

    port = free_port()
    args = list(extra_args) if "--log" in extra_args else ["--no-log", *extra_args]
    sink = open(output, "wb") if output is not None else subprocess.PIPE  # noqa: SIM115 - closed below
    proc = subprocess.Popen([sys.executable, "-m", "pdp.cli", "serve", str(policy_dir), "--port", str(port),
                             "--log-level", "warning", *args],
                            stdout=sink, stderr=subprocess.STDOUT, env={**os.environ})
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/ready", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        else:
            proc.kill()
            log = proc.stdout.read().decode() if output is None else open(output).read()
            pytest.fail("pdp serve did not become ready: " + log)
        yield base
    finally:
        proc.terminate()
        proc.wait(10)
        if output is not None:
            sink.close()


# Conditions over the test vocabulary and data (`lists`), for property tests that generate rules from them.
CONDITIONS = [
    "data_subject.age < 18", "data_subject.age >= 18", "data_subject.consent.marketing == false",
    "recipient.dpa", "not recipient.dpa", 'recipient.type in ["service_provider", "affiliate"]',
    'destination_country != "IN" or recipient.dpa == true', "data_subject.consent.location is present",
    'purpose under ["marketing", "essential.service"]', "context.score < 3", "context.score == 2",
    "context.note in data.lists.notes", 'context.note under "a"', "destination_country in data.lists.countries",
    "recipient.dpa == context.legal_request", "context.score", 'not (context.note == "x" and context.score > 1)',
]


def _kind(value) -> str:
    if isinstance(value, bool):
        return "bool"
    return "number" if isinstance(value, (int, float)) else "string" if isinstance(value, str) else "other"


def ill_typed(space, req) -> bool:
    """A value of a kind no condition compares the attribute with: outside the (well-typed) space."""
    for domain in space.domains.values():
        value = req
        for part in domain.path:
            value = value.get(part) if isinstance(value, dict) else None
        if value is not None and _kind(value) not in {c.kind for c in domain.classes}:
            return True
    return False


def generated_rules(draw, actions, purposes, categories, conditions, rules=6, clauses=1, items=2) -> str:
    """Policy text of up to `rules` rules drawn from the pools (for hypothesis' `st.composite` strategies):
    up to two keys each for `to`, `for` and `of`, and up to `clauses` `when` and `unless` clauses each of up
    to `items` conditions joined by `and` or `or`."""
    out = []
    for i in range(draw(st.integers(1, rules))):
        parts = [f'{draw(st.sampled_from(["allow", "deny"]))} r{i} cite "§{i}"']
        for keyword, pool in (("to", actions), ("for", purposes), ("of", categories)):
            chosen = draw(st.lists(st.sampled_from(pool), max_size=2, unique=True))
            if chosen:
                parts.append(f"{keyword} {', '.join(chosen)}")
        for keyword in ("when", "unless"):
            for _ in range(draw(st.integers(0, clauses))):
                chosen = draw(st.lists(st.sampled_from(conditions), min_size=1, max_size=items))
                parts.append(f"{keyword} " + draw(st.sampled_from([" and ", " or "])).join(f"({c})" for c in chosen))
        out.append("\n  ".join(parts))
    return "\n".join(out) + "\n"


def drop_none(d: dict) -> dict:
    """A generated request without the attributes drawn as None (absent)."""
    return {k: drop_none(v) if isinstance(v, dict) else v for k, v in d.items() if v is not None}


# Tests of the keys a request names (purpose, data_categories) in every form the language has, with a few of
# other attributes, for property tests of how rules read a broad key (tests/test_broad_keys.py).
KEY_CONDITIONS = [
    'purpose == "marketing.advertising"', 'purpose == "marketing"', 'purpose != "essential.service"',
    'purpose == "essential.service.payment_processing"', 'purpose != "marketing.communications.email"',
    'purpose in ["marketing.advertising.third_party", "essential.service.payment_processing"]',
    'purpose not in ["marketing", "marketing.communications.email"]', "purpose in data.lists.purposes",
    'purpose under "marketing.advertising"', '"marketing.advertising.third_party" under purpose',
    '"user.health_and_medical" in data_categories', '"user.contact.email" not in data_categories',
    '"user.contact" in data_categories', '"user.device.cookie_id" in data_categories',
    '"user.name" under data_categories', 'data_categories == ["user.contact"]', 'data_categories != ["user"]',
    'data_categories == ["user.contact.email"]',
    "data_subject.age < 18", "recipient.dpa", "context.score < 3",
]
KEY_DATA = {"lists": "notes: [a, x]\ncountries: [IN, SG]\n"
                     "purposes: [marketing.advertising, essential.service.payment_processing]\n"}


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
