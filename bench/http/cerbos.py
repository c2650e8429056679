"""The Cerbos policy decision point, for comparison over HTTP: its binary, its config, and a request in its terms.

Cerbos (a Go server, https://cerbos.dev) ships its binary in the npm
package `cerbos`: the package's `index.js` picks an optional dependency
`@cerbos/cerbos-<os>-<arch>` whose one file is the executable. It is
installed with npm into `bench/http/.cache/` (ignored by git; the binary is
never committed) and run directly, without node.

The benchmark policy is `bench/policy/cerbos/personal_data.yaml` (the rules
of `bench/policy/bench.pdp`). A pdp request becomes one Cerbos
CheckResources call (`POST /api/check/resources`): the requester is the
principal, the data subject's data is a resource of kind `personal_data`
whose attributes are what the rules read, and pdp's action is the action.

The decision log: pdp's is SQLite, committed before each answer; Cerbos's
is its audit log, decision entries only (access entries off, as pdp's
access log is off), in its `local` backend (an embedded BadgerDB that the
admin API can query, the counterpart of pdp's queryable file). Cerbos
buffers audit entries and writes them in the background, so it answers
before its entry is stored; pdp does not (see docs/benchmarks.md).
"""

from __future__ import annotations

import contextlib
import json
import platform
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

from bench.http.servers import free_port, running

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
CACHE = HERE / ".cache"
VERSION = "0.51.0"
POLICY_DIR = ROOT / "bench" / "policy" / "cerbos"
KIND = "personal_data"
CHECK_PATH = "/api/check/resources"
READY_PATH = "/_cerbos/health"
MAX_RESOURCES_PER_CALL = 50  # Cerbos's default `server.requestLimits.maxResourcesPerRequest`
_ARCH = {"x86_64": "x64", "amd64": "x64", "aarch64": "arm64", "arm64": "arm64"}


def binary_path(cache: Path = CACHE) -> Path:
    """Where the npm package keeps the executable for this machine (as its `index.js` resolves it)."""
    system = {"linux": "linux", "darwin": "darwin"}.get(sys.platform)
    arch = _ARCH.get(platform.machine().lower())
    if system is None or arch is None:
        raise RuntimeError(f"the cerbos npm package has no binary for {sys.platform}/{platform.machine()}")
    name = f"cerbos-{system}-{arch}"
    return cache / "node_modules" / "@cerbos" / name / name


def ensure_binary(cache: Path = CACHE) -> Path:
    """The cerbos executable, installed with npm into `cache` the first time."""
    path = binary_path(cache)
    if path.is_file():
        return path
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError("the Cerbos comparison needs npm (Debian: apt-get install npm) to install cerbos")
    cache.mkdir(parents=True, exist_ok=True)
    subprocess.run([npm, "install", "--prefix", str(cache), "--no-save", "--no-audit", "--no-fund",
                    "--loglevel", "error", f"cerbos@{VERSION}"], check=True, stdout=subprocess.DEVNULL)
    if not path.is_file():
        raise RuntimeError(f"npm installed cerbos@{VERSION} but {path} is not there")
    return path


def write_config(directory: Path, http_port: int, audit: bool) -> Path:
    """A Cerbos config serving the benchmark policy on loopback; `audit`: decision entries to the local store.

    Cerbos answers HTTP through a gateway to its own gRPC service; that service listens on a Unix socket,
    which measured faster for Cerbos here than a loopback TCP port (and needs no second free port).
    """
    config = {
        "server": {"httpListenAddr": f"127.0.0.1:{http_port}", "grpcListenAddr": f"unix:{directory / 'grpc.sock'}"},
        "storage": {"driver": "disk", "disk": {"directory": str(POLICY_DIR), "watchForChanges": False}},
        "audit": {"enabled": audit, "accessLogsEnabled": False, "decisionLogsEnabled": audit, "backend": "local",
                  "local": {"storagePath": str(directory / "audit")}},
        "telemetry": {"disabled": True},  # no usage reports sent from a benchmark
    }
    path = directory / "cerbos.yaml"
    path.write_text(json.dumps(config, indent=2))  # JSON is YAML
    return path


def server_command(config: Path, cache: Path = CACHE) -> list[str]:
    return [str(ensure_binary(cache)), "server", f"--config={config}", "--log-level=error"]


@contextlib.contextmanager
def served(audit: bool = False) -> Iterator[str]:
    """`cerbos server` on a free loopback port with the benchmark policy; yields its base URL once it answers."""
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="cerbos-") as directory:
        config = write_config(Path(directory), port, audit)
        base = f"http://127.0.0.1:{port}"
        with running(server_command(config), base + READY_PATH):
            yield base


def resource(request: dict, number: int = 0) -> dict:
    """One pdp request (its JSON form) as a Cerbos resource entry of a CheckResources call."""
    subject = request.get("data_subject") or {}
    return {
        "actions": [request["action"]],
        "resource": {
            "kind": KIND,
            "id": str(subject.get("id") or f"r{number}"),
            "attr": {
                "purpose": request["purpose"],
                "data_categories": list(request["data_categories"]),
                "data_subject": {"age": subject.get("age"),
                                 "consent": {"marketing": (subject.get("consent") or {}).get("marketing")}},
                "recipient": {"dpa": (request.get("recipient") or {}).get("dpa")},
                "destination_country": request.get("destination_country"),
            },
        },
    }


def check_body(requests: list[dict]) -> dict:
    """A CheckResources call asking about `requests` (one resource entry each, in order)."""
    requester = (requests[0].get("requester") or {}).get("id", "bench") if requests else "bench"
    return {"principal": {"id": str(requester), "roles": ["service"]},
            "resources": [resource(r, n) for n, r in enumerate(requests)]}


def decide_all(client, base: str, requests: list[dict]) -> list[str]:
    """Cerbos's decisions on `requests` (an httpx client, the server's base URL), a few calls of many resources."""
    out: list[str] = []
    for first in range(0, len(requests), MAX_RESOURCES_PER_CALL):
        answer = client.post(base + CHECK_PATH, json=check_body(requests[first:first + MAX_RESOURCES_PER_CALL]))
        out += decisions_of(answer.raise_for_status().json())
    return out


def decisions_of(response: dict) -> list[str]:
    """"allow"/"deny" per resource entry of a CheckResources answer, in order (one action each)."""
    out = []
    for result in response["results"]:
        [effect] = result["actions"].values()
        out.append("allow" if effect == "EFFECT_ALLOW" else "deny")
    return out
