"""The open-data job of `hakama serve`: builds on its schedule, never stops on a failure."""

from __future__ import annotations

import asyncio

from hakama.core.access import system_actor
from hakama.demo.territory import demo_areas
from hakama.jobs import open_data
from hakama.services import datasets, territory
from hakama.services.platform import Platform


def test_the_job_publishes_then_stops_when_told(platform: Platform) -> None:
    territory.save_areas(platform, demo_areas(), actor=system_actor("test"))
    assert open_data.enabled(platform)

    async def scenario() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(open_data.run(platform, stop, interval_seconds=0.2))
        for _ in range(200):
            if datasets.own_datasets(platform):
                break
            await asyncio.sleep(0.05)
        stop.set()
        await asyncio.wait_for(task, timeout=10)

    asyncio.run(scenario())
    assert [d.id for d in datasets.own_datasets(platform)] == [
        "territory"
    ]  # no requests, sensors… yet


def test_the_job_is_off_at_interval_zero(platform: Platform) -> None:
    platform.settings.open_data_interval_minutes = 0
    assert not open_data.enabled(platform)
