"""Connections (issue 8, finding 12): idle, slow-header and slow-body connections are closed; the
number of connections is capped; a client that hangs up mid-upload costs one log line.

Each test runs a real `pdp serve` with short, test-configured limits. Times
in the tests are hang guards only (a connection that used to stay open for
ever must be closed well within them); nothing asserts on speed.
"""

import socket
import time
from pathlib import Path

import pytest

from tests.support.serve import served

pytestmark = pytest.mark.slow  # a real `pdp serve` per HTTP stack, and each test waits out a timeout

ROOT = Path(__file__).resolve().parents[2]
HANG_GUARD_S = 30
REQUEST_HEAD = (b"POST /v1/decide HTTP/1.1\r\nHost: pdp\r\nContent-Type: application/json\r\n"
                b"Content-Length: 1000\r\n\r\n")


def _connect(base: str) -> socket.socket:
    host, port = base.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=HANG_GUARD_S)
    return sock


def _closed_by_server(sock: socket.socket, trickle: bytes = b"") -> bool:
    """Read (sending `trickle` a byte at a time between reads) until the server closes; False if it never does."""
    deadline = time.monotonic() + HANG_GUARD_S
    sock.settimeout(0.2)
    position = 0
    while time.monotonic() < deadline:
        try:
            if sock.recv(65536) == b"":
                return True
        except socket.timeout:
            pass
        except ConnectionError:
            return True
        if position < len(trickle):
            try:
                sock.sendall(trickle[position:position + 1])
            except (BrokenPipeError, ConnectionError):
                return True
            position += 1
    return False


@pytest.fixture(scope="module", params=["httptools", "h11"])
def server(tmp_path_factory, request):
    log = tmp_path_factory.mktemp("serve") / "serve.log"
    with pytest.MonkeyPatch.context() as env:
        for name, value in {"PDP_HEADER_TIMEOUT_S": "1", "PDP_BODY_TIMEOUT_S": "1",
                            "PDP_KEEP_ALIVE_TIMEOUT_S": "1", "PDP_HTTP": request.param}.items():
            env.setenv(name, value)
        with served(ROOT / "policies", "--log-level", "info", output=log) as base:
            yield base, log


def test_an_idle_connection_is_closed(server):
    base, _ = server
    with _connect(base) as sock:
        assert _closed_by_server(sock)


def test_slowloris_headers_are_cut_off(server):
    base, _ = server
    with _connect(base) as sock:
        sock.sendall(b"POST /v1/decide HTTP/1.1\r\n")
        assert _closed_by_server(sock, trickle=b"X-Slow: " + b"a" * 500)


def test_a_slow_body_is_cut_off(server):
    base, _ = server
    with _connect(base) as sock:
        sock.sendall(REQUEST_HEAD + b'{"action":')
        assert _closed_by_server(sock, trickle=b" " * 500)


def test_a_kept_alive_connection_is_closed_when_idle_and_slow_headers_on_it_too(server):
    base, _ = server
    with _connect(base) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: pdp\r\n\r\n")
        assert b"200 OK" in sock.recv(65536)
        sock.sendall(b"GET /health HTTP/1.1\r\n")  # the next request on the same connection, never finished
        assert _closed_by_server(sock, trickle=b"X-Slow: " + b"a" * 500)


def test_a_client_that_hangs_up_mid_upload_costs_one_log_line(server):
    base, log = server
    with _connect(base) as sock:
        client = "127.0.0.1:%d" % sock.getsockname()[1]
        sock.sendall(REQUEST_HEAD + b'{"action": "use"')
        time.sleep(0.2)
    deadline = time.monotonic() + HANG_GUARD_S
    while time.monotonic() < deadline and client not in log.read_text():
        time.sleep(0.1)
    time.sleep(0.5)  # room for anything else the server would log about it
    text = log.read_text()
    about_it = [line for line in text.splitlines() if client in line]
    assert len(about_it) == 1 and "closed the connection after 16 of 1000 body bytes" in about_it[0], text
    assert "Traceback" not in text, text


def test_oversized_headers_are_refused(server):
    base, _ = server
    with _connect(base) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: pdp\r\n")
        for _ in range(40):  # 40 x 4 KB in separate writes: more than the 64 KB allowed
            try:
                sock.sendall(b"X-Big: " + b"a" * 4096 + b"\r\n")
            except (BrokenPipeError, ConnectionError):
                break
        sock.settimeout(HANG_GUARD_S)
        try:
            answer = sock.recv(65536)
        except ConnectionError:
            answer = b""
        assert answer.startswith(b"HTTP/1.1 431") or answer == b""
        assert _closed_by_server(sock)


def test_connections_beyond_the_limit_are_closed_at_once(tmp_path, monkeypatch):
    # A long header timeout: only the limit can close the extra connection within the hang guard.
    monkeypatch.setenv("PDP_HEADER_TIMEOUT_S", "600")
    monkeypatch.setenv("PDP_MAX_CONNECTIONS", "3")
    with served(ROOT / "policies") as base:
        idle = [_connect(base) for _ in range(3)]
        try:
            time.sleep(0.5)  # let the server accept them
            with _connect(base) as extra:
                assert _closed_by_server(extra)
            for sock in idle:
                sock.settimeout(0.2)
                with pytest.raises(socket.timeout):
                    sock.recv(1)  # still open: the limit closes the newcomer, not the ones it holds
        finally:
            for sock in idle:
                sock.close()
