"""`pdp lsp` spoken to as an editor speaks to it: LSP over stdio to a real subprocess, on a copy of CX-ONE-GO.

Each test starts its own server on its own copy of `policies/`. Every wait is bounded (tests.support.lsp_client);
no test measures time.
"""

from __future__ import annotations

import json
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Iterator

import pytest

from pdp.cli.app import main
from pdp.lang.formatter import format_policy
from tests.support.lsp_client import LspClient
from tests.support.sets import CX_ONE_GO

pytestmark = pytest.mark.slow  # a server process each

ERROR, WARNING = 1, 2
QUICKFIX = "quickfix"


@pytest.fixture
def policies(tmp_path: Path) -> Path:
    copy = tmp_path / "policies"
    shutil.copytree(CX_ONE_GO, copy)
    return copy


@pytest.fixture
def lsp(policies: Path) -> Iterator[LspClient]:
    """A server of the test's own, for a test that edits files on disk or follows diagnostics over edits."""
    client = LspClient(cwd=policies.parent)
    client.initialize(policies.parent)
    try:
        yield client
    finally:
        client.close()


@pytest.fixture(scope="module")
def started(tmp_path_factory) -> Iterator[tuple[LspClient, Path, dict[str, Any]]]:
    copy = tmp_path_factory.mktemp("shared") / "policies"
    shutil.copytree(CX_ONE_GO, copy)
    client = LspClient(cwd=copy.parent)
    capabilities = client.initialize(copy.parent)["capabilities"]
    try:
        yield client, copy, capabilities
    finally:
        client.close()


@pytest.fixture
def shared(started) -> Iterator[LspClient]:
    """One server for the tests that only ask (they change no file on disk): each closes what it opened."""
    client = started[0]
    try:
        yield client
    finally:
        client.close_all()


@pytest.fixture
def shared_policies(started) -> Path:
    return started[1]


