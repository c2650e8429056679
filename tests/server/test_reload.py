"""Hot reload (issue 8, findings 3 and 13): a half-written file is never served, a symlinked directory
swap is followed, and every kind of failure leaves the watcher running and the last good set serving.

Waits are hang guards (`wait_for`), never assertions on speed.
"""

import asyncio
import errno
import gc
import logging
import os
import shutil
import threading
import time
import weakref
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

import pdp.io.loader
from pdp.server import Settings, create_app
from pdp.server.metrics import Metrics
from pdp.server.state import PolicyHolder
from tests.support.serve import wait_for

ROOT = Path(__file__).resolve().parents[2]
HANG_GUARD_S = 30
POLICY = '''policy "ops" version "{version}" effective 2026-11-24
allow ops "Operate the service" cite "§2.1" to use for essential of user
'''
OK = {"action": "use", "purpose": "essential.service", "data_categories": ["user.name"]}
# Promotional email to a person who opted out of marketing: policies/marketing.pdp denies it.
OPTED_OUT = {"action": "use", "purpose": "marketing.communications.email", "data_categories": ["user.contact.email"],
             "data_subject": {"id": "p-1", "type": "customer", "consent": {"marketing": False}}}


def _served(client) -> dict:
    return client.get("/v1/policies").json()


def _version(client) -> str:
    return _served(client)["policies"][0]["version"]


# -- finding 3: a half-written file ------------------------------------------------------------------------


@pytest.mark.slow
def test_a_policy_file_written_in_two_chunks_is_never_served_half_written(tmp_path):
    policy_dir = tmp_path / "policies"
    shutil.copytree(ROOT / "policies", policy_dir)
    text = (policy_dir / "marketing.pdp").read_text()
    # The first chunk alone is a valid file: the allow rules, without the opt-out denies after them.
    cut = text.index("deny marketing.email_opt_out")
    first, second = text[:cut], text[cut:] + "\n# edited\n"
    settings = Settings(policy_dir=policy_dir, reload_debounce_ms=50, reload_settle_ms=3000)
    with TestClient(create_app(settings)) as client:
        before = _served(client)["policies"][0]["digest"]
        assert client.post("/v1/decide", json=OPTED_OUT).json()["decision"] == "deny"

        def write_in_two_chunks():
            with open(policy_dir / "marketing.pdp", "w") as out:
                out.write(first)
                out.flush()
                time.sleep(1.5)  # an editor or a copy between two writes (shorter than the settling interval)
                out.write(second)

        writer = threading.Thread(target=write_in_two_chunks)
        writer.start()
        answers = []
        deadline = time.monotonic() + HANG_GUARD_S
        while time.monotonic() < deadline:
            answers.append(client.post("/v1/decide", json=OPTED_OUT).json()["decision"])
            if not writer.is_alive() and _served(client)["policies"][0]["digest"] != before:
                break
            # A half-written set, once loaded, would serve until the next reload: for at least the 1.5 s between
            # the writes, which a hundred asks a second cannot miss (asking without a pause cost seconds of CPU).
            time.sleep(0.01)
        writer.join()
        assert _served(client)["policies"][0]["digest"] != before, "the finished edit was never loaded"
        assert "allow" not in answers, f"the half-written set answered allow {answers.count('allow')} times"
        assert client.post("/v1/decide", json=OPTED_OUT).json()["decision"] == "deny"


def test_a_snapshot_whose_files_change_while_read_is_thrown_away(tmp_path, monkeypatch):
    from pdp.server.snapshot import Moved, load_snapshot

    (tmp_path / "main.pdp").write_text(POLICY.format(version="1"))
    real_read = pdp.io.loader.read_sources

    def read_and_change(directory):
        sources = real_read(directory)
        (tmp_path / "main.pdp").write_text(POLICY.format(version="2"))  # a writer, mid-read
        return sources

    monkeypatch.setattr(pdp.io.loader, "read_sources", read_and_change)
    with pytest.raises(Moved):
        load_snapshot(tmp_path)


@pytest.mark.parametrize("special", ["z.pdp", "data/d.yaml", "vocabulary.yaml"])
def test_the_snapshot_refuses_special_files_as_the_loader_does(tmp_path, special):
    # one place decides which files may be read: the server gives the diagnostics `pdp check` gives
    from pdp.server.snapshot import load_snapshot

    (tmp_path / "main.pdp").write_text(POLICY.format(version="1"))
    (tmp_path / "data").mkdir()
    os.mkfifo(tmp_path / special)
    with pytest.raises(pdp.PolicyError) as served:
        load_snapshot(tmp_path)
    with pytest.raises(pdp.PolicyError) as checked:
        pdp.io.loader.load(tmp_path.resolve())
    assert served.value.diagnostics == checked.value.diagnostics
    (refused,) = served.value.diagnostics
    assert refused.code == "unreadable" and "a FIFO" in refused.message


