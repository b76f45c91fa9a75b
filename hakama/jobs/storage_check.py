"""Background job: check the storage (database integrity, audit chain, lake files) soon after
start and then every `CHECK_EVERY`; a failed check makes `/health` answer "degraded" (503), so
a broken copy that still starts is noticed."""

from __future__ import annotations

import asyncio
import logging

from hakama.jobs import rounds
from hakama.services import integrity
from hakama.services.platform import Platform

log = logging.getLogger("hakama.check")

FIRST_AFTER = 2.0  # seconds: let the server start answering first
CHECK_EVERY = 6 * 3600.0


async def run(
    platform: Platform,
    stop: asyncio.Event,
    *,
    first_after: float = FIRST_AFTER,
    every: float = CHECK_EVERY,
) -> None:
    wait = first_after
    while not stop.is_set():
        await rounds.pause(stop, wait)
        if stop.is_set():
            return
        wait = every
        # footers only: reading every lake row group is `hakama check`'s job
        report = await asyncio.to_thread(integrity.check, platform, read_lake_data=False)
        platform.ops.check = report.public()
        if report.ok:
            platform.ops.succeeded("storage_check", report.at)
            log.info("storage check: sound (%d lake files)", report.lake_files)
        else:
            log.error("storage check FAILED: %s", "; ".join(report.problems))
