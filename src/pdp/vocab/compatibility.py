"""`compatible_purposes` in vocabulary.yaml: the purposes a policy set declares compatible with a purpose of
collection (GDPR art. 6(4)), each key and value checked against the set's purposes.

Rules read the declaration as policy data, looked up by the request's `purpose_of_collection`:

    allow further_use to use
      when purpose under data.compatible_purposes[purpose_of_collection]

A purpose of collection the declaration does not name has no entry, so such a test is unknown and the rule does
not apply (fail closed): a declaration for `marketing` is not one for `marketing.advertising`, and data
collected for a broad key finds only the entry for that key. Pure: the vocabulary file is read by the loader.
"""

from __future__ import annotations

from typing import Any

from . import taxonomy as tx
from pdp.base.errors import Diagnostic, suggestion_hint
from pdp.base.source import Span
from pdp.base.yamlpos import Located

SECTION = "compatible_purposes"  # in vocabulary.yaml, and the policy data it becomes (`data.compatible_purposes`)
EXAMPLE = "write e.g. `compatible_purposes: {essential.service: [analytics.reporting]}`"

Declaration = tuple[tuple[str, tuple[str, ...]], ...]  # each purpose of collection, with those compatible with it


def declared(doc: Located, purposes: frozenset[str]) -> tuple[Declaration | None, list[Diagnostic]]:
    """The set's declaration (None: it makes none), and what is wrong with it, each at its place in the file."""
    raw: Any = doc.value.get(SECTION)
    if raw is None:
        return None, []
    if not isinstance(raw, dict):
        return None, [Diagnostic("vocabulary", f"`{SECTION}` maps a purpose of collection to the purposes compatible "
                                 "with it", doc.span(SECTION), EXAMPLE)]
    out: list[Diagnostic] = []
    found: list[tuple[str, tuple[str, ...]]] = []
    for key, values in raw.items():
        if not _known(key, purposes, doc.span(SECTION, key, "<key>"), out):
            continue
        if not isinstance(values, list):
            out.append(Diagnostic("vocabulary", f"the purposes compatible with `{key}` are a list", doc.span(SECTION, key),
                                  EXAMPLE))
            continue
        kept = tuple(v for i, v in enumerate(values) if _known(v, purposes, doc.span(SECTION, key, i), out))
        found.append((key, kept))
    return tuple(found), out


def _known(value: object, purposes: frozenset[str], span: Span, out: list[Diagnostic]) -> bool:
    if isinstance(value, str) and value in purposes:
        return True
    hint = suggestion_hint(tx.closest_keys(tx.PURPOSE, value, purposes)) if isinstance(value, str) else None
    out.append(Diagnostic("vocabulary", f"`{value}` in `{SECTION}` is no purpose", span,
                          hint or "the keys and values are purposes (`pdp vocab --kind purpose` lists them), or declare "
                          "the purpose under `data_uses`"))
    return False


def as_data(declaration: Declaration) -> dict[str, list[str]]:
    """The declaration as the policy data rules read (`data.compatible_purposes`)."""
    return {key: list(values) for key, values in declaration}
