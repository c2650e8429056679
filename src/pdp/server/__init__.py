"""The decision service: `create_app(settings)` builds the FastAPI app."""

from __future__ import annotations

from contextlib import asynccontextmanager

from fastapi import FastAPI, Request

from .body import BodyError
from .errors import error_response, install_error_handlers
from .authzen_routes import router as authzen_router
from .request_id import RequestIdMiddleware
from .routes import router
from .settings import Settings
from .state import PolicyHolder


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    holder = PolicyHolder(settings.policy_dir)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        holder.reload()
        yield

    app = FastAPI(title="pdp decision API", version="1", lifespan=lifespan,
                  description="Decisions on the use of personal data: allow or deny, with the rules and clauses that decided.")
    app.state.settings = settings
    app.state.holder = holder
    install_error_handlers(app)

    @app.exception_handler(BodyError)
    async def body_error(_: Request, exc: BodyError):
        return error_response(exc.status, "bad_request", [{"field": exc.field, "message": exc.message}])

    app.include_router(router)
    app.include_router(authzen_router)
    app.add_middleware(RequestIdMiddleware)
    return app


__all__ = ["create_app", "Settings"]
