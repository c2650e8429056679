"""`pdp serve --ledger`: how the ledger and its tokens are configured, and that every way of getting it wrong stops
the command with one line (exit 2) or refuses requests, never opens the ledger to everyone by accident.

uvicorn is replaced by a runner that starts the app as uvicorn would (its lifespan, through TestClient), so the
command's whole startup path runs."""

import os

import pytest
import uvicorn
from fastapi.testclient import TestClient

from pdp.cli.app import main
from pdp.ledger import open_ledger
from tests.support.ledger import KEY, event
from tests.support.sets import CX_ONE_GO

TOKEN = "a-write-token-of-the-service"


@pytest.fixture
def ledger_file(tmp_path, clean_environment):
    path = tmp_path / "consent.db"
    open_ledger(path, key=KEY).close()
    os.environ["PDP_LEDGER_KEY"] = KEY
    return path


def serve(monkeypatch, argv, while_serving=None):
    """`pdp serve ARGV`: its exit code, and what `while_serving(client)` returned once the app started."""
    seen = {}

    def run(app, **_options):
        with TestClient(app) as client:
            seen["result"] = while_serving(client) if while_serving else None

    monkeypatch.setattr(uvicorn, "run", run)
    code = main(["serve", str(CX_ONE_GO), "--no-log", *argv])
    return code, seen.get("result")


def record(client, headers=None):
    return client.post("/v1/ledger/events", json=event("gpc.signalled"), headers=headers or {})


def test_without_tokens_the_ledger_refuses_everyone_and_says_how_to_configure(monkeypatch, capsys, ledger_file):
    code, response = serve(monkeypatch, ["--ledger", str(ledger_file)], record)
    assert code == 0 and response.status_code == 401
    message = response.json()["detail"][0]["message"]
    assert "none is configured" in message and "PDP_LEDGER_WRITE_TOKENS" in message
    assert "refuse every request until tokens are configured" in capsys.readouterr().err


def test_ledger_open_takes_no_token_and_warns(monkeypatch, capsys, ledger_file):
    code, response = serve(monkeypatch, ["--ledger", str(ledger_file), "--ledger-open"], record)
    assert code == 0 and response.status_code == 200
    assert "WARNING: the ledger's endpoints take no token (--ledger-open)" in capsys.readouterr().err


def test_erasure_stays_behind_the_admin_token_with_an_open_ledger(monkeypatch, ledger_file):
    def erase(client):
        record(client)
        return client.post("/v1/ledger/erase", json={"subject": "alice@example.com"})

    code, response = serve(monkeypatch, ["--ledger", str(ledger_file), "--ledger-open"], erase)
    assert code == 0 and response.status_code == 401 and "PDP_ADMIN_TOKEN" in response.json()["detail"][0]["message"]


def test_verifying_every_chain_stays_behind_the_admin_token_with_an_open_ledger(monkeypatch, ledger_file):
    def verify(client):
        record(client)
        assert client.post("/v1/ledger/verify", json={"subject": "alice@example.com"}).json()["ok"] is True
        return client.post("/v1/ledger/verify", json={})

    code, response = serve(monkeypatch, ["--ledger", str(ledger_file), "--ledger-open"], verify)
    assert code == 0 and response.status_code == 401 and "PDP_ADMIN_TOKEN" in response.json()["detail"][0]["message"]


def test_tokens_from_the_environment_comma_separated_or_json(monkeypatch, ledger_file):
    for value in (f"another-token-of-16-chars, {TOKEN}", f'["{TOKEN}"]'):
        os.environ["PDP_LEDGER_WRITE_TOKENS"] = value
        code, response = serve(monkeypatch, ["--ledger", str(ledger_file)],
                               lambda client: record(client, {"Authorization": f"Bearer {TOKEN}"}))
        assert code == 0 and response.status_code == 200


def test_without_a_ledger_its_endpoints_answer_404(monkeypatch, clean_environment):
    os.environ["PDP_LEDGER_WRITE_TOKENS"] = TOKEN
    code, response = serve(monkeypatch, [], lambda client: record(client, {"Authorization": f"Bearer {TOKEN}"}))
    assert code == 0 and response.status_code == 404 and response.json()["detail"][0]["field"] == "ledger"


