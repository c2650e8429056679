"""Keyed pseudonyms: what the decision log stores instead of an identifier.

`hmac:` + HMAC-SHA256(key, id) in hex. The same id maps to the same
pseudonym under one key, so one person's decisions can be followed and
erased; without the key it cannot be reversed, nor a guessed id tested.
This is pseudonymisation, not anonymisation: the key holder can re-identify.
"""

from __future__ import annotations

import hmac
import json
from typing import Any

PSEUDONYM_PREFIX = "hmac:"
PSEUDONYM_LENGTH = len(PSEUDONYM_PREFIX) + 64


def pseudonym(key: bytes, value: Any) -> str:
    """The keyed pseudonym of an identifier (or of any value; a non-string by its JSON text)."""
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    return PSEUDONYM_PREFIX + hmac.digest(key, text.encode("utf-8", "surrogatepass"), "sha256").hex()


def is_pseudonym(value: Any) -> bool:
    return isinstance(value, str) and len(value) == PSEUDONYM_LENGTH and value.startswith(PSEUDONYM_PREFIX)
