"""The record-source schedule inside `hakama serve`: every `records_pull_interval_seconds`, pull
each source that is due (its own `interval_minutes` since its last run), then rebuild the lake
days and recompute the indicators the new records touched.

Pulls run in a worker thread so the server keeps answering. A failing source is recorded on the
source (`last_error`, shown on its page and in `/health`) and tried again at its next turn.
"""

from __future__ import annotations

import asyncio
import logging

from hakama.jobs import rounds
from hakama.services import record_lake, record_sources
from hakama.services.platform import Platform

log = logging.getLogger("hakama.records.pull")


def enabled(platform: Platform) -> bool:
    return platform.settings.records_pull_interval_seconds > 0


def run_round(platform: Platform) -> list[record_sources.PullReport]:
    """Pull every due source once; recompute indicators if anything changed."""
    done: list[record_sources.PullReport] = []
    for source in record_sources.due_sources(platform):
        report = record_sources.pull(platform, source.name)
        done.append(report)
        if report.error:
            log.warning("record source %s failed: %s", source.name, report.error)
        else:
            log.info(
                "record source %s: %d pages, %d records (%d new, %d updated)",
                source.name, report.pages, report.rows, report.inserted, report.updated,
            )  # fmt: skip
    record_lake.sync_lake(platform)
    if any(r.inserted or r.updated for r in done):
        record_lake.recompute_indicators(platform)
    return done


async def run(platform: Platform, stop: asyncio.Event) -> None:
    interval = platform.settings.records_pull_interval_seconds
    failed = "record pull round failed; retrying next round"
    await rounds.every(
        stop, interval, lambda: rounds.in_thread(run_round, platform, log=log, failed=failed)
    )
