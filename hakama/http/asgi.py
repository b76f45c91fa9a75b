"""The application for an ASGI server of the operator's choice, configured from `HAKAMA_*`
environment variables:

    uvicorn --factory hakama.http.asgi:application --workers 4 --host 0.0.0.0 --port 8000
    gunicorn -w 4 -k uvicorn.workers.UvicornWorker 'hakama.http.asgi:application()'  # + gunicorn

Run `hakama db upgrade` first: workers do not migrate, so N of them never race to. The
background jobs run in whichever worker holds the leader lock (see `http.background`).
"""

from __future__ import annotations

from fastapi import FastAPI

from hakama.http.app import create_app
from hakama.http.logs import configure
from hakama.services.platform import Platform
from hakama.settings import Settings


def application() -> FastAPI:
    """A new app over the storage the environment points at (one per worker process)."""
    settings = Settings()
    configure(settings)
    return create_app(settings, platform=Platform.open(settings, migrate=False))
