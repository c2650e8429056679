"""The clauses of the privacy policy kept beside a set (clauses.yaml: `"§3.2": the clause's text`), as rules cite
them (`cite "§3.2"`, or several: `cite "§3.1, §8"`)."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Iterable

from pdp.base.errors import Diagnostic, replacements, suggest, suggestion_hint
from pdp.base.source import Span
from pdp.base.yamlpos import Located, YamlSyntaxError, load_located
from pdp.lang import ast
from .context import tokens
from .edits import offset_of, span_at
from .workspace import CLAUSES, Workspace

CLAUSE = re.compile(r"§\s*\d+(?:\.\d+)*(?:\([a-z]\))?")  # §3, §3.2, §2.4(b)


def clause_text(ws: Workspace, clause: str) -> str | None:
    """The text of `clause` ("§3.2") from the set's clauses.yaml; None when it has none (never a neighbour's)."""
    return clauses(ws).get(_normal(clause))


def clauses(ws: Workspace) -> dict[str, str]:
    """Every clause the set's clauses.yaml gives, by its number (`§3.2`); empty without one, or when it does not
    read as a mapping of texts."""
    return _read(*_file(ws))[0]


def clause_spans(ws: Workspace) -> dict[str, Span]:
    """Where each clause is in clauses.yaml."""
    return _read(*_file(ws))[1]


def cited(cite: str) -> list[str]:
    """The clauses a `cite` names, in order (`"§3.1, §8"` -> `["§3.1", "§8"]`)."""
    return [_normal(c) for c in CLAUSE.findall(cite)]


def _normal(clause: str) -> str:
    return re.sub(r"\s+", "", clause.strip())


def _paragraphs(text: str) -> str:
    """A clause's text with its paragraphs (its lines, as YAML folds them) apart, and spaces made single."""
    return "\n\n".join(" ".join(line.split()) for line in text.split("\n") if line.strip())


def _file(ws: Workspace) -> tuple[str, str]:
    paths = ws.paths_of(CLAUSES)
    return (paths[0], ws.texts[paths[0]]) if paths else ("", "")


@lru_cache(maxsize=4)
def _read(path: str, text: str) -> tuple[dict[str, str], dict[str, Span]]:
    if not text:
        return {}, {}
    try:
        doc: Located = load_located(text, path)
    except YamlSyntaxError:
        return {}, {}
    if not isinstance(doc.value, dict):
        return {}, {}
    texts = {_normal(str(k)): _paragraphs(v) for k, v in doc.value.items() if isinstance(v, str)}
    spans = {_normal(str(k)): doc.span(k, "<key>") for k in doc.value if isinstance(doc.value[k], str)}
    return texts, spans


def unknown_clauses(ws: Workspace, files: Iterable[ast.PolicyFile]) -> list[Diagnostic]:
    """`unknown-clause` warnings: a `cite` naming a clause the set's clauses.yaml does not hold (none without a
    clauses.yaml), each with the closest clauses as fixes."""
    known = clauses(ws)
    if not known:
        return []
    out = []
    for policy_file in files:
        text = ws.texts.get(policy_file.path)
        for rule in policy_file.rules:
            if rule.cite is None or text is None:
                continue
            for number in cited(rule.cite) or [rule.cite]:
                if number in known:
                    continue
                where = _cite_string(text, policy_file.path, rule)
                close = suggest(number, known)
                at = _within(text, where, number) if where is not None else None  # the number itself: fixable
                fixes = replacements(at, close) if at is not None else ()
                out.append(Diagnostic("unknown-clause", f"the rule `{rule.id}` cites `{number}`, which names no "
                                      "clause of clauses.yaml", at or where or rule.id_span, suggestion_hint(close) or
                                      "add the clause to clauses.yaml, quoted from the privacy policy", "warning",
                                      fixes=fixes))
    return out


def _cite_string(text: str, path: str, rule: ast.Rule) -> Span | None:
    """The span of the rule's `cite "..."` text, quotes included."""
    start = offset_of(text, rule.span.line, rule.span.col)
    end = offset_of(text, rule.span.end_line, rule.span.end_col) if rule.span.end_line else len(text)
    found = tokens(text, start, end)
    for word, string in zip(found, found[1:]):
        if word.kind == "word" and word.text == "cite" and string.kind == "string":
            return span_at(text, path, string.start, string.end)
    return None


def _within(text: str, string: Span, number: str) -> Span | None:
    """The span of `number` as written inside the cite's text, when it is written so (no spaces in it)."""
    start = offset_of(text, string.line, string.col)
    end = offset_of(text, string.end_line, string.end_col)
    at = text.find(number, start, end)
    return span_at(text, string.file, at, at + len(number)) if at >= 0 else None
