"""The direct path (pdp.server.direct) answers byte for byte as the hot path through uvicorn's ASGI cycle.

Each exchange feeds the same raw HTTP bytes to uvicorn's httptools protocol
as `pdp serve` builds it, with the direct path (`GuardedDirectHttpTools`) and
without (`GuardedHttpTools`, the plain path), in front of one app with its
decision log on, and compares everything written back but the date and the
decision ids.
"""

import asyncio
import json
import logging
import re
import sqlite3
from pathlib import Path
from unittest.mock import patch

import pytest
import uvicorn
from hypothesis import given
from hypothesis import strategies as st
from uvicorn.config import Config
from uvicorn.server import ServerState

from pdp.server import Settings, audit, connections, create_app
from pdp.server.connections import ConnectionLimits, GuardedDirectHttpTools, GuardedHttpTools
from tests.support.generate import fewer

ROOT = Path(__file__).resolve().parents[2]
GOOD = json.loads((ROOT / "examples" / "requests" / "promotional-email.json").read_text())
LIMITS = ConnectionLimits(header_timeout_s=30, body_timeout_s=30, max_connections=100, max_header_bytes=65_536)
HANG_GUARD_TURNS = 200_000  # event loop turns an exchange may take (a hang guard, not a measure of speed)


class Transport:
    """What uvicorn's protocol writes, kept; the socket's end of it, as asyncio's transports have it."""

    def __init__(self):
        self.written, self.closed = bytearray(), False

    def write(self, data):
        self.written += data

    def close(self):
        self.closed = True

    def is_closing(self):
        return self.closed

    def get_extra_info(self, name, default=None):
        return {"sockname": ("127.0.0.1", 8181), "peername": ("127.0.0.1", 50000)}.get(name, default)

    def pause_reading(self):
        pass

    def resume_reading(self):
        pass


def _complete(written: bytes, answers: int) -> bool:
    """`answers` whole responses are in `written` (each has a content-length; an interim `100 Continue`, which
    uvicorn writes when the app first reads a body sent with `Expect: 100-continue`, is not an answer)."""
    written = written.replace(b"HTTP/1.1 100 Continue\r\n\r\n", b"")
    for _ in range(answers):
        head, sep, rest = written.partition(b"\r\n\r\n")
        if not sep:
            return False
        length = re.search(rb"content-length: (\d+)", head)
        if length is None or len(rest) < int(length.group(1)):
            return False
        written = rest[int(length.group(1)):]
    return True


async def exchange(app, protocol, reads: list[bytes], answers: int) -> tuple[bytes, int]:
    """What the server writes back to `reads` (the bytes of each socket read), and how many ASGI tasks it started."""
    config = Config(app=app, lifespan="off", log_config=None)  # logging as the test run has it
    config.load()
    state = ServerState()
    tasks: set = set()  # every ASGI task seen (uvicorn drops each from `state.tasks` when it ends)
    transport = Transport()
    connection = protocol(config=config, server_state=state, app_state={}, limits=LIMITS)
    connection.connection_made(transport)
    for data in reads:
        connection.data_received(data)
        tasks |= state.tasks
        await asyncio.sleep(0)
    for _ in range(HANG_GUARD_TURNS):
        tasks |= state.tasks
        if transport.closed or _complete(bytes(transport.written), answers):
            break
        await asyncio.sleep(0)
    else:
        pytest.fail(f"no answer to {reads!r}")
    connection.connection_lost(None)
    return bytes(transport.written), len(tasks)


def scrubbed(written: bytes) -> bytes:
    written = re.sub(rb"date: [^\r]*\r\n", b"date: -\r\n", written)
    return re.sub(rb'"decision_id":"[0-9a-f]+"', b'"decision_id":"-"', written)


def request_bytes(body: bytes, content_type: str | None = "application/json", extra: str = "",
                  version: str = "1.1", path: str = "/v1/decide") -> bytes:
    head = f"POST {path} HTTP/{version}\r\nHost: pdp\r\nContent-Length: {len(body)}\r\n"
    if content_type is not None:
        head += f"Content-Type: {content_type}\r\n"
    return (head + extra + "\r\n").encode() + body


@pytest.fixture(scope="module")
def served_app(tmp_path_factory):
    """One app as `pdp serve` builds it, decision log on, its lifespan running on this module's own event loop."""
    tmp = tmp_path_factory.mktemp("direct")
    settings = Settings(policy_dir=ROOT / "policies", log_path=tmp / "log.db", log_key="k" * 32, reload=False,
                        max_body_bytes=2048)
    app = create_app(settings)
    loop = asyncio.new_event_loop()
    context = app.router.lifespan_context(app)
    loop.run_until_complete(context.__aenter__())
    yield app, loop, tmp / "log.db"
    loop.run_until_complete(context.__aexit__(None, None, None))
    loop.close()


