"""Background jobs that live as long as `hakama serve`, imported by name from `hakama.jobs`.

Each job module exposes `async def run(platform, stop: asyncio.Event) -> None`, returning soon
after `stop` is set, and `enabled(platform) -> bool` saying whether it should start.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

from fastapi import FastAPI

from hakama.jobs import (
    broker_watch,
    citizen_notices,
    indicators,
    lake_flush,
    mqtt,
    notifier,
    open_data,
    record_pulls,
    report_delivery,
    storage_check,
)
from hakama.services import subscriptions
from hakama.services.platform import Platform

log = logging.getLogger("hakama.background")


def _always(platform: Platform) -> bool:
    return True


@dataclass(frozen=True)
class Job:
    name: str
    run: Callable[[Platform, asyncio.Event], Awaitable[None]]
    enabled: Callable[[Platform], bool] = _always


JOBS = (
    Job("lake_flush", lake_flush.run, lake_flush.enabled),
    Job("mqtt", mqtt.run, mqtt.enabled),
    Job("notifier", notifier.run),
    Job("indicators", indicators.run, indicators.enabled),
    Job("record_pulls", record_pulls.run, record_pulls.enabled),
    Job("open_data", open_data.run, open_data.enabled),
    Job("citizen_notices", citizen_notices.run, citizen_notices.enabled),
    Job("broker_watch", broker_watch.run, broker_watch.enabled),
    Job("storage_check", storage_check.run),
    Job("report_delivery", report_delivery.run, report_delivery.enabled),
)


def install_listeners(platform: Platform) -> None:
    """Services that react to domain events register here, before serving."""
    subscriptions.install(platform)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    platform = app.state.platform
    stop = asyncio.Event()
    tasks: list[asyncio.Task[None]] = []
    if app.state.run_background:
        for job in JOBS:
            if not job.enabled(platform):
                continue
            tasks.append(asyncio.create_task(_run(job, platform, stop), name=job.name))
            log.info("started %s", job.name)
    try:
        yield
    finally:
        stop.set()
        if tasks:
            _done, pending = await asyncio.wait(tasks, timeout=10)
            for task in pending:
                task.cancel()


async def _run(job: Job, platform: Platform, stop: asyncio.Event) -> None:
    await job.run(platform, stop)
