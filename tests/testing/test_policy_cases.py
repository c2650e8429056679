"""Reading policy test files: the format, its defaults, and errors at file:line."""

import textwrap

import pytest

from pdp.testing import TestFileError, parse_test_file
from pdp.testing.reader import deep_merge


def parse(text: str):
    return parse_test_file(textwrap.dedent(text).lstrip("\n"), "policies/tests/t.yaml")


def problems(text: str) -> list[str]:
    """Each problem as `line:col: code: message`, in file order."""
    with pytest.raises(TestFileError) as info:
        parse(text)
    return [f"{d.line}:{d.col}: {d.code}: {d.message}" for d in info.value.diagnostics]


def test_a_full_file_becomes_cases_with_their_lines():
    test_file = parse("""
        suite: Marketing opt-out (§2.5, §2.6)
        cases:
          - name: promotional email is allowed
            request: {action: use, purpose: marketing.communications.email, data_categories: [user.contact.email]}
            expect: allow
            rules: [marketing.promotional_email]
            cites: ["§2.5"]
            obligations: [unsubscribe_link]
          - name: an unknown purpose is refused
            request: {action: use, purpose: nonsense, data_categories: [user]}
            error: unknown purpose
    """)
    assert test_file.suite == "Marketing opt-out (§2.5, §2.6)"
    first, second = test_file.cases
    assert (first.line, first.name, first.expect) == (3, "promotional email is allowed", "allow")
    assert first.rules == ("marketing.promotional_email",)
    assert first.cites == ("§2.5",) and first.obligations == ("unsubscribe_link",)
    assert first.location == "policies/tests/t.yaml:3"
    assert (second.line, second.expect, second.error) == (9, None, "unknown purpose")
    assert second.rules is None and second.obligations is None  # not checked at all


def test_the_suite_defaults_to_the_file_stem():
    test_file = parse("""
        cases:
          - {name: a, request: {action: use}, expect: deny}
    """)
    assert test_file.suite == "t" and test_file.cases[0].suite == "t"


def test_defaults_merge_under_every_request_and_the_case_wins():
    test_file = parse("""
        defaults:
          request:
            action: use
            data_categories: [user.contact.email, user.name]
            data_subject: {id: u-1, age: 30, consent: {marketing: true}}
        cases:
          - name: inherits everything
            request: {purpose: essential.service}
            expect: allow
          - name: overrides deep and replaces lists
            request:
              purpose: marketing
              data_categories: [user.device]
              data_subject: {age: 12, consent: {cookies: false}}
            expect: deny
    """)
    inherits, overrides = (c.request for c in test_file.cases)
    assert inherits == {
        "action": "use", "purpose": "essential.service",
        "data_categories": ["user.contact.email", "user.name"],
        "data_subject": {"id": "u-1", "age": 30, "consent": {"marketing": True}},
    }
    assert overrides["data_categories"] == ["user.device"]  # lists replace
    assert overrides["data_subject"] == {  # mappings merge, at every depth
        "id": "u-1", "age": 12, "consent": {"marketing": True, "cookies": False}}


def test_deep_merge_never_shares_state_with_its_inputs():
    base = {"a": {"b": [1]}}
    merged = deep_merge(base, {"c": 1})
    merged["a"]["b"].append(2)
    assert base == {"a": {"b": [1]}}


def test_yaml_merge_keys_share_parts_of_cases():
    test_file = parse("""
        cases:
          - &email
            name: allowed
            request: {action: use, purpose: marketing, data_categories: [user.contact.email]}
            expect: allow
          - <<: *email
            name: still allowed, by another name
    """)
    assert [c.name for c in test_file.cases] == ["allowed", "still allowed, by another name"]
    assert test_file.cases[1].request == test_file.cases[0].request


