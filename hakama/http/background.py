"""Background jobs that live as long as `hakama serve`, imported by name from `hakama.jobs`.

Each job module exposes `async def run(platform, stop: asyncio.Event) -> None`, returning soon
after `stop` is set, and `enabled(platform) -> bool` saying whether it should start.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gc
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
from hakama.storage.leader import ProcessLock

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
    freeze_startup_objects()
    stop = asyncio.Event()
    tasks: list[asyncio.Task[None]] = []
    if app.state.run_background:
        tasks = start(platform, stop)
    try:
        yield
    finally:
        stop.set()
        if tasks:
            _done, pending = await asyncio.wait(tasks, timeout=15)
            for task in pending:
                task.cancel()


@functools.cache
def freeze_startup_objects() -> None:
    """Hide what the process loaded before serving from the garbage collector, once per process.

    The imports, the app and the platform are some 235,000 objects that live as long as the
    process. Left in the oldest generation, every full collection walks them all: ~95 ms on
    these 2 cores, once every ~10 geo-queries over 10^5 entities, for a p90 of 120 ms beside a
    p50 of 20. Frozen (`gc.freeze`, as Instagram does before it forks), a full collection
    walks only what requests made since: under 1 ms. Garbage is collected first, so nothing
    unreachable is frozen; frozen objects are still freed by reference counting.
    """
    gc.collect()
    gc.freeze()


def start(platform: Platform, stop: asyncio.Event) -> list[asyncio.Task[None]]:
    """Start this process's share of the background jobs until `stop` is set.

    Several processes may serve one database (`hakama serve --workers N`, or several hosts):
    the jobs that must run once (flushing the lake, notifications, schedules) run in the one
    process holding the leader lock, and a survivor takes them over when that process dies;
    the MQTT subscriber runs in the one process holding its client id's lock (processes with
    other client ids share the load through a shared subscription); jobs that only report on
    this process (`PER_PROCESS`) run everywhere.
    """
    tasks: list[asyncio.Task[None]] = []
    for job in JOBS:
        if job.name in PER_PROCESS and job.enabled(platform):
            tasks.append(asyncio.create_task(_run(job, platform, stop), name=job.name))
    singletons = [j for j in JOBS if j.name not in PER_PROCESS and j.name != "mqtt"]
    leader = ProcessLock(platform.db.engine, "jobs_leader")
    tasks.append(asyncio.create_task(_hold(leader, singletons, platform, stop), name="leader"))
    if mqtt.enabled(platform):  # (with an unusable URL, the job starts, logs why and ends)
        lock = ProcessLock(platform.db.engine, f"mqtt:{mqtt.client_id(platform) or ''}")
        mqtt_job = next(j for j in JOBS if j.name == "mqtt")
        tasks.append(asyncio.create_task(_hold(lock, [mqtt_job], platform, stop), name="mqtt"))
    return tasks


#: Jobs every process runs: they report on this process only (its view of the storage).
PER_PROCESS = frozenset({"storage_check"})
#: Seconds between attempts at a lock another process holds, and between checks of one held.
RETRY = 2.0


async def _hold(
    lock: ProcessLock, jobs: list[Job], platform: Platform, stop: asyncio.Event
) -> None:
    """Run `jobs` while this process holds `lock`; try again every RETRY seconds otherwise."""
    while not stop.is_set():
        try:
            got = await asyncio.to_thread(lock.acquire)
        except Exception:  # the database is unreachable: nobody leads through it now
            log.exception("could not try the %s lock", lock.name)
            got = False
        if not got:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=RETRY)
            continue
        log.info("holding the %s lock: starting %s", lock.name, ", ".join(j.name for j in jobs))
        if lock.name == "jobs_leader":
            platform.ops.leader = True
        jobs_stop = asyncio.Event()
        tasks = [
            asyncio.create_task(_run(job, platform, jobs_stop), name=job.name)
            for job in jobs
            if job.enabled(platform)
        ]
        try:
            while not stop.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=RETRY)
                if not stop.is_set() and not await asyncio.to_thread(lock.still_held):
                    log.error("lost the %s lock: stopping its jobs", lock.name)
                    break
        finally:
            jobs_stop.set()
            if tasks:
                _done, pending = await asyncio.wait(tasks, timeout=10)
                for task in pending:
                    task.cancel()
            if lock.name == "jobs_leader":
                platform.ops.leader = False
            await asyncio.to_thread(lock.release)


async def _run(job: Job, platform: Platform, stop: asyncio.Event) -> None:
    try:
        await job.run(platform, stop)
    except Exception:  # one job's crash must not take the others (or the server) down
        log.exception("background job %s failed", job.name)
