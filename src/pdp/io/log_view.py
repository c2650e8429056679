"""What the decision log keeps of a request: what an auditor needs, and no more.

A request may carry anything (a note, an email address, a megabyte of
context); the log keeps, by default:

- the fields that decide (`FIELDS`): action, purpose, data categories,
  the data subject's type, country, age, consent and accepted policy
  version, the recipient's type, country and DPA status, the destination
  country, `collected_at` (and their places in an AuthZEN request), and
  for a decision from the consent ledger the events it relied on (`ledger`,
  given by the server with the values filled);
- every identifier (`IDENTIFIERS`: the data subject's, requester's and
  recipient's ids; AuthZEN's subject and resource ids) as its keyed
  pseudonym, `hmac:` + HMAC-SHA256(key, id);
- the attributes the policy set's rules read (`Selection.paths`), with
  every string that is not a word of the policy (a vocabulary key or a
  literal the rules compare with, or a key of a table they look up by a
  value) replaced by its pseudonym: equal values stay equal, so
  `resource.properties.ownerID == subject.email` is decided alike on
  replay, but no free-form text is stored;
- the attribute paths an operator lists (`PDP_LOG_ATTRIBUTES`), as sent.

Everything else is left out. Each value is bounded (`MAX_TEXT` characters,
`MAX_ITEMS` items, `MAX_DEPTH` levels), and a row whose request would
still be larger than the row limit keeps only its decision fields and
identifiers, marked `"truncated": true`.

Pure: no I/O; the decision log calls `view` on every row.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Iterable

from pdp.engine.policy_set import PolicySet
from pdp.lang import ast
from pdp.base.paths import set_at, value_at
from pdp.vocab import taxonomy as tx
from pdp.base.pseudonym import PSEUDONYM_LENGTH, PSEUDONYM_PREFIX, is_pseudonym, pseudonym

MAX_TEXT = 256  # characters of a string stored as sent; a longer one is stored as its pseudonym
MAX_ITEMS = 256  # items of a list, keys of a map
MAX_DEPTH = 6  # levels of nested lists and maps below a stored path
CUT = "..."  # what stands for a value cut at MAX_DEPTH
TRUNCATED = "truncated"

# The writer process treats every row (`bench/log_writer.py` measures it). False: the plain walk
# (`_apply`) only; a property test proves both give the same view of any request.
FAST_PATHS = True
# With FAST_PATHS, the plan compiled into functions (`log_compiled`), not walked. False: `_apply` walks it.
COMPILED = True
SWITCHES = ("FAST_PATHS", "COMPILED")

Path = tuple[str, ...]

_SUBJECT = ("type", "country", "age", "consent", "accepted_policy_version")
_RECIPIENT = ("type", "country", "dpa")
FIELDS: tuple[Path, ...] = (
    ("action",), ("purpose",), ("data_categories",), ("collected_at",), ("destination_country",),
    ("ledger",),  # a decision from the consent ledger: the subject's sequence number and the events relied on
    *(("data_subject", f) for f in _SUBJECT), *(("recipient", f) for f in _RECIPIENT),
    # AuthZEN (pdp.vocab.authzen maps these onto the fields above)
    ("subject", "type"), ("action", "name"), ("action", "properties", "purpose"), ("resource", "type"),
    ("resource", "properties", "data_categories"),
    *(("resource", "properties", "data_subject", f) for f in _SUBJECT),
    *(("context", "recipient", f) for f in _RECIPIENT), ("context", "destination_country"),
)
IDENTIFIERS: tuple[Path, ...] = (
    ("data_subject", "id"), ("recipient", "id"), ("requester", "id"),
    ("subject", "id"), ("resource", "id"), ("resource", "properties", "data_subject", "id"),
    ("context", "recipient", "id"),
)


@dataclass(frozen=True)
class Selection:
    """What of a request one policy set makes worth keeping: the paths its rules read, the words it knows."""

    paths: frozenset[Path] = frozenset()
    words: frozenset[str] = frozenset()
    attributes: frozenset[Path] = field(default=frozenset())  # kept as sent (PDP_LOG_ATTRIBUTES)

    def with_attributes(self, attributes: Iterable[str]) -> Selection:
        return Selection(self.paths, self.words, frozenset(tuple(a.split(".")) for a in attributes))

    @cached_property
    def plan(self) -> dict:
        return _plan(self)

    @cached_property
    def _viewers(self) -> dict:
        return {}

    def viewer(self):
        """The plan compiled (`log_compiled`): `_apply` with the fast paths, without walking the plan (compiled
        again for other bounds: tests change them)."""
        bounds = (MAX_TEXT, MAX_ITEMS)
        found = self._viewers.get(bounds)
        if found is None:
            from .log_compiled import compiled

            found = self._viewers[bounds] = compiled(self.plan, (SCRUBBED, BOUNDED, IDENTIFIER), {
                "_flat": _flat, "_texts": _texts, "_SCALARS": _SCALARS, "MAX_TEXT": MAX_TEXT, "MAX_ITEMS": MAX_ITEMS})
        return found


_selections: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_last: tuple[weakref.ref, Selection] | None = None  # the set asked last and its selection: the one in service


def selection_of(policy_set: PolicySet | None) -> Selection:
    """The selection of a policy set (every version it serves), computed once per set."""
    global _last
    if policy_set is None:
        return Selection()
    last = _last  # (asked for every logged decision: a weak dictionary's look-up makes a weak reference each time)
    if last is not None and last[0]() is policy_set:
        return last[1]
    found = _selections.get(policy_set)
    if found is None:
        found = _selections[policy_set] = _select(policy_set)
    _last = (weakref.ref(policy_set), found)
    return found


def _select(policy_set: PolicySet) -> Selection:
    paths: set[Path] = set()
    words: set[str] = set()
    for version in getattr(policy_set, "history", (policy_set,)):
        for rule in version.rules:
            for expr in (*rule.source.when, *rule.source.unless):
                for node in ast.walk(expr):
                    if isinstance(node, ast.Path) and node.parts[0] != "data":
                        paths.add(node.parts)
                    elif isinstance(node, ast.Literal) and isinstance(node.value, str):
                        words.add(node.value)
                    elif isinstance(node, ast.Index):  # a table's keys are looked up as the rules' literals are
                        table = value_at(version.data, node.table.parts[1:])
                        if isinstance(table, dict):
                            words.update(k for k in table if isinstance(k, str))
        vocabulary = version.vocabulary
        for known in (vocabulary.actions, vocabulary.purposes, vocabulary.categories, vocabulary.subject_types,
                      vocabulary.recipient_types, vocabulary.consent_topics):
            words.update(known)
    words.update(tx.country_codes())
    return Selection(frozenset(paths), frozenset(words))


class _Treat:
    """One request's treatment: the key, the words, and whether anything was cut."""

    def __init__(self, key: bytes, words: frozenset[str]):
        self.key, self.words, self.cut = key, words, False
        self.fast = FAST_PATHS

    def bounded(self, value: Any, depth: int = 0) -> Any:
        """`value` as sent, within the bounds."""
        return self._walk(value, depth, self._text)

    def scrubbed(self, value: Any, depth: int = 0) -> Any:
        """`value` within the bounds, with every string that is not a word of the policy pseudonymised."""
        return self._walk(value, depth, self._word)

    def _text(self, text: str) -> str:
        return text if len(text) <= MAX_TEXT else pseudonym(self.key, text)

    def _word(self, text: str) -> str:
        return text if text in self.words or is_pseudonym(text) else pseudonym(self.key, text)

    def _walk(self, value: Any, depth: int, text) -> Any:
        if isinstance(value, str):
            return text(value)
        if not isinstance(value, (list, dict)):
            return value  # numbers, booleans, null
        if depth >= MAX_DEPTH or len(value) > MAX_ITEMS:
            self.cut = True
        if depth >= MAX_DEPTH:
            return CUT
        if isinstance(value, list):
            return [self._walk(item, depth + 1, text) for item in value[:MAX_ITEMS]]
        out = {}
        for name, item in list(value.items())[:MAX_ITEMS]:
            out[text(name) if isinstance(name, str) else str(name)] = self._walk(item, depth + 1, text)
        return out


