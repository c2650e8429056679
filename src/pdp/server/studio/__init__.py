"""The legal team's studio, served at `/studio` when `PDP_STUDIO_TOKEN` is set: its API and its front end."""

from __future__ import annotations

from fastapi import FastAPI, Request

from .errors import StudioError


def mount_studio(app: FastAPI) -> None:
    """Add the studio's routes (`/studio/`, `/studio/assets/*`, `/studio/api/*`) to the service.

    Imported and called only when the token is set: without it, `/studio` does not exist (404), and the
    decision endpoints never pay for it (they are dispatched before any route, `DecisionService`).
    """
    from .front_end import router as front_end
    from .routes import StudioState, router as api

    app.state.studio = StudioState()

    @app.exception_handler(StudioError)
    async def refused(_: Request, error: StudioError):
        return error.answer()

    app.include_router(api)
    app.include_router(front_end)


__all__ = ["mount_studio"]
