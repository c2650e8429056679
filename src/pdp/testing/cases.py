"""Policy test files: YAML text -> validated test cases that know their file:line.

A test file is data, not code. It is read with ``yaml.compose`` rather than
``yaml.safe_load`` so that every case, key and value keeps its position: a
failing case points at its own line, and a mistake in the file is reported
at the line of the mistake, with a suggestion, the way ``pdp check`` reports
policy errors. Every problem in a file is collected before raising, so one
run shows them all.

The format (see the README, "Testing policies")::

    suite: Marketing opt-out (§2.5, §2.6)
    defaults:
      request:
        data_subject: {id: u-1, type: customer, age: 30, country: IN}
    cases:
      - name: promotional email is allowed
        request: {action: use, purpose: marketing.communications.email,
                  data_categories: [user.contact.email]}
        expect: allow
        rules: [marketing.promotional_email]
        cites: ["§2.5"]
        obligations: [unsubscribe_link]
      - name: an unknown purpose is refused
        request: {action: use, purpose: nonsense, data_categories: [user]}
        error: "unknown purpose"
"""

from __future__ import annotations

import copy
import difflib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

FILE_KEYS = ("suite", "defaults", "cases")
DEFAULTS_KEYS = ("request",)
CASE_KEYS = ("name", "request", "expect", "rules", "cites", "obligations", "error")
DECISIONS = ("allow", "deny")


# ---------------------------------------------------------------- data


@dataclass(frozen=True)
class Case:
    """One policy test: a request and what the policy set must answer."""

    __test__ = False  # not a pytest test class, whatever its module is called

    file: Path
    line: int  # 1-based line of the case's mapping in the file
    name: str
    request: dict[str, Any]  # already merged with the file's defaults
    suite: str
    expect: str | None = None  # "allow" | "deny"; None when `error` is given
    rules: tuple[str, ...] | None = None
    cites: tuple[str, ...] | None = None
    obligations: tuple[str, ...] | None = None  # compared as a set
    error: str | None = None  # the request must be refused with this text

    @property
    def location(self) -> str:
        return f"{self.file}:{self.line}"


@dataclass(frozen=True)
class TestFile:
    """A parsed test file: its suite title and its cases, in file order."""

    __test__ = False

    path: Path
    suite: str
    cases: tuple[Case, ...]


@dataclass(frozen=True)
class TestFileDiagnostic:
    """One mistake in a test file. Same fields as the engine's diagnostics."""

    __test__ = False

    file: Path
    line: int
    col: int
    code: str
    message: str
    hint: str | None = None
    source_line: str | None = field(default=None, compare=False)

    def render(self) -> str:
        text = f"{self.file}:{self.line}:{self.col}: {self.code}: {self.message}"
        if self.source_line is not None:
            text += f"\n    {self.source_line}\n    {' ' * (self.col - 1)}^"
        if self.hint:
            text += f"\n  help: {self.hint}"
        return text


class TestFileError(Exception):
    """A test file that cannot be used. Carries every problem found in it."""

    __test__ = False

    def __init__(self, diagnostics: list[TestFileDiagnostic]):
        self.diagnostics = sorted(diagnostics, key=lambda d: (str(d.file), d.line, d.col))
        super().__init__("\n".join(d.render() for d in self.diagnostics))

    @property
    def file(self) -> Path:
        return self.diagnostics[0].file

    @property
    def line(self) -> int:
        return self.diagnostics[0].line


# ---------------------------------------------------------------- reading


