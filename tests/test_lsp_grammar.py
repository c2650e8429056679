"""editors/pdp.tmLanguage.json, the TextMate grammar editors highlight pdp with: every keyword of the Lark
grammar has a keyword's scope, and its regular expressions compile (Python's `re` agrees with Oniguruma on
the syntax they use)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from lark import Lark
from lark.lexer import PatternRE, PatternStr

ROOT = Path(__file__).resolve().parent.parent
GRAMMAR = ROOT / "src" / "pdp" / "lang" / "grammar" / "pdp.lark"
TEXTMATE = ROOT / "editors" / "pdp.tmLanguage.json"
KEYWORD_SCOPES = ("keyword.", "constant.language.")


def language_keywords() -> set[str]:
    """Every word the Lark grammar spells out: its anonymous terminals (`"cite"`) and the words of terminals
    that are only a choice of words (`EFFECT: "allow" | "deny"`, `UNIT: days?|weeks?...`)."""
    words: set[str] = set()
    for terminal in Lark(GRAMMAR.read_text(encoding="utf-8"), parser="lalr").terminals:
        pattern = terminal.pattern
        if isinstance(pattern, PatternStr) and re.fullmatch(r"[a-z_]+", pattern.value):
            words.add(pattern.value)
        elif isinstance(pattern, PatternRE):
            choice = re.match(r"\((?:\?:)?((?:[a-z]+\??\|?)+)\)", pattern.value)
            if choice:
                for word in choice.group(1).split("|"):
                    words |= {word[:-2], word[:-1]} if word.endswith("s?") else {word}
    return words


def textmate() -> dict:
    return json.loads(TEXTMATE.read_text(encoding="utf-8"))


def flat_patterns(grammar: dict) -> list[dict]:
    """The top-level patterns in order, each include replaced by what it names (as an editor reads them)."""
    def expand(pattern: dict) -> list[dict]:
        if "include" in pattern:
            return expand(grammar["repository"][pattern["include"].removeprefix("#")])
        if "patterns" in pattern and "match" not in pattern and "begin" not in pattern:
            return [found for inner in pattern["patterns"] for found in expand(inner)]
        return [pattern]

    return [found for pattern in grammar["patterns"] for found in expand(pattern)]


def tokens(line: str) -> list[tuple[str, str]]:
    """(text, scope) of each token of one line, as a TextMate engine finds them at the top level: at each place
    the earliest match of any pattern, the first pattern on a tie; a match's captures are tokens of their own, and
    a string (begin ... end) is one token."""
    patterns = [(re.compile(p.get("match") or p["begin"]), p) for p in flat_patterns(textmate())]
    found, at = [], 0
    while at < len(line):
        best = None
        for regex, pattern in patterns:
            match = regex.search(line, at)
            if match and match.end() > match.start() and (best is None or match.start() < best[0].start()):
                best = (match, pattern)
        if best is None:
            break
        match, pattern = best
        if "begin" in pattern:  # a string: up to its end, one token
            end = re.compile(pattern["end"]).search(line, match.end())
            stop = end.end() if end else len(line)
            found.append((line[match.start():stop], pattern["name"]))
            at = stop
            continue
        captures = pattern.get("captures", {})
        named = [(match.group(int(i)), c["name"]) for i, c in captures.items() if match.group(int(i))]
        found += named or [(match.group(0), pattern.get("name", ""))]
        at = match.end()
    return found


def scope_of(line: str, text: str) -> str:
    return next(scope for token, scope in tokens(line) if token == text)


def test_the_grammar_keywords_are_found():
    words = language_keywords()
    # a sample of every kind, so that a change to the grammar's shape cannot silently empty the list
    assert {"policy", "lookup", "allow", "deny", "cite", "overrides", "under", "matches", "days", "month"} <= words


@pytest.mark.parametrize("word", sorted(language_keywords()))
def test_every_keyword_of_the_language_is_highlighted_as_one(word):
    assert scope_of(word, word).startswith(KEYWORD_SCOPES), word


@pytest.mark.parametrize("word", sorted(language_keywords()))
def test_a_keyword_inside_a_dotted_key_is_part_of_the_key(word):
    key = f"user.{word}.email"
    assert tokens(f"when {key} is present")[1] == (key, "variable.other.property.pdp")


def test_every_regex_compiles():
    def regexes(node):
        if isinstance(node, dict):
            for name, value in node.items():
                if name in ("match", "begin", "end"):
                    yield value
                else:
                    yield from regexes(value)
        elif isinstance(node, list):
            for item in node:
                yield from regexes(item)

    found = list(regexes(textmate()))
    assert len(found) > 20
    for regex in found:
        re.compile(regex)


def test_the_scope_and_file_type():
    grammar = textmate()
    assert grammar["scopeName"] == "source.pdp" and grammar["fileTypes"] == ["pdp"]


def test_a_rule_reads_as_a_person_sees_it():
    line = 'deny children.under_18 "Not for children" cite "§10" to collect, use when data_subject.age < 18  # no'
    assert tokens(line) == [
        ("deny", "keyword.control.effect.pdp"), ("children.under_18", "entity.name.function.rule.pdp"),
        ('"Not for children"', "string.quoted.double.pdp"), ("cite", "keyword.control.clause.pdp"),
        ('"§10"', "string.quoted.double.pdp"),
        ("to", "keyword.control.clause.pdp"), ("collect", "variable.other.pdp"),
        (",", "punctuation.separator.comma.pdp"), ("use", "variable.other.pdp"), ("when", "keyword.control.clause.pdp"),
        ("data_subject.age", "variable.other.property.pdp"), ("<", "keyword.operator.comparison.pdp"),
        ("18", "constant.numeric.pdp"), ("# no", "comment.line.number-sign.pdp"),
    ]


def test_clause_words_operators_and_constants():
    assert scope_of("overrides marketing.default, marketing.consent", "overrides") == "keyword.control.clause.pdp"
    assert scope_of("overrides marketing.default, marketing.consent",
                    " marketing.default, marketing.consent") == "entity.name.function.rule.reference.pdp"
    assert scope_of("when user.roles has any of [\"a\"]", "has any of") == "keyword.operator.word.pdp"
    assert scope_of("when x is older than 13 months", "is older than") == "keyword.operator.word.pdp"
    assert scope_of("when x is older than 13 months", "months") == "keyword.other.unit.pdp"
    assert scope_of("effective 2026-11-24", "2026-11-24") == "constant.other.date.pdp"
    assert scope_of("when a.b == true", "true") == "constant.language.boolean.pdp"
    assert scope_of("accept shadowed-rule because \"x\"", "shadowed-rule") == "constant.other.warning-code.pdp"
    assert scope_of("condition owner_acts \"x\" when a.b", "owner_acts") == "entity.name.function.condition.pdp"


def test_the_vscode_extension_names_the_language_the_grammar_and_the_server():
    extension = ROOT / "editors" / "vscode"
    package = json.loads((extension / "package.json").read_text(encoding="utf-8"))
    language = package["contributes"]["languages"][0]
    grammar = package["contributes"]["grammars"][0]
    assert language["extensions"] == [".pdp"] and grammar["language"] == language["id"]
    assert grammar["scopeName"] == textmate()["scopeName"]
    assert "../pdp.tmLanguage.json" in package["scripts"]["postinstall"]  # one grammar, copied at install
    assert "vscode-languageclient" in package["dependencies"]
    assert package["contributes"]["configuration"]["properties"]["pdp.command"]["default"] == ["pdp", "lsp"]
    assert (extension / package["main"]).is_file()
    json.loads((extension / language["configuration"]).read_text(encoding="utf-8"))
