"""`pdp serve` loads its policy set once (issue 10): the set the command loads to check is the one served.

uvicorn is replaced by a runner that starts the app as uvicorn would (its lifespan, through TestClient),
so the whole startup path of the command runs, and every build of a policy set is counted.
"""

import os

import pytest
import uvicorn
from fastapi.testclient import TestClient

import pdp.io.loader
from pdp.cli.app import main
from tests.support.bundles import BundleServer, bundle_of, write_set
from tests.support.serve import wait_for

POLICY = '''policy "ops" version "{version}" effective 2026-11-24
allow ops "Operate the service" cite "§2.1" to use for essential of user
'''
OK = {"action": "use", "purpose": "essential.service", "data_categories": ["user.name"]}


@pytest.fixture
def builds(monkeypatch):
    """Every policy set built (the loader's one call into the pipeline), by the digest it got."""
    built = []
    real = pdp.io.loader.build

    def counted(*args, **kwargs):
        policy_set = real(*args, **kwargs)
        built.append(policy_set.digest)
        return policy_set

    monkeypatch.setattr(pdp.io.loader, "build", counted)
    return built


def _serve(monkeypatch, argv, while_serving, before_start=None):
    """Run `pdp serve ARGV`; `while_serving(client, app)` runs once the app has started."""
    seen = {}

    def run(app, **options):
        assert options.get("workers") in (None, 1)
        if before_start is not None:
            before_start()
        with TestClient(app) as client:  # the lifespan runs, as under uvicorn
            seen["result"] = while_serving(client, app)

    monkeypatch.setattr(uvicorn, "run", run)
    assert main(["serve", *argv, "--no-log"]) == 0
    return seen["result"]


def _answered(client, app):
    assert client.get("/ready").status_code == 200
    return client.post("/v1/decide", json=OK).json()["decision"], client.get("/v1/policies").json()


def test_pdp_serve_loads_the_policy_set_once(tmp_path, monkeypatch, builds, clean_environment):
    (tmp_path / "main.pdp").write_text(POLICY.format(version="1"))
    decision, policies = _serve(monkeypatch, [str(tmp_path)], _answered)
    assert decision == "allow"
    assert builds == [policies["policies"][0]["digest"]]  # one build: the command's, served as it is


def test_a_change_between_the_commands_load_and_the_start_is_not_missed(tmp_path, monkeypatch, builds,
                                                                        clean_environment):
    monkeypatch.setenv("PDP_RELOAD_SETTLE_MS", "50")
    (tmp_path / "main.pdp").write_text(POLICY.format(version="1"))

    def edit():  # after the command loaded the set, before the server watches the directory
        (tmp_path / "main.pdp").write_text(POLICY.format(version="2") + "# edited\n")
        stat = os.stat(tmp_path / "main.pdp")
        os.utime(tmp_path / "main.pdp", ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))

    decision, policies = _serve(monkeypatch, [str(tmp_path)], _answered, before_start=edit)
    assert policies["policies"][0]["version"] == "2"
    assert len(builds) == 2  # the command's, and the reload of the edit


def test_pdp_serve_keeps_a_symlinked_policy_directory_as_a_link(tmp_path, monkeypatch, clean_environment):
    # A deployment swaps the link (docs/service.md, "Deploying policy changes atomically"): the server must
    # watch the link, not the release it pointed to at startup.
    release = tmp_path / "releases" / "41"
    release.mkdir(parents=True)
    (release / "main.pdp").write_text(POLICY.format(version="41"))
    (tmp_path / "current").symlink_to(release)
    directory = _serve(monkeypatch, [str(tmp_path / "current")], lambda client, app: app.state.holder.directory)
    assert directory == tmp_path / "current"


def test_pdp_serve_of_a_bundle_builds_only_the_bundle(tmp_path, monkeypatch, builds, clean_environment):
    monkeypatch.chdir(tmp_path)  # no `policies` here: a bundle server reads no directory
    archive = bundle_of(write_set(tmp_path / "set", POLICY.format(version="7")), "r7", None)
    builds.clear()
    server = BundleServer(archive)

    def answered_once_active(client, app):
        wait_for(lambda: client.get("/ready").status_code == 200)
        return _answered(client, app)

    with server.running():
        decision, policies = _serve(monkeypatch, ["--bundle", server.url, "--bundle-insecure-unsigned"],
                                    answered_once_active)
    assert decision == "allow" and policies["bundle"]["revision"] == "r7"
    assert builds == [policies["policies"][0]["digest"]]
