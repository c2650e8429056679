"""The archive: a gzipped tar of plain files, written reproducibly and read within bounds.

Reading trusts nothing: the archive is decompressed through a counter that
stops it past `MAX_BUNDLE_BYTES` (a gzip bomb costs no more than that), and
only plain files with plain relative names are accepted: no links, devices
or directories, no absolute paths, no `..`, no name given twice, at most
`MAX_FILES` files. Nothing is written to disk here.
"""

from __future__ import annotations

import gzip
import io
import tarfile
import zlib
from pathlib import PurePosixPath

from pdp.base.limits import MAX_BUNDLE_BYTES, MAX_FILE_BYTES, MAX_FILES, MAX_MANIFEST_BYTES

from .errors import BundleError

MANIFEST = ".manifest"
SIGNATURES = ".signatures.json"
MAX_NAME_CHARS = 1024
_REBUILD = "rebuild it with `pdp bundle build`"


def pack(files: dict[str, bytes]) -> bytes:
    """A tar.gz of `files` (name -> bytes), in the order given; the same files give the same bytes."""
    out = io.BytesIO()
    with gzip.GzipFile(fileobj=out, mode="wb", mtime=0) as zipped, tarfile.open(fileobj=zipped, mode="w",
                                                                                 format=tarfile.PAX_FORMAT) as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), 0o644, 0
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


class _Bounded(io.RawIOBase):
    """A stream that refuses to give more than `limit` bytes in all (what a decompressed archive may cost)."""

    def __init__(self, inner, limit: int):
        self.inner, self.left = inner, limit

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self.inner.read(min(len(buffer), self.left + 1))
        if len(data) > self.left:
            raise BundleError("too_large", f"the unpacked bundle is larger than {MAX_BUNDLE_BYTES // (1024 * 1024)} MB",
                              "a bundle holds one policy set (at most 16 MB of files)")
        self.left -= len(data)
        buffer[:len(data)] = data
        return len(data)


def unpack(archive: bytes) -> dict[str, bytes]:
    """The files of a tar.gz bundle, by name. Raises BundleError (too_large or bad_archive)."""
    if len(archive) > MAX_BUNDLE_BYTES:
        raise BundleError("too_large", f"the bundle is larger than {MAX_BUNDLE_BYTES // (1024 * 1024)} MB",
                          "a bundle holds one policy set (at most 16 MB of files)")
    stream = io.BufferedReader(_Bounded(gzip.GzipFile(fileobj=io.BytesIO(archive), mode="rb"), MAX_BUNDLE_BYTES))
    files: dict[str, bytes] = {}
    total = 0
    try:
        with tarfile.open(fileobj=stream, mode="r|") as tar:  # a stream: one pass, nothing seeks back
            for member in tar:
                name = checked_name(member.name)
                if member.type not in (tarfile.REGTYPE, tarfile.AREGTYPE):
                    raise BundleError("bad_archive", f"`{name}` in the bundle is not a plain file "
                                      "(a link, a directory or a device)", f"a bundle holds plain files only; {_REBUILD}")
                if name in files:
                    raise BundleError("bad_archive", f"`{name}` is in the bundle twice", _REBUILD)
                if len(files) >= MAX_FILES + 2:  # the set's files, the manifest and the signatures
                    raise BundleError("too_large", f"the bundle has more than {MAX_FILES:,} files",
                                      "a bundle holds one policy set")
                limit = MAX_MANIFEST_BYTES if name == MANIFEST else MAX_FILE_BYTES
                if member.size > limit:
                    raise BundleError("too_large", f"`{name}` in the bundle is larger than {limit // 1024} KB",
                                      "a policy, vocabulary or data file is at most 512 KB")
                total += member.size
                if total > MAX_BUNDLE_BYTES:
                    raise BundleError("too_large", f"the bundle's files are larger than "
                                      f"{MAX_BUNDLE_BYTES // (1024 * 1024)} MB in all", "a bundle holds one policy set")
                handle = tar.extractfile(member)
                data = handle.read() if handle is not None else b""
                if len(data) != member.size:
                    raise BundleError("bad_archive", f"`{name}` is cut short in the bundle", _REBUILD)
                files[name] = data
    except (tarfile.TarError, EOFError, OSError, zlib.error, UnicodeError) as error:
        raise BundleError("bad_archive", f"the bundle is not a readable tar.gz archive ({error.__class__.__name__})",
                          f"the download may be cut short, or it is not a pdp bundle; {_REBUILD}") from None
    return files


def checked_name(name: str) -> str:
    """`name` if it is a plain relative path inside the bundle (no `..`, no root, no odd characters)."""
    plain = (0 < len(name) <= MAX_NAME_CHARS and not PurePosixPath(name).is_absolute() and "\\" not in name
             and all(part not in ("", ".", "..") for part in name.split("/"))
             and not any(ord(c) < 32 or c == "\x7f" for c in name))
    if not plain:
        shown = name[:200].encode("unicode_escape").decode()
        raise BundleError("bad_archive", f"the bundle holds an entry with an unsafe name `{shown}`",
                          "entries are relative paths inside the bundle, without `..`; the bundle is refused whole")
    return name
