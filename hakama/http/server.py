"""Running the app under uvicorn, as `serve` and `demo` do: hakama's log configuration, and
`/metrics` on a port of its own when `HAKAMA_METRICS_PORT` is set."""

from __future__ import annotations

import logging

from fastapi import FastAPI

from hakama.http import logs
from hakama.settings import Settings

log = logging.getLogger("hakama.server")


def serve_app(app: FastAPI, settings: Settings) -> None:
    """Serve `app` until interrupted, logging one line per event (see `http.logs`)."""
    import uvicorn
    from prometheus_client import start_http_server

    logs.configure(settings)
    if settings.metrics_port is not None:
        start_http_server(
            settings.metrics_port, addr=settings.host, registry=app.state.metrics.registry
        )
        log.info("metrics at http://%s:%d/metrics", settings.host, settings.metrics_port)
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_config=None,  # keep the handler `logs.configure` installed
        access_log=False,  # `logs.RequestLog` writes the request lines, without query strings
        log_level=settings.log_level.lower(),
        proxy_headers=False,
    )
