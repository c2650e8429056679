"""The paths that tell templates apart (`matches "/todos/{id}/**"`): finitely many, and exactly enough.

Whether a path matches a template depends only on its segments, one
position at a time: at each position, on which of the literals the
templates write there the segment is (or none of them, or the mark of an
absolute path), and on how many segments there are, up to the longest
template (a longer path is matched only by a template ending in `**`, as
one segment longer is). So walking the positions, each segment chosen among
the literals the templates still alive write there and a fresh segment,
finds a path for every set of templates that some path matches, and the
paths no template can be compared with (`//`) are one class more, which
every test of `matches` fails on (templates.PathError). The walk stops where
no template is alive, so it is as wide as the templates differ, not the
product of every position's literals.
"""

from __future__ import annotations

from typing import Iterable

from pdp.base import templates

WALK_LIMIT = 20_000  # paths the walk may produce; beyond, the space is too large to enumerate (a SpaceTooLarge)


class TooManyPaths(Exception):
    pass


def outcome(template: templates.Template, value: object) -> bool | None:
    """The test as the engine decides it on a text: matched or not; None where it fails."""
    if not isinstance(value, str):
        return None
    try:
        return templates.matches(template, value)
    except templates.PathError:
        return None


def path_examples(written: Iterable[str], taken: Iterable[str], fresh: Iterable[str]) -> tuple[list[str], set[str]]:
    """One path per set of the templates some path matches (each with every `fresh` segment, where it has one), and
    one that no template compares; and those of them that stand for many paths (a fresh segment in them). `taken`:
    texts the path's segments must not be, so that a path with a fresh segment equals no text compared elsewhere."""
    parsed = [templates.parse(t) for t in sorted(set(written))]
    avoid = {segment for text in taken for segment in text.split("/")}
    avoid |= {s for t in parsed for s in t.segments if s is not None}
    names = [name for name in fresh if name not in avoid] or ["x0"]
    while any(name in avoid for name in names):
        names = [name + "_" for name in names]
    found: set[str] = set()
    for name in names:
        _walk([], parsed, name, found)
    found.add(f"/{names[0]}/")  # an empty segment: no template compares it
    many = {path for path in found if any(segment in names for segment in path.split("/"))}
    return sorted(found), many


def _walk(parts: list[str], alive: list[templates.Template], fresh: str, found: set[str]) -> None:
    if parts:
        found.add("/" if parts == [""] else "/".join(parts))
        if len(found) > WALK_LIMIT:
            raise TooManyPaths(f"more than {WALK_LIMIT:,} paths tell the templates apart")
    i = len(parts)
    if not alive or all(t.rest and len(t.segments) <= i for t in alive):
        if alive:
            _walk_one(parts + [fresh], found)  # longer: matched as this path is
        return
    choices = {t.segments[i] for t in alive if len(t.segments) > i and t.segments[i] is not None}
    if i == 0:
        choices.add("")  # an absolute path
    choices.add(fresh)
    for segment in sorted(c for c in choices if c is not None):
        _walk(parts + [segment], [t for t in alive if _still(t, i, segment)], fresh, found)


def _walk_one(parts: list[str], found: set[str]) -> None:
    found.add("/".join(parts))


def _still(template: templates.Template, i: int, segment: str) -> bool:
    """Can the template still match a path whose segment at position i is `segment`?"""
    if len(template.segments) <= i:
        return template.rest
    want = template.segments[i]
    return bool(segment) if want is None else want == segment
