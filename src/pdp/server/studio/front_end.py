"""The studio's front end: the built files in `static/` (index.html and assets/), served without a token.

They hold no policy text (the page asks the API for that, with the token),
so they are public, and strict: a Content-Security-Policy allowing only
this origin's own scripts, styles and connections, no framing, no sniffing
of types; index.html is never cached (a new build is picked up at once).
Only plain files inside `static/` are served: a path that leaves it, or
names a folder, is 404. Without a build (`npm run build` in
frontend/studio writes it), `/studio/` says so (404).
"""

from __future__ import annotations

import mimetypes
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse, Response

STATIC = Path(__file__).parent / "static"
CSP = "default-src 'self'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'; object-src 'none'"
HEADERS = {"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer",
           "X-Frame-Options": "DENY"}
NOT_BUILT = "the studio's front end is not built (run `npm run build` in frontend/studio)"

router = APIRouter(include_in_schema=False)


def _not_found(message: str) -> JSONResponse:
    return JSONResponse(status_code=404, content={"error": "not_found", "detail": [{"field": "path", "message": message}],
                                                  "errors": [{"field": "path", "message": message}]},
                        headers=HEADERS)


def _served(path: Path, cache: str) -> Response:
    media_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return FileResponse(path, media_type=media_type, headers={**HEADERS, "Cache-Control": cache})


def _inside(folder: Path, name: str) -> Path | None:
    """`folder/name` when it is a plain file inside `folder` (after every link), else None."""
    try:
        top = folder.resolve(strict=True)
        found = (folder / name).resolve(strict=True)
    except (OSError, RuntimeError):
        return None
    return found if top in found.parents and found.is_file() else None


@router.get("/studio")
async def studio_root() -> Response:
    return RedirectResponse("/studio/", status_code=308)


@router.get("/studio/")
async def index() -> Response:
    page = _inside(STATIC, "index.html")
    if page is None:
        return _not_found(NOT_BUILT)
    return _served(page, "no-cache")


@router.get("/studio/assets/{name:path}")
async def asset(name: str) -> Response:
    found = _inside(STATIC / "assets", name)
    if found is None:
        return _not_found(f"no such file of the studio: `assets/{name}`")
    return _served(found, "no-cache")
