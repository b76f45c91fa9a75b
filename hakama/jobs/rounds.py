"""The interval loop every periodic job shares: a round now, then one every interval until `stop`,
each round's work in a worker thread so the server keeps answering, a failing round logged and
retried at the next one (a job never takes the server down)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from hakama.services.platform import Platform

T = TypeVar("T")


async def pause(stop: asyncio.Event, seconds: float) -> None:
    """Wait `seconds`, or less if `stop` is set meanwhile."""
    with contextlib.suppress(TimeoutError):  # the interval passed: next round
        await asyncio.wait_for(stop.wait(), timeout=seconds)


async def every(
    stop: asyncio.Event, interval: float, one_round: Callable[[], Awaitable[object]]
) -> None:
    """Run `one_round` now and then every `interval` seconds until `stop` is set."""
    while not stop.is_set():
        await one_round()
        await pause(stop, interval)


async def in_thread(
    work: Callable[[Platform], T], platform: Platform, *, log: logging.Logger, failed: str
) -> T | None:
    """`work(platform)` in a worker thread; None, with `failed` and the traceback logged, if it
    raised (the server must outlive a bad file, a full disk, a broken webhook)."""
    try:
        return await asyncio.to_thread(work, platform)
    except Exception:
        log.exception(failed)
        return None
