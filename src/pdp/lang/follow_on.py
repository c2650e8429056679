"""Errors that may only follow from another one, held back until it is fixed (root cause first).

A file that cannot be read whole loses what it declares: a policy file with a
syntax error loses the statements around it (the header, a rule another file
`overrides`, a `lookup` that gives `recipient` its register's attributes); a
`vocabulary.yaml` with an error may lose its consent topics, keys and
attributes; a data file that is no valid YAML loses its register. The checker
then finds the policies' uses of those names unknown, errors that say nothing
the root cause does not, and that vanish once it is fixed (issue 12: one bad
indent in vocabulary.yaml gave ten `unknown consent topic` errors for a topic
it declared, and the real error last).

As rustc and Cedar do, such errors are left out while their possible cause
stands, and the summary says how many were. Holding back never lets a set
load: it happens only when a root cause, itself an error, is reported.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pdp.base.errors import Diagnostic

# What vocabulary.yaml may declare: errors about an unknown one of these may follow from an error in it.
DECLARABLE_CODES = frozenset({"unknown-action", "unknown-purpose", "unknown-data-category", "unknown-data-subject-type",
                              "unknown-consent-topic", "unknown-attribute"})


@dataclass(frozen=True)
class Losses:
    """What the set's files may have lost to their errors."""

    broken_texts: tuple[str, ...] = ()  # the policy files with a syntax error: statements in them were dropped
    header_read: bool = True  # some `policy` header was read (else the model is not known)
    vocabulary: bool = False  # vocabulary.yaml has an error: what it declares may be missing
    data: bool = False  # a data file could not be read: its register is missing
    lookup_roots: tuple[str, ...] = ()  # the parts of a request a register fills (their attributes come from data)

    def may_have_lost(self, pattern: str) -> bool:
        """Could a statement matching `pattern` be among what the broken files lost? (Their text holds it.)"""
        return any(re.search(pattern, text) for text in self.broken_texts)


def follows(diagnostic: Diagnostic, losses: Losses) -> bool:
    """May this error only follow from what was lost? (Warnings are never held back: no set with errors warns.)"""
    if diagnostic.severity != "error":
        return False
    code, about = diagnostic.code, diagnostic.about or ""
    root = about.split(".", 1)[0]
    header_lost = not losses.header_read and losses.may_have_lost(r"\bpolicy\b")
    if code == "no-header" and header_lost:
        return True
    if header_lost and code in ("unknown-attribute", "not-in-model", "bad-lookup", "unknown-consent-topic"):
        return True  # the model the lost header names is not known: the attributes rules read may be its
    if code == "unknown-rule" and about and losses.may_have_lost(re.escape(about)):
        return True  # the rule `overrides` names may be in the lost text
    if code == "unknown-attribute" and "." not in about and losses.may_have_lost(rf"\bcondition\s+{re.escape(about)}\b"):
        return True  # a named condition the lost text defines
    if code == "unknown-attribute" and root in losses.lookup_roots and losses.may_have_lost(rf"\blookup\s+{root}\b"):
        return True  # a lost `lookup` would have given the part its register's attributes
    if losses.vocabulary and code in DECLARABLE_CODES:
        return True
    if losses.data and (code == "bad-lookup" or (code == "unknown-attribute"
                                                   and (root == "data" or root in losses.lookup_roots))):
        return True
    return False


def held_back(diagnostics: list[Diagnostic], losses: Losses) -> tuple[list[Diagnostic], int]:
    """The diagnostics without the errors that may only follow from the losses, and how many were left out."""
    kept = [d for d in diagnostics if not follows(d, losses)]
    return kept, len(diagnostics) - len(kept)
