"""Open-data publication inside `hakama serve`: every `open_data_interval_minutes`, rebuild every
dataset from the lake through the privacy gate.

The build runs in a worker thread so the server keeps answering; a dataset whose build fails
keeps its last good version (and says so in the catalogue); a failing round never stops the
schedule.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from hakama.core.access import system_actor
from hakama.services import dataset_builds
from hakama.services.dataset_builds import BuildResult
from hakama.services.platform import Platform

log = logging.getLogger("hakama.jobs.open_data")


def enabled(platform: Platform) -> bool:
    return platform.settings.open_data_interval_minutes > 0


def run_round(platform: Platform) -> list[BuildResult]:
    return dataset_builds.build(platform, actor=system_actor("open-data"))


async def safe_round(platform: Platform) -> list[BuildResult]:
    try:
        return await asyncio.to_thread(run_round, platform)
    except Exception:  # the server must outlive a bad lake file or a full disk
        log.exception("open-data round failed; retrying next round")
        return []


async def run(
    platform: Platform, stop: asyncio.Event, *, interval_seconds: float | None = None
) -> None:
    interval = (
        interval_seconds
        if interval_seconds is not None
        else platform.settings.open_data_interval_minutes * 60
    )
    while not stop.is_set():
        results = await safe_round(platform)
        if results:
            ok = sum(r.ok for r in results)
            failed = [r.dataset_id for r in results if not r.ok and not r.skipped]
            log.info(
                "open data: %d datasets built, %d failed%s",
                ok,
                len(failed),
                f" ({', '.join(failed)}; last good versions kept)" if failed else "",
            )
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=interval)
