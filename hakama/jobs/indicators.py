"""The indicator schedule inside `hakama serve`: every `indicators_interval_minutes`, bring the
indicators up to date (incremental), then evaluate alerts and send their webhooks.

The computation runs in a worker thread so the server keeps answering. A failing round is
logged and the next round tries again (`jobs.rounds`): the schedule never takes the server down.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from hakama.core.clock import utcnow
from hakama.jobs import rounds
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
    every = platform.settings.indicators_interval_minutes * 60 if interval_seconds is None else interval_seconds
    await rounds.every(stop, every, lambda: _logged_round(platform))


async def _logged_round(platform: Platform) -> None:
    done = await rounds.in_thread(
        run_round, platform, log=log, failed="indicator round failed; retrying next round"
    )
    if done is not None:
        platform.ops.succeeded("indicators", utcnow())
        log.info(
            "indicators: %d recomputed (%d values); alerts %d opened, %d closed, %d webhooks sent",
            done.computed,
            done.values,
            done.alerts_opened,
            done.alerts_closed,
            done.delivered,
        )
