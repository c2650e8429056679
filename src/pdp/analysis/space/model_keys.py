"""Where a request of the set's model holds the keys the space's cells are made of (`Model.KEY_PATHS`).

A data-use request names an action, a purpose and data categories; an
AuthZEN request names an action (`action.name`) alone. A kind of key the
model's requests do not name is one class (`NO_KEY`), known to every
version and read by no rule, so the space, its solver and the tools built on
them walk the same three dimensions for both models.
"""

from __future__ import annotations

from typing import Any, Collection, Mapping

from pdp.base.paths import set_at
from pdp.engine.models import Model
from pdp.vocab import taxonomy as tx

KINDS = ("action", "purpose", "category")
NO_KEY = ""  # the one class of a kind of key the model's requests do not name


def names(model: Model, kind: str) -> bool:
    """Do the model's requests name keys of this kind?"""
    return kind in model.KEY_PATHS


def is_cell(model: Model, parts: tuple[str, ...]) -> bool:
    """Is the path one of the request's keys (a dimension of the cells, not an attribute)? `action` read whole in
    an AuthZEN request holds its name too: not an attribute of its own."""
    return any(parts[: len(k)] == k or k[: len(parts)] == parts for k in model.KEY_PATHS.values())


def kinds_read(model: Model, paths: Collection[tuple[str, ...]]) -> tuple[int, ...]:
    """Which kinds of key (indexes into KINDS) paths read: what of a cell a test of them depends on (is_cell)."""
    return tuple(i for i, kind in enumerate(KINDS) if names(model, kind) and any(
        parts[: len(model.KEY_PATHS[kind])] == model.KEY_PATHS[kind] or model.KEY_PATHS[kind][: len(parts)] == parts
        for parts in paths))


def declared_keys(model: Model, vocabulary: tx.Vocabulary) -> dict[str, Collection[str]]:
    """The keys of each kind a version declares: the space's keys are those of its versions."""
    declared = {"action": vocabulary.actions, "purpose": vocabulary.purposes, "category": vocabulary.categories}
    return {kind: declared[kind] if names(model, kind) else frozenset({NO_KEY}) for kind in KINDS}


def known_keys(model: Model, vocabulary: tx.Vocabulary,
               every: Mapping[str, Collection[str]]) -> Mapping[str, Collection[str]]:
    """The keys of each kind (of `every`, the space's) a version accepts: those it declares, where a request
    naming another is refused; all of them, where such a request is decided (an AuthZEN set denies it)."""
    return declared_keys(model, vocabulary) if model.REFUSES_UNKNOWN_KEYS else every


def key_of(model: Model, request: dict, kind: str) -> Any:
    """The request's key of a kind (`NO_KEY` for a kind the model's requests do not name; None: not one key)."""
    if not names(model, kind):
        return NO_KEY
    value: Any = request
    for part in model.KEY_PATHS[kind]:
        value = value.get(part) if isinstance(value, dict) else None
    if kind == "category":  # a list: the space's requests name one category
        return value[0] if isinstance(value, list) and len(value) == 1 else None
    return value


def fill_key(model: Model, env: dict, kind: str, rep: str) -> None:
    """Set the request's key of a kind (a kind the model's requests do not name is not written)."""
    if names(model, kind):
        set_at(env, model.KEY_PATHS[kind], [rep] if kind == "category" else rep)


def part_of(model: Model, request: dict) -> Any:
    """What of a (one-category) request needs an allow (`decision.combine`): its category, or an AuthZEN
    request's action."""
    return key_of(model, request, "category" if names(model, "category") else "action")
