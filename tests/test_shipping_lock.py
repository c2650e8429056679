"""One shipper an outbox: the workers of one server share their log and each starts a shipper; only the holder of
the outbox's shipping lock ships, and another takes over when it dies."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading

from pdp.io.log_shipper import ShippingLock

HOLD = """
import fcntl, os, sys
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o600)
fcntl.flock(fd, fcntl.LOCK_EX)
print("held", flush=True)
sys.stdin.read()
"""


def stopped() -> threading.Event:
    stop = threading.Event()
    stop.set()  # take() tries once, then gives up
    return stop


def test_a_second_shipper_of_the_same_outbox_waits(tmp_path):
    first, second = ShippingLock(tmp_path / "log.db"), ShippingLock(tmp_path / "log.db")
    assert first.take(stopped())
    try:
        assert not second.take(stopped())
        assert ShippingLock(tmp_path / "other.db").take(stopped()), "another outbox is shipped apart"
    finally:
        first.release()
    assert second.take(stopped()), "released: the next one ships"
    second.release()


def test_the_lock_file_is_the_owners_only(tmp_path):
    lock = ShippingLock(tmp_path / "log.db")
    assert lock.take(stopped())
    lock.release()
    assert os.stat(lock.path).st_mode & 0o077 == 0


def test_a_killed_holder_frees_the_outbox(tmp_path):
    lock = ShippingLock(tmp_path / "log.db")
    holder = subprocess.Popen([sys.executable, "-c", HOLD, lock.path], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        assert not lock.take(stopped())
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait()
        stop = threading.Event()
        hang_guard = threading.Timer(120, stop.set)
        hang_guard.start()
        try:
            assert lock.take(stop), "the dead holder's lock was not freed"
        finally:
            hang_guard.cancel()
        lock.release()
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait()
