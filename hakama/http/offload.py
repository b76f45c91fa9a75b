"""Heavy request work off the event loop, a few at a time, with a time limit.

A query that filters entities in Python (idPattern, `q=`, geo-queries) is CPU work: run on the
event loop it holds every other request; run in the default thread pool (40 threads) fifty of
them take every thread — `/health` included — and fight for the GIL. `Offload` runs such work
in threads of its own, at most `concurrency` at once (the others wait without holding
anything), and gives up waiting after `time_limit` seconds: the client gets a 503 problem with
`Retry-After` instead of a server that stops answering. A given-up thread finishes its (bounded)
work in the background; its result is dropped.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import anyio
import anyio.to_thread
from fastapi import Request

from hakama.core.errors import TooSlow

T = TypeVar("T")


class Offload:
    """Runs blocking, CPU-heavy functions in a bounded pool of threads, with a time limit."""

    def __init__(self, *, concurrency: int, time_limit: float) -> None:
        self.limiter = anyio.CapacityLimiter(max(1, concurrency))
        self.time_limit = time_limit

    async def run(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """`fn(*args, **kwargs)` in a worker thread; TooSlow past the time limit."""
        call = functools.partial(fn, *args, **kwargs)
        try:
            with anyio.fail_after(self.time_limit):
                return await anyio.to_thread.run_sync(
                    call, limiter=self.limiter, abandon_on_cancel=True
                )
        except TimeoutError:
            raise TooSlow(
                f"the query took longer than {self.time_limit:g} s and was stopped; "
                "narrow it (type, id, a simpler pattern) or try again later",
                retry_after=5,
            ) from None


def offload_of(request: Request) -> Offload:
    """The app's Offload (built once by `create_app`)."""
    found: Offload = request.app.state.offload
    return found
