"""Test file text -> validated cases. Pure: the caller reads the file.

The text is read with `yaml.compose`, not `yaml.safe_load`, so every key and
value keeps its position: a mistake is reported at its own line, with a
"did you mean", the way `pdp check` reports policy errors. Every problem in
a file is collected before raising, so one run shows them all.

    suite: Marketing opt-out (§2.5, §2.6)          # optional; default: file stem
    defaults:                                      # optional; merged under each request (a case's
      request: {data_subject: {type: customer, age: 30}}  # `null` removes a value: `data_subject: {age: null}`)
    cases:
      - name: promotional email is allowed
        request: {action: use, purpose: marketing.communications.email,
                  data_categories: [user.contact.email]}
        expect: allow                              # or `error: <text>` for a refusal
        rules: [marketing.promotional_email]       # optional, each must have fired
        cites: ["§2.5"]                            # optional, each must be cited
        obligations: [unsubscribe_link]            # optional, exactly these (ids)
        advice: [consent.offer_form]               # optional, exactly these (ids)
        ledger:                                    # optional: decided with a consent ledger holding these
          - {kind: consent.withdrawn, topic: marketing}   # events (as `pdp consent record` takes; see seeded.py)
"""

from __future__ import annotations

import copy
import difflib
from pathlib import Path
from typing import Any, NoReturn

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from pdp.base.errors import Diagnostic
from pdp.base.source import Span
from pdp.ledger.events import MAX_BATCH, InvalidEvent, parse_event
from .cases import Case, TestFile, TestFileError
from .seeded import complete

FILE_KEYS = ("suite", "defaults", "cases")
DEFAULTS_KEYS = ("request", "ledger")
CASE_KEYS = ("name", "request", "expect", "error", "rules", "cites", "obligations", "advice", "ledger")
CHECK_LISTS = ("rules", "cites", "obligations", "advice")
DECISIONS = ("allow", "deny")
MERGE_TAG = "tag:yaml.org,2002:merge"

Seeds = list[tuple[Node, dict[str, Any]]]  # ledger events as written, each with its node


def parse_test_file(text: str, path: str | Path) -> TestFile:
    """Validate the text of one test file. Raises TestFileError naming every problem."""
    return _Reader(text, Path(path)).read()


def deep_merge(base: Any, override: Any) -> Any:
    """`override` laid over `base`: mappings merge key by key, anything else replaces, and `null` over a key of
    `base` removes it (a case without a value the file's `defaults.request` gives: `data_subject: {age: null}`)."""
    if isinstance(base, dict) and isinstance(override, dict):
        merged = copy.deepcopy(base)
        for key, value in override.items():
            if value is None and key in base:
                del merged[key]
            else:
                merged[key] = deep_merge(base[key], value) if key in base else copy.deepcopy(value)
        return merged
    return copy.deepcopy(override)


def did_you_mean(word: str, choices: tuple[str, ...]) -> str | None:
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return f"did you mean `{close[0]}`?" if close else None


def _name_of(case_node: Node) -> str | None:
    """The `name` of a case node, if it has a plain one, before any validation."""
    if not isinstance(case_node, MappingNode):
        return None
    names = [value.value for key, value in case_node.value
             if key.value == "name" and isinstance(value, ScalarNode)]
    # the last one wins, as when a case overrides the name a `<<: *other` brought in
    return (names[-1] or None) if names else None


def _keys_hint(allowed: tuple[str, ...]) -> str:
    return "the keys here are " + ", ".join(f"`{k}`" for k in allowed)


