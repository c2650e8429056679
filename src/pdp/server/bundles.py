"""Serve a policy bundle: poll its URL, verify, check and activate each new one; never serve a bad one.

- Poll: every `PDP_BUNDLE_POLL_S`, a GET with `If-None-Match: <ETag>` of the
  bundle last seen; `304 Not Modified` costs nothing more. The whole download
  has `PDP_BUNDLE_TIMEOUT_S` and at most `MAX_BUNDLE_BYTES`, read raw (no
  content encoding, so no decompression bomb).
- Verify and check (pdp.io.bundle), in a worker thread: the signature with
  the trusted public key, every file's digest, then the set is built as
  `pdp check` builds it.
- Activate atomically: the same swap a hot reload makes (`PolicyHolder.activate`),
  the set and the bundle it came from in one step.
- Keep the last good set on ANY failure (the network, an HTTP status, an
  oversized or malformed archive, a bad signature or digest, policy errors,
  a bug): it is logged, counted in `pdp_bundle_failures_total{reason}`,
  shown in `/v1/policies`, and the set in service keeps deciding. A bundle
  refused for what it holds is not downloaded again until its ETag changes,
  nor checked again until its bytes do (a server without ETags).
- Fail closed: until a bundle has been activated, there is no set, so every
  decision is answered 503 (`/ready` too), with the reason.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging

import httpx

from pdp.base.limits import MAX_BUNDLE_BYTES
from pdp.io.bundle import BundleError, load_bundle, open_bundle

from .state import ActiveBundle

log = logging.getLogger("pdp.bundle")

# Refusals that depend only on the bytes served: the same ETag would be refused again.
_FOR_WHAT_IT_HOLDS = {"too_large", "bad_archive", "bad_manifest", "unsigned", "bad_signature", "bad_digest",
                      "policy_errors"}


class BundlePoller:
    """Polls one bundle URL for one app's policy holder."""

    def __init__(self, holder, metrics, url: str, public_key, poll_s: float, timeout_s: float):
        self.holder, self.metrics = holder, metrics
        self.url, self.public_key = url, public_key
        self.poll_s, self.timeout_s = poll_s, timeout_s
        self.etag: str | None = None  # of the bundle last activated or refused for what it holds
        self._last_seen: bytes | None = None  # that bundle's sha256
        self._serial = asyncio.Lock()  # one poll at a time

    async def reload(self, *, settle: bool = False) -> bool:
        """Poll now (the admin endpoint's reload); True when a new bundle was activated."""
        return await self.poll()

    async def poll(self) -> bool:
        """Fetch the bundle if it changed, and activate it if it is good. Never raises but on cancel."""
        async with self._serial:
            try:
                return await self._poll()
            except asyncio.CancelledError:
                raise
            except BundleError as error:
                self._failed(error)
            except Exception as error:  # noqa: BLE001 - a bug must not take the server down, nor the last good set
                log.exception("internal error while polling the policy bundle")
                self._failed(BundleError("internal", f"internal error while taking the bundle "
                                         f"({error.__class__.__name__})", "the last good set keeps serving; please "
                                         "report this"))
            return False

    async def run(self, stop: asyncio.Event) -> None:
        """Poll until `stop` is set, the first time at once."""
        while not stop.is_set():
            await self.poll()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.poll_s)

    async def _poll(self) -> bool:
        ticket = self.holder.ticket()
        fetched = await self._download()
        if fetched is None:
            return False  # 304: the bundle last seen is still the one served
        archive, etag = fetched
        seen = hashlib.sha256(archive).digest()
        if seen == self._last_seen:
            self.etag = etag
            return False  # the same bytes as last time (a server without ETags): same outcome, no work
        try:
            opened, policy_set = await asyncio.to_thread(self._open, archive)
        except BundleError as error:
            if error.reason in _FOR_WHAT_IT_HOLDS:
                self.etag, self._last_seen = etag, seen
            raise
        manifest = opened.manifest
        bundle = ActiveBundle(manifest.revision, manifest.digest, self.url, opened.signed_by)
        swapped = self.holder.activate(ticket, policy_set, bundle)
        self.etag, self._last_seen = etag, seen
        if swapped:
            self.metrics.swapped_in(policy_set)
            self.metrics.bundle_active(manifest.revision, manifest.digest)
            log.info("policy bundle activated: revision %s (%s), %s %s (%s)", manifest.revision, manifest.digest,
                     policy_set.name, policy_set.version, policy_set.digest)
        return swapped

    def _open(self, archive: bytes):
        opened = open_bundle(archive, self.public_key)
        return opened, load_bundle(opened)

    async def _download(self) -> tuple[bytes, str | None] | None:
        """The bundle's bytes and ETag, or None when the server says it has not changed (304)."""
        headers = {"Accept-Encoding": "identity"}
        if self.etag is not None:
            headers["If-None-Match"] = self.etag
        try:
            async with asyncio.timeout(self.timeout_s), httpx.AsyncClient(follow_redirects=True) as client, \
                    client.stream("GET", self.url, headers=headers) as response:
                if response.status_code == 304:
                    return None
                if response.status_code != 200:
                    raise BundleError("http_status", f"{self.url} answered {response.status_code} "
                                      f"{response.reason_phrase}".rstrip(), "check the bundle server and the URL")
                if response.headers.get("content-encoding", "identity").lower() != "identity":
                    raise BundleError("bad_archive", f"{self.url} sent the bundle with Content-Encoding "
                                      f"`{response.headers['content-encoding']}`", "serve the tar.gz file as it is")
                declared = response.headers.get("content-length", "")
                if declared.isdigit() and int(declared) > MAX_BUNDLE_BYTES:
                    raise _too_large()
                received = bytearray()
                async for chunk in response.aiter_raw():
                    received += chunk
                    if len(received) > MAX_BUNDLE_BYTES:
                        raise _too_large()
                return bytes(received), response.headers.get("etag")
        except TimeoutError:
            raise BundleError("network", f"downloading {self.url} did not finish within {self.timeout_s:g} s",
                              "check the bundle server; the last good set keeps serving") from None
        except httpx.HTTPError as error:
            raise BundleError("network", f"cannot download {self.url}: {error.__class__.__name__}: {error}"[:300],
                              "check the bundle server and the network; the last good set keeps serving") from None

    def _failed(self, error: BundleError) -> None:
        self.holder.fail(error)
        self.metrics.bundle_failures.labels(error.reason).inc()
        self.metrics.reload_failures.inc()
        log.error("policy bundle refused (%s): %s; %s; the last good set keeps serving", error.reason, error.message,
                  error.hint)
        for entry in error.errors:
            log.error("  %s:%s:%s: %s: %s", entry["file"], entry["line"], entry["col"], entry["code"], entry["message"])


def _too_large() -> BundleError:
    return BundleError("too_large", f"the bundle is larger than {MAX_BUNDLE_BYTES // (1024 * 1024)} MB",
                       "a bundle holds one policy set (at most 16 MB of files)")
