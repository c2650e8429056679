"""The studio's front end (static files, strict headers) and `pdp studio` as a real process."""

import os
import select
import subprocess
import sys
import time

import httpx
import pytest

from pdp.cli.app import main
from pdp.cli.studio import is_loopback
from pdp.server.studio import front_end
from tests.server.studio_support import AUTH, copy_policies, studio_client
from tests.support.serve import HANG_GUARD_S, free_port


@pytest.fixture
def client(tmp_path):
    with studio_client(copy_policies(tmp_path)) as client:
        yield client


@pytest.fixture
def built(tmp_path, monkeypatch):
    """A stand-in build of the front end (the real one is helper studio-ui's, built from frontend/studio)."""
    static = tmp_path / "static"
    (static / "assets").mkdir(parents=True)
    (static / "index.html").write_text('<!doctype html><script type="module" src="assets/app.js"></script>')
    (static / "assets" / "app.js").write_text("console.log('studio')\n")
    (tmp_path / "secret.txt").write_text("not part of the front end")
    monkeypatch.setattr(front_end, "STATIC", static)
    return static


def test_without_a_build_the_page_says_so(client, tmp_path, monkeypatch):
    monkeypatch.setattr(front_end, "STATIC", tmp_path / "nothing")
    answer = client.get("/studio/")
    assert answer.status_code == 404
    assert answer.json()["errors"][0]["message"].startswith("the studio's front end is not built")


def test_the_page_and_its_assets_are_served_with_strict_headers_and_no_token(client, built):
    page = client.get("/studio/")
    assert page.status_code == 200 and "assets/app.js" in page.text
    assert page.headers["content-security-policy"].startswith("default-src 'self'")
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["cache-control"] == "no-cache"
    script = client.get("/studio/assets/app.js")
    assert script.status_code == 200 and "javascript" in script.headers["content-type"]
    assert script.headers["x-content-type-options"] == "nosniff"
    assert client.get("/studio", follow_redirects=False).headers["location"] == "/studio/"


@pytest.mark.parametrize("path", ["/studio/assets/../../secret.txt", "/studio/assets/%2e%2e/%2e%2e/secret.txt",
                                  "/studio/assets/", "/studio/assets/missing.js", "/studio/assets/..%2findex.html"])
def test_nothing_outside_the_assets_is_served(client, built, path):
    answer = client.get(path)
    assert answer.status_code == 404
    assert "not part of the front end" not in answer.text


def test_an_asset_link_leading_out_is_not_served(client, built, tmp_path):
    (built / "assets" / "out.txt").symlink_to(tmp_path / "secret.txt")
    assert client.get("/studio/assets/out.txt").status_code == 404


@pytest.mark.parametrize("host,loopback", [("127.0.0.1", True), ("localhost", True), ("::1", True),
                                           ("127.0.0.2", True), ("0.0.0.0", False), ("192.168.1.4", False),
                                           ("example.org", False), ("::", False)])
def test_loopback_hosts(host, loopback):
    assert is_loopback(host) is loopback


def test_pdp_studio_refuses_another_host_without_a_token_set(monkeypatch, capsys):
    monkeypatch.delenv("PDP_STUDIO_TOKEN", raising=False)
    assert main(["studio", "--host", "0.0.0.0", "--no-browser"]) == 2
    assert "PDP_STUDIO_TOKEN" in capsys.readouterr().err


def test_pdp_studio_serves_the_set_with_the_token_in_its_url(tmp_path):
    policies = copy_policies(tmp_path)
    port = free_port()
    env = {name: value for name, value in os.environ.items() if not name.startswith("PDP_")}
    proc = subprocess.Popen([sys.executable, "-m", "pdp.cli", "studio", str(policies), "--port", str(port),
                             "--no-browser"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True)
    try:
        ready, _, _ = select.select([proc.stdout], [], [], HANG_GUARD_S)  # a hang guard, not a measure of speed
        assert ready, "pdp studio printed nothing"
        line = proc.stdout.readline()
        assert line.startswith(f"studio: http://127.0.0.1:{port}/studio/#token="), line + proc.stderr.read()
        token = line.strip().rsplit("#token=", 1)[1]
        assert len(token) >= 32
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + HANG_GUARD_S
        answer = None
        while time.monotonic() < deadline:
            try:
                answer = httpx.get(f"{base}/studio/api/files", headers={"Authorization": f"Bearer {token}"}, timeout=5)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        assert answer is not None and answer.status_code == 200
        assert any(f["path"] == "marketing.pdp" for f in answer.json()["files"])
        assert httpx.get(f"{base}/studio/api/files", headers=AUTH, timeout=5).status_code == 401
        assert httpx.get(f"{base}/studio/api/files", timeout=5).status_code == 401
    finally:
        proc.terminate()
        proc.wait(10)


def test_under_pdp_serve_a_save_is_served_at_once(tmp_path, monkeypatch):
    from tests.server.studio_support import EMAIL, TOKEN, marketing_without_email
    from tests.support.serve import served

    policies = copy_policies(tmp_path)
    monkeypatch.setenv("PDP_STUDIO_TOKEN", TOKEN)
    with served(policies) as base:
        assert httpx.post(f"{base}/v1/decide", json=EMAIL, timeout=10).json()["decision"] == "allow"
        answer = httpx.post(f"{base}/studio/api/save", headers=AUTH, timeout=HANG_GUARD_S,
                            json={"edits": {"marketing.pdp": marketing_without_email(policies)}})
        assert answer.status_code == 200 and answer.json()["reloaded"] is True
        assert httpx.post(f"{base}/v1/decide", json=EMAIL, timeout=10).json()["decision"] == "deny"
