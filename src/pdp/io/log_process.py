"""The decision log's writer as a process of its own: rows come in over a pipe, and each group's commit goes back.

Why a process: a server's treatment of a row (its logged view, its
identifiers pseudonymised: `log_view`) is Python work of about the same
size as a decision; done by a thread of the serving process, it holds the
interpreter lock the event loop needs, and costs a fifth of the throughput
and most of the p99 latency. In a process of its own it runs on the other
core. The serving process only encodes what it hands over (one orjson call
per group) and reads the acknowledgements.

The promise is the thread's: the server answers a request only after this
process has committed its row and said so; a row it cannot commit is
reported, and the server answers 503. The process lives as long as its
standard input: when the server closes it, or dies (even by `kill -9`), it
commits what it has read and exits. It ignores SIGINT and SIGTERM, which a
terminal's Ctrl-C or a service manager send to the whole group, so that the
server's graceful shutdown still has its log.

The wire, both ways a frame each: 4 bytes of length (little-endian) and
that much JSON. To this process (its standard input):

- `["open", {...}]` first: `DecisionLog`'s arguments (the key in hex);
- `["selection", n, {"paths", "words", "attributes"}]`: a policy set's
  `log_view.Selection`, named `n` in the rows after it;
- `["forget", [n, ...]]`: selections the server will not name again;
- `["rows", seq, [[request, answer, endpoint, n], ...]]` (the answer as the
  server sent it: encoding it whole costs the server less than picking out
  what a row keeps; or, when the server kept it with the answer's outcome
  (`pdp.server.deciding.Answers`), what the row keeps of it,
  `[decision_id, decision, rules as JSON text, policy digest]`:
  `decision_log.row_fields`, stored as it is).

From it (its standard output): `["ready"]` once the log is open (or
`["failed", message]`, then it exits), and after each commit
`["done", first_seq, last_seq, error]`, `error` null when the rows of
groups `first_seq` to `last_seq` are committed.
"""

from __future__ import annotations

import logging
import os
import signal
import struct
import sys
from collections.abc import Iterator

import orjson

from .decision_log import DecisionLog
from .log_view import CUT, Selection

log = logging.getLogger("pdp.io.log_process")

_LENGTH = struct.Struct("<I")
# Bytes read from the pipe at once: whatever the server has handed over meanwhile, up to what a pipe holds (64 KiB
# on Linux). Asking for more gains nothing and costs: each read allocates a buffer of that size, and one of 1 MiB is
# mapped and unmapped each time (13 µs a read of 25 KB, against 2.5 µs with 64 KiB).
READ_SIZE = 1 << 16
_UNKNOWN = Selection(frozenset({("?",)}))  # a row naming a selection never sent: refused, not logged with less


def frame(message) -> bytes:
    """`message` as one frame of the wire.

    Requests come parsed from JSON, so they encode as they are (orjson's
    plain path, twice as fast as its tolerant one); anything else (a key
    that is not a string, a value JSON has no name for) is encoded as the
    log itself encodes it (`decision_log.treat`: keys and values as text).
    """
    try:
        body = orjson.dumps(message)
    except TypeError:
        body = orjson.dumps(message, option=orjson.OPT_NON_STR_KEYS, default=str)
    return _LENGTH.pack(len(body)) + body


ENCODED_DEPTH = 250  # orjson encodes at most 254 levels of nesting


def bounded(value, depth: int = 0):
    """`value` with what is nested deeper than `ENCODED_DEPTH` cut, so that it encodes.

    Only a request orjson refuses (nested deeper than it encodes: a hostile
    one) goes through this. The log keeps at most `log_view.MAX_DEPTH`
    levels below each path it stores, so no row shows the cut unless a
    path it stores is about 240 levels long.
    """
    if isinstance(value, (dict, list)) and depth >= ENCODED_DEPTH:
        return CUT
    if isinstance(value, dict):
        return {name: bounded(item, depth + 1) for name, item in value.items()}
    if isinstance(value, list):
        return [bounded(item, depth + 1) for item in value]
    return value


