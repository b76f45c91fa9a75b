"""Open-data publication inside `hakama serve`: every `open_data_interval_minutes`, rebuild every
dataset from the lake through the privacy gate.

The build runs in a worker thread so the server keeps answering; a dataset whose build fails
keeps its last good version (and says so in the catalogue); a failing round never stops the
schedule.
"""

from __future__ import annotations

import asyncio
import logging

from hakama.core.access import system_actor
from hakama.jobs import rounds
from hakama.services import dataset_builds
from hakama.services.dataset_builds import BuildResult
from hakama.services.platform import Platform

log = logging.getLogger("hakama.jobs.open_data")


def enabled(platform: Platform) -> bool:
    return platform.settings.open_data_interval_minutes > 0


def run_round(platform: Platform) -> list[BuildResult]:
    return dataset_builds.build(platform, actor=system_actor("open-data"))


async def run(
    platform: Platform, stop: asyncio.Event, *, interval_seconds: float | None = None
) -> None:
    every = platform.settings.open_data_interval_minutes * 60 if interval_seconds is None else interval_seconds
    await rounds.every(stop, every, lambda: _logged_round(platform))


async def _logged_round(platform: Platform) -> None:
    results = await rounds.in_thread(
        run_round, platform, log=log, failed="open-data round failed; retrying next round"
    )
    if results:
        ok = sum(r.ok for r in results)
        failed = [r.dataset_id for r in results if not r.ok and not r.skipped]
        log.info(
            "open data: %d datasets built, %d failed%s",
            ok,
            len(failed),
            f" ({', '.join(failed)}; last good versions kept)" if failed else "",
        )
