"""The indicator schedule inside `hakama serve`: every `indicators_interval_minutes`, bring the
indicators up to date (incremental), then evaluate alerts and send their webhooks.

The computation runs in a worker thread so the server keeps answering. A failing round is
logged and the next round tries again: the schedule never takes the server down.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass

from hakama.core.clock import utcnow
from hakama.services import alerts, indicators
from hakama.services.platform import Platform

log = logging.getLogger("hakama.indicators.schedule")


@dataclass(frozen=True)
class Round:
    """What one round did (for logs and tests)."""

    computed: int
    values: int
    alerts_opened: int
    alerts_closed: int
    delivered: int
    error: str | None = None


def enabled(platform: Platform) -> bool:
    """The schedule runs unless `indicators_interval_minutes` is 0."""
    return platform.settings.indicators_interval_minutes > 0


def run_round(platform: Platform) -> Round:
    """One round, synchronously: incremental compute, then alerts evaluated and delivered."""
    report = indicators.compute(platform)
    evaluation = alerts.evaluate(platform)
    delivered = int(alerts.deliver(platform))
    return Round(
        report.indicators,
        report.values,
        len(evaluation.opened),
        len(evaluation.closed),
        delivered,
    )


async def run(
    platform: Platform, stop: asyncio.Event, *, interval_seconds: float | None = None
) -> None:
    """Run a round now and then every interval until `stop` is set."""
    interval = (
        interval_seconds
        if interval_seconds is not None
        else platform.settings.indicators_interval_minutes * 60
    )
    while not stop.is_set():
        done = await safe_round(platform)
        if done.error is None:
            platform.ops.succeeded("indicators", utcnow())
            log.info(
                "indicators: %d recomputed (%d values); alerts %d opened, %d closed, %d webhooks sent",
                done.computed,
                done.values,
                done.alerts_opened,
                done.alerts_closed,
                done.delivered,
            )
        with contextlib.suppress(TimeoutError):  # the interval passed: next round
            await asyncio.wait_for(stop.wait(), timeout=interval)


async def safe_round(platform: Platform) -> Round:
    """A round in a worker thread; any error is logged and reported, never raised."""
    try:
        return await asyncio.to_thread(run_round, platform)
    except Exception as exc:  # the server must outlive a bad file, a full disk, a broken webhook
        log.exception("indicator round failed; retrying next round")
        return Round(0, 0, 0, 0, 0, error=f"{type(exc).__name__}: {exc}")