def test_a_reload_reads_again_until_it_gets_a_snapshot_that_held_still(tmp_path, monkeypatch):
    from pdp.server.reload import Reloader

    (tmp_path / "main.pdp").write_text(POLICY.format(version="1"))
    holder = PolicyHolder(tmp_path)
    assert holder.reload()
    (tmp_path / "main.pdp").write_text(POLICY.format(version="2"))  # the edit that starts the reload
    real_read, writes = pdp.io.loader.read_sources, iter(["3", "4"])

    def read_while_a_writer_works(directory):
        sources = real_read(directory)
        version = next(writes, None)
        if version is not None:  # the first two reads are overtaken by a write
            (tmp_path / "main.pdp").write_text(POLICY.format(version=version))
        return sources

    monkeypatch.setattr(pdp.io.loader, "read_sources", read_while_a_writer_works)
    reloader = Reloader(holder, Metrics(), settle_ms=50, timeout_s=HANG_GUARD_S)
    assert asyncio.run(reloader.reload(settle=True)) is True
    assert holder.current.version == "4" and holder.last_failure is None


@pytest.mark.slow
def test_a_swapped_symlinked_policy_directory_is_followed(tmp_path):
    releases = tmp_path / "releases"
    for version in ("1", "2"):
        (releases / version).mkdir(parents=True)
        (releases / version / "main.pdp").write_text(POLICY.format(version=version))
    current = tmp_path / "current"
    current.symlink_to(releases / "1")
    settings = Settings(policy_dir=current, reload_debounce_ms=50, reload_settle_ms=100)
    with TestClient(create_app(settings)) as client:
        assert _version(client) == "1"
        # The atomic deployment of docs/service.md: a new link, renamed over the old one.
        (tmp_path / "next").symlink_to(releases / "2")
        os.replace(tmp_path / "next", current)
        assert wait_for(lambda: _version(client) == "2")
        shutil.rmtree(releases / "1")  # the old release is removed once the new one serves
        # and the new target is the one watched now
        (releases / "2" / "main.pdp").write_text(POLICY.format(version="3"))
        assert wait_for(lambda: _version(client) == "3")


# -- finding 13: reloads that fail or hang -----------------------------------------------------------------


def _five_thousand_nots(policy_dir: Path):
    (policy_dir / "deep.pdp").write_text('allow deep "Deep" cite "§1" to use for essential of user when '
                                         + "not " * 5000 + "recipient.dpa\n")


def _broken_by_a_fault(error: OSError):
    """A fault raised by the next reads of the directory (as a real one would: deleted mid-read, unreadable...)."""

    def arm(policy_dir: Path, monkeypatch):
        real_read = pdp.io.loader.read_sources

        def failing_read(directory):
            if (policy_dir / "fault.pdp").exists():
                raise error
            return real_read(directory)

        monkeypatch.setattr(pdp.io.loader, "read_sources", failing_read)
        (policy_dir / "fault.pdp").write_text("# a change that triggers a reload\n")

    return arm


BREAKS = {
    "a directory named x.pdp": lambda d, _: (d / "x.pdp").mkdir(),
    "a FIFO named z.pdp": lambda d, _: os.mkfifo(d / "z.pdp"),
    "a rule with 5,000 nots": lambda d, _: _five_thousand_nots(d),
    "a file deleted mid-read": _broken_by_a_fault(FileNotFoundError(errno.ENOENT, "No such file or directory",
                                                                    "gone.pdp")),
    "an unreadable file": _broken_by_a_fault(PermissionError(errno.EACCES, "Permission denied", "secret.pdp")),
    "too many open files": _broken_by_a_fault(OSError(errno.EMFILE, "Too many open files")),
    "a bug in the loader": _broken_by_a_fault(RuntimeError("an unforeseen fault")),
}


def _repair(policy_dir: Path):
    for name in ("x.pdp", "z.pdp", "deep.pdp", "fault.pdp"):
        path = policy_dir / name
        if path.is_dir() and not path.is_symlink():
            path.rmdir()
        elif path.exists() or path.is_symlink() or name == "z.pdp" and os.path.lexists(path):
            path.unlink()


@pytest.mark.slow
@pytest.mark.parametrize("name", BREAKS)
def test_the_watcher_survives_a_failed_reload_and_keeps_serving(tmp_path, monkeypatch, caplog, name):
    (tmp_path / "main.pdp").write_text(POLICY.format(version="1"))
    settings = Settings(policy_dir=tmp_path, reload_debounce_ms=50, reload_settle_ms=100, reload_timeout_s=10)
    caplog.set_level(logging.ERROR, logger="pdp.reload")
    with TestClient(create_app(settings)) as client:
        BREAKS[name](tmp_path, monkeypatch)
        assert wait_for(lambda: _served(client)["last_reload_failure"] is not None), "the failure was not recorded"
        assert _version(client) == "1"  # the last good set keeps serving
        assert client.post("/v1/decide", json=OK).json()["decision"] == "allow"
        assert client.get("/ready").status_code == 200
        assert "pdp_policy_reload_failures_total 0.0" not in client.get("/metrics").text
        assert "policy reload refused" in caplog.text

        _repair(tmp_path)
        (tmp_path / "main.pdp").write_text(POLICY.format(version="2"))
        assert wait_for(lambda: _version(client) == "2"), "the watcher stopped applying edits"
        assert _served(client)["last_reload_failure"] is None


