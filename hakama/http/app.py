"""`create_app(settings)`: the only ASGI composition root."""

from __future__ import annotations

from fastapi import FastAPI

import hakama
from hakama.http import problems
from hakama.services.platform import Platform
from hakama.settings import Settings


def create_app(settings: Settings, *, platform: Platform | None = None) -> FastAPI:
    """Build the web application over the storage `settings` point at."""
    platform = platform or Platform.open(settings)
    app = FastAPI(
        title="hakama",
        version=hakama.__version__,
        description="Territorial digital governance: NGSI-LD, Open311, CKAN/DCAT-AP, indicators.",
        docs_url="/docs",
        redoc_url=None,
    )
    app.state.platform = platform
    problems.install(app)

    from hakama.http import routes

    for router in routes.routers():
        app.include_router(router)
    routes.mount_static(app)
    return app