_MISSING = object()

# What to do with a value, by rank: a deeper path is applied over its parent's treatment only when it ranks higher.
SCRUBBED, BOUNDED, IDENTIFIER = 1, 2, 3
Plan = dict  # name -> (action or None, Plan of the names below)


def _plan(selection: Selection) -> Plan:
    """The paths to keep as one tree, walked once per request (not once per path)."""
    ranked: dict[Path, int] = {}
    for paths, rank in ((selection.paths, SCRUBBED), (FIELDS, BOUNDED), (selection.attributes, BOUNDED),
                        (IDENTIFIERS, IDENTIFIER)):
        for path in paths:
            ranked[path] = max(rank, ranked.get(path, 0))
    root: dict = {}
    for path, rank in ranked.items():
        node = root
        for part in path[:-1]:
            node = node.setdefault(part, [None, {}])[1]
        entry = node.setdefault(path[-1], [None, {}])
        entry[0] = rank
    return _pruned(root, 0)


def _pruned(node: dict, above: int) -> Plan:
    """Drop the paths below a treated one that do not outrank it (a field below an identifier, say)."""
    out = {}
    for name, (rank, below) in node.items():
        kept_rank = rank if rank is not None and rank > above else None
        children = _pruned(below, max(above, kept_rank or 0))
        if kept_rank is not None or children:
            out[name] = (kept_rank, children)
    return out


