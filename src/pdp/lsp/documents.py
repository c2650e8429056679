"""Which policy set a file belongs to, and the set's texts as the editor holds them (the edge that reads disk).

A file belongs to the nearest directory up that holds policy files (`*.pdp`) or a `vocabulary.yaml`, and
above it to the highest one of an unbroken run of such directories (a set's policies may lie in folders of
their own, as `pdp.io.loader` reads them), but never above a directory of `versions/` (an earlier version is a
set of its own). The documents open in the editor overlay the texts on disk: what is checked is what the
user sees, saved or not.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Mapping

from pdp.base.errors import Diagnostic, PolicyError
from pdp.editing import Workspace, read_workspace

VOCABULARY_FILE = "vocabulary.yaml"
VERSIONS_DIR = "versions"


def holds_policies(folder: Path) -> bool:
    """True when `folder` holds a policy file or a vocabulary (and can be read)."""
    try:
        return (folder / VOCABULARY_FILE).is_file() or any(folder.glob("*.pdp"))
    except OSError:
        return False


def set_directory(file: Path) -> Path | None:
    """The directory of the policy set `file` belongs to, None when there is none."""
    folder = file.parent
    while not holds_policies(folder):
        if folder.parent == folder:
            return None
        folder = folder.parent
    while folder.parent != folder and folder.parent.name != VERSIONS_DIR and holds_policies(folder.parent):
        folder = folder.parent
    return folder


def loader_name(folder: Path) -> str:
    """A directory named as `pdp.io.loader` names it: relative to where pdp runs when it lies below it."""
    try:
        return str(folder.relative_to(Path.cwd()))
    except (ValueError, OSError):
        return str(folder)


@dataclass(frozen=True)
class PolicySet:
    """One policy set as the editor sees it: its workspace (disk overlaid with the open documents), where it
    lies, and the problems met reading it from disk."""

    directory: Path
    workspace: Workspace
    read_errors: tuple[Diagnostic, ...] = ()

    def path_of(self, file: Path) -> str:
        """The workspace's path of a file of this set."""
        return self.workspace.path_of(file.relative_to(self.directory).as_posix())

    def file_of(self, path: str) -> Path:
        """The file on disk a workspace path (or a path the loader named) stands for."""
        below = self.workspace.relative(path)
        if below != path or self.workspace.root in ("", "."):
            return self.directory / below
        return Path(path) if Path(path).is_absolute() else Path.cwd() / path

    def overlaid(self, open_texts: Mapping[Path, str]) -> PolicySet:
        """This set with the texts of the open documents that belong to it over the texts on disk."""
        overlay = {self.path_of(file): text for file, text in open_texts.items() if self.contains(file)}
        return replace(self, workspace=self.workspace.with_texts(overlay)) if overlay else self

    def contains(self, file: Path) -> bool:
        """True when `file` is one of the set's files (a policy, the vocabulary, a register, a test, ...)."""
        try:
            below = file.relative_to(self.directory)
        except ValueError:
            return False
        return self.workspace.kind(self.workspace.path_of(below.as_posix())) is not None


def read_set(directory: Path) -> PolicySet:
    """The set in `directory` as it is on disk. A set that cannot be read (a file that is not UTF-8, too large,
    a link out of the set) is empty, with the problems met (but `no-policies`: an open document may be the set's
    first file)."""
    try:
        return PolicySet(directory, read_workspace(str(directory)))
    except PolicyError as error:
        problems = tuple(found for found in error.diagnostics if found.code != "no-policies")
        return PolicySet(directory, Workspace(loader_name(directory), {}), problems)


def absolute(path: str) -> Path:
    """A file's absolute path, without resolving links (a link keeps its own name, as the loader keeps it)."""
    return Path(os.path.abspath(path))