def test_an_unknown_key_is_named_at_its_line_with_a_suggestion():
    with pytest.raises(TestFileError) as info:
        parse("""
            cases:
              - name: a
                request: {action: use}
                expct: allow
        """)
    err = info.value
    unknown = next(d for d in err.diagnostics if d.code == "unknown-key")
    assert (unknown.file, unknown.line, unknown.col) == ("policies/tests/t.yaml", 4, 5)
    assert unknown.message == "unknown key `expct` in case `a`"
    assert unknown.hint == "did you mean `expect`?"
    # rendered like `pdp check`: file:line:col: code: message, the line, a caret, the hint
    assert "policies/tests/t.yaml:4:5: unknown-key: unknown key `expct` in case `a`" in str(err)
    assert "   4 |     expct: allow\n     |     ^^^^^" in str(err)
    assert "= hint: did you mean `expect`?" in str(err)
    assert (err.file, err.line) == ("policies/tests/t.yaml", 2)  # the first problem: no `expect`


def test_unknown_keys_at_every_level():
    assert problems("""
        suit: x
        defaults: {requests: {}}
        cases:
          - {name: a, request: {action: use}, expect: allow, rule: [r]}
    """) == [
        "1:1: unknown-key: unknown key `suit` in the test file",
        "2:12: unknown-key: unknown key `requests` in `defaults`",
        "4:54: unknown-key: unknown key `rule` in case `a`",
    ]


def test_every_problem_in_a_file_is_reported_in_line_order():
    assert problems("""
        cases:
          - name: same
            request: {action: use}
            expect: Allow
          - name: same
            request: {action: use, action: share}
            expect: deny
          - request: [use]
            rules: marketing
            expect: allow
          - name: both
            request: {action: use}
            expect: allow
            error: unknown
          - name: error with checks
            request: {action: use}
            error: unknown purpose
            rules: [x]
    """) == [
        "4:13: bad-value: `expect` must be `allow` or `deny`, not `Allow`",
        "5:5: duplicate-case: a case named `same` is already on line 2",
        "6:28: duplicate-key: `action` appears twice in the `request` of case `same` (first on line 6)",
        "8:5: missing-key: this case has no `name`",
        "8:14: wrong-type: the `request` of this case must be a mapping",
        "9:12: wrong-type: `rules` must be a list",
        "14:5: conflicting-keys: case `both` has both `expect` and `error`",
        "18:5: conflicting-keys: `rules` cannot be checked in case `error with checks`, "
        "which expects an `error`",
    ]


def test_a_case_needs_an_expectation_and_a_request():
    assert problems("""
        cases:
          - name: nothing expected
            request: {action: use}
          - name: nothing asked
            expect: deny
    """) == [
        "2:5: missing-key: case `nothing expected` has no `expect`",
        "4:5: missing-key: case `nothing asked` has no `request`",
    ]


@pytest.mark.parametrize("text, expected", [
    ("", "1:1: empty-file: the test file is empty"),
    ("suite: x\n", "1:1: missing-key: the test file has no `cases`"),
    ("- a\n- b\n", "1:1: wrong-type: the test file must be a mapping of keys to values"),
    ("cases: []\n", "1:8: missing-key: `cases` is empty"),
    ("cases: {name: a}\n", "1:8: wrong-type: `cases` must be a list of cases"),
    ("cases:\n  - name: [a]\n    request: {}\n    expect: deny\n",
     "2:11: wrong-type: `name` must be a non-empty text"),
    ("cases:\n  - name: a\n    request: {action: use}\n    expect: deny\n    cites: [2.5]\n",
     "5:13: wrong-type: every item of `cites` must be a text"),
])
def test_shapes_that_are_not_a_test_file(text, expected):
    assert problems(text) == [expected]


def test_invalid_yaml_is_reported_at_its_position():
    [problem] = problems("""
        cases:
          - name: a
            request: {action: use
            expect: deny
    """)
    assert problem.startswith("4:11: syntax: this is not valid YAML: expected ',' or '}'")


def test_a_merge_of_something_that_is_not_a_mapping_is_reported():
    [problem] = problems("""
        cases:
          - <<: 5
            name: a
            request: {action: use}
            expect: deny
    """)
    assert problem.startswith("2:9: syntax: cannot merge here: expected a mapping")
