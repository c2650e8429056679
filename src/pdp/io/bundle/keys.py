"""Ed25519 keys (the `cryptography` package): make a pair, read PEM files, sign and verify a manifest.

The key files are the PEM that `openssl genpkey -algorithm ed25519` writes
(PKCS #8 private key, SubjectPublicKeyInfo public key), so either tool can
make them. A key is named by its id: `ed25519:` and the first 16 hex digits
of the sha256 of its raw public bytes, so an error can say which key signed.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from pathlib import Path

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from .errors import BundleError, KeyProblem

ALGORITHM = "ed25519"
MAX_KEY_FILE_BYTES = 16 * 1024


def generate_key_pair() -> tuple[bytes, bytes]:
    """A new key pair as PEM: (private, public)."""
    private = Ed25519PrivateKey.generate()
    return (private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()),
            private.public_key().public_bytes(serialization.Encoding.PEM,
                                              serialization.PublicFormat.SubjectPublicKeyInfo))


def _read(path: str | Path, what: str) -> bytes:
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_KEY_FILE_BYTES + 1)
    except OSError as error:
        raise KeyProblem(f"cannot read the {what} `{path}`: {error.strerror or error}") from None
    if len(data) > MAX_KEY_FILE_BYTES:
        raise KeyProblem(f"the {what} `{path}` is not a key file (larger than {MAX_KEY_FILE_BYTES // 1024} KB)")
    return data


def load_private_key(path: str | Path) -> Ed25519PrivateKey:
    """The ed25519 private key in a PEM file; KeyProblem says what is wrong with it."""
    try:
        key = serialization.load_pem_private_key(_read(path, "signing key"), password=None)
    except TypeError:
        raise KeyProblem(f"the signing key `{path}` is encrypted; give an unencrypted PEM key "
                         "(`pdp bundle keygen` or `openssl genpkey -algorithm ed25519`)") from None
    except (ValueError, UnsupportedAlgorithm):
        raise KeyProblem(f"`{path}` is not a PEM private key; make one with `pdp bundle keygen`") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise KeyProblem(f"`{path}` is not an ed25519 key; bundles are signed with ed25519 "
                         "(`pdp bundle keygen` or `openssl genpkey -algorithm ed25519`)")
    return key


def load_public_key(path: str | Path) -> Ed25519PublicKey:
    """The ed25519 public key in a PEM file; KeyProblem says what is wrong with it."""
    try:
        key = serialization.load_pem_public_key(_read(path, "public key"))
    except (ValueError, UnsupportedAlgorithm):
        raise KeyProblem(f"`{path}` is not a PEM public key; `pdp bundle keygen` writes one beside the "
                         "signing key (or `openssl pkey -in KEY -pubout`)") from None
    if not isinstance(key, Ed25519PublicKey):
        raise KeyProblem(f"`{path}` is not an ed25519 public key")
    return key


def key_id(key: Ed25519PublicKey) -> str:
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return f"{ALGORITHM}:{hashlib.sha256(raw).hexdigest()[:16]}"


def signatures_of(manifest: bytes, key: Ed25519PrivateKey) -> bytes:
    """The `.signatures.json` of a manifest: its exact bytes signed with `key`."""
    entry = {"keyid": key_id(key.public_key()), "algorithm": ALGORITHM,
             "signature": base64.b64encode(key.sign(manifest)).decode()}
    return json.dumps({"signatures": [entry]}, indent=2).encode() + b"\n"


def verify(manifest: bytes, signatures: bytes | None, key: Ed25519PublicKey) -> str:
    """Check that `key` signed exactly these manifest bytes; the key id. Raises BundleError."""
    if signatures is None:
        raise BundleError("unsigned", "the bundle is not signed (it has no `.signatures.json`)",
                          "sign it: `pdp bundle build DIR --signing-key KEY`")
    try:
        entries = json.loads(signatures)["signatures"]
        mine = [e for e in entries if isinstance(e, dict) and e.get("algorithm") == ALGORITHM]
    except (ValueError, TypeError, KeyError, RecursionError):  # not JSON, another shape, or nested past the stack
        raise BundleError("bad_signature", "`.signatures.json` is not a list of signatures",
                          "rebuild the bundle with `pdp bundle build`") from None
    wanted = key_id(key)
    chosen = [e for e in mine if e.get("keyid") == wanted]
    if not chosen:
        others = ", ".join(str(e.get("keyid")) for e in mine) or "none"
        raise BundleError("bad_signature", f"the bundle is not signed by the trusted key {wanted} (signed by: {others})",
                          "sign it with the key whose public half the server trusts, or give the server that key")
    try:
        signature = base64.b64decode(str(chosen[0].get("signature", "")), validate=True)
        key.verify(signature, manifest)
    except (binascii.Error, ValueError, InvalidSignature):
        raise BundleError("bad_signature", f"the signature by {wanted} does not match the manifest",
                          "the bundle was altered after it was signed; rebuild it") from None
    return wanted