class _Reader:
    """Walks the composed YAML tree of one file, collecting diagnostics."""

    def __init__(self, text: str, path: Path):
        self.text = text
        self.path = path
        self.diagnostics: list[Diagnostic] = []
        self.constructor = SafeConstructor()

    # -- diagnostics

    def problem(self, where: Node | yaml.Mark | None, code: str, message: str,
                hint: str | None = None) -> None:
        start = where.start_mark if isinstance(where, Node) else where
        span = Span(str(self.path), 1, 1)
        if start is not None:
            span = Span(str(self.path), start.line + 1, start.column + 1)
            if isinstance(where, ScalarNode):  # a scalar's caret underlines all of it
                span = Span(span.file, span.line, span.col, where.end_mark.line + 1,
                            where.end_mark.column + 1)
        self.diagnostics.append(Diagnostic(code, message, span, hint))

    def stop_if_problems(self) -> None:
        if self.diagnostics:
            self.stop()

    def stop(self) -> NoReturn:
        """Give up on the file, with the problems found so far (one was just reported)."""
        raise TestFileError(self.diagnostics, {str(self.path): self.text})

    # -- the file

    def read(self) -> TestFile:
        try:
            root = yaml.compose(self.text, Loader=yaml.SafeLoader)
        except yaml.YAMLError as err:
            reason = getattr(err, "problem", None) or str(err)
            self.problem(getattr(err, "problem_mark", None), "syntax",
                         f"this is not valid YAML: {reason}")
            self.stop()
        if root is None:
            self.problem(None, "empty-file", "the test file is empty",
                         "a test file needs a `cases:` list")
            self.stop()

        keys = self.mapping(root, "the test file", FILE_KEYS)
        if keys is None:  # a problem was reported
            self.stop()
        suite = self.path.stem
        if "suite" in keys:
            suite = self.string(keys["suite"][1], "`suite`") or suite
        defaults, seeds = self.defaults(keys["defaults"][1]) if "defaults" in keys else ({}, None)
        cases: list[Case] = []
        if "cases" in keys:
            cases = self.cases(keys["cases"][1], suite, defaults, seeds)
        else:
            self.problem(root, "missing-key", "the test file has no `cases`",
                         "add `cases:` with a list of cases")
        self.stop_if_problems()
        return TestFile(self.path, suite, tuple(cases))

    def defaults(self, node: Node) -> tuple[dict[str, Any], Seeds | None]:
        keys = self.mapping(node, "`defaults`", DEFAULTS_KEYS)
        if not keys:
            return {}, None
        request = self.request(keys["request"][1], "`defaults.request`") or {} if "request" in keys else {}
        seeds = self.seeds(keys["ledger"][1], "`defaults.ledger`") if "ledger" in keys else None
        return request, seeds

    def cases(self, node: Node, suite: str, defaults: dict[str, Any], seeds: Seeds | None) -> list[Case]:
        if not isinstance(node, SequenceNode):
            self.problem(node, "wrong-type", "`cases` must be a list of cases",
                         "start each case with `- name: ...`")
            return []
        if not node.value:
            self.problem(node, "missing-key", "`cases` is empty", "add at least one case")
        cases: list[Case] = []
        first_line: dict[str, int] = {}
        for case_node in node.value:
            case = self.case(case_node, suite, defaults, seeds)
            # names are compared even in cases with other mistakes, so one run shows all
            name = _name_of(case_node)
            if name is not None and name in first_line:
                self.problem(case_node, "duplicate-case",
                             f"a case named `{name}` is already on line {first_line[name]}",
                             "give every case in a file its own name")
                continue
            if name is not None:
                first_line[name] = case_node.start_mark.line + 1
            if case is not None:
                cases.append(case)
        return cases

    # -- one case

    def case(self, node: Node, suite: str, defaults: dict[str, Any], seeds: Seeds | None) -> Case | None:
        label = f"case `{_name_of(node)}`" if _name_of(node) else "this case"
        keys = self.mapping(node, label, CASE_KEYS)
        if keys is None:
            return None
        before = len(self.diagnostics)
        name = self.string(keys["name"][1], "`name`") if "name" in keys else None
        if "name" not in keys:
            self.problem(node, "missing-key", "this case has no `name`",
                         "say in plain words what the case checks: `name: ...`")
        request = None
        if "request" in keys:
            request = self.request(keys["request"][1], f"the `request` of {label}")
        else:
            self.problem(node, "missing-key", f"{label} has no `request`",
                         "add `request: {action: ..., purpose: ..., data_categories: [...]}`")
        expect = self.expect(keys["expect"][1]) if "expect" in keys else None
        error = self.string(keys["error"][1], "`error`") if "error" in keys else None
        lists = {k: self.strings(keys[k][1], f"`{k}`") for k in CHECK_LISTS if k in keys}
        own = self.seeds(keys["ledger"][1], f"the `ledger` of {label}") if "ledger" in keys else None

        if "expect" in keys and "error" in keys:
            self.problem(keys["error"][0], "conflicting-keys",
                         f"{label} has both `expect` and `error`",
                         "`error` is for a request that must be refused: keep one of the two")
        elif "expect" not in keys and "error" not in keys:
            self.problem(node, "missing-key", f"{label} has no `expect`",
                         "add `expect: allow` or `expect: deny` "
                         "(or `error: <text>` for a request that must be refused)")
        elif "error" in keys:
            for key in lists:
                self.problem(keys[key][0], "conflicting-keys",
                             f"`{key}` cannot be checked in {label}, which expects an `error`",
                             "a refused request has no decision: drop this key, "
                             "or use `expect` instead of `error`")

        if len(self.diagnostics) > before or name is None or request is None:
            return None
        merged = deep_merge(defaults, request)
        ledger = self.events(seeds, own, merged, label)
        if len(self.diagnostics) > before:
            return None
        return Case(
            file=self.path,
            line=node.start_mark.line + 1,
            name=name,
            suite=suite,
            request=merged,
            expect=expect,
            rules=lists.get("rules"),
            cites=lists.get("cites"),
            obligations=lists.get("obligations"),
            advice=lists.get("advice"),
            error=error,
            ledger=ledger,
        )

    # -- ledger events

    def seeds(self, node: Node, what: str) -> Seeds | None:
        """A list of events, each kept with its node (a problem found once the case's subject is known points
        at the event)."""
        if not isinstance(node, SequenceNode):
            self.problem(node, "wrong-type", f"{what} must be a list of events",
                         "e.g. [{kind: consent.withdrawn, topic: marketing}]")
            return None
        if len(node.value) > MAX_BATCH:
            self.problem(node, "bad-value", f"{what} has {len(node.value)} events: at most {MAX_BATCH}")
            return None
        seeds: Seeds = []
        for item in node.value:
            value = self.request(item, f"an event of {what}") if isinstance(item, MappingNode) else None
            if value is None:
                if not isinstance(item, MappingNode):
                    self.problem(item, "wrong-type", f"every event of {what} must be a mapping",
                                 "e.g. {kind: consent.given, topic: marketing}")
                continue
            seeds.append((item, value))
        return seeds

    def events(self, seeds: Seeds | None, own: Seeds | None, request: dict[str, Any],
               label: str) -> tuple[dict[str, Any], ...] | None:
        """The case's events (the file's, then its own), completed for its subject and checked as the ledger
        checks them; None: the case has no ledger (decided as without one)."""
        if seeds is None and own is None:
            return None
        person = request.get("data_subject")
        subject = person.get("id") if isinstance(person, dict) else None
        done = []
        for index, (node, event) in enumerate((seeds or []) + (own or [])):
            completed = complete(event, subject)
            try:
                parse_event(completed, where=f"ledger[{index}]")
            except InvalidEvent as error:
                for field, message in error.problems:
                    hint = ("give the request a `data_subject.id`, or the event a `subject`"
                            if field.endswith(".subject") and "subject" not in event else None)
                    self.problem(node, "bad-event", f"{label}: {field}: {message}", hint)
                continue
            done.append(completed)
        return tuple(done)

    # -- shapes

    def mapping(self, node: Node, what: str, allowed: tuple[str, ...]
                ) -> dict[str, tuple[Node, Node]] | None:
        """The keys of a mapping node; unknown and repeated keys are problems."""
        if not isinstance(node, MappingNode):
            self.problem(node, "wrong-type", f"{what} must be a mapping of keys to values",
                         _keys_hint(allowed))
            return None
        # `<<: *anchor` is YAML's way to share parts of cases: the keys it brings
        # in fill the gaps, and keys written in the mapping itself win over them
        own = [pair for pair in node.value if pair[0].tag != MERGE_TAG]
        own_keys = {id(key_node) for key_node, _ in own}
        try:
            self.constructor.flatten_mapping(node)
        except yaml.YAMLError as err:
            self.problem(getattr(err, "problem_mark", None) or node, "syntax",
                         f"cannot merge here: {getattr(err, 'problem', err)}")
            return None
        merged = [pair for pair in node.value if id(pair[0]) not in own_keys]
        keys: dict[str, tuple[Node, Node]] = {}
        for key_node, value_node in own + merged:
            key = key_node.value if isinstance(key_node, ScalarNode) else None
            if key in keys and id(key_node) not in own_keys:
                continue  # a merged-in key the mapping itself overrides
            if key not in allowed:
                shown = key if key is not None else "a " + key_node.id
                self.problem(key_node, "unknown-key", f"unknown key `{shown}` in {what}",
                             did_you_mean(str(key), allowed) or _keys_hint(allowed))
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
            self.problem(mark, "syntax", f"cannot read this value: {getattr(err, 'problem', err)}")
            return None

    def string(self, node: Node, what: str) -> str | None:
        value = self.value(node) if isinstance(node, ScalarNode) else None
        if not isinstance(value, str) or not value.strip():
            self.problem(node, "wrong-type", f"{what} must be a non-empty text",
                         'put it in quotes: "..."')
            return None
        return value

    def expect(self, node: Node) -> str | None:
        value = self.value(node) if isinstance(node, ScalarNode) else None
        if value not in DECISIONS:
            shown = node.value if isinstance(node, ScalarNode) else "a " + node.id  # type: ignore[attr-defined]  # stubs lack it
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
        before = len(self.diagnostics)
        self.no_repeated_keys(node, what)
        value = self.value(node)
        if len(self.diagnostics) > before or not isinstance(value, dict):
            return None
        return value

    def no_repeated_keys(self, node: Node, what: str) -> None:
        # pyyaml keeps the last of two equal keys without a word; in a request
        # that silently tests something other than what the reader sees
        if isinstance(node, SequenceNode):
            for item in node.value:
                self.no_repeated_keys(item, what)
        if not isinstance(node, MappingNode):
            return
        seen: dict[Any, int] = {}
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, ScalarNode) else id(key_node)
            if key in seen:
                self.problem(key_node, "duplicate-key",
                             f"`{key}` appears twice in {what} (first on line {seen[key]})")
            else:
                seen[key] = key_node.start_mark.line + 1
            self.no_repeated_keys(value_node, what)
