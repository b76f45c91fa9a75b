"""`create_app(settings)`: the only ASGI composition root."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.middleware.gzip import GZipMiddleware

import hakama
from hakama.http import problems
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
    )
    app.state.platform = platform
    app.state.run_background = background
    problems.install(app)
    from hakama.http import auth

    auth.install(app, platform)  # sets request.state.actor / csrf_token for every request
    # Pages embed commune outlines and phones are on slow links: compress what is worth it.
    app.add_middleware(GZipMiddleware, minimum_size=1024)

    from hakama.http import routes

    for router in routes.routers():
        app.include_router(router)
    routes.mount_static(app)
    from hakama.http.logs import RequestLog
    from hakama.http.metrics import Metrics

    app.state.metrics = Metrics(platform)
    # outermost: every request gets its id, its log line, and its count and time in /metrics
    app.add_middleware(RequestLog, metrics=app.state.metrics)
    return app
