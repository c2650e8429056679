"""The set the studio edits: the files on disk (`pdp.editing.read_workspace`) with the call's `edits` over them.

Paths: the studio's API names a file relative to the set's directory,
`/`-separated (`marketing.pdp`, `data/processors.yaml`), whatever directory
the server was given and wherever it runs; the workspace names it as the
loader does (`policies/marketing.pdp`, or an absolute path). `Place`
converts between the two, and every `file` an answer carries (diagnostics,
quick fixes, locations, rules, coverage) is given in the API's form, so the
front end matches it with the path `/files` listed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pdp.base.errors import PolicyError
from pdp.base.source import Span
from pdp.editing import Workspace, read_workspace
from pdp.editing.workspace import TEXT, kind_of as kind_in_set, relative_to
from .edits import kind_of
from .saving import sha256_text
from .errors import StudioError

@dataclass(frozen=True)
class Place:
    """Where the set is: its directory on disk, and the root its workspace paths start with."""

    directory: Path
    root: str

    def relative(self, path: str) -> str:
        """A workspace path in the API's form (unchanged when it is not below the set's root: `<unknown>`)."""
        return relative_to(self.root, path)

    def in_workspace(self, path: str) -> str:
        return Workspace(self.root).path_of(path)

    def location(self, span: Span) -> dict[str, Any]:
        return {"file": self.relative(span.file), "line": span.line, "col": span.col,
                "end_line": span.end_line or span.line, "end_col": span.end_col or span.col}

    def diagnostic(self, entry: dict[str, Any]) -> dict[str, Any]:
        """`Diagnostic.to_dict()` with its file, and its quick fixes' files, in the API's form."""
        out = {**entry, "file": self.relative(str(entry.get("file", "")))}
        if "fixes" in entry:
            out["fixes"] = [{**fix, "edits": [{**edit, "file": self.relative(str(edit.get("file", "")))}
                                              for edit in fix.get("edits", ())]} for fix in entry["fixes"]]
        return out

    def diagnostics(self, found) -> list[dict[str, Any]]:
        return [self.diagnostic(d.to_dict()) for d in found]


def read_set(directory: Path) -> tuple[Workspace, Place]:
    """The set on disk (an edge: it reads files). A set whose files cannot be read is refused (422, the
    loader's errors as diagnostics, e.g. a link leading out of the set)."""
    try:
        workspace = read_workspace(str(directory))
    except PolicyError as error:
        place = Place(directory, str(directory))
        raise StudioError(422, "unreadable", [{"field": "policy_dir", "message": "the policy set's files cannot be "
                          "read"}], diagnostics=place.diagnostics(error.diagnostics)) from None
    return workspace, Place(directory, workspace.root)


def edited(workspace: Workspace, place: Place, edits: dict[str, str]) -> Workspace:
    """`workspace` with the checked `edits` (API paths) laid over it."""
    if not edits:
        return workspace
    return workspace.with_texts({place.in_workspace(path): text for path, text in edits.items()})


def sizes(workspace: Workspace, place: Place) -> dict[str, int]:
    """Each file's size in bytes by API path (the set's limit counts them with the edits)."""
    return {place.relative(path): len(text.encode("utf-8", "surrogatepass")) for path, text in workspace.texts.items()}


def file_kind(path: str) -> str | None:
    """What `/files` lists a file as: a file the studio edits (`edits.kind_of`), or the privacy policy's text (read
    beside the set and shown, never edited)."""
    return kind_of(path) or (TEXT if kind_in_set(path) == TEXT else None)


def listing(workspace: Workspace, place: Place) -> list[dict[str, str]]:
    """The files `/files` lists: those the studio edits, and the texts shown beside them, in a stable order; each
    with the sha256 of its text (what a save's `base` names)."""
    out = []
    for path, text in workspace.texts.items():
        relative = place.relative(path)
        kind = file_kind(relative)
        if kind is not None:
            out.append({"path": relative, "kind": kind, "text": text, "sha256": sha256_text(text)})
    order = ("policy", "vocabulary", "data", "tests", "clauses", "text")
    return sorted(out, key=lambda f: (order.index(f["kind"]), f["path"]))