def load_test_file(path: str | Path) -> TestFile:
    """Read and validate one test file. Raises TestFileError."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise TestFileError(
            [TestFileDiagnostic(path, 1, 1, "unreadable-file", f"cannot read the file: {err}")]
        ) from None
    return parse_test_file(text, path)


def parse_test_file(text: str, path: str | Path) -> TestFile:
    """Validate the text of one test file (no I/O). Raises TestFileError."""
    return _FileParser(text, Path(path)).parse()


def deep_merge(base: Any, override: Any) -> Any:
    """`override` laid over `base`: dicts merge key by key, anything else replaces."""
    if isinstance(base, dict) and isinstance(override, dict):
        merged = copy.deepcopy(base)
        for key, value in override.items():
            merged[key] = deep_merge(base[key], value) if key in base else copy.deepcopy(value)
        return merged
    return copy.deepcopy(override)


def did_you_mean(word: str, choices: tuple[str, ...] | list[str]) -> str | None:
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return f"did you mean `{close[0]}`?" if close else None


class _FileParser:
    """Walks the composed YAML tree of one file, collecting diagnostics."""

    def __init__(self, text: str, path: Path):
        self.source = text
        self.path = path
        self.lines = text.splitlines()
        self.diagnostics: list[TestFileDiagnostic] = []
        self.constructor = SafeConstructor()

    # -- diagnostics

    def problem(self, node_or_mark: Any, code: str, message: str, hint: str | None = None) -> None:
        mark = getattr(node_or_mark, "start_mark", node_or_mark)
        line = mark.line + 1 if mark is not None else 1
        col = mark.column + 1 if mark is not None else 1
        source = self.lines[line - 1] if 0 < line <= len(self.lines) else None
        self.diagnostics.append(
            TestFileDiagnostic(self.path, line, col, code, message, hint, source)
        )

    def fail_if_problems(self) -> None:
        if self.diagnostics:
            raise TestFileError(self.diagnostics)

    # -- the file

    def parse(self) -> TestFile:
        try:
            root = yaml.compose(self.source, Loader=yaml.SafeLoader)
        except yaml.YAMLError as err:
            mark = getattr(err, "problem_mark", None)
            reason = getattr(err, "problem", None) or str(err)
            self.problem(mark, "yaml-syntax", f"this is not valid YAML: {reason}")
            self.fail_if_problems()
        if root is None:
            self.problem(None, "empty-file", "the test file is empty",
                         "a test file needs a `cases:` list")
            self.fail_if_problems()

        keys = self.mapping(root, "the test file", FILE_KEYS)
        if keys is None:
            self.fail_if_problems()
        suite = self.path.stem
        if "suite" in keys:
            suite = self.text(keys["suite"][1], "`suite`") or suite
        defaults = self.defaults(keys["defaults"][1]) if "defaults" in keys else {}
        cases: list[Case] = []
        if "cases" not in keys:
            self.problem(root, "missing-key", "the test file has no `cases`",
                         "add `cases:` with a list of cases")
        else:
            cases = self.cases(keys["cases"][1], suite, defaults)
        self.fail_if_problems()
        return TestFile(self.path, suite, tuple(cases))

    def defaults(self, node: Node) -> dict[str, Any]:
        keys = self.mapping(node, "`defaults`", DEFAULTS_KEYS)
        if not keys or "request" not in keys:
            return {}
        return self.request(keys["request"][1], "`defaults.request`") or {}

    def cases(self, node: Node, suite: str, defaults: dict[str, Any]) -> list[Case]:
        if not isinstance(node, SequenceNode):
            self.problem(node, "wrong-type", "`cases` must be a list of cases",
                         "start each case with `- name: ...`")
            return []
        if not node.value:
            self.problem(node, "missing-key", "`cases` is empty", "add at least one case")
        cases, seen = [], {}
        for case_node in node.value:
            case = self.case(case_node, suite, defaults)
            if case is None:
                continue
            if case.name in seen:
                self.problem(case_node, "duplicate-case",
                             f"a case named `{case.name}` is already on line {seen[case.name]}",
                             "give every case in a file its own name")
                continue
            seen[case.name] = case.line
            cases.append(case)
        return cases

    # -- one case

    def case(self, node: Node, suite: str, defaults: dict[str, Any]) -> Case | None:
        keys = self.mapping(node, "a case", CASE_KEYS)
        if keys is None:
            return None
        before = len(self.diagnostics)
        name = self.text(keys["name"][1], "`name`") if "name" in keys else None
        label = f"case `{name}`" if name else "this case"
        if "name" not in keys:
            self.problem(node, "missing-key", "this case has no `name`",
                         "say in plain words what the case checks: `name: ...`")
        request = self.request(keys["request"][1], "`request`") if "request" in keys else None
        if "request" not in keys:
            self.problem(node, "missing-key", f"{label} has no `request`",
                         "add `request: {action: ..., purpose: ..., data_categories: [...]}`")
        expect = self.expect(keys["expect"][1]) if "expect" in keys else None
        error = self.text(keys["error"][1], "`error`") if "error" in keys else None
        lists = {k: self.strings(keys[k][1], f"`{k}`") for k in ("rules", "cites", "obligations")
                 if k in keys}

        if "expect" in keys and "error" in keys:
            self.problem(keys["error"][0], "conflicting-keys",
                         "a case has either `expect` or `error`, not both",
                         "`error` is for requests that must be refused")
        elif "expect" not in keys and "error" not in keys:
            self.problem(node, "missing-key", f"{label} has no `expect`",
                         "add `expect: allow` or `expect: deny` "
                         "(or `error: <text>` for a request that must be refused)")
        elif "error" in keys:
            for key in lists:
                self.problem(keys[key][0], "conflicting-keys",
                             f"`{key}` cannot be checked in a case with `error`",
                             "a refused request has no decision; drop this key "
                             "or use `expect` instead of `error`")

        if len(self.diagnostics) > before or name is None or request is None:
            return None
        return Case(
            file=self.path,
            line=node.start_mark.line + 1,
            name=name,
            request=deep_merge(defaults, request),
            suite=suite,
            expect=expect,
            rules=lists.get("rules"),
            cites=lists.get("cites"),
            obligations=lists.get("obligations"),
            error=error,
        )

    # -- shapes

    def mapping(self, node: Node, what: str, allowed: tuple[str, ...]
                ) -> dict[str, tuple[Node, Node]] | None:
        """The keys of a mapping node; unknown and repeated keys are problems."""
        if not isinstance(node, MappingNode):
            self.problem(node, "wrong-type", f"{what} must be a mapping of keys to values",
                         "expected keys: " + ", ".join(f"`{k}`" for k in allowed))
            return None
        keys: dict[str, tuple[Node, Node]] = {}
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, ScalarNode) else None
            if not isinstance(key, str) or key not in allowed:
                hint = did_you_mean(str(key), allowed) or (
                    "valid keys: " + ", ".join(f"`{k}`" for k in allowed))
                self.problem(key_node, "unknown-key", f"unknown key `{key}` in {what}", hint)
            elif key in keys:
                first = keys[key][0].start_mark.line + 1
                self.problem(key_node, "duplicate-key",
                             f"`{key}` appears twice in {what} (first on line {first})")
            else:
                keys[key] = (key_node, value_node)
        return keys

    def value(self, node: Node) -> Any:
        try:
            return self.constructor.construct_object(node, deep=True)
        except yaml.YAMLError as err:
            mark = getattr(err, "problem_mark", None) or node.start_mark
            self.problem(mark, "yaml-syntax", f"cannot read this value: {getattr(err, 'problem', err)}")
            return None

    def text(self, node: Node, what: str) -> str | None:
        value = self.value(node) if isinstance(node, ScalarNode) else None
        if not isinstance(value, str) or not value.strip():
            self.problem(node, "wrong-type", f"{what} must be a non-empty text",
                         'put it in quotes: "..."')
            return None
        return value

    def expect(self, node: Node) -> str | None:
        value = self.value(node) if isinstance(node, ScalarNode) else None
        if value not in DECISIONS:
            shown = node.value if isinstance(node, ScalarNode) else "a " + node.id
            self.problem(node, "bad-value", f"`expect` must be `allow` or `deny`, not `{shown}`",
                         did_you_mean(str(shown).lower(), DECISIONS))
            return None
        return value

    def strings(self, node: Node, what: str) -> tuple[str, ...] | None:
        if not isinstance(node, SequenceNode):
            self.problem(node, "wrong-type", f"{what} must be a list",
                         "write it as [a, b], even for one item")
            return None
        items = []
        for item in node.value:
            value = self.value(item) if isinstance(item, ScalarNode) else None
            if not isinstance(value, str) or not value:
                self.problem(item, "wrong-type", f"every item of {what} must be a text",
                             'put it in quotes, e.g. "§2.5"')
                continue
            items.append(value)
        return tuple(items)

    def request(self, node: Node, what: str) -> dict[str, Any] | None:
        if not isinstance(node, MappingNode):
            self.problem(node, "wrong-type", f"{what} must be a mapping",
                         "e.g. {action: use, purpose: ..., data_categories: [...]}")
            return None
        value = self.value(node)
        return value if isinstance(value, dict) else None
