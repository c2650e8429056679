"""A policy set's `vocabulary.yaml`: extra keys, consent topics, subject requests and attributes.

Pure: takes the file's text, returns the extended vocabulary, the extra
attribute types and diagnostics. The loader reads the file.
"""

from __future__ import annotations

from typing import Any

from . import schema as sch
from . import compatibility
from . import taxonomy as tx
from pdp.base.errors import Diagnostic, replacements, suggest, suggestion_hint
from pdp.base.yamlpos import Located, YamlSyntaxError, load_located

SECTIONS = ("actions", "data_categories", "data_uses", "data_subjects", "consent_topics", "subject_requests", "attributes",
            compatibility.SECTION)
# The section that declares new keys of each kind.
SECTION_OF_KIND = {tx.ACTION: "actions", tx.CATEGORY: "data_categories", tx.PURPOSE: "data_uses",
                   tx.SUBJECT_TYPE: "data_subjects", tx.CONSENT_TOPIC: "consent_topics"}


def extend_vocabulary(
    base: tx.Vocabulary, text: str, filename: str
) -> tuple[tx.Vocabulary, dict[str, sch.Type], list[Diagnostic]]:
    diagnostics: list[Diagnostic] = []
    try:
        doc = load_located(text, filename)
    except YamlSyntaxError as error:
        return base, {}, [Diagnostic("vocabulary", error.message, error.span, error.hint)]
    if doc.value is None:
        return base, {}, []
    if not isinstance(doc.value, dict):
        return base, {}, [Diagnostic("vocabulary", "the vocabulary file must be a mapping of sections", doc.span(),
                                     _sections_hint())]

    for section in doc.value:
        if section not in SECTIONS:
            close = suggest(str(section), SECTIONS)
            diagnostics.append(
                Diagnostic("vocabulary", f"unknown section `{section}`", doc.span(section, "<key>"),
                           suggestion_hint(close) or _sections_hint(),
                           fixes=replacements(doc.span(section, "<key>"), close))
            )

    actions = set(base.actions)
    declared: set[tuple[str, str]] = set()
    for i, name in enumerate(_list(doc, "actions", diagnostics)):
        if _is_name(name, doc, ("actions", i), diagnostics):
            actions.add(name)
            declared.add((tx.ACTION, name))

    def hierarchical(section: str, kind: str, known: frozenset[str]) -> frozenset[str]:
        keys = set(known)
        entries = _list(doc, section, diagnostics)
        new_keys = []
        for i, entry in enumerate(entries):
            key = entry.get("key") if isinstance(entry, dict) else entry
            if not isinstance(key, str) or not key:
                diagnostics.append(Diagnostic("vocabulary", f"each entry of `{section}` needs a `key`",
                                              doc.span(section, i), "write `- key: parent.child`"))
                continue
            new_keys.append((i, key))
            keys.add(key)
        for i, key in new_keys:
            parent = key.rsplit(".", 1)[0] if "." in key else None
            if parent is not None and parent not in keys:
                diagnostics.append(Diagnostic("vocabulary",
                                              f"the {kind} `{key}` has no parent: `{parent}` is not a known {kind}",
                                              doc.span(section, i),
                                              f"declare `{parent}` too, or put the key under an existing one"))
            declared.add((kind, key))
        return frozenset(keys)

    purposes = hierarchical("data_uses", tx.PURPOSE, base.purposes)
    categories = hierarchical("data_categories", tx.CATEGORY, base.categories)
    subjects = hierarchical("data_subjects", tx.SUBJECT_TYPE, base.subject_types)

    topics = set(base.consent_topics)
    for i, topic in enumerate(_list(doc, "consent_topics", diagnostics)):
        if _is_name(topic, doc, ("consent_topics", i), diagnostics):
            topics.add(topic)
            declared.add((tx.CONSENT_TOPIC, topic))

    # The person's own requests (erase, access, ...) exercise a right now; they
    # are not a use of the data bound to the terms it was collected under (§11).
    subject_requests = set()
    for i, action in enumerate(_list(doc, "subject_requests", diagnostics)):
        if not _is_name(action, doc, ("subject_requests", i), diagnostics):
            continue
        if action not in actions:
            close = suggest(action, actions)
            diagnostics.append(Diagnostic("vocabulary", f"unknown action `{action}` in `subject_requests`",
                                          doc.span("subject_requests", i),
                                          suggestion_hint(close) or "declare it under `actions` first",
                                          fixes=replacements(doc.span("subject_requests", i), close)))
            continue
        subject_requests.add(action)

    attributes: dict[str, sch.Type] = {}
    raw_attributes = doc.value.get("attributes") or {}
    if not isinstance(raw_attributes, dict):
        diagnostics.append(Diagnostic("vocabulary", "`attributes` maps attribute paths to types", doc.span("attributes"),
                                      "write e.g. `context.legal_request: bool`"))
        raw_attributes = {}
    for path, type_name in raw_attributes.items():
        if not isinstance(type_name, str) or type_name not in sch.DECLARABLE:  # (a list or mapping is unhashable)
            diagnostics.append(Diagnostic("vocabulary", f"unknown type `{type_name}` for attribute `{path}`",
                                          doc.span("attributes", path),
                                          sch.type_names_hint(str(type_name))))
            continue
        if not isinstance(path, str) or "." not in path:
            diagnostics.append(Diagnostic("vocabulary", f"an attribute is a dotted path under a request part, not `{path}`",
                                          doc.span("attributes", path, "<key>"), "write e.g. `context.legal_request: bool`"))
            continue
        attributes[path] = sch.DECLARABLE[type_name]

    compatible, errors = compatibility.declared(doc, purposes)
    diagnostics += errors

    vocabulary = tx.Vocabulary(
        actions=frozenset(actions),
        purposes=purposes,
        categories=categories,
        subject_types=subjects,
        consent_topics=frozenset(topics),
        recipient_types=base.recipient_types,
        subject_requests=frozenset(subject_requests),
        declared=frozenset(declared),
        compatible_purposes=compatible,
    )
    return vocabulary, attributes, diagnostics


def _sections_hint() -> str:
    return "sections: " + ", ".join(f"`{s}`" for s in SECTIONS)


def _list(doc: Located, section: str, diagnostics: list[Diagnostic]) -> list[Any]:
    value = doc.value.get(section)
    if value is None:
        return []
    if not isinstance(value, list):
        diagnostics.append(Diagnostic("vocabulary", f"`{section}` must be a list", doc.span(section),
                                      f"write `{section}: [first, second]`, or one `- item` per line below it"))
        return []
    return value


def _is_name(value: object, doc: Located, path: tuple[Any, ...], diagnostics: list[Diagnostic]) -> bool:
    if isinstance(value, str) and value.replace("_", "a").isalnum():
        return True
    diagnostics.append(Diagnostic("vocabulary", f"`{value}` is not a plain name", doc.span(*path),
                                  "use letters, digits and `_`"))
    return False
