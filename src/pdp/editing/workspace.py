"""A workspace: the texts of one policy set as an editor holds them, edits included (pure: no I/O here).

Paths are named as `pdp.io.loader` names them, starting with the set's directory as given
(`policies/marketing.pdp`); `root` is that directory. A workspace never changes: an edit makes a new one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import PurePosixPath
from typing import Mapping

from pdp.engine.sources import Sources

VOCABULARY_FILE = "vocabulary.yaml"
DATA_DIR = "data"
TESTS_DIR = "tests"
VERSIONS_DIR = "versions"
CLAUSES_FILE = "clauses.yaml"
PRIVACY_POLICY_FILE = "privacy-policy.txt"
YAML_SUFFIXES = (".yaml", ".yml")

# what a file is, for an editor (the studio's `kind`)
POLICY, VOCABULARY, DATA, TESTS, CLAUSES, TEXT = "policy", "vocabulary", "data", "tests", "clauses", "text"


@dataclass(frozen=True)
class Workspace:
    """The texts of a policy set by path (policy files, vocabulary.yaml, data/, tests/, clauses.yaml, the
    privacy policy), and the directory they are below."""

    root: str
    texts: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "texts", dict(self.texts))  # a copy: the caller's dict may change after

    def __hash__(self) -> int:
        return hash((self.root, tuple(sorted(self.texts.items()))))

    def edited(self, path: str, text: str) -> Workspace:
        """This workspace with the text of `path` replaced (or added)."""
        return self.with_texts({path: text})

    def with_texts(self, texts: Mapping[str, str]) -> Workspace:
        """This workspace with the texts of these paths replaced (or added)."""
        return Workspace(self.root, {**self.texts, **texts})

    def relative(self, path: str) -> str:
        """`path` below the root, `/`-separated (`data/processors.yaml`); the path itself when it is not below."""
        return relative_to(self.root, path)

    def path_of(self, relative: str) -> str:
        """The workspace's path of a file named below the root (`vocabulary.yaml` -> `policies/vocabulary.yaml`)."""
        if self.root in ("", "."):
            return relative
        return f"{self.root.rstrip('/')}/{relative}"

    def kind(self, path: str) -> str | None:
        """What the file is (`policy`, `vocabulary`, `data`, `tests`, `clauses`, `text`), None when it is none of
        the set's files."""
        return kind_of(self.relative(path))

    def paths_of(self, kind: str) -> list[str]:
        """The paths of the files of one kind, in order."""
        return sorted(p for p in self.texts if self.kind(p) == kind)

    @cached_property
    def sources(self) -> Sources:
        """The texts `engine.build` builds (what `pdp.io.loader.read_sources` would read; no versions/)."""
        policies, data = {}, {}
        vocabulary = None
        for path in sorted(self.texts):
            kind = self.kind(path)
            if kind == POLICY:
                policies[path] = self.texts[path]
            elif kind == DATA:
                data[path] = self.texts[path]
            elif kind == VOCABULARY:
                vocabulary = (path, self.texts[path])
        return Sources(policies, vocabulary, data, root=self.root)


def relative_to(root: str, path: str) -> str:
    if root in ("", "."):
        return PurePosixPath(path).as_posix()
    try:
        return PurePosixPath(path).relative_to(PurePosixPath(root)).as_posix()
    except ValueError:
        return path


def kind_of(relative: str) -> str | None:
    """The kind of a file by its path below the set's directory, as the loader tells them apart."""
    parts = PurePosixPath(relative).parts
    if not parts or parts[0] in ("..", "/"):
        return None
    name = parts[-1]
    if name.endswith(".pdp"):
        return POLICY if parts[0] != VERSIONS_DIR else None
    if len(parts) == 1:
        return {VOCABULARY_FILE: VOCABULARY, CLAUSES_FILE: CLAUSES, PRIVACY_POLICY_FILE: TEXT}.get(name)
    if len(parts) == 2 and name.endswith(YAML_SUFFIXES):
        return {DATA_DIR: DATA, TESTS_DIR: TESTS}.get(parts[0])
    return None