def both(served_app, reads: list[bytes], answers: int = 1) -> tuple[tuple[bytes, int], tuple[bytes, int]]:
    app, loop, _ = served_app
    return (loop.run_until_complete(exchange(app, GuardedDirectHttpTools, reads, answers)),
            loop.run_until_complete(exchange(app, GuardedHttpTools, reads, answers)))


def test_a_decision_is_answered_directly_and_alike(served_app):
    (direct, direct_tasks), (plain, plain_tasks) = both(served_app, [request_bytes(json.dumps(GOOD).encode())])
    assert direct_tasks == 0 and plain_tasks == 1  # the direct path started no ASGI task
    assert direct.startswith(b"HTTP/1.1 200 OK\r\n")
    assert scrubbed(direct) == scrubbed(plain)


def test_each_direct_decision_is_logged(served_app):
    app, loop, path = served_app
    body = {**GOOD, "data_subject": {**GOOD.get("data_subject", {}), "id": "direct-logged"}}
    written, _ = loop.run_until_complete(exchange(app, GuardedDirectHttpTools, [request_bytes(json.dumps(body).encode())], 1))
    decision_id = json.loads(written.partition(b"\r\n\r\n")[2])["decision_id"]
    with sqlite3.connect(path) as db:  # answered only once committed: the row is there
        assert db.execute("select count(*) from decisions where decision_id = ?", (decision_id,)).fetchone()[0] == 1


JSON_VALUES = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=8),
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
                           max_leaves=8)
FIELDS = ["action", "purpose", "data_categories", "data_subject", "explain", "collected_at", "recipient"]


@st.composite
def bodies(draw) -> bytes:
    kind = draw(st.sampled_from(["good", "edited", "json", "bytes"]))
    if kind == "bytes":
        return draw(st.binary(max_size=40))
    if kind == "json":
        return json.dumps(draw(JSON_VALUES)).encode()
    body = dict(GOOD)
    if kind == "edited":
        for field in draw(st.lists(st.sampled_from(FIELDS), max_size=3)):
            if draw(st.booleans()):
                body.pop(field, None)
            else:
                body[field] = draw(JSON_VALUES | st.sampled_from(["use", "marketing.email", ["user.contact.email"], True]))
    return json.dumps(body).encode()


@given(body=bodies(),
       content_type=st.sampled_from(["application/json", "application/json; charset=utf-8", "text/plain", None]),
       extra=st.sampled_from(["", "X-Request-ID: req-7\r\n", "Connection: close\r\n", "Expect: 100-continue\r\n"]),
       version=st.sampled_from(["1.1", "1.1", "1.0"]),
       split=st.integers(min_value=0, max_value=3))
