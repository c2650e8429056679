"""Diagnostics (errors and warnings with a position) and the exception types.

A diagnostic reads `file:line:col: code: message`, then the source line, a
caret and a hint, in the style of Cedar's and rustc's messages: lower case,
user input in backticks, plain words, no Python class names.
"""

from __future__ import annotations

import difflib
import heapq
from dataclasses import dataclass, replace
from dataclasses import field as dataclass_field
from typing import Any, Callable, Iterable

from .source import NO_SPAN, Span, caret_excerpt


# Codes of errors that lose a file, or part of it: a policy file's text that does not parse, a vocabulary or data
# file that is no valid YAML or has a section the reader skips. Reported before every other diagnostic.
ROOT_CAUSES = frozenset({"syntax", "encoding", "unreadable", "too-large", "too-deep", "no-policies", "vocabulary",
                         "data"})


@dataclass(frozen=True)
class TextEdit:
    """Replace the text of `span` (its end excluded) with `new_text`."""

    span: Span
    new_text: str

    def to_dict(self) -> dict[str, Any]:
        return {"file": self.span.file, "line": self.span.line, "col": self.span.col,
                "end_line": self.span.end_line, "end_col": self.span.end_col, "new_text": self.new_text}


@dataclass(frozen=True)
class Fix:
    """A change that would mend what a diagnostic reports ("replace with `user.contact.email`"): an editor's
    quick fix."""

    title: str
    edits: tuple[TextEdit, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"title": self.title, "edits": [e.to_dict() for e in self.edits]}


def replacements(span: Span, words: Iterable[str]) -> tuple[Fix, ...]:
    """One fix per suggested word, each replacing the text of `span` with it (a "did you mean")."""
    if span.end_line < span.line or (span.end_line == span.line and span.end_col <= span.col):
        return ()  # no end: nothing an editor could replace
    return tuple(Fix(f"replace with `{word}`", (TextEdit(span, word),)) for word in words)


@dataclass(frozen=True)
class Diagnostic:
    code: str
    message: str
    span: Span = NO_SPAN
    hint: str | None = None
    severity: str = "error"  # "error" | "warning"
    accepted: str | None = None  # a warning the policy accepts: the reason it gives (pdp.lang.acceptance)
    # what the diagnostic is about (an attribute's dotted path), so that an error that may only follow from
    # another one can be told apart (pdp.lang.follow_on); never shown, never compared
    about: str | None = dataclass_field(default=None, compare=False, repr=False)
    # quick fixes: changes that would mend it (a "did you mean" as edits); not compared
    fixes: tuple[Fix, ...] = dataclass_field(default=(), compare=False, repr=False)

    @property
    def file(self) -> str:
        return self.span.file

    @property
    def line(self) -> int:
        return self.span.line

    @property
    def col(self) -> int:
        return self.span.col

    def sort_key(self) -> tuple[int, str, int, int, str, str]:
        """Root causes first (a file that could not be read or parsed: what else is wrong may follow from it),
        then by position."""
        return (self.code not in ROOT_CAUSES, self.span.file, self.span.line, self.span.col, self.code, self.message)

    def render(self, sources: dict[str, str] | None = None) -> str:
        head = f"{self.span}: {self.code}: {self.message}"
        if self.severity == "warning":
            kind = "accepted warning" if self.accepted is not None else "warning"
            head = f"{self.span}: {self.code}: {kind}: {self.message}"
        parts = [head]
        excerpt = caret_excerpt((sources or {}).get(self.span.file), self.span)
        if excerpt:
            parts.append(excerpt)
        if self.accepted is not None:
            parts.append(f"     = accepted because: {self.accepted}")
        elif self.hint:
            parts.append(f"     = hint: {self.hint}")
        return "\n".join(parts)

    def renamed(self, name: Callable[[str], str]) -> Diagnostic:
        """The same diagnostic with every file it names (its span's, its fixes' edits') renamed by `name` (a set
        unpacked from a bundle names its files as the bundle does, not where it was unpacked)."""
        return replace(self, span=replace(self.span, file=name(self.span.file)),
                       fixes=tuple(Fix(f.title, tuple(TextEdit(replace(e.span, file=name(e.span.file)), e.new_text)
                                                      for e in f.edits)) for f in self.fixes))

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "message": self.message,
            "file": self.span.file,
            "line": self.span.line,
            "col": self.span.col,
            # where it ends (its start when the span has no end: a point an editor widens to the word)
            "end_line": self.span.end_line if self.span.end_line else self.span.line,
            "end_col": self.span.end_col if self.span.end_line else self.span.col,
            "hint": self.hint,
            "severity": self.severity,
            **({"accepted": self.accepted} if self.accepted is not None else {}),
            **({"fixes": [f.to_dict() for f in self.fixes]} if self.fixes else {}),
        }


def render_all(diagnostics: Iterable[Diagnostic], sources: dict[str, str] | None = None) -> str:
    return "\n\n".join(d.render(sources) for d in sorted(diagnostics, key=Diagnostic.sort_key))


