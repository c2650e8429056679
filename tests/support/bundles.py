"""Policy bundles for the tests: built from small sets, forged ones (signed, but broken), and a bundle server.

The server is Python's http.server on loopback, in a thread, answering one path with the bundle it holds
now, its ETag, and 304 to a matching If-None-Match, as a bundle server (nginx, S3) does.
"""

import contextlib
import hashlib
import http.server
import threading

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from pdp.io.bundle import MANIFEST, SIGNATURES, build_bundle
from pdp.io.bundle.archive import pack
from pdp.io.bundle.keys import signatures_of
from pdp.io.bundle.manifest import Manifest, PolicyInfo, content_digest, entries_of
from pdp.io.loader import load

CREATED_AT = "2026-11-30T12:00:00+00:00"
# An action of the data-use model every set below decides: allowed by ALLOWING, denied by DENYING.
REQUEST = {"action": "use", "purpose": "essential.service", "data_categories": ["user.name"]}
ALLOWING = '''policy "ops" version "{version}" effective 2026-11-24
allow ops "Operate the service" cite "§2.1" to use for essential of user
'''
DENYING = '''policy "ops" version "{version}" effective 2026-11-24
allow ops "Operate the service" cite "§2.1" to use for essential of user
deny names "No names, from this version on" cite "§2.1" to use of user.name
'''
BROKEN = '''policy "ops" version "{version}" effective 2026-11-24
allow ops "Operate the service" cite "§2.1" to use for essential of usr
'''


def write_set(directory, text: str):
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "main.pdp").write_text(text)
    return directory


def bundle_of(directory, revision: str, key: Ed25519PrivateKey | None) -> bytes:
    """The bundle `pdp bundle build` makes of a directory."""
    return build_bundle(load(directory), revision, CREATED_AT, "test", key).archive


def forge(files: dict[str, bytes], revision: str, key: Ed25519PrivateKey | None, *, policy_digest: str = "sha256:" + "0" * 64,
          extra: dict[str, bytes] | None = None) -> bytes:
    """A bundle of any files with a true manifest, signed by `key`: what a tool other than `pdp bundle build`
    might make (`pdp bundle build` refuses a set with errors). `extra` entries go in unlisted."""
    manifest = Manifest(revision=revision, digest=content_digest(files), files=entries_of(files),
                        policy=PolicyInfo(name="ops", version=revision, digest=policy_digest),
                        created_at=CREATED_AT, pdp_version="test").to_bytes()
    members = {MANIFEST: manifest}
    if key is not None:
        members[SIGNATURES] = signatures_of(manifest, key)
    return pack({**members, **files, **(extra or {})})


class BundleServer:
    """Serves `self.content` at http://127.0.0.1:<port>/bundle.tar.gz with an ETag; counts what it is asked."""

    def __init__(self, content: bytes = b""):
        self.content = content
        self.requests = 0
        self.not_modified = 0
        self.lock = threading.Lock()
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - http.server's name
                with owner.lock:
                    owner.requests += 1
                    body = owner.content
                if self.path != "/bundle.tar.gz":
                    self.send_error(404)
                    return
                etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
                if self.headers.get("If-None-Match") == etag:
                    with owner.lock:
                        owner.not_modified += 1
                    self.send_response(304)
                    self.send_header("ETag", etag)
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/gzip")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("ETag", etag)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/bundle.tar.gz"

    def publish(self, content: bytes) -> None:
        with self.lock:
            self.content = content

    @contextlib.contextmanager
    def running(self):
        thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self.httpd.shutdown()
            self.httpd.server_close()
            thread.join(10)
