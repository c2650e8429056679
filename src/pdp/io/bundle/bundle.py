"""Build a bundle from a checked policy set; open one (verify everything first); build its set.

Opening checks, in this order, before anything is used: the archive's size
and entries (archive.unpack), the signature over the manifest's bytes (with
the trusted public key), the manifest itself, that the archive holds exactly
the files the manifest lists, each file's sha256, and the content digest.
Only then are the files written, to a new private directory, and built by
the loader exactly as `pdp check` builds a directory; the set must have the
digest the manifest names.
"""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from pdp.base.errors import PolicyError
from pdp.base.limits import MAX_FILES, MAX_SET_BYTES
from pdp.engine.policy_set import PolicySet

from ..loader import VERSIONS_DIR, load
from .archive import MANIFEST, SIGNATURES, pack, unpack
from .errors import BundleError
from .keys import signatures_of, verify
from .manifest import Manifest, PolicyInfo, content_digest, entries_of, read_manifest, sha256_hex


@dataclass(frozen=True)
class Built:
    archive: bytes
    manifest: Manifest
    signed_by: str | None  # the key id, or None for an unsigned bundle

    @property
    def file_name(self) -> str:
        """A name that carries the content address: `<policy name>-<first 16 hex digits of the digest>.tar.gz`."""
        name = re.sub(r"[^A-Za-z0-9._-]+", "_", self.manifest.policy.name).strip("._") or "bundle"
        return f"{name}-{self.manifest.digest.removeprefix('sha256:')[:16]}.tar.gz"


@dataclass(frozen=True)
class Opened:
    manifest: Manifest
    files: dict[str, bytes]  # the set's files by path, each checked against the manifest
    signed_by: str | None  # the key id that signed it (None: opened unsigned, on request)


def set_files(policy_set: PolicySet) -> dict[str, bytes]:
    """The files a policy set was built from, by path below its directory (earlier versions under versions/)."""
    if policy_set.sources is None:
        raise ValueError("the policy set was not built from files")
    texts = dict(policy_set.sources.relative_texts())
    for earlier in policy_set.sources.versions or ():
        prefix = f"{VERSIONS_DIR}/{Path(earlier.directory).name}/"
        texts.update({prefix + path: text for path, text in earlier.sources.relative_texts().items()})
    return {path: text.encode() for path, text in sorted(texts.items())}


def build_bundle(policy_set: PolicySet, revision: str, created_at: str, pdp_version: str,
                 signing_key: Ed25519PrivateKey | None = None) -> Built:
    """The bundle of a policy set that built (so that checked): its files, a manifest, and a signature."""
    files = set_files(policy_set)
    if len(files) > MAX_FILES or sum(map(len, files.values())) > MAX_SET_BYTES:
        raise BundleError("too_large", f"the policy set with its versions is more than {MAX_FILES:,} files or "
                          f"{MAX_SET_BYTES // (1024 * 1024)} MB", "a bundle holds one policy set within the limits of one")
    manifest = Manifest(revision=revision, digest=content_digest(files), files=entries_of(files),
                        policy=PolicyInfo(name=policy_set.name, version=policy_set.version, digest=policy_set.digest),
                        created_at=created_at, pdp_version=pdp_version)
    manifest_bytes = manifest.to_bytes()
    members = {MANIFEST: manifest_bytes}
    signed_by = None
    if signing_key is not None:
        members[SIGNATURES] = signatures_of(manifest_bytes, signing_key)
        signed_by = verify(manifest_bytes, members[SIGNATURES], signing_key.public_key())
    return Built(pack({**members, **files}), manifest, signed_by)


def open_bundle(archive: bytes, public_key: Ed25519PublicKey | None) -> Opened:
    """The verified contents of a bundle. `public_key=None` skips the signature (an unsigned bundle, on request
    only); every file's digest is checked all the same. Raises BundleError."""
    files = unpack(archive)
    manifest_bytes = files.pop(MANIFEST, None)
    signatures = files.pop(SIGNATURES, None)
    if manifest_bytes is None:
        raise BundleError("bad_manifest", f"the bundle has no `{MANIFEST}`", "build bundles with `pdp bundle build`")
    signed_by = verify(manifest_bytes, signatures, public_key) if public_key is not None else None
    manifest = read_manifest(manifest_bytes)
    listed = {entry.path: entry for entry in manifest.files}
    unlisted, missing = sorted(files.keys() - listed.keys()), sorted(listed.keys() - files.keys())
    if unlisted or missing:
        what = (f"`{unlisted[0]}` is in the bundle but not in its manifest" if unlisted
                else f"`{missing[0]}` is in the manifest but not in the bundle")
        raise BundleError("bad_digest", what, "the bundle was altered after it was built; rebuild it")
    for path, data in files.items():
        if sha256_hex(data) != listed[path].sha256 or len(data) != listed[path].size:
            raise BundleError("bad_digest", f"`{path}` does not have the sha256 the manifest gives it",
                              "the bundle was altered after it was built; rebuild it")
    if content_digest(files) != manifest.digest:
        raise BundleError("bad_digest", "the files do not have the content digest the manifest gives",
                          "the bundle was altered after it was built; rebuild it")
    return Opened(manifest, files, signed_by)


def load_bundle(opened: Opened, index: bool = True) -> PolicySet:
    """The policy set of an opened bundle, built by the loader from a private copy of its files.

    Raises BundleError (policy_errors, with each error named by its path in the bundle)."""
    with tempfile.TemporaryDirectory(prefix="pdp-bundle-") as scratch:
        root = Path(scratch) / "set"
        _write(root, opened.files)
        try:
            policy_set = load(root, index=index)
        except PolicyError as error:
            errors = [_inside(d, root).to_dict() for d in error.diagnostics if d.severity == "error"]
            raise BundleError("policy_errors", f"the bundle's policy set has {len(errors)} error(s); the first: "
                              f"{errors[0]['file']}:{errors[0]['line']}:{errors[0]['col']}: {errors[0]['message']}",
                              "run `pdp check` on the directory it was built from", errors) from None
    if policy_set.digest != opened.manifest.policy.digest:
        raise BundleError("bad_digest", f"the bundle builds a set with digest {policy_set.digest}, not the "
                          f"{opened.manifest.policy.digest} its manifest names", "rebuild the bundle with `pdp bundle build`")
    return policy_set


def _write(root: Path, files: dict[str, bytes]) -> None:
    """The files under `root`, a directory made for them: plain new files only (names checked by unpack)."""
    root.mkdir(mode=0o700)
    for path, data in files.items():
        target = root.joinpath(*path.split("/"))
        try:
            target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
        except (FileExistsError, NotADirectoryError):  # `a` and `a/b` both: a file and a folder of one name
            raise BundleError("bad_archive", f"`{path}` cannot be unpacked: a file and a folder of the same name",
                              "rebuild the bundle with `pdp bundle build`") from None
        with os.fdopen(fd, "wb") as out:
            out.write(data)


def _inside(diagnostic, root: Path):
    """A diagnostic named by the file's path in the bundle, not by where it was unpacked (its fixes' too)."""
    def in_bundle(file: str) -> str:
        for base in (str(root), str(root.resolve())):
            if file == base or file.startswith(base + os.sep):
                return file[len(base) + 1:] or "."
        return file

    return diagnostic.renamed(in_bundle)


__all__ = ["Built", "Opened", "build_bundle", "load_bundle", "open_bundle", "set_files"]
