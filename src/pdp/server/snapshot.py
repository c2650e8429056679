"""A consistent snapshot of a policy directory: load it only if no file moved while it was read.

An editor or a copy writes a file in pieces; a reload that reads between two
pieces would serve a half-written set, and a first half that is valid on
its own (the allow rules, without the deny rules after them) is a wrong
allow. So a reload fingerprints the directory (every policy, vocabulary and
data file: path, type, inode, size, modification and change times), reads
and compiles it, and fingerprints it again: a snapshot whose files changed
while they were read is thrown away (`Moved`) and read again once the
directory is quiet.

Which files may be read is decided in one place, the loader (pdp.io.loader):
a FIFO, a socket, a device, a link out of the set or an oversized file is
refused there, with the diagnostic `pdp check` gives, before it is read
(a FIFO is opened without blocking and refused on its type).
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

from pdp.io.loader import load
from pdp.engine.policy_set import PolicySet

WATCHED_SUFFIXES = (".pdp", ".yaml", ".yml")


@dataclass(frozen=True)
class Entry:
    path: str  # below the root
    kind: str  # "file", "directory", "fifo", "socket", "device", "missing" (a broken symlink)
    inode: int
    size: int
    mtime_ns: int
    ctime_ns: int


Fingerprint = tuple[Entry, ...]


class ReloadFault(Exception):
    """A reload that failed for a reason it can name (not an error in the policy files)."""

    def __init__(self, message: str, hint: str):
        super().__init__(message)
        self.message, self.hint = message, hint


class Moved(ReloadFault):
    """The directory changed while it was read: the snapshot is not one state of it."""

    def __init__(self, directory: Path):
        super().__init__(f"`{directory}` changed while it was read",
                         "deploy policy changes atomically (see docs/service.md); the last good set keeps serving")


def _kind(mode: int) -> str:
    if stat.S_ISREG(mode):
        return "file"
    if stat.S_ISDIR(mode):
        return "directory"
    if stat.S_ISFIFO(mode):
        return "fifo"
    if stat.S_ISSOCK(mode):
        return "socket"
    return "device"


def fingerprint(root: Path) -> Fingerprint:
    """Every entry with a policy-set suffix below `root`, as `stat` sees it (symlinks followed)."""
    entries = []
    for folder, dirs, files in os.walk(root, followlinks=False):
        dirs.sort()
        for name in sorted(dirs + files):
            if not name.endswith(WATCHED_SUFFIXES):
                continue
            path = os.path.join(folder, name)
            relative = os.path.relpath(path, root)
            try:
                info = os.stat(path)
            except OSError:  # a broken symlink, or removed since the walk listed it
                entries.append(Entry(relative, "missing", 0, 0, 0, 0))
                continue
            entries.append(Entry(relative, _kind(info.st_mode), info.st_ino, info.st_size, info.st_mtime_ns,
                                 info.st_ctime_ns))
    return tuple(entries)


@dataclass(frozen=True)
class Snapshot:
    """A policy set loaded from one state of its directory, with that state's fingerprint."""

    policy_set: PolicySet
    fingerprint: Fingerprint


def take_snapshot(directory: Path, index: bool = True) -> Snapshot:
    """Load `directory` as one state of it; `Moved` if it changed while it was read.

    A symlinked directory is resolved once, so a deployment that swaps the
    link mid-read cannot mix files of two releases.
    """
    target = Path(directory).resolve()
    before = fingerprint(target)
    policy_set = load(target, index=index)
    if fingerprint(target) != before or Path(directory).resolve() != target:
        raise Moved(Path(directory))
    return Snapshot(policy_set, before)


def load_snapshot(directory: Path, index: bool = True) -> PolicySet:
    """The policy set of `take_snapshot`."""
    return take_snapshot(directory, index).policy_set


def current_fingerprint(directory: Path) -> Fingerprint:
    """The fingerprint of what `directory` (or the directory it links to) holds now."""
    return fingerprint(Path(directory).resolve())
