"""Every example of the policy language in docs/language.md is valid syntax.

The reference is what the legal team copies from: an example that no longer parses (a keyword renamed, a
construct changed) would teach an error. Examples may leave parts out with `...` (a line of its own, or the end of
a list of keys); a block of conditions alone (`when ...`, `unless ...`) is read as the conditions of a rule.
"""

import re

import pytest

from pdp.lang.parser import parse_policy
from tests.support.sets import ROOT

LANGUAGE = ROOT / "docs" / "language.md"
FENCED = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)
NOT_POLICY = ("policies/", "$ ")  # a directory listing, a command and its output, an error as pdp prints it


def policy_examples() -> list[tuple[int, str]]:
    text = LANGUAGE.read_text()
    examples = []
    for match in FENCED.finditer(text):
        language, body = match.groups()
        if language or body.startswith(NOT_POLICY):
            continue
        line = text.count("\n", 0, match.start()) + 2
        examples.append((line, body))
    return examples


def without_elisions(body: str) -> str:
    lines = [line for line in body.splitlines() if line.strip() != "..."]
    return "\n".join(re.sub(r",\s*\.\.\.\s*$", "", line) for line in lines) + "\n"


def as_policy_file(body: str) -> str:
    statements = [line for line in body.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    if statements and statements[0].split()[0] in ("when", "unless"):
        return 'allow example "a rule around the conditions" cite "§1" to use\n' + body
    return body


def test_the_reference_has_examples_to_check():
    assert len(policy_examples()) > 20


@pytest.mark.parametrize("line, body", policy_examples(), ids=[f"line {line}" for line, _ in policy_examples()])
def test_each_example_parses(line, body):
    _, errors = parse_policy(as_policy_file(without_elisions(body)), f"docs/language.md:{line}")
    assert [f"{e.line}:{e.col}: {e.message}" for e in errors] == []
