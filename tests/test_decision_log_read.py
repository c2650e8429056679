"""DecisionLog.read_oldest_first: what `pdp diff --replay` reads of a decision log, read-only."""

import datetime as dt

import pytest

from pdp.io.decision_log import DecisionLog, LoggedRequest

KEY = b"k" * 32


def logged(tmp_path):
    moments = iter([dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc) + dt.timedelta(minutes=m) for m in range(10)])
    path = tmp_path / "decisions.db"
    with DecisionLog(path, pseudonym_key=KEY, clock=lambda: next(moments)) as log:
        for n, decision in enumerate(["allow", "deny", "allow"]):
            request = {"action": "use", "purpose": "analytics", "data_categories": [f"user.c{n}"]}
            log.append(request, {"decision": decision, "reasons": [], "obligations": [],
                                 "policy": {"digest": "sha256:x"}, "decision_id": f"d{n}"})
    return path


def test_the_requests_come_oldest_first_and_the_file_is_not_written(tmp_path):
    path = logged(tmp_path)
    before = (path.read_bytes(), path.stat().st_mtime_ns)  # (SQLite may add its -shm file beside a WAL log)
    rows = list(DecisionLog.read_oldest_first(path))
    assert [type(r) for r in rows] == [LoggedRequest] * 3
    assert [r.decision for r in rows] == ["allow", "deny", "allow"]
    assert ['"user.c0"' in rows[0].request, '"user.c2"' in rows[2].request] == [True, True]
    assert {r.endpoint for r in rows} == {"/v1/decide"}
    assert [r.decision for r in DecisionLog.read_oldest_first(path, limit=2)] == ["allow", "deny"]
    assert (path.read_bytes(), path.stat().st_mtime_ns) == before


def test_a_file_that_is_not_a_decision_log_is_named(tmp_path):
    path = tmp_path / "notes.db"
    path.write_text("not sqlite at all " * 100)
    with pytest.raises(ValueError, match="`.*notes.db` is not a pdp decision log"):
        list(DecisionLog.read_oldest_first(path))