def frames(buffer: bytearray) -> Iterator:
    """The whole frames at the start of `buffer`, decoded and removed from it; a partial one stays."""
    at = 0
    while len(buffer) - at >= _LENGTH.size:
        (size,) = _LENGTH.unpack_from(buffer, at)
        if len(buffer) - at - _LENGTH.size < size:
            break
        start = at + _LENGTH.size
        yield orjson.loads(bytes(buffer[start:start + size]))
        at = start + size
    del buffer[:at]


def selection_json(selection: Selection) -> dict:
    return {"paths": sorted(selection.paths), "words": sorted(selection.words),
            "attributes": sorted(selection.attributes)}


def selection_from(data: dict) -> Selection:
    return Selection(frozenset(tuple(p) for p in data["paths"]), frozenset(data["words"]),
                     frozenset(tuple(p) for p in data["attributes"]))


def open_arguments(decision_log: DecisionLog) -> dict:
    """What `["open", ...]` carries to open the same log as `decision_log` (its path, key and limits)."""
    return {"path": str(decision_log.path), "key": decision_log.key_hex(), "mask": list(decision_log.mask),
            "retention_days": decision_log.retention_days, "synchronous": decision_log.synchronous,
            "attributes": list(decision_log.attributes), "max_row_bytes": decision_log.max_row_bytes,
            "max_bytes": decision_log.max_bytes}


def _open(arguments: dict) -> DecisionLog:
    arguments = dict(arguments)
    return DecisionLog(arguments.pop("path"), pseudonym_key=bytes.fromhex(arguments.pop("key")), **arguments)


def _write(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def serve(read_fd: int, write_fd: int) -> None:
    """Read frames from `read_fd` until it closes, commit each batch of rows, acknowledge on `write_fd`."""
    buffer = bytearray()
    decision_log: DecisionLog | None = None
    selections: dict[int, Selection] = {}
    try:
        while True:
            chunk = os.read(read_fd, READ_SIZE)  # blocks for the first byte; then whatever the pipe holds
            closing = not chunk
            buffer += chunk
            rows: list[tuple] = []
            seqs: list[int] = []
            for message in frames(buffer):
                kind = message[0]
                if kind == "rows":
                    seqs.append(message[1])
                    rows.extend((request, response, endpoint, None if name is None else selections.get(name, _UNKNOWN))
                                for request, response, endpoint, name in message[2])
                elif kind == "selection":
                    selections[message[1]] = selection_from(message[2])
                elif kind == "forget":  # the server will not name these again: rows before this were resolved
                    for name in message[1]:
                        selections.pop(name, None)
                elif kind == "open":
                    try:
                        decision_log = _open(message[1])
                    except Exception as exc:  # noqa: BLE001 - reported to the server, which answers 503
                        _write(write_fd, frame(["failed", f"{exc.__class__.__name__}: {exc}"]))
                        return
                    _write(write_fd, frame(["ready"]))
            if seqs:
                refused: str | None = None
                try:
                    if decision_log is None:
                        raise RuntimeError("rows came before the log was opened")
                    if any(row[3] is _UNKNOWN for row in rows):
                        raise RuntimeError("a row names a selection the server never sent")
                    decision_log.append_many(rows)  # an answer without its decision fails the group, as in a thread
                except Exception as exc:  # noqa: BLE001 - each waiting request is answered 503, never unlogged
                    log.exception("the decision log refused a write")
                    refused = f"{exc.__class__.__name__}: {exc}"
                _write(write_fd, frame(["done", seqs[0], seqs[-1], refused]))
            if closing:
                return
    finally:
        if decision_log is not None:
            decision_log.close()


def main() -> None:
    # Stop only when the server closes the pipe (or dies): a Ctrl-C or a SIGTERM sent to the server's whole
    # group must not take the log from under requests the server is still finishing.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s:     %(name)s: %(message)s", stream=sys.stderr)
    acks = os.dup(sys.stdout.fileno())
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # a stray print must not land in the acknowledgements
    serve(sys.stdin.fileno(), acks)


if __name__ == "__main__":
    main()
