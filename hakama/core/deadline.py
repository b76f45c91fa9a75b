"""A time limit that long-running loops check cooperatively.

A query that filters thousands of entities in Python runs in a worker thread that cannot be
killed; when its caller gives up (the HTTP time limit), the thread would go on scanning and
taking the GIL from the server. `within(seconds)` sets a deadline for the current context (the
worker thread's own copy) and `check()`, called every few hundred rows by such loops, raises
TooSlow once it has passed, so the work stops soon after its answer was given up.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from hakama.core.errors import TooSlow

_deadline: ContextVar[float | None] = ContextVar("hakama_deadline", default=None)


@contextmanager
def within(seconds: float) -> Iterator[None]:
    """Run the body with a deadline `seconds` from now (the nearer one if already inside)."""
    end = time.monotonic() + seconds
    current = _deadline.get()
    token = _deadline.set(end if current is None else min(current, end))
    try:
        yield
    finally:
        _deadline.reset(token)


def check() -> None:
    """Raise TooSlow when the current deadline has passed; nothing without one."""
    end = _deadline.get()
    if end is not None and time.monotonic() > end:
        raise TooSlow(
            "the query took longer than its time limit and was stopped; narrow it (type, id, "
            "a simpler pattern) or try again later",
            retry_after=5,
        )
