"""A small LSP client for the tests: `pdp lsp` in a subprocess, spoken to over its standard input and output.

JSON-RPC framed by hand (Content-Length headers), read by a thread of its own; every wait is bounded. The
server's requests to the client (a registration, a configuration) are answered with null, as a plain client
would.
"""

from __future__ import annotations

import itertools
import json
import queue
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Callable

WAIT = 60.0  # seconds: far above what any answer takes, even on a loaded machine


class ServerGone(AssertionError):
    pass


class LspClient:
    def __init__(self, cwd: Path, args: tuple[str, ...] = ()):
        self.stderr = tempfile.TemporaryFile()
        self.process = subprocess.Popen([sys.executable, "-m", "pdp.cli", "lsp", *args], cwd=cwd,
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.stderr)
        self.ids = itertools.count(1)
        self.inbox: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self.notifications: list[dict[str, Any]] = []
        self.responses: dict[int, dict[str, Any]] = {}
        self.lock = threading.Lock()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    # ------------------------------------------------------------------ the wire

    def _send(self, message: dict[str, Any]) -> None:
        body = json.dumps({"jsonrpc": "2.0", **message}).encode("utf-8")
        assert self.process.stdin is not None
        with self.lock:
            self.process.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
            self.process.stdin.flush()

    def _read(self) -> None:
        stream = self.process.stdout
        assert stream is not None
        while True:
            length = None
            while True:
                line = stream.readline()
                if not line:
                    self.inbox.put(None)
                    return
                if line in (b"\r\n", b"\n"):
                    break
                name, _, value = line.decode("ascii").partition(":")
                if name.lower() == "content-length":
                    length = int(value)
            if length is None:
                continue
            message = json.loads(stream.read(length))
            if "method" in message and "id" in message:  # a request from the server
                self._send({"id": message["id"], "result": None})
            self.inbox.put(message)

    def _pump(self, until: Callable[[], bool], timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while not until():
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no {what} within {timeout} s; the server said:\n{self.server_log()}")
            try:
                message = self.inbox.get(timeout=min(left, 0.5))
            except queue.Empty:
                continue
            if message is None:
                raise ServerGone(f"the server ended while waiting for {what}:\n{self.server_log()}")
            if "id" in message and "method" not in message:
                self.responses[message["id"]] = message
            elif "method" in message and "id" not in message:
                self.notifications.append(message)

    def server_log(self) -> str:
        self.stderr.seek(0)
        return self.stderr.read().decode("utf-8", "replace")[-4000:]

    # ------------------------------------------------------------------ the protocol

    def answer(self, method: str, params: Any, timeout: float = WAIT) -> dict[str, Any]:
        """The whole answer to a request: its `result`, or its `error`."""
        number = next(self.ids)
        self._send({"id": number, "method": method, "params": params})
        self._pump(lambda: number in self.responses, timeout, f"answer to {method}")
        return self.responses.pop(number)

    def send_bytes(self, body: bytes) -> None:
        """A message of any bytes, framed (the body need not be JSON)."""
        assert self.process.stdin is not None
        with self.lock:
            self.process.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
            self.process.stdin.flush()

    def request(self, method: str, params: Any, timeout: float = WAIT) -> Any:
        answer = self.answer(method, params, timeout)
        if "error" in answer:
            raise AssertionError(f"{method} failed: {answer['error']}")
        return answer.get("result")

    def notify(self, method: str, params: Any) -> None:
        self._send({"method": method, "params": params})

    def initialize(self, root: Path, capabilities: dict[str, Any] | None = None) -> dict[str, Any]:
        result = self.request("initialize", {"processId": None, "rootUri": root.as_uri(),
                                             "capabilities": capabilities or {}})
        self.notify("initialized", {})
        return result

    def open(self, path: Path, text: str | None = None, language: str = "pdp") -> str:
        uri = path.as_uri()
        self.versions = getattr(self, "versions", {})
        self.versions[uri] = 1
        self.notify("textDocument/didOpen", {"textDocument": {
            "uri": uri, "languageId": language, "version": 1,
            "text": path.read_text(encoding="utf-8") if text is None else text}})
        return uri

    def change(self, uri: str, text: str) -> None:
        self.versions[uri] += 1
        self.notify("textDocument/didChange", {"textDocument": {"uri": uri, "version": self.versions[uri]},
                                               "contentChanges": [{"text": text}]})

    def published(self, uri: str, since: int = 0) -> list[dict[str, Any]] | None:
        """The diagnostics last published for `uri` (None if none were), counting only the notifications from
        the `since`-th on (`len(client.notifications)` before an edit: what was published after it)."""
        found = [n["params"]["diagnostics"] for n in self.notifications[since:]
                 if n["method"] == "textDocument/publishDiagnostics" and n["params"]["uri"] == uri]
        return found[-1] if found else None

    def wait_for_diagnostics(self, uri: str, holds: Callable[[list[dict[str, Any]]], bool],
                             timeout: float = WAIT, since: int = 0) -> list[dict[str, Any]]:
        """The diagnostics of `uri` once a publication of them (from the `since`-th notification on) `holds`."""
        def ready() -> bool:
            latest = self.published(uri, since)
            return latest is not None and holds(latest)

        self._pump(ready, timeout, f"diagnostics of {uri} as expected (last: {self.published(uri, since)})")
        found = self.published(uri, since)
        assert found is not None
        return found

    def close_all(self) -> None:
        """Close every document this client opened (the texts on disk take their places)."""
        for uri in getattr(self, "versions", {}):
            self.notify("textDocument/didClose", {"textDocument": {"uri": uri}})
        self.versions = {}

    def log_messages(self) -> list[str]:
        return [n["params"]["message"] for n in self.notifications if n["method"] == "window/logMessage"]

    def close(self) -> None:
        """Shut the server down as an editor does; kill it if it does not end."""
        try:
            if self.process.poll() is None:
                self.request("shutdown", None, timeout=10)
                self.notify("exit", None)
                self.process.wait(timeout=10)
        except (AssertionError, OSError, subprocess.TimeoutExpired):
            pass
        finally:
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait(timeout=10)
            self.stderr.close()
