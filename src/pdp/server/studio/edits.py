"""Which files the studio may change, and the `edits` of a call checked against that.

`edits` is `{path: text}`: the files the person changed, laid over the set
on disk. A path is relative to the set's directory, `/`-separated, and
names a file the loader reads as part of the set: `NAME.pdp` at the top
level, `vocabulary.yaml`, `data/NAME.yaml`, `tests/NAME.yaml` or
`clauses.yaml`. Everything else is refused (400, the field named
`edits.<path>`): `..`, an absolute path, another name (`privacy-policy.txt`
is read, not edited; a file under `versions/` is an earlier version, §11),
a path whose file or folder on disk is a link leading out of the set, and a
text over the loader's limits (`pdp.base.limits`: a file, the whole set).
Fail closed: a save can only ever write inside the set, and only files the
set is made of.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from pdp.base.limits import MAX_FILE_BYTES, MAX_FILES, MAX_SET_BYTES
from .errors import StudioError, bad_field

_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-]{0,99}")  # a file name pdp's loader and git both take plainly
_FIXED = {"vocabulary.yaml": "vocabulary", "clauses.yaml": "clauses"}
_FOLDERS = {"data": "data", "tests": "tests"}


def kind_of(path: str) -> str | None:
    """What an editable path holds: "policy", "vocabulary", "data", "tests", "clauses"; None: not editable."""
    if path in _FIXED:
        return _FIXED[path]
    parts = path.split("/")
    if not all(_NAME.fullmatch(part) for part in parts) or ".." in path:
        return None
    if len(parts) == 1 and path.endswith(".pdp") and len(path) > len(".pdp"):
        return "policy"
    if len(parts) == 2 and parts[0] in _FOLDERS and parts[1].endswith(".yaml") and len(parts[1]) > len(".yaml"):
        return _FOLDERS[parts[0]]
    return None


def why_not_editable(path: str) -> str:
    if path.startswith("/") or re.match(r"[A-Za-z]:", path):
        return "an absolute path; name the file relative to the policy set's directory"
    if ".." in path.split("/") or "\\" in path:
        return "a path leading out of the policy set"
    return ("not a file the studio edits: a policy file `NAME.pdp` at the top of the set, `vocabulary.yaml`, "
            "`data/NAME.yaml`, `tests/NAME.yaml` or `clauses.yaml`")


def checked_edits(body: dict[str, Any], on_disk_bytes: dict[str, int], root: Path) -> dict[str, str]:
    """The body's `edits` (absent or null: none), each path editable and each text within the limits.

    `on_disk_bytes`: the size of each file of the set on disk, by the same paths (for the set's limit).
    Raises StudioError (400) naming the field: `edits`, or `edits.<path>`.
    """
    edits = body.get("edits")
    if edits is None:
        return {}
    if not isinstance(edits, dict):
        raise bad_field("edits", "`edits` is an object of file paths and their texts, e.g. {\"marketing.pdp\": \"...\"}")
    if len(edits) > MAX_FILES:
        raise bad_field("edits", f"{len(edits):,} files; a policy set has at most {MAX_FILES:,}")
    sizes = dict(on_disk_bytes)
    for path, text in edits.items():
        field = f"edits.{path}"
        if kind_of(path) is None:
            raise bad_field(field, f"`{path}`: {why_not_editable(path)}")
        if not isinstance(text, str):
            raise bad_field(field, "the file's text is a string")
        try:
            size = len(text.encode("utf-8"))
        except UnicodeEncodeError:
            raise bad_field(field, "the text is not valid Unicode (a lone surrogate)") from None
        if size > MAX_FILE_BYTES:
            raise bad_field(field, f"the text is larger than {MAX_FILE_BYTES // 1024} KB, the limit of one file; "
                                   "split it into several files")
        problem = _leads_out(root, path)
        if problem:
            raise bad_field(field, problem)
        sizes[path] = size
    if sum(sizes.values()) > MAX_SET_BYTES:
        raise bad_field("edits", f"the policy set would be larger than {MAX_SET_BYTES // (1024 * 1024)} MB")
    return dict(edits)


def _leads_out(root: Path, path: str) -> str | None:
    """Why `path` may not be written below `root` (a link on the way that leads out of the set), or None."""
    top = root.resolve()
    target = root / path
    try:
        # the folder must be the set's own (not a link elsewhere); the file, if it is there, a plain file in the set
        folder = target.parent.resolve()
        if folder != top and top not in folder.parents:
            return "its folder is a link that leads out of the policy set"
        if target.is_symlink():
            resolved = target.resolve()
            if top not in resolved.parents:
                return "this file is a link that leads out of the policy set"
        if target.exists() and not target.is_file():
            return "this is not a plain file on disk"
    except (OSError, RuntimeError) as error:
        return f"this file cannot be checked ({getattr(error, 'strerror', None) or error.__class__.__name__})"
    return None


def require_object(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise StudioError(400, "bad_request", [{"field": "body", "message": "the body is a JSON object"}])
    return body
