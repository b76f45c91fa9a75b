"""Blocking work off the event loop: `run_blocking` for ordinary calls, `Offload` for heavy ones.

`run_blocking(fn, ...)` runs a blocking call (a service function) in anyio's worker threads, so
no request holds the event loop; every router and middleware uses it, never `asyncio.to_thread`
or `run_in_threadpool` directly. Background jobs (`hakama.jobs`, and the locks
`http/background.py` holds for them) use `asyncio.to_thread`, the loop's own pool: a flood of
requests that takes every anyio worker never delays a job or a lock's heartbeat.

A query that filters entities in Python (idPattern, `q=`, geo-queries) is CPU work: run on the
event loop it holds every other request; run in the shared pool, fifty of them take every
thread and fight for the GIL. `Offload` admits such work `concurrency` at a time, lets at most
`queue` more wait their turn (waiting holds nothing), and answers the rest at once with
`Overloaded` (503 with `Retry-After`): an attacker's flood costs a quick refusal, not a thread.
Past `time_limit` seconds (waiting included) the caller gets `TooSlow` (503); the worker thread
sees the same deadline (`core.deadline`) and stops scanning soon after.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import Any, TypeVar

import anyio
import anyio.to_thread

from hakama.core import deadline
from hakama.core.errors import Overloaded, TooSlow

T = TypeVar("T")

#: Seconds a refused client is told to wait before trying again.
RETRY_AFTER = 5


async def run_blocking(
    fn: Callable[..., T], /, *args: Any, limiter: anyio.CapacityLimiter | None = None, **kwargs: Any
) -> T:
    """`fn(*args, **kwargs)` in a worker thread (anyio's shared pool unless `limiter` is given)."""
    return await anyio.to_thread.run_sync(functools.partial(fn, *args, **kwargs), limiter=limiter)


class Offload:
    """Admits heavy, CPU-bound functions a few at a time, with a short queue and a time limit."""

    def __init__(self, *, concurrency: int, time_limit: float, queue: int = 8) -> None:
        self.limiter = anyio.CapacityLimiter(max(1, concurrency))
        self.time_limit = time_limit
        self.queue = max(0, queue)

    def busy(self) -> bool:
        """Are all workers taken and the queue full (the next caller would be refused)?"""
        stats = self.limiter.statistics()
        return stats.borrowed_tokens >= stats.total_tokens and stats.tasks_waiting >= self.queue

    def admit(self) -> None:
        """Raise Overloaded when busy: a route calls this first (`OffloadDep` does), so a
        refusal costs no parsing, no context and no thread."""
        if self.busy():
            raise Overloaded(
                "the server is busy with other heavy queries; try again in a few seconds",
                retry_after=RETRY_AFTER,
            )

    async def run(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """`fn(*args, **kwargs)` in a worker thread; Overloaded when the queue is full, TooSlow
        past the time limit."""
        self.admit()
        start = time.monotonic()

        def bounded() -> T:
            # the time spent waiting for a worker counts against the limit
            with deadline.within(self.time_limit - (time.monotonic() - start)):
                return fn(*args, **kwargs)

        try:
            with anyio.fail_after(self.time_limit):
                return await anyio.to_thread.run_sync(
                    bounded, limiter=self.limiter, abandon_on_cancel=True
                )
        except TimeoutError:
            raise TooSlow(
                f"the query took longer than {self.time_limit:g} s and was stopped; "
                "narrow it (type, id, a simpler pattern) or try again later",
                retry_after=RETRY_AFTER,
            ) from None
