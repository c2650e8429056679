"""pdp.lsp.documents (which set a file belongs to, open documents over the disk) and pdp.lsp.convert (pdp's
diagnostics, fixes and edits in LSP's terms)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from lsprotocol import types

from pdp.base.errors import Diagnostic, Fix, TextEdit
from pdp.base.source import Span
from pdp.lsp import convert
from pdp.lsp.documents import read_set, set_directory
from pdp.lsp.positions import Positions
from tests.support.sets import CX_ONE_GO


def test_a_file_belongs_to_the_set_above_it(tmp_path: Path):
    policies = tmp_path / "repo" / "policies"
    shutil.copytree(CX_ONE_GO, policies)
    (policies / "eu").mkdir()
    (policies / "eu" / "gdpr.pdp").write_text("allow a.b to use\n", encoding="utf-8")
    (policies / "versions" / "2026-01-01").mkdir(parents=True)
    (policies / "versions" / "2026-01-01" / "old.pdp").write_text("allow a.b to use\n", encoding="utf-8")
    assert set_directory(policies / "marketing.pdp") == policies
    assert set_directory(policies / "data" / "processors.yaml") == policies
    assert set_directory(policies / "tests" / "marketing.yaml") == policies
    assert set_directory(policies / "eu" / "gdpr.pdp") == policies  # the loader reads folders below a set
    assert set_directory(policies / "versions" / "2026-01-01" / "old.pdp") == policies / "versions" / "2026-01-01"
    assert set_directory(tmp_path / "elsewhere" / "notes.txt") is None


def test_open_documents_overlay_the_disk(tmp_path: Path):
    policies = tmp_path / "policies"
    shutil.copytree(CX_ONE_GO, policies)
    on_disk = read_set(policies)
    path = on_disk.path_of(policies / "marketing.pdp")
    assert on_disk.workspace.texts[path] == (policies / "marketing.pdp").read_text(encoding="utf-8")
    assert on_disk.file_of(path) == policies / "marketing.pdp"
    seen = on_disk.overlaid({policies / "marketing.pdp": "# edited\n", policies / "new.pdp": "allow a.b to use\n",
                             tmp_path / "other" / "x.pdp": "not this set\n"})
    assert seen.workspace.texts[path] == "# edited\n"
    assert seen.workspace.texts[seen.path_of(policies / "new.pdp")] == "allow a.b to use\n"
    assert len(seen.workspace.texts) == len(on_disk.workspace.texts) + 1


def test_a_set_that_cannot_be_read_is_its_problems(tmp_path: Path):
    policies = tmp_path / "policies"
    shutil.copytree(CX_ONE_GO, policies)
    (policies / "broken.pdp").write_bytes(b"allow \xff\xfe")
    found = read_set(policies)
    assert [d.code for d in found.read_errors] == ["encoding"]
    assert found.workspace.texts == {}


def test_a_diagnostic_in_the_clients_terms():
    text = 'allow a.b "😀"\n  of user.contact.emial\n'
    found = Diagnostic("unknown-key", "unknown data category `user.contact.emial`", Span("m.pdp", 2, 6),
                       "did you mean `user.contact.email`?")
    shown = convert.diagnostic(Positions(text), found)
    assert shown.range == types.Range(start=types.Position(line=1, character=5),
                                      end=types.Position(line=1, character=23))  # the word, as no end was given
    assert shown.severity == types.DiagnosticSeverity.Error and shown.code == "unknown-key" and shown.source == "pdp"
    assert shown.message == "unknown data category `user.contact.emial`\nhint: did you mean `user.contact.email`?"
    accepted = Diagnostic("shadowed-rule", "never applies", Span("m.pdp", 1, 1, 1, 10), severity="warning",
                          accepted="kept for the record")
    shown = convert.diagnostic(Positions(text), accepted)
    assert shown.severity == types.DiagnosticSeverity.Information
    assert shown.message.endswith("accepted because: kept for the record")
    assert shown.range.end == types.Position(line=0, character=9)


def test_spans_after_an_astral_character_count_utf16_units():
    text = 'deny a "😀" cite "§1"\n'
    span = Span("m.pdp", 1, text.index("cite") + 1, 1, text.index("cite") + 5)
    assert convert.span_range(Positions(text), span).start.character == text.index("cite") + 1


def test_a_fix_is_a_workspace_edit():
    text = "  of user.contact.emial\n"
    fix = Fix("replace with `user.contact.email`", (TextEdit(Span("m.pdp", 1, 6, 1, 24), "user.contact.email"),))
    about = types.Diagnostic(range=types.Range(start=types.Position(line=0, character=5),
                                               end=types.Position(line=0, character=23)), message="x")
    action = convert.code_action(fix, about, lambda path: f"file:///{path}", lambda path: Positions(text))
    assert action.kind == types.CodeActionKind.QuickFix and action.diagnostics == [about]
    assert action.edit is not None and action.edit.changes is not None
    [edit] = action.edit.changes["file:///m.pdp"]
    assert edit.range == about.range and edit.new_text == "user.contact.email"


def test_formatting_is_one_edit_or_none():
    positions = Positions("a\r\nb")
    assert convert.whole_text_edit(positions, "a\r\nb") == []
    [edit] = convert.whole_text_edit(positions, "a\nb\n")
    assert edit.range.end == types.Position(line=1, character=1) and edit.new_text == "a\nb\n"


@pytest.mark.parametrize("where", ["above", "inside", "elsewhere"])
def test_files_are_named_both_ways_wherever_the_server_runs(tmp_path: Path, monkeypatch, where):
    """The loader names files relative to where pdp runs when it can: the server maps them back to the disk."""
    policies = tmp_path / "repo" / "policies"
    shutil.copytree(CX_ONE_GO, policies)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir({"above": tmp_path / "repo", "inside": policies, "elsewhere": elsewhere}[where])
    found = read_set(policies)
    assert found.read_errors == ()
    for file in (policies / "marketing.pdp", policies / "data" / "processors.yaml", policies / "vocabulary.yaml"):
        path = found.path_of(file)
        assert path in found.workspace.texts
        assert found.file_of(path) == file
