"""Keys and sealing: pseudonyms for subject ids, and the identifying fields sealed under a per-subject key.

One ledger secret (at least 16 random bytes; 32 recommended) gives, by HKDF,
the key of the subjects' pseudonyms (HMAC-SHA256, as the decision log's) and
the key that wraps each subject's own data key. A subject's identifying fields
(its id, the client event id, the actor's id, the collection point, evidence)
are sealed with AES-256-GCM under that subject's data key, bound to the event
id (so a sealed blob cannot be moved to another row). Erasing the subject
destroys its data keys: what was sealed can no longer be read by anyone, the
ledger secret's holder included (crypto-shredding), while every row stays as
it was and its chain still verifies.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import orjson
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from pdp.base.pseudonym import pseudonym

MIN_SECRET = 16
NONCE = 12


class Unreadable(Exception):
    """A sealed blob that does not open: its key destroyed (erased) or the blob changed."""


@dataclass(frozen=True)
class LedgerKeys:
    pseudonym_key: bytes
    wrap_key: bytes

    @classmethod
    def from_secret(cls, secret: bytes) -> LedgerKeys:
        if not isinstance(secret, (bytes, bytearray)) or len(secret) < MIN_SECRET:
            raise ValueError(f"the ledger key must be at least {MIN_SECRET} random bytes (32 recommended)")
        return cls(pseudonym_key=_derive(bytes(secret), b"pdp-ledger subject pseudonyms"),
                   wrap_key=_derive(bytes(secret), b"pdp-ledger subject key wrapping"))

    def subject(self, subject_id: str) -> str:
        """The subject's pseudonym: what every table stores instead of its id."""
        return pseudonym(self.pseudonym_key, subject_id)

    def client_event_key(self, client_event_id: str) -> str:
        """What idempotency is keyed on: the client's event id, pseudonymised (it may name the person)."""
        return pseudonym(self.pseudonym_key, "client-event:" + client_event_id)

    def new_data_key(self, subject: str, generation: int) -> tuple[bytes, bytes]:
        """A fresh data key for a subject, and that key wrapped for storage (bound to subject and generation)."""
        data_key = AESGCM.generate_key(bit_length=256)
        return data_key, seal(self.wrap_key, data_key, f"{subject}/{generation}".encode())

    def unwrap(self, wrapped: bytes, subject: str, generation: int) -> bytes:
        return open_sealed(self.wrap_key, wrapped, f"{subject}/{generation}".encode())


def _derive(secret: bytes, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(secret)


def seal(key: bytes, plaintext: bytes, bound_to: bytes) -> bytes:
    nonce = os.urandom(NONCE)
    return nonce + AESGCM(key).encrypt(nonce, plaintext, bound_to)


def open_sealed(key: bytes, sealed: bytes, bound_to: bytes) -> bytes:
    try:
        return AESGCM(key).decrypt(sealed[:NONCE], sealed[NONCE:], bound_to)
    except (InvalidTag, ValueError) as error:
        raise Unreadable("a sealed field does not open (changed, or its key destroyed)") from error


def seal_fields(key: bytes, fields: dict[str, Any], event_id: str) -> bytes:
    return seal(key, orjson.dumps(fields, option=orjson.OPT_SORT_KEYS), event_id.encode())


def open_fields(key: bytes, sealed: bytes, event_id: str) -> dict[str, Any]:
    fields = orjson.loads(open_sealed(key, sealed, event_id.encode()))
    if not isinstance(fields, dict):
        raise Unreadable("a sealed field is not an object")
    return fields


__all__ = ["LedgerKeys", "Unreadable", "open_fields", "open_sealed", "seal", "seal_fields"]
