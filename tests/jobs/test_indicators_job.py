"""The indicator schedule of `hakama serve`: a round computes and evaluates alerts; a failing
round is logged and the loop goes on."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

from hakama.core.access import system_actor
from hakama.demo.territory import demo_areas
from hakama.jobs import indicators as indicator_job
from hakama.services.platform import Platform
from hakama.services.territory import save_areas
from hakama.settings import Settings

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:ibis")


def test_enabled_follows_the_setting(tmp_path: Path) -> None:
    off = Platform.open(
        Settings(data_dir=tmp_path / "a", environment="test", indicators_interval_minutes=0)
    )
    on = Platform.open(
        Settings(data_dir=tmp_path / "b", environment="test", indicators_interval_minutes=5)
    )
    try:
        assert indicator_job.enabled(off) is False and indicator_job.enabled(on) is True
    finally:
        off.close()
        on.close()


def test_a_round_on_an_empty_lake_does_nothing_and_says_so(sqlite_platform: Platform) -> None:
    save_areas(sqlite_platform, demo_areas(), actor=system_actor("test"))
    done = indicator_job.run_round(sqlite_platform)
    assert done.computed == 0 and done.values == 0


def test_a_failing_round_is_logged_and_the_loop_goes_on(
    sqlite_platform: Platform, caplog: pytest.LogCaptureFixture
) -> None:
    save_areas(sqlite_platform, demo_areas(), actor=system_actor("test"))
    folder = sqlite_platform.settings.user_indicators_dir
    folder.mkdir(parents=True)
    (folder / "broken.yaml").write_text("- id: Bad\n", encoding="utf-8")

    def failures() -> list[logging.LogRecord]:
        return [r for r in caplog.records if "indicator round failed" in r.getMessage()]

    async def two_rounds() -> None:
        # Wait for the second failed round rather than a fixed time: on a loaded machine one
        # round can take longer than the whole of a fixed sleep.
        stop = asyncio.Event()
        task = asyncio.create_task(indicator_job.run(sqlite_platform, stop, interval_seconds=0.05))
        for _ in range(600):
            if len(failures()) >= 2 or task.done():
                break
            await asyncio.sleep(0.05)
        stop.set()
        await asyncio.wait_for(task, timeout=30)

    asyncio.run(two_rounds())
    assert len(failures()) >= 2  # it tried again
    assert "broken.yaml:1" in caplog.text
