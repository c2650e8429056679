"""What erasure leaves of a decision log row: the proof of what was decided, and nothing that links it to the person.

Pure. A row names people by pseudonym (`hmac:` + HMAC-SHA256 under the log's
key, `log_view`): given the person's id, the key's holder computes the same
pseudonym and finds every row that names them. So the pseudonym itself is
what identifies them in the log, and erasure takes it out of the row: from
the `people` column, and from the stored request, which keeps only the
proof of what was decided (`proof`): the action, the purpose and the data
categories, with each identifier that named the person replaced by
`"erased"` and every other person's identifier left as it was, so that their
own rows stay theirs. Every other attribute of the request (the person's age,
country, consents, ...) goes: it described the person. The row's own columns,
its decision id, time, endpoint, decision, rules and policy digest, are the
proof and stay.
"""

from __future__ import annotations

import orjson

from pdp.base.paths import set_at, value_at
from .log_view import IDENTIFIERS

ERASED = "erased"  # what stands where an identifier named the erased person
MARK = "erased"  # the key a request erased from carries (true)
_KEPT = (("action",), ("purpose",), ("data_categories",), ("action", "name"), ("action", "properties", "purpose"),
         ("resource", "type"), ("resource", "properties", "data_categories"))
_MISSING = object()


def proof(request_text: str, pseudonym: str) -> str:
    """The stored request `request_text` (JSON) as erasure leaves it: what was decided, without the person."""
    try:
        request = orjson.loads(request_text)
    except orjson.JSONDecodeError:
        request = None
    out: dict = {MARK: True}
    if not isinstance(request, dict):
        return orjson.dumps(out).decode()
    for path in _KEPT:
        value = value_at(request, path, _MISSING)
        if value is not _MISSING and not isinstance(value, dict):
            set_at(out, path, value)
    for identifier in IDENTIFIERS:
        value = value_at(request, identifier, _MISSING)
        if value is not _MISSING and not isinstance(value, (dict, list)):
            set_at(out, identifier, ERASED if value == pseudonym else value)
    return orjson.dumps(out, option=orjson.OPT_SORT_KEYS).decode()


def without(people: str, pseudonym: str) -> str:
    """The `people` column (pseudonyms, space-separated) without `pseudonym`."""
    return " ".join(name for name in people.split() if name != pseudonym)


__all__ = ["ERASED", "MARK", "proof", "without"]
