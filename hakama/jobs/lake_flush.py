"""Background job of `hakama serve`: flush staged observations and request events to the lake,
compact small files.

Every `interval` seconds the job flushes what is staged (`observations.flush`), so history
reaches Parquet within seconds; every `compact_every` seconds it merges the files of days that
have accumulated more than `compact_min_files` (today included: compaction is safe for readers
while flushing goes on). Errors are logged and retried at the next tick: staged rows wait
durably in the database, nothing is lost.
"""

from __future__ import annotations

import asyncio
import logging
import time as clock
from dataclasses import dataclass

from hakama.core.clock import utcnow
from hakama.jobs import rounds
from hakama.services import observations, request_events
from hakama.services.platform import Platform

log = logging.getLogger("hakama.lake")


@dataclass(frozen=True)
class FlusherConfig:
    interval: float = 2.0
    compact_every: float = 600.0
    compact_min_files: int = 24


def enabled(platform: Platform) -> bool:
    """Always on: every instance stages observations."""
    return True


def tick(platform: Platform, config: FlusherConfig, *, compact: bool) -> observations.FlushReport:
    """One round of work (flush, and compaction when due); what `run` does every interval."""
    report = observations.flush(platform)
    events = request_events.flush_events(platform)
    if events:
        log.info("flushed %d request events to the lake", events)
    if report.rows:
        log.info(
            "flushed %d observations in %d batches to %d files",
            report.rows,
            report.batches,
            len(report.files),
        )
    if compact:
        merged = observations.compact(platform, min_files=config.compact_min_files, wait=5.0)
        if merged.days:
            log.info("compacted %d files into %d", merged.files_before, merged.files_after)
    return report


async def run(
    platform: Platform, stop: asyncio.Event, *, config: FlusherConfig | None = None
) -> None:
    """Flush every `interval` seconds until `stop` is set, then flush once more."""
    config = config or FlusherConfig()
    last_compaction = clock.monotonic()
    while not stop.is_set():
        due = clock.monotonic() - last_compaction >= config.compact_every
        try:
            await asyncio.to_thread(tick, platform, config, compact=due)
            platform.ops.succeeded("lake_flush", utcnow())
        except Exception:
            log.exception("lake flush failed; staged rows stay in the database until the next try")
        if due:
            last_compaction = clock.monotonic()
        await rounds.pause(stop, config.interval)
    try:
        await asyncio.to_thread(observations.flush, platform)
        await asyncio.to_thread(request_events.flush_events, platform)
    except Exception:
        log.exception("final lake flush failed; staged rows are flushed at the next start")
