"""The manifest (`.manifest`): what a bundle holds, and the digest that names its content.

```json
{"format": "pdp-bundle/1", "revision": "2026-11-24", "digest": "sha256:...",
 "policy": {"name": "cx-one-go", "version": "2026-11-24", "digest": "sha256:..."},
 "files": [{"path": "children.pdp", "sha256": "...", "size": 1234}, ...],
 "created_at": "2026-11-30T12:00:00+00:00", "pdp_version": "0.1.0"}
```

`digest` is the content address: the sha256 of the lines `<sha256>  <path>`
(one per file, sorted by path, each ending in a newline), so the same files
have the same digest whenever and by whomever they are packed. `policy.digest`
is the digest the set answers with (`policy.digest` in every decision).
The signature covers the manifest's exact bytes, and so every file's digest.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from .archive import checked_name
from .errors import BundleError

FORMAT = "pdp-bundle/1"
_REVISION = r"^[\x21-\x7e]([\x20-\x7e]{0,126}[\x21-\x7e])?$"  # printable ASCII, no blanks at the ends


class FileEntry(BaseModel):
    model_config = ConfigDict(frozen=True)

    path: str
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    size: int = Field(ge=0)

    @field_validator("path")
    @classmethod
    def _plain(cls, path: str) -> str:
        try:
            return checked_name(path)
        except BundleError as error:
            raise ValueError(error.message) from None


class PolicyInfo(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    version: str
    digest: str


class Manifest(BaseModel):
    model_config = ConfigDict(frozen=True)

    format: str = FORMAT
    revision: str = Field(pattern=_REVISION)
    digest: str = Field(pattern=r"^sha256:[0-9a-f]{64}$")
    policy: PolicyInfo
    files: tuple[FileEntry, ...] = Field(min_length=1)
    created_at: str
    pdp_version: str

    @field_validator("format")
    @classmethod
    def _known(cls, value: str) -> str:
        if value != FORMAT:
            raise ValueError(f"`{value}` is not a bundle format this pdp reads ({FORMAT})")
        return value

    def to_bytes(self) -> bytes:
        return json.dumps(self.model_dump(mode="json"), indent=2, ensure_ascii=False).encode() + b"\n"


def content_digest(files: Mapping[str, bytes | str]) -> str:
    """The content address of files (path -> bytes, or path -> sha256 hex)."""
    lines = "".join(f"{sha256_hex(data)}  {path}\n" for path, data in sorted(files.items()))
    return "sha256:" + hashlib.sha256(lines.encode()).hexdigest()


def sha256_hex(data: bytes | str) -> str:
    """The sha256 of bytes, in hex (a hex digest given is kept)."""
    return data if isinstance(data, str) else hashlib.sha256(data).hexdigest()


def entries_of(files: dict[str, bytes]) -> tuple[FileEntry, ...]:
    return tuple(FileEntry(path=path, sha256=sha256_hex(data), size=len(data)) for path, data in sorted(files.items()))


def read_manifest(data: bytes) -> Manifest:
    """The manifest in `data`; BundleError (bad_manifest) names what is wrong with it."""
    try:
        return Manifest.model_validate(json.loads(data))
    except (ValueError, RecursionError) as error:  # not JSON (or nested past Python's stack), or a field refused
        if isinstance(error, ValidationError):
            first = error.errors(include_url=False)[0]
            where = ".".join(str(p) for p in first["loc"]) or "manifest"
            detail = f"`{where}`: {first['msg'].removeprefix('Value error, ')}"
        else:
            detail = "it is not JSON"
        raise BundleError("bad_manifest", f"the bundle's manifest is not valid ({detail})",
                          "rebuild the bundle with `pdp bundle build`") from None


def revision_problem(revision: str) -> str | None:
    """Why `revision` cannot name a bundle, or None."""
    if re.fullmatch(_REVISION, revision):
        return None
    return "a revision is 1 to 128 printable ASCII characters, without blanks at either end"