@fewer(4)
def test_direct_and_plain_paths_answer_alike(served_app, body, content_type, extra, version, split):
    """Any request, good or bad, in one read or several: the same bytes back (a 4xx naming the field for a bad one)."""
    raw = request_bytes(body, content_type, extra, version)
    reads = [raw] if split == 0 else [raw[:len(raw) - split * len(body) // 4], raw[len(raw) - split * len(body) // 4:]]
    (direct, _), (plain, _) = both(served_app, [r for r in reads if r])
    assert scrubbed(direct) == scrubbed(plain)
    assert not direct.startswith(b"HTTP/1.1 500")


def test_pipelined_requests_are_answered_in_order_and_alike(served_app):
    good, bad = json.dumps(GOOD).encode(), b'{"action": 3}'
    reads = [request_bytes(good) + request_bytes(bad) + request_bytes(good, extra="X-Request-ID: last\r\n")]
    (direct, _), (plain, _) = both(served_app, reads, answers=3)
    assert scrubbed(direct) == scrubbed(plain)
    assert direct.count(b"HTTP/1.1 ") == 3


def test_other_paths_are_left_to_the_app(served_app):
    reads = [request_bytes(json.dumps({"requests": [GOOD]}).encode(), path="/v1/decide/batch")]
    (direct, direct_tasks), (plain, _) = both(served_app, reads)
    assert direct_tasks == 1 and scrubbed(direct) == scrubbed(plain)


def test_the_access_log_line_is_the_same(served_app, caplog):
    reads = [request_bytes(json.dumps(GOOD).encode(), extra="X-Request-ID: seen\r\n")]
    lines = []
    for path in (GuardedDirectHttpTools, GuardedHttpTools):
        caplog.clear()
        with caplog.at_level("INFO", logger="uvicorn.access"):
            app, loop, _ = served_app
            loop.run_until_complete(exchange(app, path, reads, 1))
        lines.append([r.getMessage() for r in caplog.records if r.name == "uvicorn.access"])
    assert lines[0] == lines[1] and len(lines[0]) == 1 and "POST /v1/decide" in lines[0][0]


def test_a_body_over_the_limit_is_answered_alike(served_app):
    body = json.dumps({**GOOD, "pad": "x" * 3000}).encode()  # the app's limit here: 2,048 bytes
    (direct, _), (plain, _) = both(served_app, [request_bytes(body)])
    assert direct.startswith(b"HTTP/1.1 413") and scrubbed(direct) == scrubbed(plain)


def test_the_direct_path_is_used_only_with_a_uvicorn_it_was_tested_with(caplog):
    low, high = connections.DIRECT_UVICORN
    assert connections.direct_supported(".".join(map(str, low)) + ".0")
    assert connections.direct_supported(".".join(map(str, high)) + ".9")
    with caplog.at_level(logging.WARNING, logger="pdp.server"):
        assert not connections.direct_supported(f"{high[0]}.{high[1] + 1}.0")
        assert not connections.direct_supported("not-a-version")
    assert "direct path for POST /v1/decide is off" in caplog.text
    # the uvicorn installed is one of them, or the suite would not exercise the direct path at all
    assert connections.direct_supported(uvicorn.__version__)


def test_a_body_sent_after_expect_100_continue_is_answered_alike(served_app):
    # uvicorn writes an interim `100 Continue` before the answer: the plain way takes it (the direct path does not)
    raw = request_bytes(json.dumps(GOOD).encode(), extra="Expect: 100-continue\r\n")
    (direct, direct_tasks), (plain, _) = both(served_app, [raw[:-5], raw[-5:]])
    assert direct.startswith(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n") and direct_tasks == 1
    assert scrubbed(direct) == scrubbed(plain)


@pytest.fixture(params=[True, False], ids=["a-callback-each", "a-future-each"])
def callbacks(request, monkeypatch):
    """The direct path's requests woken by a callback each, with their group (`audit.CALLBACKS`), or by a future each."""
    monkeypatch.setattr(audit, "CALLBACKS", request.param)
    return request.param


@given(body=bodies(), pipelined=st.integers(min_value=1, max_value=3))
@fewer(4)
def test_a_callback_each_answers_as_a_future_each(served_app, body, pipelined):
    """Any requests, pipelined in one read: the same bytes back, and the same rows logged, either way."""
    app, loop, path = served_app
    reads = [request_bytes(body, extra=f"X-Request-ID: n{n}\r\n") for n in range(pipelined)]
    written = []
    for on in (True, False):
        with patch.object(audit, "CALLBACKS", on):
            written.append(loop.run_until_complete(exchange(app, GuardedDirectHttpTools, [b"".join(reads)],
                                                            pipelined))[0])
    assert scrubbed(written[0]) == scrubbed(written[1])
    ids = [m.decode() for m in re.findall(rb'"decision_id":"([0-9a-f]+)"', b"".join(written))]
    with sqlite3.connect(path) as db:
        assert all(db.execute("select count(*) from decisions where decision_id = ?", (i,)).fetchone()[0] == 1
                   for i in ids)


async def at_once(app, raws: list[bytes]) -> list[bytes]:
    """What the direct path writes back to each of `raws`, each sent on a connection of its own in the same loop
    turn (so that their decisions go to the log in one group)."""
    config = Config(app=app, lifespan="off", log_config=None)
    config.load()
    state = ServerState()
    transports = [Transport() for _ in raws]
    connections_ = [GuardedDirectHttpTools(config=config, server_state=state, app_state={}, limits=LIMITS)
                    for _ in raws]
    for connection, transport in zip(connections_, transports):
        connection.connection_made(transport)
    for connection, raw in zip(connections_, raws):
        connection.data_received(raw)
    for _ in range(HANG_GUARD_TURNS):
        if all(_complete(bytes(t.written), 1) for t in transports):
            break
        await asyncio.sleep(0)
    else:
        pytest.fail("not every connection was answered")
    assert not state.tasks  # every one answered directly
    for connection in connections_:
        connection.connection_lost(None)
    return [bytes(t.written) for t in transports]


def test_a_group_is_answered_each_and_logged(served_app, callbacks):
    app, loop, path = served_app
    written = loop.run_until_complete(at_once(app, [request_bytes(json.dumps(GOOD).encode())] * 5))
    assert all(w.startswith(b"HTTP/1.1 200 OK") for w in written)
    ids = [json.loads(w.partition(b"\r\n\r\n")[2])["decision_id"] for w in written]
    with sqlite3.connect(path) as db:
        assert db.execute(f"select count(*) from decisions where decision_id in ({', '.join('?' * 5)})",
                          ids).fetchone()[0] == 5


def test_a_group_the_log_refuses_is_answered_503_each(served_app, callbacks, monkeypatch):
    app, loop, _ = served_app
    monkeypatch.setattr(app.state.decision_log, "_name", lambda selection: 10**6)  # a selection never sent: refused
    written = loop.run_until_complete(at_once(app, [request_bytes(json.dumps(GOOD).encode())] * 3))
    assert all(w.startswith(b"HTTP/1.1 503 ") and b'"log_unavailable"' in w for w in written)
