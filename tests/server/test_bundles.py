"""`pdp serve --bundle URL` (issue 10): replicas poll a signed bundle, switch together, and keep the last good
set on any failure; with no good bundle yet, nothing is decided.

The bundle server is http.server on loopback (tests/support/bundles.py). Waits are hang guards
(`wait_for`), never assertions on speed.
"""

import os
import re

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient
from pydantic import ValidationError

from pdp.base.limits import MAX_BUNDLE_BYTES
from pdp.cli.app import main
from pdp.io.bundle import key_id
from pdp.server import Settings, create_app
from tests.support.bundles import ALLOWING, BROKEN, DENYING, REQUEST, BundleServer, bundle_of, forge, write_set
from tests.support.serve import served, wait_for

KEY = Ed25519PrivateKey.generate()
STRANGER = Ed25519PrivateKey.generate()  # signs bundles nobody trusts
TOKEN = "s3cret-token"
AUTHZEN = {"subject": {"type": "service", "id": "billing"}, "action": {"name": "use", "properties": {
    "purpose": "essential.service"}}, "resource": {"type": "personal_data", "id": "p-1", "properties": {
        "data_categories": ["user.name"]}}}


@pytest.fixture
def public_key(tmp_path):
    path = tmp_path / "trusted.pub.pem"
    path.write_bytes(KEY.public_key().public_bytes(serialization.Encoding.PEM,
                                                   serialization.PublicFormat.SubjectPublicKeyInfo))
    return path


@pytest.fixture
def bundles(tmp_path):
    """The bundles a team publishes over time: r1 allows REQUEST, r2 denies it."""
    return {"r1": bundle_of(write_set(tmp_path / "r1", ALLOWING.format(version="1")), "r1", KEY),
            "r2": bundle_of(write_set(tmp_path / "r2", DENYING.format(version="2")), "r2", KEY),
            "stranger": bundle_of(write_set(tmp_path / "r3", ALLOWING.format(version="3")), "r3", STRANGER),
            "broken": forge({"main.pdp": BROKEN.format(version="4").encode()}, "r4", KEY)}


def _status(client_or_base) -> dict:
    get = client_or_base.get if not isinstance(client_or_base, str) else (lambda p: httpx.get(client_or_base + p))
    return get("/v1/policies").json()


def _bundle(target) -> dict:
    return _status(target)["bundle"]


def _decision(target) -> str:
    if isinstance(target, str):
        return httpx.post(target + "/v1/decide", json=REQUEST).json()["decision"]
    return target.post("/v1/decide", json=REQUEST).json()["decision"]


def _metric(text: str, name: str) -> float:
    found = re.search(rf"^{re.escape(name)} (\S+)$", text, re.M)
    return float(found.group(1)) if found else 0.0


def _app(server: BundleServer, public_key, **settings):
    return create_app(Settings(bundle_url=server.url, bundle_public_key=public_key, bundle_poll_s=0.1,
                               **settings))


# -- two replicas ------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_two_replicas_switch_together_and_both_keep_the_last_good_set(bundles, public_key):
    server = BundleServer(bundles["r1"])
    with server.running(), \
            served(None, "--bundle", server.url, "--public-key", str(public_key), "--bundle-poll", "0.2") as one, \
            served(None, "--bundle", server.url, "--public-key", str(public_key), "--bundle-poll", "0.2") as two:
        replicas = (one, two)
        for replica in replicas:
            assert _bundle(replica)["revision"] == "r1" and _decision(replica) == "allow"
        # a new bundle: both switch to it, and decide by it
        server.publish(bundles["r2"])
        for replica in replicas:
            assert wait_for(lambda r=replica: _bundle(r)["revision"] == "r2"), _bundle(replica)
            assert _decision(replica) == "deny"
            assert _bundle(replica)["signed_by"] == key_id(KEY.public_key())
        # a bundle signed by a key nobody trusts: both refuse it, say why, and keep deciding by r2
        server.publish(bundles["stranger"])
        for replica in replicas:
            assert wait_for(lambda r=replica: (_bundle(r)["last_error"] or {}).get("reason") == "bad_signature")
            assert _bundle(replica)["revision"] == "r2" and _decision(replica) == "deny"
            assert key_id(STRANGER.public_key()) in _bundle(replica)["last_error"]["message"]
        # a signed bundle with a policy error: the same
        server.publish(bundles["broken"])
        for replica in replicas:
            assert wait_for(lambda r=replica: (_bundle(r)["last_error"] or {}).get("reason") == "policy_errors")
            status = _status(replica)
            assert status["bundle"]["revision"] == "r2" and _decision(replica) == "deny"
            [error] = status["last_reload_failure"]["errors"]
            assert (error["file"], error["line"]) == ("main.pdp", 2)
            metrics = httpx.get(replica + "/metrics").text
            assert _metric(metrics, 'pdp_bundle_info{digest="%s",revision="r2"}' % status["bundle"]["digest"]) == 1
            assert _metric(metrics, 'pdp_bundle_failures_total{reason="bad_signature"}') >= 1
            assert _metric(metrics, 'pdp_bundle_failures_total{reason="policy_errors"}') >= 1
            assert _metric(metrics, "pdp_bundle_activations_total") == 2


