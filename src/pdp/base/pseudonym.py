"""Keyed pseudonyms: what the decision log stores instead of an identifier.

`hmac:` + HMAC-SHA256(key, id) in hex. The same id maps to the same
pseudonym under one key, so one person's decisions can be followed and
erased; without the key it cannot be reversed, nor a guessed id tested.
This is pseudonymisation, not anonymisation: the key holder can re-identify.
"""

from __future__ import annotations

import hmac
import json
from functools import lru_cache
from typing import Any

PSEUDONYM_PREFIX = "hmac:"
PSEUDONYM_LENGTH = len(PSEUDONYM_PREFIX) + 64


CACHE = True  # False: every pseudonym computed afresh (a property test proves both agree)


def pseudonym(key: bytes, value: Any) -> str:
    """The keyed pseudonym of an identifier (or of any value; a non-string by its JSON text)."""
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    if CACHE and len(text) <= 256:
        return _cached(key, text)
    return _computed(key, text)


def _computed(key: bytes, text: str) -> str:
    return PSEUDONYM_PREFIX + hmac.digest(key, text.encode("utf-8", "surrogatepass"), "sha256").hex()


# The same ids recur (a service, a processor, a person asking again): an HMAC is a few microseconds of
# every logged decision. Bounded: at most 4,096 short ids, the least recently used forgotten first.
_cached = lru_cache(maxsize=4096)(_computed)


def is_pseudonym(value: Any) -> bool:
    return isinstance(value, str) and len(value) == PSEUDONYM_LENGTH and value.startswith(PSEUDONYM_PREFIX)
