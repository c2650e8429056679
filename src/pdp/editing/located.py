"""Quick fixes for the errors whose span is a whole statement or clause (`lookup recipent in ...`, `accept
shadowd-rule because ...`): the checker knows the word it did not know and the close ones, but not where in the
statement the word is written. The word is found among the statement's tokens, and fixed only where it is
written exactly once; the others keep no fix rather than a wrong one."""

from __future__ import annotations

import difflib
import re
from dataclasses import replace

from pdp.base.errors import Diagnostic, replacements
from .context import tokens
from .edits import offset_of, span_at

_QUOTED = re.compile(r"`([^`]+)`")
_HINTED = re.compile(r"did you mean ((?:`[^`]+`(?: or )?)+)\?")


def located(diagnostics: list[Diagnostic], texts: dict[str, str]) -> list[Diagnostic]:
    """The diagnostics, each that says "did you mean" without a fix given one per suggestion when the word it is
    about is written once in its span."""
    return [_with_fixes(d, texts.get(d.file)) if not d.fixes and d.hint else d for d in diagnostics]


def _with_fixes(diagnostic: Diagnostic, text: str | None) -> Diagnostic:
    hinted = _HINTED.search(diagnostic.hint or "")
    if text is None or hinted is None:
        return diagnostic
    close = _QUOTED.findall(hinted.group(1))
    wrong = _the_wrong_word(_QUOTED.findall(diagnostic.message), close)
    span = diagnostic.span
    if wrong is None or span.line < 1:
        return diagnostic
    start = offset_of(text, span.line, span.col)
    end = offset_of(text, span.end_line, span.end_col) if span.end_line else offset_of(text, span.line, len(text))
    written = [t for t in tokens(text, start, max(end, start)) if t.kind == "word" and t.text == wrong]
    if len(written) != 1:
        return diagnostic
    at = span_at(text, span.file, written[0].start, written[0].end)
    return replace(diagnostic, fixes=replacements(at, close))


def _the_wrong_word(quoted: list[str], close: list[str]) -> str | None:
    """Of the words a message quotes, the one the suggestions are closest to (and none of them)."""
    scored = [(max(difflib.SequenceMatcher(None, word, c).ratio() for c in close), word)
              for word in quoted if word not in close] if close else []
    return max(scored)[1] if scored else None
