"""`create_app(settings)`: the only ASGI composition root."""

from __future__ import annotations

import anyio
from fastapi import Depends, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.middleware.gzip import GZipMiddleware

import hakama
from hakama.http import openapi, problems
from hakama.http.deps import session_csrf_guard
from hakama.http.head import HeadAsGet
from hakama.http.headers import SecurityHeaders
from hakama.http.offload import Offload
from hakama.services.basemap import tile_origin
from hakama.services.platform import Platform
from hakama.settings import Settings


def create_app(
    settings: Settings, *, platform: Platform | None = None, background: bool = True
) -> FastAPI:
    """Build the web application over the storage `settings` point at.

    `background=False` leaves out the background jobs (MQTT subscriber, flusher, notifier),
    e.g. for tests that drive one job by hand.
    """
    from hakama.http.background import install_listeners, lifespan

    platform = platform or Platform.open(settings)
    install_listeners(platform)
    app = FastAPI(
        title="hakama",
        version=hakama.__version__,
        description="Territorial digital governance: NGSI-LD, Open311, CKAN/DCAT-AP, indicators.",
        docs_url=None,  # served by hakama.http.web.pages with a vendored Swagger UI (no CDN)
        redoc_url=None,
        lifespan=lifespan,
        # Every write made with a session cookie checks CSRF, whatever the router.
        dependencies=[Depends(session_csrf_guard)],
    )
    app.state.platform = platform
    app.state.run_background = background
    app.state.offload = Offload(
        concurrency=settings.query_concurrency,
        time_limit=settings.query_time_limit_seconds,
        queue=settings.query_queue,
    )
    app.state.health_limiter = anyio.CapacityLimiter(2)  # /health never waits for others' threads
    problems.install(app)
    from hakama.http import auth

    auth.install(app, platform)  # sets request.state.actor / csrf_token for every request
    if settings.cors_origins:
        # Off by default; integrators' own web apps, named one by one, may call with a key.
        # No credentials: a cookie never rides a cross-origin call.
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_credentials=False,
            allow_methods=["GET", "POST", "PATCH", "PUT", "DELETE"],
            allow_headers=[
                "Authorization",
                "X-API-Key",
                "Content-Type",
                "Accept",
                "Link",
                "NGSILD-Tenant",
            ],
            expose_headers=["Location", "Link", "NGSILD-Results-Count", "Retry-After"],
            max_age=600,
        )
    # The map's tile host (HAKAMA_MAP_TILES) is the only other host pages load anything from.
    tiles = tile_origin(settings)
    app.add_middleware(SecurityHeaders, extra_image_sources=(tiles,) if tiles else ())
    # Pages embed commune outlines and phones are on slow links: compress what is worth it.
    app.add_middleware(GZipMiddleware, minimum_size=1024)

    from hakama.http import routes

    for router in routes.routers():
        app.include_router(router)
    routes.mount_static(app)
    from hakama.http.logs import RequestLog
    from hakama.http.metrics import Metrics

    app.state.metrics = Metrics(platform)
    app.add_middleware(HeadAsGet)  # HEAD of every GET route (metrics count it as GET)
    # outermost: every request gets its id, its log line, and its count and time in /metrics
    app.add_middleware(RequestLog, metrics=app.state.metrics)
    openapi.install(app)
    return app
