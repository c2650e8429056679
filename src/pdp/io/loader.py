"""Policy set directories on disk -> Sources. The only file I/O of the core."""

from __future__ import annotations

import os
import stat
from dataclasses import replace
from pathlib import Path

from pdp.base.errors import Diagnostic, PolicyError
from pdp.base.limits import MAX_FILE_BYTES, MAX_FILES, MAX_SET_BYTES
from pdp.base.source import Span
from pdp.engine.build import build
from pdp.engine.policy_set import PolicySet
from pdp.engine.sources import EarlierVersion, Sources

VOCABULARY_FILE = "vocabulary.yaml"
DATA_DIR = "data"
TESTS_DIR = "tests"
VERSIONS_DIR = "versions"  # earlier versions of the set, one directory each (§11)


def read_sources(directory: str | Path, within: str | Path | None = None) -> Sources:
    """The texts of a policy set directory. Every file problem is a PolicyError, all of them at once.

    Only regular files inside the directory (or `within`, the set an earlier
    version belongs to) are read: a link that leads out of it, a FIFO, a
    device or a directory named `x.pdp` is refused before it is opened, so
    no error ever quotes a file outside the policy set. Sizes are capped
    (pdp.base.limits).
    """
    root = Path(directory)
    if not root.is_dir():
        raise PolicyError([Diagnostic("no-policies", f"`{directory}` is not a directory", Span(str(directory), 0, 0),
                                      "point pdp at a policy set directory, e.g. `policies`")])
    reader = _Reader(Path(within) if within is not None else root)
    if not reader.inside(root.resolve()):
        reader.refuse(root, "this directory is a link that leads out of the policy set",
                      "copy the files into the policy directory instead of linking to them")
        raise PolicyError(reader.problems)
    policies = {}
    for path in _policy_files(root, reader):
        text = reader.read(path)
        if text is not None:
            policies[_rel(path)] = text
    if not policies and not reader.problems:
        raise no_policy_files(str(directory))
    vocabulary = None
    vocab_path = root / VOCABULARY_FILE
    if vocab_path.exists() or vocab_path.is_symlink():
        text = reader.read(vocab_path)
        vocabulary = (_rel(vocab_path), text) if text is not None else None
    data = {}
    data_dir = root / DATA_DIR
    if data_dir.is_dir():
        for path in sorted([*data_dir.glob("*.yaml"), *data_dir.glob("*.yml")]):
            text = reader.read(path)
            if text is not None:
                data[_rel(path)] = text
    if reader.problems:
        raise PolicyError(reader.problems)
    return Sources(policies, vocabulary, data, root=_rel(root))


def read_file(path: str | Path, within: str | Path) -> str:
    """One file of a policy set, read as read_sources reads it (`pdp fmt`). Raises PolicyError."""
    reader = _Reader(Path(within))
    text = reader.read(Path(path))
    if text is None:
        raise PolicyError(reader.problems)
    return text


def _policy_files(root: Path, reader: "_Reader") -> list[Path]:
    """Every `*.pdp` below `root`, but under versions/; links to directories are not followed."""
    found = []

    def unreadable(error: OSError) -> None:
        reader.refuse(Path(error.filename or root), f"this directory cannot be read ({error.strerror})",
                      "give pdp permission to read it")

    for folder, dirs, files in os.walk(root, onerror=unreadable):
        here = Path(folder)
        if here == root and VERSIONS_DIR in dirs:
            dirs.remove(VERSIONS_DIR)  # earlier versions are policy sets of their own
        for name in dirs:
            if name.endswith(".pdp"):
                found.append(here / name)  # refused by the reader: not a file
        found += [here / name for name in files if name.endswith(".pdp")]
        if len(found) > MAX_FILES:
            reader.refuse(root, f"more than {MAX_FILES:,} policy files", "a policy set is a few files of rules")
            return []
    return sorted(found)