@pytest.mark.slow
def test_a_read_that_hangs_is_abandoned_and_later_reloads_still_work(tmp_path, monkeypatch):
    (tmp_path / "main.pdp").write_text(POLICY.format(version="1"))
    release = threading.Event()
    real_read = pdp.io.loader.read_sources

    def hanging_read(directory):
        if (tmp_path / "hang.pdp").exists():
            release.wait()  # as reading a FIFO without a writer would, for ever
        return real_read(directory)

    monkeypatch.setattr(pdp.io.loader, "read_sources", hanging_read)
    settings = Settings(policy_dir=tmp_path, reload_debounce_ms=50, reload_settle_ms=100, reload_timeout_s=0.5)
    try:
        with TestClient(create_app(settings)) as client:
            (tmp_path / "hang.pdp").write_text("# reading this directory hangs\n")
            assert wait_for(lambda: _served(client)["last_reload_failure"] is not None)
            (message,) = [e["message"] for e in _served(client)["last_reload_failure"]["errors"]]
            assert "did not finish within 0.5 s" in message
            assert _version(client) == "1"
            (tmp_path / "hang.pdp").unlink()
            (tmp_path / "main.pdp").write_text(POLICY.format(version="2"))
            assert wait_for(lambda: _version(client) == "2"), "a hung read blocked later reloads"
    finally:
        release.set()


@pytest.mark.slow
def test_the_watcher_itself_is_restarted_after_it_fails(tmp_path, monkeypatch):
    import watchfiles

    (tmp_path / "main.pdp").write_text(POLICY.format(version="1"))
    real_awatch, calls = watchfiles.awatch, []

    def failing_once(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise OSError(errno.EMFILE, "Too many open files")
        return real_awatch(*args, **kwargs)

    monkeypatch.setattr(watchfiles, "awatch", failing_once)
    settings = Settings(policy_dir=tmp_path, reload_debounce_ms=50, reload_settle_ms=100)
    with TestClient(create_app(settings)) as client:
        assert wait_for(lambda: len(calls) >= 2)
        time.sleep(0.3)  # let the new watcher start before the edit
        (tmp_path / "main.pdp").write_text(POLICY.format(version="2"))
        assert wait_for(lambda: _version(client) == "2")


def test_a_directory_that_never_stops_changing_is_a_recorded_failure_not_a_stuck_watcher(tmp_path, monkeypatch):
    import pdp.server.reload as reload_module

    (tmp_path / "main.pdp").write_text(POLICY.format(version="1"))
    holder = PolicyHolder(tmp_path)
    assert holder.reload()
    monkeypatch.setattr(reload_module, "MAX_SETTLE_ROUNDS", 3)
    # A writer that touches the directory between any two looks, however the machine schedules threads: every look
    # at the directory first writes it again (a writer thread with a sleep was starved past the settling interval
    # on a loaded machine, and the directory then looked settled).
    looked = reload_module.current_fingerprint
    writes = iter(range(1, 10_000))

    def changed_then_looked(directory):
        (tmp_path / "busy.yaml").write_text(f"n: {next(writes)}\n")
        return looked(directory)

    monkeypatch.setattr(reload_module, "current_fingerprint", changed_then_looked)
    reloader = reload_module.Reloader(holder, Metrics(), settle_ms=50, timeout_s=HANG_GUARD_S)
    assert asyncio.run(reloader.reload(settle=True)) is False
    (error,) = holder.last_failure.errors
    assert error["code"] == "reload-failed" and "did not stop changing" in error["message"]
    assert holder.current.version == "1"


# -- issue 10: a large set is kept out of the collector's walks ------------------------------------------------


def _frozen(obj) -> bool:
    """Is `obj` in the permanent generation (gc.freeze), skipped by every collection? (a tracked object that
    is not frozen is in one of the three generations that `gc.get_objects` lists)"""
    return gc.is_tracked(obj) and all(o is not obj for generation in range(3) for o in gc.get_objects(generation))


def test_a_swap_frees_the_set_it_replaces_and_freezes_the_one_it_serves(tmp_path):
    (tmp_path / "ops.pdp").write_text(POLICY.format(version="1"))
    app = create_app(Settings(policy_dir=tmp_path, reload=False, admin_token="t0ken"))
    with TestClient(app) as client:
        holder = app.state.holder
        first = weakref.ref(holder.current)
        assert _frozen(holder.current) and _frozen(holder.current.rules[0])
        (tmp_path / "ops.pdp").write_text(POLICY.format(version="2"))
        assert client.post("/v1/admin/reload", headers={"Authorization": "Bearer t0ken"}).json()["reloaded"] is True
        assert _version(client) == "2"
        assert first() is None  # unfrozen and collected (it is in a cycle: its own `history`)
        assert _frozen(holder.current) and _frozen(holder.current.rules[0]) and gc.get_freeze_count() > 0
        assert client.post("/v1/decide", json=OK).json()["decision"] == "allow"
    assert not _frozen(holder.current)  # the app stopped: what it held is the collector's again