# -- fail closed ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("first", ["missing", "stranger", "broken"])
def test_with_no_good_bundle_ever_nothing_is_decided(bundles, public_key, first):
    server = BundleServer(bundles.get(first, b""))
    if first == "missing":
        server.url = server.url.replace("bundle.tar.gz", "nothing-here.tar.gz")  # 404
    reason = {"missing": "http_status", "stranger": "bad_signature", "broken": "policy_errors"}[first]
    with server.running(), TestClient(_app(server, public_key)) as client:
        assert wait_for(lambda: (_bundle(client)["last_error"] or {}).get("reason") == reason)
        for answer in (client.get("/ready"), client.post("/v1/decide", json=REQUEST),
                       client.post("/v1/decide/batch", json={"requests": [REQUEST]}),
                       client.post("/access/v1/evaluation", json=AUTHZEN)):
            assert answer.status_code == 503
            detail = answer.json()["detail"]
            assert detail[0] == {"field": "policy", "message": "no policy set is loaded"}
            assert detail[1]["field"] == "bundle" and "no good policy bundle" in detail[1]["message"]
            assert reason in detail[1]["message"]
        assert _status(client)["policies"] == [] and _bundle(client)["revision"] is None


def test_a_bundle_url_without_a_public_key_is_refused_unless_unsigned_bundles_are_asked_for(tmp_path, bundles):
    with pytest.raises(ValidationError, match="--public-key"):
        Settings(bundle_url="http://127.0.0.1:1/b.tar.gz")
    unsigned = bundle_of(write_set(tmp_path / "u", ALLOWING.format(version="1")), "u1", None)
    server = BundleServer(unsigned)
    with server.running(), TestClient(_app(server, None, bundle_insecure_unsigned=True)) as client:
        assert wait_for(lambda: _bundle(client)["revision"] == "u1")
        assert _decision(client) == "allow" and _bundle(client)["signed_by"] is None


def test_pdp_serve_refuses_to_start_on_a_bundle_without_a_public_key(clean_environment, capsys, tmp_path, public_key):
    assert main(["serve", "--bundle", "http://127.0.0.1:1/b.tar.gz", "--no-log"]) == 2
    assert "--bundle-insecure-unsigned" in capsys.readouterr().err
    assert main(["serve", str(tmp_path), "--bundle", "http://127.0.0.1:1/b.tar.gz", "--public-key",
                 str(public_key), "--no-log"]) == 2
    assert "not both" in capsys.readouterr().err
    os.environ.pop("PDP_BUNDLE_URL")
    assert main(["serve", "--public-key", str(public_key), "--no-log"]) == 2  # a key without a bundle
    (tmp_path / "not-a-key.pem").write_text("hello")
    assert main(["serve", "--bundle", "http://127.0.0.1:1/b.tar.gz", "--public-key",
                 str(tmp_path / "not-a-key.pem"), "--no-log"]) == 2
    assert "not a PEM public key" in capsys.readouterr().err


# -- the last good set on any failure -----------------------------------------------------------------------


def test_the_last_good_set_survives_an_oversized_bundle_and_a_dead_server(bundles, public_key):
    server = BundleServer(bundles["r1"])
    with server.running(), TestClient(_app(server, public_key)) as client:
        assert wait_for(lambda: _bundle(client)["revision"] == "r1")
        server.publish(b"\0" * (MAX_BUNDLE_BYTES + 1))
        assert wait_for(lambda: (_bundle(client)["last_error"] or {}).get("reason") == "too_large")
        assert _decision(client) == "allow"
        server.httpd.shutdown()
        server.httpd.server_close()  # nobody answers any more
        assert wait_for(lambda: (_bundle(client)["last_error"] or {}).get("reason") == "network")
        assert _decision(client) == "allow" and client.get("/ready").status_code == 200


def test_an_unchanged_bundle_costs_a_304_and_a_refused_one_is_not_checked_again(bundles, public_key):
    server = BundleServer(bundles["r1"])
    with server.running(), TestClient(_app(server, public_key)) as client:
        assert wait_for(lambda: _bundle(client)["revision"] == "r1")
        assert wait_for(lambda: server.not_modified >= 3)
        metrics = client.get("/metrics").text
        assert _metric(metrics, "pdp_bundle_activations_total") == 1
        server.publish(bundles["stranger"])
        assert wait_for(lambda: (_bundle(client)["last_error"] or {}).get("reason") == "bad_signature")
        refused_at = server.not_modified
        assert wait_for(lambda: server.not_modified >= refused_at + 3)
        metrics = client.get("/metrics").text
        assert _metric(metrics, 'pdp_bundle_failures_total{reason="bad_signature"}') == 1
        assert _bundle(client)["revision"] == "r1"


def test_the_admin_reload_polls_the_bundle_now(bundles, public_key):
    server = BundleServer(bundles["r1"])
    with server.running(), TestClient(create_app(Settings(bundle_url=server.url, bundle_public_key=public_key,
                                                          bundle_poll_s=3600, admin_token=TOKEN))) as client:
        assert wait_for(lambda: _bundle(client)["revision"] == "r1")
        server.publish(bundles["r2"])
        answer = client.post("/v1/admin/reload", headers={"Authorization": f"Bearer {TOKEN}"}).json()
        assert answer["reloaded"] is True and _bundle(client)["revision"] == "r2" and _decision(client) == "deny"
        server.publish(bundles["broken"])
        answer = client.post("/v1/admin/reload", headers={"Authorization": f"Bearer {TOKEN}"}).json()
        assert answer["reloaded"] is False and answer["errors"][0]["file"] == "main.pdp"