def view(request: Any, *, key: bytes, selection: Selection = Selection()) -> tuple[dict, list[str]]:
    """(what the log keeps of `request`, the pseudonyms of its identifiers). The caller's request is not touched."""
    if not isinstance(request, dict):
        return {}, []
    treat = _Treat(key, selection.words)
    ids: list[str] = []
    out = selection.viewer()(request, treat, ids) if treat.fast and COMPILED else _apply(selection.plan, request, treat, ids)
    if treat.cut:
        out[TRUNCATED] = True
    return out, sorted(set(ids))


_SCALARS = (int, float, bool, type(None))


def _apply(plan: Plan, source: dict, treat: _Treat, ids: list[str], out: dict | None = None) -> dict:
    """The parts of `source` that `plan` keeps, treated; into `out` (a treated parent) when given.

    With `treat.fast` (FAST_PATHS), the common cases are done inline: an identifier that is a short string; a
    field that is a list or map of scalars and short strings (copied as it is, as `bounded` would keep it); a read
    attribute that is a scalar or a string. Anything else goes the plain way, so both give the same view.
    """
    out = {} if out is None else out
    fast = treat.fast
    for name, value in source.items():
        entry = plan.get(name)
        if entry is None:
            continue
        rank, below = entry
        kind = type(value)
        if rank == IDENTIFIER:
            if value is None:
                continue
            if fast and kind is str and len(value) <= MAX_TEXT:
                kept = value if len(value) == PSEUDONYM_LENGTH and value.startswith(PSEUDONYM_PREFIX) \
                    else pseudonym(treat.key, value)
            else:
                kept = value if is_pseudonym(value) else pseudonym(treat.key, value)
            ids.append(kept)
        elif rank == BOUNDED:
            if isinstance(value, str):  # the common cases first: a field is mostly one short word
                kept = value if len(value) <= MAX_TEXT else pseudonym(treat.key, value)
            elif fast and kind is list and len(value) <= MAX_ITEMS and _flat(value):
                kept = value[:]
            elif fast and kind is dict and len(value) <= MAX_ITEMS and _texts(value) and _flat(value.values()):
                kept = dict(value)
            elif isinstance(value, _SCALARS):
                kept = value
            else:
                kept = treat.bounded(value)
        elif rank == SCRUBBED:
            if fast and kind is str:
                kept = value if value in treat.words or is_pseudonym(value) else pseudonym(treat.key, value)
            elif fast and kind is not dict and kind is not list and isinstance(value, _SCALARS):
                kept = value
            else:
                kept = treat.scrubbed(value)
        elif isinstance(value, dict):
            treated = out.get(name)
            kept = _apply(below, value, treat, ids, treated if isinstance(treated, dict) else None)
            if kept:
                out[name] = kept
            continue
        else:
            continue
        if below and isinstance(value, dict) and isinstance(kept, dict):
            _apply(below, value, treat, ids, kept)  # what ranks higher below (an identifier), over the treated value
        out[name] = kept
    return out


_FLAT = frozenset((int, float, bool, type(None)))


def _texts(names: Iterable) -> bool:
    """Every name a string of at most MAX_TEXT characters (`bounded` keeps it as sent; any other is changed)."""
    for name in names:
        if type(name) is not str or len(name) > MAX_TEXT:
            return False
    return True


def _flat(items: Iterable) -> bool:
    """Every item a number, boolean, null or string of at most MAX_TEXT characters: what `bounded` keeps as sent."""
    for item in items:
        kind = type(item)
        if kind is str:
            if len(item) > MAX_TEXT:
                return False
        elif kind not in _FLAT:
            return False
    return True


def minimal(out: dict) -> dict:
    """A row too large: its identifiers, action and purpose, and no more."""
    small: dict = {TRUNCATED: True}
    for path in (*IDENTIFIERS, ("action",), ("purpose",), ("action", "name"), ("action", "properties", "purpose")):
        value = value_at(out, path, _MISSING)
        if value is not _MISSING and (not isinstance(value, (dict, list)) and len(str(value)) <= MAX_TEXT):
            set_at(small, path, value)
    return small
