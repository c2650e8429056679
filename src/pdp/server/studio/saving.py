"""Saving the edited files: atomically, only a set that checks, and never over a change made on disk since.

The route checks the edited set first (with errors: 409 and nothing is
written). Then, here: `base` (optional, `{path: sha256 of the text the
editor started from}`) refuses a file that changed on disk since the editor
read it (409 naming it); each file is written to a temporary file beside
it, flushed to disk (fsync), and only once every one is written are they
moved over the old ones (`os.replace`, atomic within a directory). A write
that fails leaves every old file as it was, and no temporary file behind.
A file that is a link inside the set is written through the link (its
target, inside the set: `edits.checked_edits` refused the others).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat
import tempfile
from pathlib import Path
from typing import Any

from .errors import StudioError, bad_field

NEW_FILE_MODE = 0o644


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def checked_base(body: dict[str, Any], edits: dict[str, str]) -> dict[str, str | None]:
    """The body's `base`: for edited paths, the sha256 (hex, `sha256:` optional) each started from; null: a new
    file, which must not exist yet."""
    base = body.get("base")
    if base is None:
        return {}
    if not isinstance(base, dict):
        raise bad_field("base", "`base` is an object of file paths and the sha256 of the text each started from")
    out: dict[str, str | None] = {}
    for path, digest in base.items():
        if path not in edits:
            raise bad_field(f"base.{path}", "a `base` is given only for a file in `edits`")
        if digest is None:
            out[path] = None
            continue
        if not isinstance(digest, str) or len(digest.removeprefix("sha256:")) != 64:
            raise bad_field(f"base.{path}", "the sha256 of the text, 64 hexadecimal digits (`sha256:` optional)")
        out[path] = digest.removeprefix("sha256:").lower()
    return out


def conflicts(directory: Path, base: dict[str, str | None]) -> list[dict[str, str]]:
    """The files changed on disk since the editor read them (each named as its `base` field)."""
    problems = []
    for path, digest in base.items():
        target = directory / path
        try:
            current = sha256_text(target.read_text(encoding="utf-8")) if target.exists() else None
        except (OSError, UnicodeDecodeError):
            current = "unreadable"
        if current != digest:
            what = ("was created on disk since" if digest is None else "was removed from disk since"
                    if current is None else "changed on disk since")
            problems.append({"field": f"base.{path}", "message": f"`{path}` {what} the editor read it; reload it, "
                                                                 "and edit again"})
    return problems


def save(directory: Path, edits: dict[str, str], base: dict[str, str | None]) -> list[str]:
    """Write `edits` (checked paths below `directory`) atomically; the paths written. Raises StudioError (409) on a
    conflict with `base`, before anything is written."""
    problems = conflicts(directory, base)
    if problems:
        raise StudioError(409, "changed_on_disk", problems)
    staged: list[tuple[str, Path]] = []
    try:
        for path, text in sorted(edits.items()):
            staged.append((_stage(directory / path, text), _target(directory / path)))
        for temporary, target in staged:
            os.replace(temporary, target)
            _sync_folder(target.parent)
    except OSError as error:
        for temporary, _ in staged:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
        raise StudioError(500, "write_failed", [{"field": "edits", "message": f"the files could not be written "
                          f"({error.strerror or error.__class__.__name__}); the files on disk are unchanged"}]) from None
    return sorted(edits)


def _target(path: Path) -> Path:
    return path.resolve() if path.is_symlink() else path


def _stage(path: Path, text: str) -> str:
    """`text` in a temporary file beside `path`'s target, on disk (fsync), with the mode of the file it replaces."""
    target = _target(path)
    target.parent.mkdir(exist_ok=True)  # data/ or tests/ of a set that had none (inside the set: checked)
    try:
        mode = stat.S_IMODE(target.stat().st_mode)
    except FileNotFoundError:
        mode = NEW_FILE_MODE
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".pdp-studio")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(text.encode("utf-8"))
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temporary, mode)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    return temporary


def _sync_folder(folder: Path) -> None:
    """The rename itself on disk (a folder's fsync; not every file system allows it)."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
