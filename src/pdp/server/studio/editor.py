"""The editor's language features over HTTP: adapters from `pdp.editing` to the studio's answers.

Positions are the editing core's (1-based line and column, counted in
Unicode code points), checked against the file's text before they are
asked about (400 naming `file`, `line` or `col`). Every `file` answered is
in the API's form (`workspace.Place`).
"""

from __future__ import annotations

from typing import Any

from pdp.base.errors import PolicyError
from pdp.base.source import source_lines
from pdp.editing import Workspace, check, complete, definition, diagnostics, format_file, hover
from .edits import kind_of
from .errors import StudioError, bad_field
from .workspace import Place


def checked(workspace: Workspace, place: Place, warnings: bool) -> dict[str, Any]:
    """`/check`: the errors (and, unless `warnings` is false, the whole-set warnings), as `pdp check` reports."""
    found = diagnostics(workspace) if warnings else check(workspace).errors
    listed = place.diagnostics(found)
    return {"ok": not any(d.get("severity", "error") == "error" for d in listed), "diagnostics": listed}


def position(body: dict[str, Any], workspace: Workspace, place: Place) -> tuple[str, int, int]:
    """The body's `file`, `line` and `col`: a file of the set (as the workspace names it) and a place in its text."""
    path = file_of(body, workspace, place)
    lines = source_lines(workspace.texts[path])
    line, col = body.get("line"), body.get("col")
    if not isinstance(line, int) or isinstance(line, bool) or not 1 <= line <= len(lines):
        raise bad_field("line", f"`line` is a line of the file, from 1 to {len(lines)}")
    width = len(lines[line - 1])
    if not isinstance(col, int) or isinstance(col, bool) or not 1 <= col <= width + 1:
        raise bad_field("col", f"`col` is a column of line {line}, from 1 to {width + 1} (in characters)")
    return path, line, col


def file_of(body: dict[str, Any], workspace: Workspace, place: Place) -> str:
    """The body's `file` (an API path of the set, edited or on disk), as the workspace names it."""
    name = body.get("file")
    if not isinstance(name, str) or kind_of(name) is None:
        raise bad_field("file", "`file` is a file of the policy set, as `/files` lists it (e.g. `marketing.pdp`)")
    path = place.in_workspace(name)
    if path not in workspace.texts:
        raise bad_field("file", f"`{name}` is not a file of the policy set")
    return path


def _point(line: int, col: int) -> dict[str, int]:
    return {"line": line, "col": col}


def completed(workspace: Workspace, path: str, line: int, col: int) -> dict[str, Any]:
    items = []
    for item in complete(workspace, path, line, col):
        span = item.replace
        start, end = (_point(span.line, span.col), _point(span.end_line or span.line, span.end_col or span.col)) \
            if span is not None else (_point(line, col), _point(line, col))
        items.append({"label": item.label, "kind": item.kind, "detail": item.detail,
                      "documentation": item.documentation,
                      "insert_text": item.insert_text if item.insert_text is not None else item.label,
                      "from": start, "to": end})
    return {"items": items}


def hovered(workspace: Workspace, path: str, line: int, col: int) -> dict[str, Any]:
    found = hover(workspace, path, line, col)
    if found is None:
        return {"markdown": None, "from": None, "to": None}
    span = found.span
    return {"markdown": found.markdown, "from": _point(span.line, span.col),
            "to": _point(span.end_line or span.line, span.end_col or span.col)}


def defined(workspace: Workspace, place: Place, path: str, line: int, col: int) -> dict[str, Any]:
    span = definition(workspace, path, line, col)
    return {"location": place.location(span) if span is not None else None}


def formatted(workspace: Workspace, place: Place, path: str) -> dict[str, Any]:
    if kind_of(place.relative(path)) != "policy":
        raise bad_field("file", "only policy files (`*.pdp`) are formatted")
    try:
        return {"text": format_file(workspace, path)}
    except PolicyError as error:
        raise StudioError(422, "does_not_parse", [{"field": "file", "message": "the file does not parse; fix its "
                          "errors before formatting it"}], diagnostics=place.diagnostics(error.diagnostics)) from None