@pytest.mark.parametrize("variables, said", [
    ({"PDP_LEDGER_WRITE_TOKENS": "short"}, "a token must be at least 16 characters"),
    ({"PDP_LEDGER_READ_TOKENS": TOKEN, "PDP_ADMIN_TOKEN": TOKEN}, "a ledger token is the admin token"),
    ({"PDP_LEDGER_WRITE_TOKENS": TOKEN, "PDP_LEDGER_OPEN": "true"}, "PDP_LEDGER_OPEN (--ledger-open) takes no tokens"),
    ({"PDP_LEDGER_WRITE_TOKENS": "[not json"}, "must be tokens separated by commas, or a JSON list of them"),
    ({"PDP_LEDGER_TOKENS_FILE": "/nonexistent/tokens"}, "PDP_LEDGER_TOKENS_FILE: cannot read `/nonexistent/tokens`"),
])
def test_bad_token_settings_stop_pdp_serve_with_one_line(monkeypatch, capsys, ledger_file, variables, said):
    os.environ.update(variables)
    code, _ = serve(monkeypatch, ["--ledger", str(ledger_file)])
    err = capsys.readouterr().err
    assert code == 2 and said in err and "Traceback" not in err and TOKEN not in err


def test_a_bad_tokens_file_names_its_line_without_quoting_it(monkeypatch, capsys, ledger_file, tmp_path):
    (tmp_path / "tokens").write_text(f"write {TOKEN}\n\nadmin {TOKEN}-2\n")
    os.environ["PDP_LEDGER_TOKENS_FILE"] = str(tmp_path / "tokens")
    code, _ = serve(monkeypatch, ["--ledger", str(ledger_file)])
    err = capsys.readouterr().err
    assert code == 2 and "line 3: expected `SCOPES TOKEN`" in err and TOKEN not in err


def test_a_missing_sqlite_ledger_is_not_made_by_the_server(monkeypatch, capsys, tmp_path, clean_environment):
    code, _ = serve(monkeypatch, ["--ledger", str(tmp_path / "typo.db")])
    err = capsys.readouterr().err
    assert code == 2 and "no ledger at" in err and "pdp consent init" in err and not (tmp_path / "typo.db").exists()


def test_a_wrong_key_stops_pdp_serve(monkeypatch, capsys, ledger_file):
    os.environ["PDP_LEDGER_KEY"] = "another key of at least 16 bytes"
    code, _ = serve(monkeypatch, ["--ledger", str(ledger_file)])
    assert code == 2 and "the ledger key is not the key this ledger was made with" in capsys.readouterr().err


def test_the_key_file_option(monkeypatch, tmp_path, ledger_file):
    del os.environ["PDP_LEDGER_KEY"]
    (tmp_path / "ledger.key").write_text(KEY + "\n")
    code, response = serve(monkeypatch, ["--ledger", str(ledger_file), "--ledger-open",
                                         "--ledger-key-file", str(tmp_path / "ledger.key")], record)
    assert code == 0 and response.status_code == 200


def test_a_database_that_fails_is_a_503_and_keeps_nothing(monkeypatch, ledger_file):
    import sqlite3

    def break_and_record(client):
        with sqlite3.connect(ledger_file) as connection:
            connection.execute("DROP TABLE ledger_state")
        return record(client, {"Authorization": f"Bearer {TOKEN}"})

    os.environ["PDP_LEDGER_WRITE_TOKENS"] = TOKEN
    code, response = serve(monkeypatch, ["--ledger", str(ledger_file)], break_and_record)
    assert code == 0 and response.status_code == 503
    assert response.json() == {"error": "ledger_unavailable", "detail": [
        {"field": "ledger", "message": "the ledger's database failed; nothing was changed"}]}
    with sqlite3.connect(ledger_file) as connection:
        assert connection.execute("SELECT count(*) FROM ledger_events").fetchone() == (0,)
