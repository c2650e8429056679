"""`pdp lsp` never crashes: garbage documents, positions out of range, documents of no policy set, and a
feature that fails (logged to the client, answered empty)."""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path

import pytest
from lsprotocol import types

from pdp.lsp.session import Session
from tests.support.lsp_client import LspClient
from tests.support.sets import CX_ONE_GO

FEATURES = ("textDocument/hover", "textDocument/completion", "textDocument/definition", "textDocument/codeAction",
            "textDocument/formatting", "textDocument/documentSymbol")


def ask_everything(client: LspClient, uri: str, line: int, character: int) -> None:
    """Every request the server answers, at one place of one document: each must be answered, not fail."""
    at = {"line": line, "character": character}
    where = {"start": at, "end": at}
    params = {
        "textDocument/hover": {"position": at},
        "textDocument/completion": {"position": at},
        "textDocument/definition": {"position": at},
        "textDocument/codeAction": {"range": where, "context": {"diagnostics": []}},
        "textDocument/formatting": {"options": {"tabSize": 2, "insertSpaces": True}},
        "textDocument/documentSymbol": {},
    }
    for method in FEATURES:
        client.request(method, {"textDocument": {"uri": uri}, **params[method]})


@pytest.mark.slow
def test_garbage_documents_are_answered_and_never_crash_the_server(tmp_path: Path):
    policies = tmp_path / "policies"
    shutil.copytree(CX_ONE_GO, policies)
    client = LspClient(cwd=tmp_path)
    try:
        client.initialize(tmp_path)
        good_uri = (policies / "use.pdp").as_uri()
        chance = random.Random(13)
        binary = bytes(chance.randrange(256) for _ in range(20_000)).decode("latin-1")
        long_line = "allow a.b " + "x" * (1024 * 1024) + ' "' + "§" * 1000
        astral = 'deny 😀.😀 "😀" cite "§😀" to 😀\n' * 200
        for name, text in (("binary.pdp", binary), ("marketing.pdp", long_line), ("astral.pdp", astral)):
            uri = client.open(policies / name, text)
            assert client.wait_for_diagnostics(uri, lambda found: any(d["severity"] == 1 for d in found))
            for line, character in ((0, 0), (0, 5), (0, 1024 * 1024 + 3), (3, 7), (10**6, 10**6)):
                ask_everything(client, uri, line, character)
        # a document of no policy set, one that is no file, one never opened
        elsewhere = tmp_path / "notes" / "todo.pdp"
        client.open(elsewhere, "allow a.b to use\n")
        ask_everything(client, elsewhere.as_uri(), 0, 3)
        client.notify("textDocument/didOpen", {"textDocument": {"uri": "untitled:Untitled-1", "languageId": "pdp",
                                                                "version": 1, "text": "garbage ((("}})
        ask_everything(client, "untitled:Untitled-1", 0, 3)
        ask_everything(client, (policies / "never-opened.pdp").as_uri(), 0, 0)
        # messages that are not what the protocol says: refused, answered with an error where one is asked
        client.send_bytes(b"{not json")
        client.send_bytes(json.dumps({"jsonrpc": "2.0", "method": "textDocument/didChange",
                                      "params": {"textDocument": {"uri": 3}}}).encode())
        refused = client.answer("textDocument/hover", {"textDocument": {"uri": good_uri}, "position": {"line": "x"}})
        assert "error" in refused
        assert "error" in client.answer("pdp/unknown", {})
        # and the server still works
        good = client.open(policies / "use.pdp")
        assert good == good_uri
        assert client.request("textDocument/documentSymbol", {"textDocument": {"uri": good}})
        assert client.process.poll() is None
        assert client.log_messages() == []  # answered by design, not by the safety net
    finally:
        client.close()


class _Recorder:
    """Stands for the pygls server where the session writes to the client."""

    def __init__(self) -> None:
        self.logged: list[types.LogMessageParams] = []

    def window_log_message(self, params: types.LogMessageParams) -> None:
        self.logged.append(params)


def test_a_feature_that_fails_is_logged_and_answered_empty():
    recorder = _Recorder()
    session = Session(recorder)  # type: ignore[arg-type]

    def broken() -> list[str]:
        raise ValueError("a bug")

    assert session.guarded("listing symbols", list, broken) == []
    [logged] = recorder.logged
    assert logged.type == types.MessageType.Error
    assert "listing symbols failed" in logged.message and "a bug" in logged.message
    assert session.guarded("listing symbols", list, lambda: ["ok"]) == ["ok"]
