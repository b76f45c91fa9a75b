"""Background jobs that live as long as `hakama serve`: the MQTT subscriber, the lake flusher,
the notification sender, the indicator schedule. A listed module that does not exist yet is
skipped. Each exposes `async def run(platform, stop: asyncio.Event) -> None` and returns soon
after `stop` is set; `enabled(platform) -> bool` (optional) says whether it should start."""

from __future__ import annotations

import asyncio
import importlib
import importlib.util
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

log = logging.getLogger("hakama.background")

BACKGROUND_MODULES = (
    "hakama.services.lake_flusher",
    "hakama.ingest.mqtt_source",
    "hakama.services.notifier",
    "hakama.analytics.scheduler",
    "hakama.jobs.record_pulls",
    "hakama.jobs.open_data",
    "hakama.jobs.citizen_notices",
    "hakama.jobs.broker_watch",
    "hakama.jobs.storage_check",
    "hakama.jobs.report_delivery",
)


def install_listeners(platform: object) -> None:
    """Modules that react to domain events register here (`install(platform)`), before serving."""
    for name in ("hakama.services.subscriptions", "hakama.services.alerts"):
        if importlib.util.find_spec(name) is not None:
            module = importlib.import_module(name)
            if hasattr(module, "install"):
                module.install(platform)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    platform = app.state.platform
    stop = asyncio.Event()
    tasks: list[asyncio.Task[None]] = []
    if app.state.run_background:
        for name in BACKGROUND_MODULES:
            if importlib.util.find_spec(name) is None:
                continue
            module = importlib.import_module(name)
            if hasattr(module, "enabled") and not module.enabled(platform):
                continue
            tasks.append(asyncio.create_task(module.run(platform, stop), name=name))
            log.info("started %s", name)
    try:
        yield
    finally:
        stop.set()
        if tasks:
            _done, pending = await asyncio.wait(tasks, timeout=10)
            for task in pending:
                task.cancel()
