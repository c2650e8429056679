"""The clauses of the privacy policy kept beside a set (clauses.yaml: `"§3.2": the clause's text`), as rules cite
them (`cite "§3.2"`, or several: `cite "§3.1, §8"`)."""

from __future__ import annotations

import re
from functools import lru_cache

from pdp.base.source import Span
from pdp.base.yamlpos import Located, YamlSyntaxError, load_located
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
