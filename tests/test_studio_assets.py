"""The studio's built front end, shipped in the package (src/pdp/server/studio/static), is the build of the sources
in frontend/studio: `pip install` alone serves it, so a stale or broken build would ship unnoticed.

build-info.json holds the digest of the sources the build was made from (frontend/studio/scripts/sources.mjs
computes it; this file computes it again, the same way), and index.html must name only assets that are there.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

ROOT = Path(__file__).parents[1]
FRONTEND = ROOT / "frontend" / "studio"
STATIC = ROOT / "src" / "pdp" / "server" / "studio" / "static"
SKIPPED = {"node_modules", "dist"}  # as sources.mjs: installed packages and stray builds are not sources
REBUILD = "rebuild it: `cd frontend/studio && npm ci && npm run build`, and commit src/pdp/server/studio/static"


def source_digests() -> dict[str, str]:
    """Each source file's sha256 by its path relative to frontend/studio ('/'-separated)."""
    out = {}
    for path in sorted(FRONTEND.rglob("*")):
        relative = path.relative_to(FRONTEND)
        if path.is_file() and not SKIPPED.intersection(relative.parts):
            out[relative.as_posix()] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def whole_digest(files: dict[str, str]) -> str:
    whole = hashlib.sha256()
    for path in sorted(files):
        whole.update(f"{path}\0{files[path]}\n".encode())
    return whole.hexdigest()


def build_info() -> dict:
    return json.loads((STATIC / "build-info.json").read_text())


def test_the_committed_build_is_of_the_current_sources():
    info = build_info()
    files = source_digests()
    assert "package-lock.json" in files and "src/main.js" in files  # the lock counts: a new dependency is a new build
    changed = sorted(path for path in files.keys() | info["files"].keys() if files.get(path) != info["files"].get(path))
    assert not changed, f"the studio's build is stale: {', '.join(changed)} changed since it was built; {REBUILD}"
    assert whole_digest(files) == info["sources_sha256"], f"build-info.json does not match its own files; {REBUILD}"


def test_the_digest_changes_with_any_source():
    files = source_digests()
    touched = {**files, "src/main.js": hashlib.sha256(b"changed").hexdigest()}
    assert whole_digest(touched) != whole_digest(files)
    assert whole_digest({**files, "src/new.js": "0" * 64}) != whole_digest(files)


def referenced_assets(page: str) -> list[str]:
    return re.findall(r'(?:src|href)="\./(assets/[^"]+)"', page)


def test_index_names_only_assets_that_are_there_and_every_asset_is_named():
    page = (STATIC / "index.html").read_text()
    named = referenced_assets(page)
    assert any(name.endswith(".js") for name in named) and any(name.endswith(".css") for name in named)
    missing = [name for name in named if not (STATIC / name).is_file()]
    assert not missing, f"index.html names assets that are missing: {missing}; {REBUILD}"
    present = sorted(p.relative_to(STATIC).as_posix() for p in (STATIC / "assets").iterdir())
    assert present == sorted(named), f"assets that index.html does not name (a stale build?): {set(present) - set(named)}"


def test_index_has_nothing_inline_the_content_security_policy_would_refuse():
    page = (STATIC / "index.html").read_text()
    assert "<style" not in page
    assert not re.search(r"<script(?![^>]*\bsrc=)", page), "a script without src: the CSP allows only the page's own files"
    assert not re.search(r"\sstyle=", page)
    assert not re.search(r"\son[a-z]+=", page), "an inline event handler"


def test_the_notices_name_every_package_the_bundle_may_include():
    lock = json.loads((FRONTEND / "package-lock.json").read_text())
    bundled = [path.removeprefix("node_modules/") for path, entry in lock["packages"].items()
               if path.startswith("node_modules/") and not entry.get("dev")]
    assert "@codemirror/view" in bundled and "@lezer/highlight" in bundled
    notices = (STATIC / "THIRD-PARTY-NOTICES.txt").read_text()
    for name in bundled:
        version = lock["packages"][f"node_modules/{name}"]["version"]
        assert f"{name} {version} (" in notices, f"{name} {version} is not in THIRD-PARTY-NOTICES.txt; {REBUILD}"
    assert notices.count("Permission is hereby granted") >= len(bundled)  # each licence's own text (all MIT)
