"""Path templates (`/todos/{id}`, `/todos/{id}/**`): parsed once, matched segment by segment.

A template and a path are split on `/` into segments. A segment of a template
is a literal, compared exactly (case and percent-encoding as given), `{name}`,
any one segment, or `**`, last only, the rest of the path (zero or more
segments). A placeholder is always a whole segment (`{id}.json` and `*` are
refused), so matching is one pass over the segments: linear in the path, no
backtracking (unlike a regular expression or a glob, nothing can be retried).

A path pdp cannot compare safely raises PathError, so the test fails and
the rule fails closed: a path with an empty segment (`//`, a trailing `/`,
the empty text) or a `.` / `..` segment, which servers read as another path
(a deny on `/admin/**` must not be walked around by `//admin` or
`/x/../admin`), or one longer than MAX_MATCHED_PATH_CHARS. `/` alone is the
root: absolute, no segment.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .limits import MAX_MATCHED_PATH_CHARS

REST = "**"
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


class TemplateError(ValueError):
    """A template pdp does not read: what is wrong, a hint, and the offset in the text where it is."""

    def __init__(self, message: str, hint: str, offset: int = 0, length: int = 1):
        super().__init__(message)
        self.message, self.hint, self.offset, self.length = message, hint, offset, length


class PathError(ValueError):
    """A path no template can be compared with safely (see the module)."""


@dataclass(frozen=True)
class Template:
    text: str
    segments: tuple[str | None, ...]  # each a literal, or None: any one segment (`{name}`)
    rest: bool  # ends in `**`: any further segments

    @property
    def example(self) -> str:
        """A path the template matches: each placeholder its name (`/todos/{id}` -> `/todos/id`)."""
        names = iter(self.names)
        text = "/".join(s if s is not None else next(names) for s in self.segments)
        return text or ("/" if self.segments else "x")

    @property
    def names(self) -> tuple[str, ...]:
        """The placeholders' names, in order (documentation: they are never compared with anything)."""
        return tuple(part[1:-1] for part in _parts(self.text) if part.startswith("{"))


def _parts(text: str) -> list[str]:
    """`/` alone is [""] (the root: absolute, no segment); else the text split on `/` (a leading "" marks an absolute
    path)."""
    return [""] if text == "/" else text.split("/")


def parse(text: str) -> Template:
    """The template written in a policy, or TemplateError."""
    if not text:
        raise TemplateError("an empty template", 'write the path it matches, e.g. `"/todos/{id}"`', 0, 0)
    parts = _parts(text)
    segments: list[str | None] = []
    rest = False
    names: set[str] = set()
    offset = 0
    for i, part in enumerate(parts):
        where = (offset, max(len(part), 1))
        offset += len(part) + 1
        if rest:
            raise TemplateError("`**` must be the last segment", "`**` stands for the rest of the path; write "
                                'e.g. `"/todos/{id}/**"`', *_at(text, "**"))
        if part == "" and i > 0:
            raise TemplateError("an empty segment (`//`, or a `/` at the end)", "no path pdp matches has one "
                                '(a request\'s `/todos/` fails, closed); write `"/todos"`', *where)
        if part in (".", ".."):
            raise TemplateError(f"a `{part}` segment", "servers read it as another path; write the path it leads to",
                                *where)
        if part == REST:
            rest = True
            continue
        if "*" in part:
            raise TemplateError(f"`{part}` is no segment of a template", "write `{name}` for any one segment, "
                                "and `**`, last, for the rest of the path", *where)
        if part.startswith("{") and part.endswith("}") and len(part) >= 2:
            name = part[1:-1]
            if not name:
                raise TemplateError("a placeholder without a name `{}`", "name the segment, e.g. `{id}`", *where)
            if not _NAME.match(name):
                raise TemplateError(f"`{name}` is no name for a segment", "a name is letters, digits and `_`, "
                                    "e.g. `{todo_id}`", *where)
            if name in names:
                raise TemplateError(f"`{{{name}}}` twice", "segments are never compared with each other: give each "
                                    "its own name", *where)
            names.add(name)
            segments.append(None)
            continue
        if "{" in part or "}" in part:
            raise TemplateError(f"`{part}`: a `{{` or `}}` that is no whole placeholder", "a placeholder is a whole "
                                "segment: `/files/{name}`, not `/files/{name}.json`", *where)
        segments.append(part)
    return Template(text, tuple(segments), rest)


def _at(text: str, needle: str) -> tuple[int, int]:
    return text.find(needle), len(needle)


def segments(path: str) -> list[str]:
    """The path's segments (a leading "" marks it absolute), or PathError when it cannot be compared safely."""
    if len(path) > MAX_MATCHED_PATH_CHARS:
        raise PathError(f"a path longer than {MAX_MATCHED_PATH_CHARS:,} characters")
    if not path:
        raise PathError("an empty path")
    parts = _parts(path)
    for i, part in enumerate(parts):
        if part == "" and i > 0:
            raise PathError(f"{path!r} has an empty segment (`//`, or a `/` at the end)")
        if part in (".", ".."):
            raise PathError(f"{path!r} has a `{part}` segment")
    return parts


def matches(template: Template, path: str) -> bool:
    """Does the path fit the template? Raises PathError for a path pdp does not compare (see the module)."""
    parts = segments(path)
    wanted = template.segments
    if len(parts) < len(wanted) or (len(parts) > len(wanted) and not template.rest):
        return False
    for want, part in zip(wanted, parts):
        if want is None:
            if not part:  # the mark of an absolute path is no segment
                return False
        elif want != part:
            return False
    return True