class _Reader:
    """Reads the files of one policy set, within its bounds, and collects what it refuses."""

    def __init__(self, top: Path):
        self.top = top.resolve()
        self.total = 0  # bytes read
        self.count = 0  # files read
        self.problems: list[Diagnostic] = []

    def inside(self, path: Path) -> bool:
        return path == self.top or self.top in path.parents

    def refuse(self, path: Path, message: str, hint: str, code: str = "unreadable") -> None:
        self.problems.append(Diagnostic(code, message, Span(_rel(path), 1, 1), hint))

    def read(self, path: Path) -> str | None:
        self.count += 1
        if self.count > MAX_FILES:
            if self.count == MAX_FILES + 1:
                self.refuse(path, f"more than {MAX_FILES:,} files in the policy set",
                            "a policy set is a few files of rules and registers", "too-large")
            return None
        try:
            target = path.resolve(strict=True)  # every link on the way, the folders' too
        except (OSError, RuntimeError):
            self.refuse(path, "this link points to nothing" if path.is_symlink() else "this file cannot be found",
                        "remove the link, or point it at a file in the policy set")
            return None
        if not self.inside(target):
            # never open it: no error may show what lies outside the policy set
            self.refuse(path, "this link leads out of the policy directory",
                        "copy the file into the policy directory instead of linking to it")
            return None
        try:
            # O_NONBLOCK: a FIFO must not hang the read; the type is checked on what was opened
            fd = os.open(target, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0))
        except OSError as error:
            self.refuse(path, f"this file cannot be read ({error.strerror or error})", "give pdp permission to read it")
            return None
        kind = os.fstat(fd).st_mode
        if not stat.S_ISREG(kind):
            os.close(fd)
            what = ("a directory" if stat.S_ISDIR(kind) else "a FIFO" if stat.S_ISFIFO(kind) else
                    "a device" if stat.S_ISCHR(kind) or stat.S_ISBLK(kind) else "a socket" if stat.S_ISSOCK(kind)
                    else "not a regular file")
            self.refuse(path, f"this is {what}, not a plain file", "policy, data and test files are plain text files")
            return None
        with os.fdopen(fd, "rb") as handle:
            raw = handle.read(MAX_FILE_BYTES + 1)
        if len(raw) > MAX_FILE_BYTES:
            self.refuse(path, f"this file is larger than {MAX_FILE_BYTES // 1024} KB", "split it into several files",
                        "too-large")
            return None
        self.total += len(raw)
        if self.total > MAX_SET_BYTES:
            self.refuse(path, f"the policy set is larger than {MAX_SET_BYTES // (1024 * 1024)} MB",
                        "a policy set is a few files of rules and registers", "too-large")
            return None
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as error:
            self.refuse(path, f"the file is not UTF-8 text ({error.reason})", "save it as UTF-8", "encoding")
            return None


def load(directory: str | Path = "policies", index: bool = True, reuse: bool = True) -> PolicySet:
    """Read a policy set directory, with its earlier versions, and build it (parse, check, compile).

    `reuse=False` parses every file afresh (see `engine.build.build`)."""
    current = read_sources(directory)
    try:
        earlier = read_versions(directory)
    except PolicyError:
        build(current, index=index, directory=Path(directory), reuse=reuse)  # the current set's own errors first
        raise
    return build(replace(current, versions=earlier), index=index, directory=Path(directory), reuse=reuse)


def read_versions(directory: str | Path) -> tuple[EarlierVersion, ...] | None:
    """The earlier versions under versions/ (§11), by directory name; None when there is no versions/."""
    versions_dir = Path(directory) / VERSIONS_DIR
    if not versions_dir.is_dir():
        return None
    return tuple(EarlierVersion(d, read_sources(d, within=directory))
                 for d in sorted(versions_dir.iterdir()) if d.is_dir())


def no_policy_files(directory: str) -> PolicyError:
    return PolicyError([Diagnostic("no-policies", f"no policy files (*.pdp) in `{directory}`", Span(str(directory), 0, 0),
                                   "point pdp at a policy set directory, e.g. `policies`")])


def _rel(path: Path) -> str:
    # Diagnostics name files as the user would type them: relative to where pdp runs. Nothing is resolved:
    # a link keeps its own name, and so does a policy directory that is a link (an atomic deploy).
    if path.is_absolute():
        try:
            here = Path.cwd()
        except OSError:  # pdp runs from a directory that was deleted: name the file as given
            return str(path)
        for cwd in (here, here.resolve()):
            try:
                return str(path.relative_to(cwd))
            except ValueError:
                continue
    return str(path)