class PolicyError(Exception):
    """A policy set that cannot be loaded: carries every error, sorted."""

    def __init__(self, diagnostics: Iterable[Diagnostic], sources: dict[str, str] | None = None, held_back: int = 0):
        self.diagnostics = sorted(diagnostics, key=Diagnostic.sort_key)
        self.sources = dict(sources or {})
        self.held_back = held_back  # errors left out as likely consequences of these (pdp.lang.follow_on)
        errors = [d for d in self.diagnostics if d.severity == "error"]
        count = len(errors)
        summary = f"{count} error{'s' if count != 1 else ''} in the policy set"
        if held_back:
            summary += (f" ({held_back} more that may only follow from {'them' if count != 1 else 'it'} "
                        f"left out: fix {'these' if count != 1 else 'this'} first)")
        super().__init__(f"{render_all(self.diagnostics, self.sources)}\n\n{summary}")


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str
    suggestions: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"field": self.field, "message": self.message}
        if self.suggestions:
            out["suggestions"] = list(self.suggestions)
        return out


class RequestError(ValueError):
    """A decision request that is malformed or names unknown vocabulary."""

    def __init__(self, errors: Iterable[FieldError]):
        self.field_errors = list(errors)
        super().__init__("; ".join(f"{e.field}: {e.message}" + (f" (did you mean {_either(e.suggestions)}?)"
                                                                  if e.suggestions else "")
                                   for e in self.field_errors))

    @property
    def errors(self) -> list[dict[str, Any]]:
        return [e.to_dict() for e in self.field_errors]


def _either(words: Iterable[str]) -> str:
    return " or ".join(f"`{w}`" for w in words)


MAX_WORD = 128  # characters of a word compared: keys are shorter, and a longer word costs time for nothing


def suggest(word: object, candidates: Iterable[str], limit: int = 3, always: bool = False, cutoff: float = 0.6) -> list[str]:
    """Closest known words to a misspelt one ("did you mean"), ignoring case.

    With `always`, the closest known words even when none is close (a
    request gets something to pick from, never an empty list).
    """
    by_lower: dict[str, str] = {}
    for candidate in candidates:
        by_lower.setdefault(candidate.lower(), candidate)
    wanted = str(word).lower()[:MAX_WORD]
    if wanted in by_lower:
        return [by_lower[wanted]]
    pool = list(by_lower)
    close = close_matches(wanted, pool, limit, cutoff)
    # A dotted key is often right but for its last segment: compare that alone.
    if not close and "." in wanted and cutoff <= 0.7:
        last = wanted.rsplit(".", 1)[1]
        by_last = {c.rsplit(".", 1)[-1]: c for c in pool}
        close = [by_last[m] for m in close_matches(last, list(by_last), limit, 0.7)]
    if not close and always:
        close = close_matches(wanted, pool, limit, 0.0)
    return [by_lower[c] for c in close]


FAST_MATCHES = True  # False: plain difflib (the property tests compare the two)
_SLACK = 1e-9  # float rounding between the two libraries' ratios


def close_matches(word: str, pool: list[str], n: int, cutoff: float, fast: bool | None = None) -> list[str]:
    """`difflib.get_close_matches(word, pool, n, cutoff)`, the same list, found faster.

    difflib compares the word with every candidate, a few milliseconds for a
    vocabulary of a hundred keys, which a request naming thousands of
    unknown keys multiplied into seconds. rapidfuzz computes, in C, a bound
    on difflib's ratio for every candidate at once: its Indel ratio is
    2*LCS/(len a + len b), and the characters difflib's matching blocks
    cover are a common subsequence, so difflib's ratio is never higher.
    Candidates are taken in descending order of that bound, and the search
    stops once the bound falls below the n-th best ratio found, so difflib
    scores only the few candidates that can still rank.
    """
    if not (FAST_MATCHES if fast is None else fast) or n <= 0 or not 0.0 <= cutoff <= 1.0:
        return difflib.get_close_matches(word, pool, n=n, cutoff=cutoff)  # (and difflib's errors)
    from rapidfuzz import fuzz, process  # here: only a hint pays for importing it (~20 ms), not every process

    bounds = process.extract(word, pool, scorer=fuzz.ratio, limit=None,
                             score_cutoff=max(0.0, cutoff * 100 - 1e-6))
    matcher = difflib.SequenceMatcher()
    matcher.set_seq2(word)
    best: list[tuple[float, str]] = []  # a min-heap of the n best (ratio, candidate) so far
    for candidate, bound, _ in bounds:
        if len(best) == n and bound / 100 + _SLACK < best[0][0]:
            break  # no candidate left can reach the n-th best
        matcher.set_seq1(candidate)
        ratio = matcher.ratio()
        if ratio >= cutoff:
            if len(best) < n:
                heapq.heappush(best, (ratio, candidate))
            else:
                heapq.heappushpop(best, (ratio, candidate))
    return [candidate for _, candidate in heapq.nlargest(n, best)]


def did_you_mean(word: str, candidates: Iterable[str]) -> str | None:
    return suggestion_hint(suggest(word, candidates))


def suggestion_hint(found: list[str]) -> str | None:
    """`did you mean `a` or `b`?`, or None when nothing was found."""
    if not found:
        return None
    return "did you mean " + " or ".join(f"`{c}`" for c in found) + "?"
