"""The texts a policy set is built from: what the loader reads and `build` takes (no I/O here)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath


@dataclass(frozen=True)
class Sources:
    """The texts of one policy set, by path relative to its directory, with its earlier versions.

    `versions` is None when the set has no versions/ directory, and a tuple
    (maybe empty) when it has one: a versions/ directory, even an empty one,
    makes the current set a version too, which must then have an effective
    date (§11).
    """

    policies: dict[str, str]
    vocabulary: tuple[str, str] | None = None  # (path, text)
    data: dict[str, str] = field(default_factory=dict)  # path -> YAML text; data.<stem>
    root: str = ""  # the directory the paths start with, as they name it ("" when they are bare)
    versions: tuple[EarlierVersion, ...] | None = None  # versions/ (§11), in the order of their directories' names

    def digest(self) -> str:
        """The same files give the same digest, wherever pdp runs from (paths count below the root).

        Only this version's files count: an earlier version has a digest of its own."""
        h = hashlib.sha256()
        every = self.relative_texts()
        for path in sorted(every):
            h.update(path.encode() + b"\0" + every[path].encode() + b"\0")
        return "sha256:" + h.hexdigest()

    def relative_texts(self) -> dict[str, str]:
        """This version's texts by path below its root, `/`-separated (what a policy bundle holds)."""
        return {self._below_root(path): text for path, text in self.texts().items()}

    def _below_root(self, path: str) -> str:
        if not self.root:
            return path
        try:
            return PurePosixPath(Path(path).relative_to(self.root)).as_posix()
        except ValueError:
            return path

    def texts(self) -> dict[str, str]:
        """This version's texts by path (what an error's excerpt quotes)."""
        every = dict(self.policies)
        every.update(self.data)
        if self.vocabulary:
            every[self.vocabulary[0]] = self.vocabulary[1]
        return every


@dataclass(frozen=True)
class EarlierVersion:
    """One directory of versions/: where it is (as errors and `pdp check` name it) and its texts."""

    directory: Path
    sources: Sources
