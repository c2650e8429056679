"""The decision service: `create_app(settings)` builds the FastAPI app."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import inspect
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import Response

from pdp.io.bundle import load_public_key

from .body import BodyError
from .errors import error_response, install_error_handlers
from .hot_path import hot_endpoints, serve_hot
from .admin import router as admin_router
from .audit import LogUnavailable, open_log, unrecorded
from .authzen_routes import router as authzen_router
from .authzen_search import router as search_router
from .ledger_auth import LedgerTokens
from .ledger_routes import router as ledger_router
from .ledger_state import open_ledger, states_of
from . import log_shipping
from .metrics import Metrics
from .bundles import BundlePoller
from .reload import Reloader, watch
from .request_id import RequestIdMiddleware
from .routes import ASGI_ENDPOINTS, router
from .settings import Settings
from .snapshot import Snapshot
from .app_state import service_state
from .state import PolicyHolder, settle_collector


def _telemetry_options(settings: Settings) -> dict:
    """FastAPI's native OpenTelemetry, off unless asked for (PDP_OTEL=true).

    It checks its providers on every request, which costs a visible share of
    a decision's time, and pdp exports its own Prometheus metrics.
    """
    if "telemetry" not in inspect.signature(FastAPI.__init__).parameters:
        return {}
    if settings.otel:
        return {}
    return {"telemetry": {"tracing": False, "metrics": False, "logs": False}}


GC_THRESHOLDS = (20_000, 50, 100)


def _match_first(app: FastAPI, routers) -> None:
    """Put the decision endpoints at the head of the routing table.

    The router tries routes in order, and each miss costs time on every
    request: measured here, a route behind the documentation and metrics
    routes answered a quarter fewer requests per second.
    """
    hot_paths = {route.path for r in routers for route in r.routes}

    def is_hot(entry) -> bool:
        # Newer FastAPI keeps an included router as one entry; older ones copy its routes.
        return any(getattr(entry, "original_router", None) is r for r in routers) or getattr(entry, "path", None) in hot_paths

    app.router.routes.sort(key=lambda entry: not is_hot(entry))


HOT_PATHS = {"/v1/decide", "/v1/decide/batch", "/access/v1/evaluation", "/access/v1/evaluations"}


class DecisionService(FastAPI):
    """FastAPI, with the decision endpoints dispatched ahead of its stack (see hot_path)."""

    hot: dict = {}

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST" and not scope.get("root_path") and not self.root_path:
            endpoint = self.hot.get(scope["path"])
            if endpoint is not None:
                return await serve_hot(self, endpoint, scope, receive, send)
        await super().__call__(scope, receive, send)


def create_app(settings: Settings | None = None, preloaded: Snapshot | None = None) -> FastAPI:
    """The decision service. `preloaded`: the set already loaded from `settings.policy_dir` (by `pdp serve`,
    which loads it to check it), served as it is instead of being loaded a second time."""
    settings = settings or Settings()
    metrics = Metrics()
    if settings.bundle_url is not None:
        if preloaded is not None:
            raise ValueError("a preloaded set comes from a policy directory; this app serves a bundle")
        holder = PolicyHolder(None, bundle_url=str(settings.bundle_url), remember_requests=settings.request_memo)
        key = load_public_key(settings.bundle_public_key) if settings.bundle_public_key is not None else None
        reloader: Reloader | BundlePoller = BundlePoller(holder, metrics, str(settings.bundle_url), key,
                                                         settings.bundle_poll_s, settings.bundle_timeout_s)
    else:
        holder = PolicyHolder(settings.policy_dir, remember_requests=settings.request_memo)
        reloader = Reloader(holder, metrics, settings.reload_settle_ms, settings.reload_timeout_s)
    loaded_from = reloader.adopt(preloaded) if isinstance(reloader, Reloader) and preloaded is not None else None

    async def keep_current(stop: asyncio.Event) -> asyncio.Task | None:
        """Load the first set, and start what keeps it current (the bundle poller or the directory watcher)."""
        if isinstance(reloader, BundlePoller):
            return asyncio.create_task(reloader.run(stop))  # not awaited: /health answers while the first poll runs
        if loaded_from is None:
            await reloader.reload(settle=False)
        else:
            await reloader.catch_up(loaded_from)
        return asyncio.create_task(watch(holder, reloader, stop, settings.reload_debounce_ms)) if settings.reload else None

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        app.state.decision_log = open_log(settings)
        app.state.ledger = await asyncio.to_thread(open_ledger, settings)
        app.state.combined_log = log_shipping.start(app.state.decision_log and app.state.decision_log.decision_log,
                                                    settings)
        app.state.ledger_states = states_of(settings, app.state.ledger)
        # The compiled policy set lives until the next swap: keep it out of
        # the collector's way (state.settle_collector, now and after each
        # swap), and collect young objects less often; a decision allocates
        # many short-lived objects.
        holder.freezing = True
        settle_collector()
        gc.set_threshold(*GC_THRESHOLDS)
        stop = asyncio.Event()
        watcher = await keep_current(stop)
        yield
        stop.set()
        if watcher is not None:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await watcher
        if app.state.combined_log is not None:
            app.state.combined_log.close()
        if app.state.decision_log is not None:
            app.state.decision_log.close()
        if app.state.ledger is not None:
            app.state.ledger.close()
        holder.freezing = False
        gc.unfreeze()  # what this app held can be collected again

    app = DecisionService(title="pdp decision API", version="1", lifespan=lifespan, **_telemetry_options(settings),
                  description="Decisions on the use of personal data: allow or deny, with the rules and clauses that decided.")
    app.state = service_state()
    app.state.settings = settings
    app.state.holder = holder
    app.state.reloader = reloader
    app.state.metrics = metrics
    app.state.decision_log = None  # opened by the lifespan
    app.state.combined_log = None  # likewise, with PDP_LOG_URL (server/log_shipping.py)
    app.state.ledger = None  # likewise
    app.state.ledger_tokens = LedgerTokens.of(settings)
    app.state.ledger_states = None  # what decisions read subjects' states through: with the ledger
    install_error_handlers(app)

    @app.exception_handler(BodyError)
    async def body_error(_: Request, exc: BodyError):
        return error_response(exc.status, "bad_request", exc.detail())

    @app.get("/metrics", summary="Prometheus metrics", response_class=Response)
    async def prometheus():
        return Response(metrics.render(), media_type=metrics.content_type)

    @app.exception_handler(LogUnavailable)
    async def log_unavailable(_: Request, exc: LogUnavailable):
        return unrecorded()

    app.include_router(router)
    app.include_router(authzen_router)
    app.include_router(search_router)
    app.include_router(admin_router)
    app.include_router(ledger_router)
    if settings.studio_token is not None:  # docs/studio.md; without the token, /studio does not exist
        from .studio import mount_studio

        mount_studio(app)
    _match_first(app, (router, authzen_router))
    app.add_middleware(RequestIdMiddleware)
    # With OpenTelemetry on, every request goes through its middleware.
    hot = settings.hot_path and not settings.otel
    app.hot = hot_endpoints((router, authzen_router), HOT_PATHS, ASGI_ENDPOINTS) if hot else {}
    return app


__all__ = ["create_app", "Settings"]