def errors(diagnostics: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [d for d in diagnostics if d.get("severity") == ERROR]


def place(text: str, needle: str, nth: int = 0) -> dict[str, int]:
    """The LSP position (0-based) where the `nth` occurrence of `needle` starts (the texts here are ASCII)."""
    offset = -1
    for _ in range(nth + 1):
        offset = text.index(needle, offset + 1)
    line = text.count("\n", 0, offset)
    return {"line": line, "character": offset - (text.rfind("\n", 0, offset) + 1)}


def apply_edits(text: str, edits: list[dict[str, Any]]) -> str:
    """The text with LSP text edits applied (last first, so that earlier ranges stay put)."""
    lines = text.split("\n")
    starts = [0]
    for line in lines[:-1]:
        starts.append(starts[-1] + len(line) + 1)

    def offset(position: dict[str, int]) -> int:
        return starts[position["line"]] + position["character"] if position["line"] < len(starts) else len(text)

    for edit in sorted(edits, key=lambda e: (e["range"]["start"]["line"], e["range"]["start"]["character"]),
                       reverse=True):
        text = text[:offset(edit["range"]["start"])] + edit["newText"] + text[offset(edit["range"]["end"]):]
    return text


def opened(client: LspClient, path: Path, text: str, holds, language: str = "pdp") -> tuple[str, list[dict]]:
    """Open `path` with `text`; its uri and the first diagnostics published after it that `holds`."""
    since = len(client.notifications)
    uri = client.open(path, text, language)
    return uri, client.wait_for_diagnostics(uri, holds, since=since)


def changed(client: LspClient, uri: str, text: str, holds) -> list[dict]:
    """Change the document to `text`; the first diagnostics published after it that `holds`."""
    since = len(client.notifications)
    client.change(uri, text)
    return client.wait_for_diagnostics(uri, holds, since=since)


def document(uri: str) -> dict[str, str]:
    return {"uri": uri}


def test_initialize_names_every_feature(started):
    capabilities = started[2]
    assert capabilities["textDocumentSync"]["change"] == 1  # full
    for feature in ("completionProvider", "hoverProvider", "definitionProvider", "documentFormattingProvider",
                    "codeActionProvider", "documentSymbolProvider"):
        assert capabilities.get(feature), feature
    assert QUICKFIX in capabilities["codeActionProvider"]["codeActionKinds"]


def test_a_clean_set_publishes_no_errors(shared, shared_policies):
    path = shared_policies / "marketing.pdp"
    _, found = opened(shared, path, path.read_text(encoding="utf-8"), lambda found: True)
    assert errors(found) == []


def test_a_typo_is_an_error_at_its_place_with_its_hint_and_its_quick_fix_clears_it(shared, shared_policies):
    path = shared_policies / "marketing.pdp"
    good = path.read_text(encoding="utf-8")
    typo = good.replace("of user.contact.email,", "of user.contact.emial,", 1)
    uri, found = opened(shared, path, typo, lambda found: bool(errors(found)))
    [error] = [d for d in errors(found) if "emial" in d["message"]]
    assert error["range"]["start"] == place(typo, "user.contact.emial")
    assert error["range"]["end"]["character"] > error["range"]["start"]["character"]
    assert error["source"] == "pdp" and error["code"]
    assert "hint:" in error["message"] and "user.contact.email" in error["message"]

    actions = shared.request("textDocument/codeAction", {
        "textDocument": document(uri), "range": error["range"], "context": {"diagnostics": [error]}})
    [fix] = [a for a in actions if "user.contact.email" in a["title"]]
    assert fix["kind"] == QUICKFIX
    edits = fix["edit"]["changes"][uri]
    fixed = apply_edits(typo, edits)
    assert fixed == good
    changed(shared, uri, fixed, lambda found: not errors(found))


def test_an_error_in_another_file_of_the_set_is_published_for_that_file(shared, shared_policies):
    vocabulary = shared_policies / "vocabulary.yaml"
    text = vocabulary.read_text(encoding="utf-8")
    uri, _ = opened(shared, vocabulary, text + "\nthis is: [not yaml\n", lambda found: bool(errors(found)), "yaml")
    changed(shared, uri, text, lambda found: not errors(found))


def test_hover_on_a_key_and_on_a_cite(shared, shared_policies):
    path = shared_policies / "marketing.pdp"
    text = path.read_text(encoding="utf-8")
    uri = shared.open(path)
    on_key = shared.request("textDocument/hover", {"textDocument": document(uri),
                                                "position": place(text, "user.contact.email")})
    assert on_key["contents"]["kind"] == "markdown"
    assert "user.contact.email" in on_key["contents"]["value"]
    assert on_key["range"]["start"]["line"] == place(text, "user.contact.email")["line"]

    cite = place(text, '"§2.5"')
    cite["character"] += 2
    on_cite = shared.request("textDocument/hover", {"textDocument": document(uri), "position": cite})
    assert "promotional email" in on_cite["contents"]["value"]  # §2.5 of the privacy policy kept beside the set


def test_completion_after_of_offers_data_categories(shared, shared_policies):
    path = shared_policies / "marketing.pdp"
    text = path.read_text(encoding="utf-8")
    line = "  of user.contact.email, user.name, user.demographic.profile, user.behavior\n"
    edited = text.replace(line, "  of \n", 1)
    uri = shared.open(path, edited)
    at = place(edited, "  of \n")
    at["character"] += len("  of ")
    answer = shared.request("textDocument/completion", {"textDocument": document(uri), "position": at})
    items = answer["items"] if isinstance(answer, dict) else answer
    labels = {item["label"] for item in items}
    assert "user.contact.email" in labels
    [email] = [item for item in items if item["label"] == "user.contact.email"]
    assert email["kind"] == 20  # EnumMember: a taxonomy key


def test_definition_of_a_rule_id_in_overrides(shared, shared_policies):
    path = shared_policies / "disclosure.pdp"
    text = path.read_text(encoding="utf-8")
    uri = shared.open(path)
    overrides = text.index("overrides rights.access")
    at = place(text, "rights.access", nth=text.count("rights.access", 0, overrides))
    location = shared.request("textDocument/definition", {"textDocument": document(uri), "position": at})
    location = location[0] if isinstance(location, list) else location
    assert location["uri"] == (shared_policies / "rights.pdp").as_uri()
    rights = (shared_policies / "rights.pdp").read_text(encoding="utf-8")
    assert location["range"]["start"]["line"] == place(rights, "allow rights.access ")["line"]


def test_formatting_lays_a_rule_out_as_pdp_fmt_does(shared, shared_policies):
    path = shared_policies / "marketing.pdp"
    text = path.read_text(encoding="utf-8")
    messy = text + '\nallow   marketing.extra "An extra rule"   cite "§2.2" to use   for marketing.communications.email\n'
    uri = shared.open(path, messy)
    edits = shared.request("textDocument/formatting", {"textDocument": document(uri),
                                                    "options": {"tabSize": 2, "insertSpaces": True}})
    assert edits
    assert apply_edits(messy, edits) == format_policy(messy, "marketing.pdp")

    broken = text + "\nallow marketing.broken to to to\n"
    shared.change(uri, broken)
    assert shared.request("textDocument/formatting", {"textDocument": document(uri),
                                                   "options": {"tabSize": 2, "insertSpaces": True}}) == []


def test_document_symbols_outline_the_rules(shared, shared_policies):
    path = shared_policies / "marketing.pdp"
    text = path.read_text(encoding="utf-8")
    uri = shared.open(path)
    symbols = shared.request("textDocument/documentSymbol", {"textDocument": document(uri)})
    by_name = {symbol["name"]: symbol for symbol in symbols}
    rules = re.findall(r"^(?:allow|deny) (\S+)", text, re.M)
    assert set(rules) <= set(by_name)
    promotional = by_name["marketing.promotional_email"]
    assert promotional["kind"] == 12  # Function: a rule
    assert promotional["range"]["start"]["line"] == place(text, "allow marketing.promotional_email")["line"]


def test_warnings_follow_the_errors_in_a_second_publication(lsp, policies):
    path = policies / "marketing.pdp"
    text = path.read_text(encoding="utf-8")
    uri = lsp.open(path, text + '\nallow marketing.uncited "No clause named" to use for marketing.communications.email'
                              ' of user.contact.email\n')
    found = lsp.wait_for_diagnostics(uri, lambda found: any(d["code"] == "no-citation" for d in found))
    [warning] = [d for d in found if d["code"] == "no-citation"]
    assert warning["severity"] == WARNING
    assert warning["range"]["start"]["line"] == text.count("\n") + 1
    publications = [n["params"]["diagnostics"] for n in lsp.notifications
                    if n["method"] == "textDocument/publishDiagnostics" and n["params"]["uri"] == uri]
    assert not any(d["code"] == "no-citation" for d in publications[-2])  # the errors alone came first


def test_closing_an_unsaved_document_brings_back_the_text_on_disk(lsp, policies):
    path = policies / "marketing.pdp"
    good = path.read_text(encoding="utf-8")
    uri = lsp.open(path, good.replace("of user.contact.email,", "of user.contact.emial,", 1))
    lsp.wait_for_diagnostics(uri, lambda found: bool(errors(found)))
    lsp.notify("textDocument/didClose", {"textDocument": document(uri)})
    lsp.wait_for_diagnostics(uri, lambda found: not errors(found))


def test_an_error_a_saved_file_fixes_elsewhere_is_cleared(lsp, policies):
    """A rule id misspelt in `overrides` is an error in disclosure.pdp; saving the rule under that id in
    rights.pdp (as an editor does: the text on disk, then didSave) clears it."""
    disclosure = policies / "disclosure.pdp"
    text = disclosure.read_text(encoding="utf-8")
    uri = lsp.open(disclosure, text.replace("overrides rights.access,", "overrides rights.acess,", 1))
    lsp.wait_for_diagnostics(uri, lambda found: any("rights.acess" in d["message"] for d in errors(found)))
    rights = policies / "rights.pdp"
    rights.write_text(rights.read_text(encoding="utf-8") + '\nallow rights.acess "x" cite "§1" to use for '
                      'marketing.communications.email of user.contact.email\n', encoding="utf-8")
    other = lsp.open(rights)
    lsp.notify("textDocument/didSave", {"textDocument": document(other)})
    lsp.wait_for_diagnostics(uri, lambda found: not errors(found))


def test_a_port_instead_of_standard_input(policies):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen([sys.executable, "-m", "pdp.cli", "lsp", "--tcp", f"127.0.0.1:{port}"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                connection = socket.create_connection(("127.0.0.1", port), timeout=60)
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise
                time.sleep(0.2)
        with connection:
            body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "initialize",
                               "params": {"processId": None, "rootUri": None, "capabilities": {}}}).encode()
            connection.sendall(b"Content-Length: %d\r\n\r\n" % len(body) + body)
            answer = b""
            while b"\r\n\r\n" not in answer or len(answer.split(b"\r\n\r\n", 1)[1]) < int(
                    answer.split(b"Content-Length: ")[1].split(b"\r\n")[0]):
                chunk = connection.recv(65536)
                assert chunk, "the server closed the connection"
                answer += chunk
        result = json.loads(answer.split(b"\r\n\r\n", 1)[1])["result"]
        assert result["serverInfo"]["name"] == "pdp" and result["capabilities"]["hoverProvider"]
    finally:
        server.kill()
        server.wait(timeout=30)


def test_a_bad_address_is_refused(capsys):
    with pytest.raises(SystemExit) as exit_code:
        main(["lsp", "--tcp", "localhost"])
    assert exit_code.value.code == 2
    assert "`localhost` is not HOST:PORT" in capsys.readouterr().err


def test_a_file_changed_on_disk_is_checked_again_with_its_set(lsp, policies):
    marketing = lsp.open(policies / "marketing.pdp")
    lsp.wait_for_diagnostics(marketing, lambda found: True)
    use = policies / "use.pdp"
    use.write_text(use.read_text(encoding="utf-8").replace("of user.name,", "of user.nmae,", 1), encoding="utf-8")
    lsp.notify("workspace/didChangeWatchedFiles", {"changes": [{"uri": use.as_uri(), "type": 2}]})
    found = lsp.wait_for_diagnostics(use.as_uri(), lambda found: bool(errors(found)))  # a file not even open
    assert any("user.nmae" in d["message"] for d in errors(found))


@pytest.mark.parametrize("encoding, offered", [("utf-16", None), ("utf-8", ["utf-8", "utf-16"]),
                                               ("utf-32", ["utf-32"])])
def test_columns_are_counted_in_the_encoding_agreed(policies, encoding, offered):
    """A typo after an emoji and a `§` on its line: the error starts where the client counts it."""
    client = LspClient(cwd=policies.parent)
    try:
        capabilities = {"general": {"positionEncodings": offered}} if offered else {}
        agreed = client.initialize(policies.parent, capabilities)["capabilities"].get("positionEncoding", "utf-16")
        assert agreed == encoding
        path = policies / "marketing.pdp"
        text = path.read_text(encoding="utf-8")
        line = '\nallow marketing.smile "😀 §2.5" cite "§2.5" to use for marketing.communications.email of user.contact.emial\n'
        uri = client.open(path, text + line)
        found = client.wait_for_diagnostics(uri, lambda found: any("emial" in d["message"] for d in errors(found)))
        [error] = [d for d in errors(found) if "emial" in d["message"]]
        before = line[1:line.index("user.contact.emial")]
        units = {"utf-16": len(before.encode("utf-16-le")) // 2, "utf-8": len(before.encode("utf-8")),
                 "utf-32": len(before)}
        assert error["range"]["start"] == {"line": text.count("\n") + 1, "character": units[encoding]}
        assert error["range"]["end"]["character"] - error["range"]["start"]["character"] == len("user.contact.emial")
    finally:
        client.close()


def test_definition_of_a_register_is_its_yaml_file(shared, shared_policies):
    path = shared_policies / "disclosure.pdp"
    text = path.read_text(encoding="utf-8")
    uri = shared.open(path)
    at = place(text, "data.processors")
    at["character"] += len("data.pro")
    location = shared.request("textDocument/definition", {"textDocument": document(uri), "position": at})
    location = location[0] if isinstance(location, list) else location
    assert location["uri"] == (shared_policies / "data" / "processors.yaml").as_uri()
